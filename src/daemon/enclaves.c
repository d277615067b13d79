/*
 * adytond's requests: launching enclaves (policy, measurement, the
 * enclave host), listing and destroying them, and serving their platform
 * exits (keys, reports, seeds, quotes: the table of platform/platform.h)
 * from the identity recorded at launch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <grp.h>
#include <sys/random.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/host.h"
#include "adyton/image.h"
#include "adyton/proto.h"
#include "adyton/sgx.h"
#include "backend/hostmain.h"
#include "backend/wire.h"
#include "daemon/internal.h"
#include "platform/platform.h"

/* linux/memfd.h MFD_EXEC (6.3), which Debian 12's libc headers lack */
#define ADY_MFD_EXEC 0x0010u

static uint8_t msgbuf[ADY_PROTO_MAX_PAYLOAD];

static void outmsg_free(ady_outmsg *m)
{
	free(m->payload);
	if (m->fd >= 0)
		close(m->fd);
	*m = (ady_outmsg){.fd = -1};
}

/* see internal.h */
ady_err ady_daemon_client_send(ady_daemon *d, int ci, uint16_t type, const uint8_t *payload, size_t len, int fd)
{
	ady_client *c = &d->clients[ci];
	ady_outmsg *m;

	if (c->qlen == 0) {
		ady_err err = ady_wire_trysend(c->fd, type, payload, len, fd);
		if (err != ADY_ERR_BUSY)
			return err;
	}
	/* A client that sends requests and does not read the answers: it is
	 * dropped, never waited for (the loop serves everyone else). */
	if (c->qlen == ADY_CLIENT_QUEUE || c->qbytes + len > ADY_CLIENT_QUEUE_BYTES) {
		c->drop = true;
		return ADY_ERR_BUSY;
	}
	m = &c->queue[(c->qhead + c->qlen) % ADY_CLIENT_QUEUE];
	*m = (ady_outmsg){.type = type, .len = len, .fd = -1};
	if (len) {
		m->payload = malloc(len);
		if (!m->payload)
			return ADY_ERR_NOMEM;
		memcpy(m->payload, payload, len);
	}
	if (fd >= 0) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->fd < 0) {
			outmsg_free(m);
			return ADY_ERR_IO;
		}
	}
	c->qlen++;
	c->qbytes += len;
	return ADY_OK;
}

/* see internal.h */
ady_err ady_daemon_client_flush(ady_daemon *d, int ci)
{
	ady_client *c = &d->clients[ci];

	while (c->qlen) {
		ady_outmsg *m = &c->queue[c->qhead];
		ady_err err = ady_wire_trysend(c->fd, m->type, m->payload, m->len, m->fd);
		if (err == ADY_ERR_BUSY)
			return ADY_OK;
		if (err)
			return err;
		c->qbytes -= m->len;
		outmsg_free(m);
		c->qhead = (c->qhead + 1) % ADY_CLIENT_QUEUE;
		c->qlen--;
	}
	return ADY_OK;
}

static ady_err reply_launched(ady_daemon *d, int ci, const ady_proto_launched *m, int chan_fd)
{
	uint8_t buf[256];
	size_t len;
	ady_err err = ady_proto_encode_launched(m, buf, sizeof(buf), &len);

	return err ? err : ady_daemon_client_send(d, ci, ADY_PROTO_LAUNCHED, buf, len, chan_fd);
}

static ady_err encode_status(ady_err status, uint8_t buf[static 16], size_t *len)
{
	ady_proto_status m = {.status = (uint32_t)status};

	return ady_proto_encode_status(&m, buf, 16, len);
}

static ady_err reply_status(ady_daemon *d, int ci, ady_err status)
{
	uint8_t buf[16];
	size_t len;
	ady_err err = encode_status(status, buf, &len);

	return err ? err : ady_daemon_client_send(d, ci, ADY_PROTO_STATUS, buf, len, -1);
}

/* To an enclave host: its socket is non-blocking, and a host that does not
 * read its answer (it asks one question at a time) is killed by the caller. */
static ady_err host_status(int fd, ady_err status)
{
	uint8_t buf[16];
	size_t len;
	ady_err err = encode_status(status, buf, &len);

	return err ? err : ady_wire_send(fd, ADY_PROTO_STATUS, buf, len, -1);
}

