/*
 * The process backend, application side: asks adytond to launch the
 * enclave (starting a per-user daemon on demand), maps the channel it gets
 * back, and runs calls through the doorbells.  The enclave's memory is in
 * another process; this side only ever sees the marshalling slots.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/proto.h"
#include "backend/channel.h"
#include "backend/process/client.h"
#include "backend/wire.h"
#include "host/internal.h"

#ifndef ADY_DAEMON_INSTALLED
#define ADY_DAEMON_INSTALLED "/usr/local/bin/adytond"
#endif

typedef struct proc {
	int sock;
	uint8_t *chan;
	uint64_t chan_size;
	pid_t host_pid;
	uint64_t id;
	uint32_t flags;
} proc;

/* see client.h */
ady_err ady_daemon_socket_path(char *buf, size_t cap)
{
	const char *env = getenv("ADYTON_SOCKET"), *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, cap, "%s", env);
	else if (rt && *rt)
		n = snprintf(buf, cap, "%s/adyton/adytond.sock", rt);
	else
		n = snprintf(buf, cap, "/tmp/adyton-%u/adytond.sock", (unsigned)getuid());
	return n > 0 && (size_t)n < cap ? ADY_OK : ADY_ERR_RANGE;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static const char *daemon_program(void)
{
	const char *env = getenv("ADYTON_DAEMON");

	if (env && *env)
		return env;
#ifdef ADY_DAEMON_BUILD
	if (access(ADY_DAEMON_BUILD, X_OK) == 0)
		return ADY_DAEMON_BUILD;
#endif
	return ADY_DAEMON_INSTALLED;
}

