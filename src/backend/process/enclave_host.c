/*
 * adyton-enclave-host: the process an enclave runs in on the process
 * backend.  adytond starts it with
 *   fd 3: the signed image (read-only)
 *   fd 4: the channel memfd shared with the application (sealed size)
 *   fd 5: a private SOCK_SEQPACKET socket to adytond
 * It loads and measures every page itself, verifies the SIGSTRUCT, maps the
 * enclave into memfd_secret memory (not in the kernel's direct map, not
 * readable through /proc/PID/mem or ptrace), makes itself undumpable, keeps
 * no descriptor but the daemon socket and stderr, installs a seccomp
 * allowlist, reports the identity it measured, and only then serves calls.
 *
 * Threads: one per thread slot, each waiting on its slot's doorbell.  The
 * enclave's platform exits (keys, reports, seed) go to adytond, which
 * answers from the identity it recorded at launch; the enclave's other
 * exits (OCALL, log, abort) go to the application through the channel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "adyton/image.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/map.h"
#include "backend/platform.h"
#include "backend/sandbox.h"
#include "backend/wire.h"
#include "platform/platform.h"

#define FD_IMAGE 3
#define FD_CHANNEL 4
#define FD_DAEMON_IN 5
#define FD_DAEMON 3 /* where the daemon socket ends up */

typedef uint64_t (*entry_fn)(uint64_t tcs, uint64_t op, uint64_t ms, uint64_t exit_fn);

static struct {
	uint8_t *base;
	uint64_t size;
	uint8_t *chan;
	uint64_t chan_size;
	uint64_t msbuf_size;
	uint32_t threads;
	uint64_t tcs[64];
	int weak;
	ady_layout layout;     /* the measured layout: where platform exits' io structs may lie */
} h;

static __thread uint32_t cur_slot;

static void die(const char *what, ady_err err)
{
	fprintf(stderr, "adyton-enclave-host[%d]: %s: %s\n", getpid(), what, ady_strerror(err));
	_exit(1);
}

static ady_chan_ctl *ctl_of(uint32_t slot) { return (ady_chan_ctl *)h.chan + slot; }
static uint8_t *slot_of(uint32_t slot) { return h.chan + ADY_CHAN_CTL_SIZE + (uint64_t)slot * h.msbuf_size; }

/* A platform exit's io struct: only in the enclave's writable pages,
 * never its TCS or code (on this backend the enclave's pages are one flat
 * mapping of the enclave's own memory). */
static void *enclave_io(uint64_t p, uint64_t n)
{
	uint64_t base = (uint64_t)(uintptr_t)h.base;

	return p >= base && ady_layout_writable(&h.layout, p - base, n) ? (void *)(uintptr_t)p : NULL;
}

static ady_platform_link plat = {.daemon_fd = FD_DAEMON, .lock = PTHREAD_MUTEX_INITIALIZER, .io = enclave_io};

static uint64_t host_exit(uint64_t op, uint64_t arg)
{
	ady_chan_ctl *c = ctl_of(cur_slot);
	uint32_t kind;

	if (ady_platform_op_find(op))
		return ady_platform_exit(&plat, op, arg);
	switch (op) {
	case ADY_MS_ABORT:
		ady_platform_report_abort(&plat, slot_of(cur_slot), h.msbuf_size);
		/* the application hears of it too */
		__attribute__((fallthrough));
	case ADY_MS_OCALL:
	case ADY_MS_LOG:
		__atomic_store_n(&c->kind, ADY_KIND_EXIT, __ATOMIC_RELAXED);
		__atomic_store_n(&c->op, (uint32_t)op, __ATOMIC_RELAXED);
		ady_chan_post(c, ADY_TURN_APP);
		/* No liveness callback: if the application dies, adytond kills us. */
		if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_ANSWER, NULL, NULL) != ADY_OK)
			return ADY_ERR_ENCLAVE_LOST;
		kind = __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE);
		if (kind != ADY_KIND_RESUME)
			return ADY_ERR_PROTOCOL;
		return (uint32_t)__atomic_load_n(&c->rc, __ATOMIC_RELAXED);
	default:
		return ADY_ERR_PROTOCOL;
	}
}