/* The lowest free slot, counted in enclaves_hi; -1 when the table is full. */
static int free_enclave_slot(ady_daemon *d)
{
	for (uint32_t i = 0; i < d->max_enclaves; i++) {
		if (d->enclaves[i].state == ENC_FREE) {
			if (i >= d->enclaves_hi)
				d->enclaves_hi = i + 1;
			return (int)i;
		}
	}
	return -1;
}

/* see internal.h */
void ady_daemon_shrink(ady_daemon *d)
{
	while (d->enclaves_hi && d->enclaves[d->enclaves_hi - 1].state == ENC_FREE)
		d->enclaves_hi--;
	while (d->clients_hi && !d->clients[d->clients_hi - 1].used)
		d->clients_hi--;
}

/* Per-user limits of the policy; why says which, in words. */
static ady_err check_limits(ady_daemon *d, uid_t uid, uint64_t memory, char *why, size_t cap)
{
	uint32_t count = 0;
	uint64_t mem = memory;

	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		const ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_FREE && e->owner == uid) {
			count++;
			mem += e->memory;
		}
	}
	if (d->policy.max_enclaves && count >= d->policy.max_enclaves) {
		snprintf(why, cap, "per-user enclave limit (max_enclaves) %u: uid %u runs %u", d->policy.max_enclaves,
			 (unsigned)uid, count);
		return ADY_ERR_PERMISSION;
	}
	if (d->policy.max_memory && mem > d->policy.max_memory) {
		uint64_t used = mem - memory;
		snprintf(why, cap,
			 "per-user enclave memory limit (max_memory) of %llu bytes: request %llu bytes, %llu bytes free",
			 (unsigned long long)d->policy.max_memory, (unsigned long long)memory,
			 (unsigned long long)(used < d->policy.max_memory ? d->policy.max_memory - used : 0));
		return ADY_ERR_PERMISSION;
	}
	return ADY_OK;
}

/* A refused launch's words, sent before its LAUNCHED. */
static ady_err reply_refused(ady_daemon *d, int ci, const char *why)
{
	static ady_proto_aborted m;
	uint8_t buf[4 + ADY_PROTO_MAX_REASON];
	size_t len = strlen(why);

	memset(&m, 0, sizeof(m));
	m.len = (uint32_t)(len < ADY_PROTO_MAX_REASON ? len : ADY_PROTO_MAX_REASON);
	memcpy(m.reason, why, m.len);
	ady_err err = ady_proto_encode_aborted(&m, buf, sizeof(buf), &len);
	return err ? err : ady_daemon_client_send(d, ci, ADY_PROTO_REFUSED, buf, len, -1);
}

/* fs.suid_dumpable: what a uid change (and the exec of a binary its user
 * cannot read) leaves a process's dumpability at; 1 ("debug") would leave
 * an enclave host debuggable by its user.  -1 when unknown. */
static int suid_dumpable(void)
{
	char buf[8] = {0};
	int fd = open("/proc/sys/fs/suid_dumpable", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 && buf[0] >= '0' && buf[0] <= '2' ? buf[0] - '0' : -1;
}

/*
 * The enclave host program as a private copy that nobody can read: a memfd
 * of mode 0111, held only by the daemon (and the child that execs it).
 * Executing a file that its user cannot read makes the kernel set the
 * process undumpable at exec (fs/exec.c would_dump(): BINPRM_FLAGS_ENFORCE_
 * NONDUMP), before its first instruction: the dynamic loader and everything
 * up to the host's own prctl(PR_SET_DUMPABLE, 0) run undumpable, so a
 * same-user process can never PTRACE_ATTACH/SEIZE it (issue 11 item 3: the
 * host was an ordinary dumpable process of its user from exec to that
 * prctl, and a tracer that won the race owned the enclave).  The uid switch
 * before the exec does the same for the forked child (commit_creds()).
 * A copy per launch: a rebuilt or upgraded host is used at once.
 * Returns a read-only, close-on-exec descriptor, or -1.
 */
static int private_host_copy(const char *path)
{
	static uint8_t buf[1 << 16];
	const char *base = strrchr(path, '/');
	char self[64];
	int src, mfd, ro = -1;
	ssize_t n;

	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -1;
	/* vm.memfd_noexec (Linux 6.3+): ask for an executable memfd; older
	 * kernels refuse the flag (EINVAL) and make every memfd executable */
	/* the name: what ps shows ("memfd:NAME") until the host names itself */
	base = base ? base + 1 : path;
	mfd = memfd_create(base, MFD_CLOEXEC | ADY_MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create(base, MFD_CLOEXEC);
	if (mfd < 0)
		goto close_src;
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, (size_t)n) != n)
			goto close_mfd;
	if (n < 0)
		goto close_mfd;
	/* exec refuses a file open for writing (ETXTBSY): keep a read-only
	 * descriptor of the same file, then make it unreadable */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", mfd);
	ro = open(self, O_RDONLY | O_CLOEXEC);
	if (ro >= 0 && fchmod(ro, 0111)) {
		close(ro);
		ro = -1;
	}
close_mfd:
	close(mfd);
close_src:
	close(src);
	return ro;
}