/* Starts a per-user adytond on sock and waits until it answers. */
static int start_daemon(const char *sock)
{
	const char *prog = daemon_program(), *state = getenv("ADYTON_STATE_DIR");
	const char *idle = getenv("ADYTON_DAEMON_IDLE_EXIT");
	int status, fd;
	pid_t pid;

	if (access(prog, X_OK))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[12];
		int a = 0;
		argv[a++] = (char *)"adytond";
		argv[a++] = (char *)"--embedded";
		argv[a++] = (char *)"--daemonize";
		argv[a++] = (char *)"--idle-exit";
		argv[a++] = (char *)(idle && *idle ? idle : "30");
		argv[a++] = (char *)"--socket";
		argv[a++] = (char *)sock;
		if (state && *state) {
			argv[a++] = (char *)"--state-dir";
			argv[a++] = (char *)state;
		}
		argv[a] = NULL;
		/* none of the application's descriptors go with it */
		close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
		execv(prog, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 500; i++) {
		fd = try_connect(sock);
		if (fd >= 0)
			return fd;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* see client.h */
int ady_daemon_connect(bool start)
{
	char path[PATH_MAX];
	int fd;

	/* a system daemon, when there is one, first */
	const char *env = getenv("ADYTON_SOCKET");
	if (!env || !*env) {
		fd = try_connect("/run/adyton/adytond.sock");
		if (fd >= 0)
			return fd;
	}
	if (ady_daemon_socket_path(path, sizeof(path)))
		return -1;
	fd = try_connect(path);
	if (fd >= 0 || !start)
		return fd;
	return start_daemon(path);
}

static bool proc_available(const char **why)
{
	char path[PATH_MAX];

	if (access(daemon_program(), X_OK) == 0 || access("/run/adyton/adytond.sock", F_OK) == 0)
		return true;
	if (ady_daemon_socket_path(path, sizeof(path)) == ADY_OK && access(path, F_OK) == 0)
		return true;
	*why = "adytond is neither running nor installed";
	return false;
}

static int host_alive(void *ctx)
{
	proc *p = ctx;

	return !(kill(p->host_pid, 0) && errno == ESRCH);
}

static ady_err proc_create(ady_enclave *e, const ady_image *img)
{
	ady_msg_launch req = {.backend = (uint32_t)e->ops->kind};
	const char *env = getenv("ADYTON_KVM_EXIT_PER_CALL");

	if ((e->opts.flags & ADY_OPEN_EXIT_PER_CALL) || (env && strcmp(env, "1") == 0))
		req.flags |= ADY_LAUNCH_EXIT_PER_CALL;
	if (e->opts.spin_us > ADY_LAUNCH_MAX_SPIN_US)
		return ADY_ERR_INVALID_ARG;
	req.spin_us = e->opts.spin_us;
	ady_msg_launched out;
	ady_msg_hdr h;
	uint8_t buf[256], rbuf[4 + ADY_PROTO_MAX_REASON];
	struct stat st;
	size_t len;
	int image = -1, chan = -1;
	proc *p;
	ady_err err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return ADY_ERR_NOMEM;
	p->sock = ady_daemon_connect(true);
	if (p->sock < 0) {
		err = ADY_ERR_DAEMON;
		goto free_p;
	}
	image = open(e->path, O_RDONLY | O_CLOEXEC);
	if (image < 0) {
		err = ADY_ERR_IO;
		goto close_sock;
	}
	err = ady_msg_encode_launch(&req, buf, sizeof(buf), &len);
	if (!err)
		err = ady_wire_send(p->sock, ADY_MSG_LAUNCH, buf, len, image);
	close(image);
	if (!err)
		err = ady_wire_recv(p->sock, &h, rbuf, sizeof(rbuf), &chan);
	if (!err && h.type == ADY_MSG_REFUSED && chan < 0) {
		/* the daemon's words on a refusal, then its LAUNCHED */
		ady_msg_aborted why;
		err = ady_msg_decode_aborted(rbuf, h.length, &why);
		if (err) {
			err = ADY_ERR_PROTOCOL;
			goto close_chan;
		}
		if (e->opts.refusal && e->opts.refusal_cap) {
			size_t n = why.len < e->opts.refusal_cap - 1 ? why.len : e->opts.refusal_cap - 1;
			for (size_t i = 0; i < n; i++)
				e->opts.refusal[i] = why.reason[i] >= 0x20 && why.reason[i] < 0x7f ? (char)why.reason[i] : '?';
			e->opts.refusal[n] = '\0';
		}
		err = ady_wire_recv(p->sock, &h, rbuf, sizeof(rbuf), &chan);
	}
	if (err) {
		err = ADY_ERR_DAEMON;
		goto close_chan;
	}
	if (h.type != ADY_MSG_LAUNCHED) {
		err = ADY_ERR_PROTOCOL;
		goto close_chan;
	}
	err = ady_msg_decode_launched(rbuf, h.length, &out);
	if (!err && out.status)
		err = (ady_err)out.status;
	if (err)
		goto close_chan;
	/* What runs is what we measured (the file could have changed since). */
	if (!ady_memeq_ct(out.mrenclave, img->mrenclave, 32) || !ady_memeq_ct(out.mrsigner, img->mrsigner, 32) ||
	    out.threads != img->layout.threads || out.msbuf_size != img->layout.msbuf_size ||
	    out.channel_size != ady_chan_size(out.threads, out.msbuf_size) || chan < 0 || fstat(chan, &st) ||
	    (uint64_t)st.st_size != out.channel_size) {
		err = ADY_ERR_PROTOCOL;
		goto close_chan;
	}
	p->chan = mmap(NULL, out.channel_size, PROT_READ | PROT_WRITE, MAP_SHARED, chan, 0);
	if (p->chan == MAP_FAILED) {
		err = ADY_ERR_NOMEM;
		goto close_chan;
	}
	close(chan);
	p->chan_size = out.channel_size;
	p->host_pid = (pid_t)out.host_pid;
	p->id = out.id;
	p->flags = out.flags;
	e->msbuf = p->chan + ADY_CHAN_CTL_SIZE;
	e->info.attributes = out.attributes;
	e->be = p;
	return ADY_OK;

close_chan:
	if (chan >= 0)
		close(chan);
close_sock:
	close(p->sock);
free_p:
	free(p);
	return err;
}

static ady_err proc_enter(ady_enclave *e, uint32_t slot, ady_ms_hdr *h)
{
	proc *p = e->be;
	ady_chan_ctl *c = (ady_chan_ctl *)p->chan + slot;
	/* spin_us lengthens the application's wait too (host.h) */
	long spin = e->opts.spin_us * 1000L > ADY_CHAN_SPIN_ANSWER ? e->opts.spin_us * 1000L : ADY_CHAN_SPIN_ANSWER;

	ady_chan_put_request(c, h);
	__atomic_store_n(&c->kind, ADY_KIND_ECALL, __ATOMIC_RELAXED);
	ady_chan_post(c, ADY_TURN_HOST);
	for (;;) {
		ady_err err = ady_chan_wait(c, ADY_TURN_APP, spin, host_alive, p);
		uint32_t kind;

		if (err)
			return err;
		kind = __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE);
		if (kind == ADY_KIND_DONE) {
			ady_err rc = (ady_err)(uint32_t)__atomic_load_n(&c->rc, __ATOMIC_RELAXED);

			if (rc == ADY_OK)
				ady_chan_take_reply(c, h);
			return rc;
		}
		if (kind != ADY_KIND_EXIT)
			return ADY_ERR_PROTOCOL;
		uint64_t rc = ady_host_serve_exit(e, slot, __atomic_load_n(&c->op, __ATOMIC_RELAXED));
		__atomic_store_n(&c->rc, rc, __ATOMIC_RELAXED);
		__atomic_store_n(&c->kind, ADY_KIND_RESUME, __ATOMIC_RELAXED);
		ady_chan_post(c, ADY_TURN_HOST);
	}
}

static void proc_destroy(ady_enclave *e)
{
	proc *p = e->be;

	if (!p)
		return;
	/* Closing our connection is what ends the enclave: adytond kills its
	 * host when the client that launched it goes away. */
	munmap(p->chan, p->chan_size);
	close(p->sock);
	free(p);
	e->be = NULL;
	e->msbuf = NULL;
}

/* see client.h */
uint32_t ady_process_flags(const ady_enclave *e) { return e->be ? ((const proc *)e->be)->flags : 0; }

/* kvm: the same channel and daemon; the enclave host runs a VM. */
static bool kvm_available(const char **why)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		*why = "/dev/kvm is not usable";
		return false;
	}
	close(fd);
	return proc_available(why);
}

const ady_backend_ops ady_backend_kvm = {
	.name = "kvm",
	.kind = ADY_BACKEND_KVM,
	.available = kvm_available,
	.create = proc_create,
	.enter = proc_enter,
	.destroy = proc_destroy,
};

const ady_backend_ops ady_backend_process = {
	.name = "process",
	.kind = ADY_BACKEND_PROCESS,
	.available = proc_available,
	.create = proc_create,
	.enter = proc_enter,
	.destroy = proc_destroy,
};