/* Serves one thread slot forever. */
static void *serve(void *arg)
{
	uint32_t slot = (uint32_t)(uintptr_t)arg;
	ady_chan_ctl *c = ctl_of(slot);
	const ady_sgx_tcs *tcs = (const ady_sgx_tcs *)(h.base + h.tcs[slot]);
	entry_fn entry = (entry_fn)(uintptr_t)(h.base + tcs->oentry);

	cur_slot = slot;
	for (;;) {
		uint64_t rc;

		if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_IDLE, NULL, NULL) != ADY_OK)
			_exit(0);
		if (__atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) != ADY_KIND_ECALL ||
		    ady_chan_take_request(c, slot_of(slot), h.msbuf_size) != ADY_OK) {
			rc = ADY_ERR_PROTOCOL;
		} else {
			rc = entry((uint64_t)(uintptr_t)tcs, ADY_ENTER_ECALL, (uint64_t)(uintptr_t)slot_of(slot),
				   (uint64_t)(uintptr_t)host_exit);
			rc = ady_chan_put_reply(c, slot_of(slot), h.msbuf_size, rc);
		}
		__atomic_store_n(&c->rc, rc, __ATOMIC_RELAXED);
		__atomic_store_n(&c->kind, ADY_KIND_DONE, __ATOMIC_RELAXED);
		ady_chan_post(c, ADY_TURN_APP);
	}
	return NULL;
}

static pthread_barrier_t started;

/* A slot's thread: seccomp goes on only once every thread has finished
 * starting (glibc registers rseq and the robust list in the new thread). */
static void *thread_main(void *arg)
{
	pthread_barrier_wait(&started);
	return serve(arg);
}

/* The enclave's memory: memfd_secret when the kernel has it, else locked,
 * undumpable anonymous memory (weaker: root can read it). */