/* In the child: says why it cannot start the host (the daemon's stderr). */
static _Noreturn void child_fail(const char *what, uid_t uid, int code)
{
	fprintf(stderr, "adytond: enclave host for uid %u: %s: %s\n", (unsigned)uid, what, strerror(errno));
	_exit(code);
}

/*
 * In the child: moves fds to 3, 4, 5 without clobbering one another, drops
 * to the enclave owner's user when the daemon runs as root (an enclave that
 * escaped its sandbox should be no more than its owner; undumpability keeps
 * the owner from reading it), resets the signal state it inherited from
 * the daemon (blocked SIGTERM/SIGCHLD, an ignored SIGCHLD of the
 * application that started a per-user daemon), and execs the enclave host
 * from exe (private_host_copy).  Root needs CAP_SETUID and CAP_SETGID here
 * (dist/adytond.service bounds it to those).
 */
static void exec_host(const char *path, int exe, int image, int chan, int priv, int counts, uid_t uid, gid_t gid,
		      uint64_t memory, const ady_proto_launch *req)
{
	/* the kvm host's options (kvm/main.c) */
	char spin[32];
	char *argv[] = {(char *)path, NULL, NULL, NULL};

	if (req->backend == ADY_BACKEND_KVM) {
		snprintf(spin, sizeof(spin), ADY_HOST_OPT_SPIN "%u", req->spin_us);
		argv[1] = spin;
		if (req->flags & ADY_LAUNCH_EXIT_PER_CALL)
			argv[2] = ADY_HOST_OPT_EXIT_PER_CALL;
	}
	extern char **environ;

	if (geteuid() == 0) {
		/* memfd_secret memory counts against RLIMIT_MEMLOCK: the
		 * enclave, and no more than the enclave, may be locked (the
		 * policy's max_memory bounds a user's enclaves).  Lowering needs
		 * no capability (the unit gives LimitMEMLOCK=infinity); where
		 * the limit we have is below that and we cannot raise it (no
		 * CAP_SYS_RESOURCE), the host gets what we have and falls back
		 * to weak memory for an enclave that does not fit. */
		rlim_t need = memory + ADY_HOST_MEMLOCK_SLACK;
		struct rlimit rl = {need, need}, cur;
		if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
			if (errno != EPERM || getrlimit(RLIMIT_MEMLOCK, &cur) || cur.rlim_max >= need)
				child_fail("setrlimit(RLIMIT_MEMLOCK)", uid, 126);
			rl.rlim_cur = rl.rlim_max = cur.rlim_max;
			if (setrlimit(RLIMIT_MEMLOCK, &rl))
				child_fail("setrlimit(RLIMIT_MEMLOCK)", uid, 126);
		}
		if (uid != 0 && (setgroups(0, NULL) || setresgid(gid, gid, gid)))
			child_fail("setgroups/setresgid (needs CAP_SETGID)", uid, 126);
		if (uid != 0 && setresuid(uid, uid, uid))
			child_fail("setresuid (needs CAP_SETUID)", uid, 126);
	}
	/* the host's descriptors (backend/hostmain.h) */
	static const int to[4] = {ADY_HOST_FD_IMAGE, ADY_HOST_FD_CHANNEL, ADY_HOST_FD_DAEMON_IN, ADY_HOST_FD_COUNTS};
	int hi[5] = {fcntl(image, F_DUPFD, 100), fcntl(chan, F_DUPFD, 100), fcntl(priv, F_DUPFD, 100),
		     fcntl(counts, F_DUPFD, 100), fcntl(exe, F_DUPFD_CLOEXEC, 100)};

	for (int i = 0; i < 4; i++)
		if (hi[i] < 0 || dup2(hi[i], to[i]) != to[i])
			_exit(127);
	if (hi[4] < 0)
		_exit(127);
	close_range(ADY_HOST_FD_COUNTS + 1, (unsigned)hi[4] - 1, 0);
	close_range((unsigned)hi[4] + 1, ~0u, 0);
	ady_daemon_reset_signals();
	fexecve(hi[4], argv, environ);
	child_fail("exec of the enclave host", uid, 127);
}

