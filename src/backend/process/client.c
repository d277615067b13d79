/*
 * The application side of the backends whose enclave runs in an enclave
 * host that adytond launches (process; kvm, whose host runs a VM): asks
 * adytond to launch the enclave (backend/daemon_link.h connects, starting
 * a per-user daemon on demand), maps the channel it gets back, and runs
 * calls through the doorbells.  The enclave's memory is in another
 * process; this side only ever sees the channel.
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
#include "backend/daemon_link.h"
#include "backend/process/client.h"
#include "backend/wire.h"
#include "host/internal.h"

typedef struct proc {
	int sock;
	uint8_t *chan;
	uint64_t chan_size;
	pid_t host_pid;
	uint64_t id;
	uint32_t flags;
} proc;

static bool proc_available(const char **why) { return ady_daemon_reachable(why); }

static int host_alive(void *ctx)
{
	proc *p = ctx;

	return !(kill(p->host_pid, 0) && errno == ESRCH);
}

static ady_err proc_create(ady_enclave *e, const ady_image *img)
{
	ady_proto_launch req = {.backend = (uint32_t)e->ops->kind};
	const char *env = getenv("ADYTON_KVM_EXIT_PER_CALL");

	if ((e->opts.flags & ADY_OPEN_EXIT_PER_CALL) || (env && strcmp(env, "1") == 0))
		req.flags |= ADY_LAUNCH_EXIT_PER_CALL;
	if (e->opts.spin_us > ADY_LAUNCH_MAX_SPIN_US)
		return ADY_ERR_INVALID_ARG;
	req.spin_us = e->opts.spin_us;
	ady_proto_launched out;
	ady_proto_hdr h;
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
	err = ady_proto_encode_launch(&req, buf, sizeof(buf), &len);
	if (!err)
		err = ady_wire_send(p->sock, ADY_PROTO_LAUNCH, buf, len, image);
	close(image);
	if (!err)
		err = ady_wire_recv(p->sock, &h, rbuf, sizeof(rbuf), &chan);
	if (!err && h.type == ADY_PROTO_REFUSED && chan < 0) {
		/* the daemon's words on a refusal, then its LAUNCHED */
		ady_proto_aborted why;
		err = ady_proto_decode_aborted(rbuf, h.length, &why);
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
	if (h.type != ADY_PROTO_LAUNCHED) {
		err = ADY_ERR_PROTOCOL;
		goto close_chan;
	}
	err = ady_proto_decode_launched(rbuf, h.length, &out);
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

static ady_err proc_enter(ady_enclave *e, uint32_t slot, ady_msbuf_hdr *h)
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