static void map_enclave(const ady_image *img)
{
	uint64_t used = ady_map_used(&img->layout);
	int fd;

	h.size = img->layout.size;
	h.base = mmap(NULL, h.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h.base == MAP_FAILED)
		die("reserve enclave range", ADY_ERR_NOMEM);
	fd = (int)syscall(SYS_memfd_secret, O_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, (off_t)used) == 0 &&
	    mmap(h.base, used, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED) {
		close(fd);
		/* Secret memory cannot be executable (its mount is noexec), and
		 * code is public anyway (it is in the image file): executable
		 * pages get ordinary memory, everything else stays secret. */
		for (uint32_t i = 0; i < img->layout.nregions; i++) {
			const ady_region *r = &img->layout.region[i];
			if ((r->secinfo & ADY_SECINFO_X) &&
			    mmap(h.base + r->offset, r->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				die("map enclave code", ADY_ERR_NOMEM);
		}
		return;
	}
	if (fd >= 0)
		close(fd);
	h.weak = 1;
	if (mmap(h.base, used, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		die("map enclave memory", ADY_ERR_NOMEM);
	madvise(h.base, used, MADV_DONTDUMP);
	if (mlock(h.base, used))
		fprintf(stderr, "adyton-enclave-host[%d]: mlock: %s (enclave pages may be swapped)\n", getpid(),
			strerror(errno));
}

/* Everything a served call needs, and nothing else (backend/sandbox.h). */
static void install_seccomp(void)
{
	scmp_filter_ctx ctx = ady_sandbox_filter(FD_DAEMON);

	if (!ctx)
		die("seccomp", ADY_ERR_NOMEM);
	if (ady_sandbox_load(ctx, 0))
		die("seccomp", ADY_ERR_PERMISSION);
}

int main(int argc, char **argv)
{
	ady_msg_host_ready ready = {0};
	uint8_t buf[256];
	ady_image *img = NULL;
	uint8_t *file;
	size_t len, ans_len;
	struct stat st;
	ady_msg_status st_msg;
	ady_err err;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "adyton-enclave-host is started by adytond, not by hand\n");
		return 2;
	}
	/* Before anything of the enclave exists: no core dumps, no ptrace by
	 * the same user, no /proc/PID/mem for others; die with the daemon. */
	if (prctl(PR_SET_DUMPABLE, 0) || prctl(PR_SET_PDEATHSIG, SIGKILL))
		die("prctl", ADY_ERR_PERMISSION);
	if (getppid() == 1)
		_exit(1);
	/* adytond execs us undumpable from the start (an unreadable private
	 * copy of this program, issue 11 item 3); a tracer here means that
	 * did not hold (fs.suid_dumpable = 1, an ancestor with CAP_SYS_PTRACE):
	 * refuse before the image or any secret is in this process. */
	if (ady_sandbox_start("adyton-enclave-host"))
		die("started dumpable or traced", ADY_ERR_PERMISSION);

	err = ady_fd_read(FD_IMAGE, ADY_IMAGE_MAX_FILE, &file, &len);
	if (err)
		die("image", err);
	err = ady_image_new(file, len, &img);
	free(file);
	if (err)
		die("load image", err);
	map_enclave(img);
	err = ady_image_fill(img, h.base, h.size);
	if (!err)
		err = ady_map_protect(h.base, &img->layout);
	if (err)
		die("load enclave", err);
	h.layout = img->layout;
	h.threads = img->layout.threads;
	h.msbuf_size = img->layout.msbuf_size;
	for (uint32_t i = 0; i < h.threads; i++)
		h.tcs[i] = img->layout.thread[i].tcs;
	memcpy(ready.mrenclave, img->mrenclave, 32);
	memcpy(ready.mrsigner, img->mrsigner, 32);
	ready.status = ADY_OK;
	ady_image_free(img);

	/* The channel: exactly the size the daemon made and sealed. */
	h.chan_size = ady_chan_size(h.threads, h.msbuf_size);
	if (fstat(FD_CHANNEL, &st) || (uint64_t)st.st_size != h.chan_size ||
	    (fcntl(FD_CHANNEL, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		die("channel", ADY_ERR_PROTOCOL);
	h.chan = mmap(NULL, h.chan_size, PROT_READ | PROT_WRITE, MAP_SHARED, FD_CHANNEL, 0);
	if (h.chan == MAP_FAILED)
		die("map channel", ADY_ERR_NOMEM);

	/* Keep only the daemon socket (as fd 3) and stderr. */
	if (dup2(FD_DAEMON_IN, FD_DAEMON) != FD_DAEMON)
		die("dup2", ADY_ERR_IO);
	if (close_range(FD_DAEMON + 1, ~0u, 0))
		die("close_range", ADY_ERR_IO);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) != 0 || dup2(null, 1) != 1)
		die("/dev/null", ADY_ERR_IO);
	if (null > 2)
		close(null);

	if (pthread_barrier_init(&started, NULL, h.threads))
		die("pthread_barrier_init", ADY_ERR_NOMEM);
	for (uint32_t i = 1; i < h.threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)i))
			die("pthread_create", ADY_ERR_NOMEM);
	}
	pthread_barrier_wait(&started);
	install_seccomp();

	ready.flags = h.weak ? ADY_LAUNCH_WEAK_MEMORY : 0;
	err = ady_msg_encode_host_ready(&ready, buf, sizeof(buf), &len);
	if (!err)
		err = ady_platform_call(&plat, ADY_MSG_HOST_READY, buf, len, ADY_MSG_STATUS, buf, sizeof(buf), &ans_len);
	if (!err)
		err = ady_msg_decode_status(buf, ans_len, &st_msg);
	if (err || st_msg.status != ADY_OK)
		_exit(1);
	serve((void *)(uintptr_t)0);
	return 0;
}