static ady_err launch(ady_daemon *d, int ci, const uint8_t *p, size_t len, int image_fd)
{
	ady_client *c = &d->clients[ci];
	ady_proto_launched out = {0};
	ady_proto_launch req;
	ady_image *img = NULL;
	uint8_t *file = NULL;
	size_t file_len;
	int ei, chan = -1, counts = -1, exe = -1, sp[2] = {-1, -1};
	ady_denclave *e = NULL;
	char why[ADY_PROTO_MAX_REASON] = "", tenant[32];
	bool reserved = false;
	uint64_t pages;
	ady_err err;
	pid_t pid;

	err = ady_proto_decode_launch(p, len, &req);
	if (err) {
		/* malformed: end the session, keeping nothing of it */
		if (image_fd >= 0)
			close(image_fd);
		return err;
	}
	if (image_fd < 0) {
		err = ADY_ERR_INVALID_ARG;
		goto refuse;
	}
	/* Both isolating backends run in an enclave host process that speaks
	 * the same protocol; they differ in the program. */
	if (req.backend != ADY_BACKEND_PROCESS && req.backend != ADY_BACKEND_KVM) {
		err = ADY_ERR_BACKEND;
		goto refuse;
	}
	err = ady_fd_read(image_fd, ADY_IMAGE_MAX_FILE, &file, &file_len);
	if (!err)
		err = ady_image_new(file, file_len, &img);
	free(file);
	if (err)
		goto refuse;
	err = ady_policy_check_launch(&d->policy, img->mrsigner, img->sigstruct.attributes.flags);
	if (!err)
		err = check_limits(d, c->uid, img->layout.size, why, sizeof(why));
	if (err)
		goto refuse;
	/* fs.suid_dumpable = 1 would leave the host of another user
	 * debuggable by that user from its exec on (see private_host_copy) */
	if (geteuid() == 0 && c->uid != 0 && suid_dumpable() != 0 && suid_dumpable() != 2) {
		ady_log_err("fs.suid_dumpable is not 0 or 2: enclave hosts would be debuggable by their users; "
			    "launch refused");
		err = ADY_ERR_PERMISSION;
		goto refuse;
	}
	ei = free_enclave_slot(d);
	if (ei < 0) {
		snprintf(why, sizeof(why),
			 "adytond's enclave table (--total-enclaves) of %u: request 1 enclave, %u held, 0 free",
			 d->max_enclaves, d->max_enclaves);
		err = ADY_ERR_QUOTA;
		goto refuse;
	}
	e = &d->enclaves[ei];
	memset(e, 0, sizeof(*e));
	/* Admitted and reserved before anything is made for it. */
	pages = ady_pool_pages(&img->layout);
	err = ady_pool_admit(d, c->uid, c->gid, pages, tenant, why, sizeof(why));
	if (err)
		goto refuse;
	ady_pool_reserve(d, e, pages);
	memcpy(e->tenant, tenant, sizeof(e->tenant));
	reserved = true;
	e->threads = img->layout.threads;
	e->msbuf_size = img->layout.msbuf_size;
	e->chan_size = ady_chan_size(e->threads, e->msbuf_size);
	if (!e->chan_size) {
		err = ADY_ERR_OVERFLOW;
		goto refuse;
	}

	/* The channel: sized and sealed here, so neither side can shrink it
	 * under the other (a SIGBUS in the enclave host). */
	chan = memfd_create("adyton-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (chan < 0 || ftruncate(chan, (off_t)e->chan_size) ||
	    fcntl(chan, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = ADY_ERR_IO;
		goto close_chan;
	}
	e->ctl = mmap(NULL, ADY_CHAN_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, chan, 0);
	if (e->ctl == MAP_FAILED) {
		e->ctl = NULL;
		err = ADY_ERR_NOMEM;
		goto close_chan;
	}
	/* Its counters (backend/hostmain.h): only the host writes them, the
	 * application never has them; read-only here. */
	counts = memfd_create("adyton-counts", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (counts < 0 || ftruncate(counts, ADY_HOST_COUNTS_SIZE) ||
	    fcntl(counts, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = ADY_ERR_IO;
		goto close_counts;
	}
	e->counts = mmap(NULL, ADY_HOST_COUNTS_SIZE, PROT_READ, MAP_SHARED, counts, 0);
	if (e->counts == MAP_FAILED) {
		e->counts = NULL;
		err = ADY_ERR_NOMEM;
		goto close_counts;
	}
	const char *host = req.backend == ADY_BACKEND_KVM ? d->kvm_host_path : d->host_path;
	exe = private_host_copy(host);
	if (exe < 0) {
		ady_log_err("enclave host %s: %s", host, strerror(errno));
		err = ADY_ERR_IO;
		goto close_counts;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		err = ADY_ERR_IO;
		goto close_exe;
	}
	/* the daemon's end: a host that does not read its answers is killed,
	 * never waited for */
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK)) {
		err = ADY_ERR_IO;
		goto close_sp;
	}
	pid = fork();
	if (pid < 0) {
		err = ADY_ERR_IO;
		goto close_sp;
	}
	if (pid == 0)
		exec_host(host, exe, image_fd, chan, sp[1], counts, c->uid, c->gid, img->layout.size, &req);
	close(sp[1]);
	close(exe);
	close(counts);

	e->state = ENC_STARTING;
	e->backend = req.backend;
	e->id = ++d->next_id;
	e->client = ci;
	e->owner = c->uid;
	e->host_pid = pid;
	e->host_fd = sp[0];
	e->chan_fd = chan;
	memcpy(e->ident.mrenclave, img->mrenclave, 32);
	memcpy(e->ident.mrsigner, img->mrsigner, 32);
	e->ident.isvprodid = img->sigstruct.isvprodid;
	e->ident.isvsvn = img->sigstruct.isvsvn;
	e->ident.attributes.flags = img->sigstruct.attributes.flags | ADY_SGX_FLAGS_INIT;
	e->ident.attributes.xfrm = img->sigstruct.attributes.xfrm;
	e->ident.miscselect = img->sigstruct.miscselect;
	e->memory = img->layout.size;
	e->started = time(NULL);
#ifdef ADY_HAVE_SQLITE
	ady_usage_start(e);
#endif
	ady_image_free(img);
	close(image_fd);
	ady_log_info(d, "enclave %llu: launching for uid %u%s%s (host pid %d, %llu pages)", (unsigned long long)e->id,
		     (unsigned)c->uid, e->tenant[0] ? ", tenant " : "", e->tenant, (int)pid, (unsigned long long)e->pages);
	return ADY_OK; /* the answer goes out when the host is ready */

close_sp:
	close(sp[0]);
	close(sp[1]);
close_exe:
	close(exe);
close_counts:
	ady_counts_unmap(e);
	if (counts >= 0)
		close(counts);
	munmap(e->ctl, ADY_CHAN_CTL_SIZE);
	e->ctl = NULL;
close_chan:
	if (chan >= 0)
		close(chan);
refuse:
	if (reserved) {
		ady_pool_release(d, e);
		memset(e, 0, sizeof(*e));
	}
	ady_image_free(img);
	if (image_fd >= 0)
		close(image_fd);
	ady_log_info(d, "launch refused for uid %u: %s%s%s", (unsigned)c->uid, ady_strerror(err), why[0] ? ": " : "",
		     why);
	d->stats.launches[err == ADY_ERR_QUOTA        ? ADY_LAUNCH_QUOTA
			  : err == ADY_ERR_PERMISSION ? ADY_LAUNCH_POLICY
						      : ADY_LAUNCH_ERROR]++;
	if (why[0] && reply_refused(d, ci, why))
		return ADY_ERR_IO;
	out.status = (uint32_t)err;
	return reply_launched(d, ci, &out, -1) ? ADY_ERR_IO : ADY_OK;
}

static ady_err list(ady_daemon *d, int ci)
{
	static ady_listing_entry entries[ADY_LISTING_MAX];
	ady_client *c = &d->clients[ci];
	uint32_t n = 0;
	size_t len;
	ady_err err;

	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		const ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_READY || (c->uid != 0 && c->uid != e->owner))
			continue;
		/* one LISTING frame holds ADY_LISTING_MAX (585): the oldest slots */
		if (n == ADY_LISTING_MAX)
			break;
		ady_listing_entry *x = &entries[n++];
		memset(x, 0, sizeof(*x));
		x->id = e->id;
		x->owner_uid = e->owner;
		x->host_pid = (uint32_t)e->host_pid;
		x->backend = e->backend;
		x->flags = e->flags;
		x->memory = e->memory;
		x->started = (uint64_t)e->started;
		memcpy(x->mrenclave, e->ident.mrenclave, 32);
		x->pages = e->pages;
		memcpy(x->tenant, e->tenant, sizeof(x->tenant));
	}
	err = ady_proto_encode_listing(entries, n, msgbuf, sizeof(msgbuf), &len);
	return err ? err : ady_daemon_client_send(d, ci, ADY_PROTO_LISTING, msgbuf, len, -1);
}

