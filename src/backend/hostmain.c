/* The enclave hosts' skeleton; see hostmain.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adyton/proto.h"
#include "backend/channel.h"
#include "backend/hostmain.h"
#include "backend/sandbox.h"

int ady_host_pid;
ady_host_count *ady_host_counts;
uint8_t *ady_host_guest_counts;
static const char *host_name = "adyton-host";

/* see hostmain.h */
_Noreturn void ady_host_die(const char *what, ady_err err)
{
	fprintf(stderr, "%s[%d]: %s: %s\n", host_name, ady_host_pid, what, ady_strerror(err));
	_exit(1);
}

static pthread_barrier_t started;
static void *(*serve_fn)(void *);

/* A slot's thread: the filter goes on only once every thread has finished
 * starting (glibc registers rseq and the robust list in the new thread). */
static void *thread_main(void *arg)
{
	pthread_barrier_wait(&started);
	return serve_fn(arg);
}

/* Everything a served call needs, and nothing else (backend/sandbox.h). */
static void install_seccomp(const ady_host_backend *b)
{
	scmp_filter_ctx ctx = ady_sandbox_filter(ADY_HOST_FD_DAEMON);

	if (!ctx)
		ady_host_die("seccomp", ADY_ERR_NOMEM);
	if (ady_sandbox_load(ctx, b->seccomp_rules ? b->seccomp_rules(ctx) : 0))
		ady_host_die("seccomp", ADY_ERR_PERMISSION);
}

/* see hostmain.h */
_Noreturn void ady_host_main(const ady_host_backend *b, ady_platform_link *plat)
{
	ady_proto_host_ready ready = {0};
	uint8_t buf[256], *file, *chan, *counts;
	ady_image *img = NULL;
	uint32_t threads;
	uint64_t chan_size;
	size_t len, ans_len;
	ady_proto_status st_msg;
	struct stat st;
	bool weak = false;
	ady_err err;
	int null;

	host_name = b->name;
	ady_host_pid = getpid();
	/* Before anything of the enclave exists: no core dumps, no ptrace by
	 * the same user, no /proc/PID/mem for others; die with the daemon. */
	if (prctl(PR_SET_DUMPABLE, 0) || prctl(PR_SET_PDEATHSIG, SIGKILL))
		ady_host_die("prctl", ADY_ERR_PERMISSION);
	if (getppid() == 1)
		_exit(1);
	/* adytond execs us undumpable from the start (an unreadable private
	 * copy of the program, issue 11 item 3); a tracer here means that did
	 * not hold (fs.suid_dumpable = 1, an ancestor with CAP_SYS_PTRACE):
	 * refuse before the image or any secret is in this process. */
	if (ady_sandbox_start(b->name))
		ady_host_die("started dumpable or traced", ADY_ERR_PERMISSION);

	/* The image: loaded, measured and its signature checked here, so the
	 * identity reported below is the one this process measured. */
	err = ady_fd_read(ADY_HOST_FD_IMAGE, ADY_IMAGE_MAX_FILE, &file, &len);
	if (err)
		ady_host_die("image", err);
	err = ady_image_new(file, len, &img);
	free(file);
	if (err)
		ady_host_die("load image", err);
	err = b->load(img, &weak);
	if (err)
		ady_host_die("load enclave", err);
	memcpy(ready.mrenclave, img->mrenclave, 32);
	memcpy(ready.mrsigner, img->mrsigner, 32);
	threads = img->layout.threads;
	chan_size = ady_chan_size(threads, img->layout.msbuf_size);
	ady_image_free(img);

	/* The channel: exactly the size the daemon made and sealed. */
	if (fstat(ADY_HOST_FD_CHANNEL, &st) || (uint64_t)st.st_size != chan_size ||
	    (fcntl(ADY_HOST_FD_CHANNEL, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		ady_host_die("channel", ADY_ERR_PROTOCOL);
	chan = mmap(NULL, chan_size, PROT_READ | PROT_WRITE, MAP_SHARED, ADY_HOST_FD_CHANNEL, 0);
	if (chan == MAP_FAILED)
		ady_host_die("map channel", ADY_ERR_NOMEM);

	/* The counters: the size and seals adytond gave them. */
	if (fstat(ADY_HOST_FD_COUNTS, &st) || (uint64_t)st.st_size != ADY_HOST_COUNTS_SIZE ||
	    (fcntl(ADY_HOST_FD_COUNTS, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		ady_host_die("counters", ADY_ERR_PROTOCOL);
	counts = mmap(NULL, ADY_HOST_COUNTS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ADY_HOST_FD_COUNTS, 0);
	if (counts == MAP_FAILED)
		ady_host_die("map counters", ADY_ERR_NOMEM);
	ady_host_counts = (ady_host_count *)counts;
	ady_host_guest_counts = counts + ADY_HOST_GUEST_COUNTS;

	/* Keep only the daemon socket (as ADY_HOST_FD_DAEMON) and stderr. */
	if (dup2(ADY_HOST_FD_DAEMON_IN, ADY_HOST_FD_DAEMON) != ADY_HOST_FD_DAEMON)
		ady_host_die("dup2", ADY_ERR_IO);
	if (close_range(ADY_HOST_FD_DAEMON + 1, ~0u, 0))
		ady_host_die("close_range", ADY_ERR_IO);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) != 0 || dup2(null, 1) != 1)
		ady_host_die("/dev/null", ADY_ERR_IO);
	if (null > 2)
		close(null);
	if (b->prepare && (err = b->prepare(chan, chan_size)) != ADY_OK)
		ady_host_die("prepare", err);

	serve_fn = b->serve;
	if (pthread_barrier_init(&started, NULL, threads))
		ady_host_die("pthread_barrier_init", ADY_ERR_NOMEM);
	for (uint32_t i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)i))
			ady_host_die("pthread_create", ADY_ERR_NOMEM);
	}
	pthread_barrier_wait(&started);
	install_seccomp(b);

	ready.status = ADY_OK;
	ready.flags = weak ? ADY_LAUNCH_WEAK_MEMORY : 0;
	err = ady_proto_encode_host_ready(&ready, buf, sizeof(buf), &len);
	if (!err)
		err = ady_platform_call(plat, ADY_PROTO_HOST_READY, buf, len, ADY_PROTO_STATUS, buf, sizeof(buf), &ans_len);
	if (!err)
		err = ady_proto_decode_status(buf, ans_len, &st_msg);
	if (err || st_msg.status != ADY_OK)
		_exit(1);
	b->serve((void *)(uintptr_t)0);
	_exit(0);
}