static ady_err destroy(ady_daemon *d, int ci, const uint8_t *p, size_t len)
{
	ady_client *c = &d->clients[ci];
	ady_proto_destroy m;
	ady_err err = ady_proto_decode_destroy(p, len, &m);

	if (err)
		return err;
	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_FREE && e->id == m.id) {
			if (c->uid != 0 && c->uid != e->owner)
				return reply_status(d, ci, ADY_ERR_PERMISSION);
			ady_daemon_kill_enclave(d, i);
			return reply_status(d, ci, ADY_OK);
		}
	}
	return reply_status(d, ci, ADY_ERR_INVALID_ARG);
}

/* The pool and the tenants this client may see: root all, others their own. */
static ady_err capacity(ady_daemon *d, int ci)
{
	static ady_proto_capacity m;
	ady_client *c = &d->clients[ci];
	const ady_policy_tenant *own = ady_policy_tenant_of(&d->policy, c->uid, c->gid);
	size_t len;
	ady_err err;

	memset(&m, 0, sizeof(m));
	m.total_pages = d->pool.total;
	m.free_pages = ady_pool_free(d);
	m.allocated_pages = d->pool.allocated;
	m.high_water_pages = d->pool.high_water;
	m.cert_type = d->attest.cert_type;
	for (uint32_t i = 0; i < d->policy.ntenants && i < ADY_CAPACITY_MAX_TENANTS; i++) {
		const ady_policy_tenant *t = &d->policy.tenants[i];
		if (c->uid != 0 && t != own)
			continue;
		ady_capacity_tenant *x = &m.tenants[m.ntenants++];
		snprintf(x->name, sizeof(x->name), "%s", t->name);
		ady_pool_tenant_usage(d, t->name, &x->pages, &x->count);
		x->max_pages = t->max_memory / ADY_PAGE_SIZE;
		x->max_enclaves = t->max_enclaves;
	}
	err = ady_proto_encode_capacity(&m, msgbuf, sizeof(msgbuf), &len);
	return err ? err : ady_daemon_client_send(d, ci, ADY_PROTO_CAPACITY_INFO, msgbuf, len, -1);
}

/* see internal.h */
ady_err ady_daemon_client_msg(ady_daemon *d, int ci)
{
	ady_proto_hdr h;
	int fd = -1;
	ady_err err = ady_wire_recv(d->clients[ci].fd, &h, msgbuf, sizeof(msgbuf), &fd);

	if (err)
		return err;
	{
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		d->clients[ci].last = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	}
	switch (h.type) {
	case ADY_PROTO_LAUNCH:
		return launch(d, ci, msgbuf, h.length, fd);
	case ADY_PROTO_LIST:
		err = h.length == 0 ? list(d, ci) : ADY_ERR_PROTOCOL;
		break;
	case ADY_PROTO_CAPACITY:
		err = h.length == 0 ? capacity(d, ci) : ADY_ERR_PROTOCOL;
		break;
	case ADY_PROTO_DESTROY:
		err = destroy(d, ci, msgbuf, h.length);
		break;
	default:
		/* host-side or answer types from a client: a confused or hostile peer */
		err = ADY_ERR_PROTOCOL;
		break;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

static ady_err host_ready(ady_daemon *d, ady_denclave *e, const uint8_t *p, size_t len)
{
	ady_proto_launched out = {0};
	ady_proto_host_ready r;
	ady_err err = ady_proto_decode_host_ready(p, len, &r);

	if (err)
		return err;
	/* The host measured the pages it runs; they must be the ones the
	 * daemon measured and checked against the policy. */
	if (r.status != ADY_OK || !ady_memeq_ct(r.mrenclave, e->ident.mrenclave, 32) ||
	    !ady_memeq_ct(r.mrsigner, e->ident.mrsigner, 32))
		return ADY_ERR_MEASUREMENT;
	err = host_status(e->host_fd, ADY_OK);
	if (err)
		return err;
	e->state = ENC_READY;
	d->stats.launches[ADY_LAUNCH_OK]++;
	e->flags = r.flags & ADY_LAUNCH_WEAK_MEMORY;
	if (e->client < 0)
		return ADY_ERR_STATE;
	out.status = ADY_OK;
	out.threads = e->threads;
	out.id = e->id;
	out.msbuf_size = e->msbuf_size;
	out.channel_size = e->chan_size;
	out.attributes = e->ident.attributes.flags;
	out.host_pid = (uint32_t)e->host_pid;
	out.flags = e->flags;
	out.isvprodid = e->ident.isvprodid;
	out.isvsvn = e->ident.isvsvn;
	memcpy(out.mrenclave, e->ident.mrenclave, 32);
	memcpy(out.mrsigner, e->ident.mrsigner, 32);
	err = reply_launched(d, e->client, &out, e->chan_fd);
	e->answered = true;
	/* The daemon keeps only the control page mapping. */
	close(e->chan_fd);
	e->chan_fd = -1;
	ady_log_info(d, "enclave %llu: running%s", (unsigned long long)e->id,
		     e->flags & ADY_LAUNCH_WEAK_MEMORY ? " (weak memory: no memfd_secret)" : "");
	return err ? ADY_ERR_STATE : ADY_OK;
}

/*
 * A platform exit an enclave host forwarded (platform/platform.h), served
 * from the identity recorded at launch: the request decoded into the io
 * struct, the row's answer encoded back.  Any other message type, or a
 * malformed request, ends the host's session.
 */
static ady_err serve_platform(ady_daemon *d, ady_denclave *e, const uint8_t *p, uint16_t type, size_t len)
{
	static ady_platform_io io;
	static uint8_t ans[8 + ADY_PROTO_MAX_QUOTE];
	const ady_platform_op *op = ady_platform_op_by_msg(type);
	ady_platform_server srv = {
		.platform = &d->platform,
		.self = &e->ident,
		.attest_key = d->attest.key,
		.cert_type = d->attest.cert_type,
		.cert = d->attest.cert,
		.cert_len = d->attest.cert_len,
	};
	size_t ans_len;
	ady_err err;

	if (!op)
		return ADY_ERR_PROTOCOL;
	/* Policy is read per request: a SIGHUP reload revokes at once. */
	srv.provision_allowed = ady_policy_may_provision(&d->policy, e->ident.mrsigner, e->ident.isvprodid);
	memset(&io, 0, op->io_size);
	err = op->decode_req(p, len, &io);
	if (err)
		return err;
	op->serve(&srv, &io);
	if (op->op == ADY_EXIT_QUOTE) {
		d->stats.quotes[io.quote.status != ADY_OK]++;
		if (io.quote.status != ADY_OK)
			ady_log_info(d, "enclave %llu: quote refused: %s", (unsigned long long)e->id,
				     ady_strerror((ady_err)io.quote.status));
	}
	err = op->encode_ans(&io, ans, sizeof(ans), &ans_len);
	if (!err)
		err = ady_wire_send(e->host_fd, op->ans_type, ans, ans_len, -1);
	if (op->secret) {
		ady_wipe(&io, op->io_size);
		ady_wipe(ans, sizeof(ans));
	}
	return err;
}

/* see internal.h */
ady_err ady_daemon_host_msg(ady_daemon *d, int ei)
{
	ady_denclave *e = &d->enclaves[ei];
	ady_proto_hdr h;
	ady_err err = ady_wire_recv(e->host_fd, &h, msgbuf, sizeof(msgbuf), NULL);

	if (err)
		return err;
	if (e->state == ENC_STARTING)
		return h.type == ADY_PROTO_HOST_READY ? host_ready(d, e, msgbuf, h.length) : ADY_ERR_PROTOCOL;
	if (e->state != ENC_READY)
		return ADY_ERR_STATE;
	switch (h.type) {
	case ADY_PROTO_ABORTED: {
		static ady_proto_aborted a;

		err = ady_proto_decode_aborted(msgbuf, h.length, &a);
		if (err)
			return err;
		for (uint32_t i = 0; i < a.len; i++)
			if (a.reason[i] < 0x20 || a.reason[i] > 0x7e)
				a.reason[i] = '?';
		ady_log_info(d, "enclave %llu aborted: %.*s", (unsigned long long)e->id, (int)a.len, a.reason);
		return host_status(e->host_fd, ADY_OK);
	}
	default:
		return serve_platform(d, e, msgbuf, h.type, h.length);
	}
}

/* see internal.h */
void ady_daemon_kill_enclave(ady_daemon *d, int ei)
{
	ady_denclave *e = &d->enclaves[ei];

	(void)d;
	if (e->state == ENC_FREE || e->state == ENC_DYING)
		return;
	kill(e->host_pid, SIGKILL);
	e->state = ENC_DYING; /* freed when reaped */
}

/* see internal.h */
void ady_daemon_client_gone(ady_daemon *d, int ci)
{
	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_FREE && e->client == ci) {
			e->client = -1;
			ady_daemon_kill_enclave(d, i);
		}
	}
	close(d->clients[ci].fd);
	while (d->clients[ci].qlen) {
		ady_client *c = &d->clients[ci];
		outmsg_free(&c->queue[c->qhead]);
		c->qhead = (c->qhead + 1) % ADY_CLIENT_QUEUE;
		c->qlen--;
	}
	d->clients[ci] = (ady_client){.used = false, .fd = -1};
}

static void mark_dead(ady_denclave *e)
{
	if (!e->ctl)
		return;
	for (uint32_t i = 0; i < e->threads && i < 64; i++) {
		__atomic_store_n(&e->ctl[i].dead, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &e->ctl[i].turn, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
	}
	munmap(e->ctl, ADY_CHAN_CTL_SIZE);
	e->ctl = NULL;
}

/* see internal.h */
void ady_daemon_reap(ady_daemon *d)
{
	struct rusage ru;
	int status;
	pid_t pid;

	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		for (int i = 0; i < (int)d->enclaves_hi; i++) {
			ady_denclave *e = &d->enclaves[i];
			if (e->state == ENC_FREE || e->host_pid != pid)
				continue;
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
				ady_log_info(d, "enclave %llu: killed by seccomp (a system call)", (unsigned long long)e->id);
			else if (e->state != ENC_DYING || !e->answered)
				ady_log_info(d, "enclave %llu: host exited (status 0x%x)", (unsigned long long)e->id, status);
			d->stats.exits[WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? ADY_EXIT_SECCOMP
				       : e->state == ENC_DYING				   ? ADY_EXIT_DESTROYED
				       : WIFSIGNALED(status)				   ? ADY_EXIT_KILLED
											   : ADY_EXIT_EXITED]++;
			if (!e->answered) /* it never ran */
				d->stats.launches[ADY_LAUNCH_ERROR]++;
			if (!e->answered && e->client >= 0) {
				ady_proto_launched out = {.status = ADY_ERR_ENCLAVE_LOST};
				(void)reply_launched(d, e->client, &out, -1);
			}
			mark_dead(e);
			/* the host is gone: its counters are final */
			ady_counts_end(d, e);
#ifdef ADY_HAVE_SQLITE
			ady_usage_end(e, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
						 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
#endif
			/* its memory is gone with its host: the pages are back */
			ady_pool_release(d, e);
			if (e->host_fd >= 0)
				close(e->host_fd);
			if (e->chan_fd >= 0)
				close(e->chan_fd);
			memset(e, 0, sizeof(*e));
			e->state = ENC_FREE;
		}
	}
}
