/*
 * adytond's Prometheus metrics (text exposition format 0.0.4), served by
 * Debian's libmicrohttpd in a thread of its own.
 *
 * Threads and shared state: everything but the scrape answers stays on
 * the daemon's poll() loop.  A scrape asks the loop for a snapshot of what
 * the metrics show (an eventfd in the loop's poll set) and waits for it, at
 * most METRICS_WAIT_MS (then it answers with the last one); the loop builds
 * it at the end of its round (ady_metrics_publish: a few counters, a scan
 * of the enclave table with each enclave's ECALL and exit counts) and swaps
 * it in under a mutex.  Neither side holds the mutex across I/O or across
 * building a snapshot, and the loop does no metrics work at all between
 * scrapes, so neither the number of enclaves nor a scraper slows launches
 * or enclave requests.  A slow or hostile scraper meets libmicrohttpd's
 * bounds: 16 KiB of memory per connection (a larger request is refused),
 * a 5 s idle timeout, 16 connections at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "adyton/host.h"
#include "daemon/internal.h"

#define METRICS_CONN_MEMORY (16u << 10)
#define METRICS_CONN_TIMEOUT 5u
#define METRICS_CONN_LIMIT 16u
#define METRICS_WAIT_MS 1000
/* policy tenants, names whose ended enclaves were counted, and names that
 * only running enclaves still carry */
#define SNAP_TENANTS (ADY_POLICY_MAX_TENANTS + ADY_COUNT_TENANTS + 32u)

typedef struct snap_tenant {
	char name[32];
	uint64_t pages;
	uint32_t count;
	uint64_t max_pages;     /* 0: none */
	uint32_t max_enclaves;  /* 0: none */
	ady_enclave_counts c;   /* its enclaves', ended ones included */
} snap_tenant;

typedef struct snap_enclave {
	uint64_t id;
	uint32_t kvm;
	char tenant[32];
	ady_enclave_counts c;
} snap_enclave;

typedef struct snapshot {
	ady_pool pool;
	uint64_t launches[ADY_LAUNCH_RESULTS];
	uint64_t ends[ADY_EXIT_KINDS];
	uint64_t quotes[2];
	uint32_t by_backend[2]; /* process, kvm */
	ady_enclave_counts counts[2]; /* by backend, ended enclaves included */
	uint32_t ntenants;
	snap_tenant tenants[SNAP_TENANTS];
	int64_t started;        /* CLOCK_REALTIME seconds */
	uint32_t nenclaves;
	snap_enclave *enclaves; /* [max_enclaves] */
} snapshot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
/* scrapes asked (ticket numbers), and the ticket the shared snapshot serves */
static uint64_t asked, served;
/* shared: the latest snapshot (under lock); building: the loop's; mine:
 * the scrape thread's copy */
static snapshot *shared, *building, *mine;
static uint32_t snap_cap;
static int wake_fd = -1;
static struct MHD_Daemon *mhd;
static char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static snapshot *snap_new(uint32_t cap)
{
	snapshot *s = calloc(1, sizeof(*s));

	if (s && !(s->enclaves = calloc(cap ? cap : 1, sizeof(*s->enclaves)))) {
		free(s);
		s = NULL;
	}
	return s;
}

static void snap_free(snapshot *s)
{
	if (s)
		free(s->enclaves);
	free(s);
}

/* to = from: the fixed part and the enclaves it has */
static void snap_copy(snapshot *to, const snapshot *from)
{
	snap_enclave *keep = to->enclaves;

	*to = *from;
	to->enclaves = keep;
	memcpy(to->enclaves, from->enclaves, from->nenclaves * sizeof(*from->enclaves));
}

static snap_tenant *tenant_slot(snapshot *s, const char *name)
{
	for (uint32_t i = 0; i < s->ntenants; i++)
		if (strcmp(s->tenants[i].name, name) == 0)
			return &s->tenants[i];
	if (s->ntenants == SNAP_TENANTS)
		return NULL;
	snap_tenant *t = &s->tenants[s->ntenants++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	return t;
}

/* see internal.h */
int ady_metrics_fd(void) { return wake_fd; }

/* see internal.h */
void ady_metrics_publish(ady_daemon *d)
{
	snapshot *s = building, *t;
	uint64_t ticket, drain;

	if (!mhd)
		return;
	/* the tickets this snapshot serves: those asked before it is built */
	if (read(wake_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&lock);
	ticket = asked;
	pthread_mutex_unlock(&lock);

	memset(s, 0, offsetof(snapshot, enclaves));
	s->pool = d->pool;
	memcpy(s->launches, d->stats.launches, sizeof(s->launches));
	memcpy(s->ends, d->stats.exits, sizeof(s->ends));
	memcpy(s->quotes, d->stats.quotes, sizeof(s->quotes));
	s->counts[0] = d->stats.ended[0];
	s->counts[1] = d->stats.ended[1];
	s->started = d->started;
	for (uint32_t i = 0; i < d->policy.ntenants && i < ADY_POLICY_MAX_TENANTS; i++) {
		const ady_policy_tenant *p = &d->policy.tenants[i];
		snap_tenant *x = tenant_slot(s, p->name);
		if (x) {
			x->max_pages = p->max_memory / ADY_PAGE_SIZE;
			x->max_enclaves = p->max_enclaves;
		}
	}
	for (uint32_t i = 0; i < d->stats.ntenants; i++) {
		snap_tenant *x = tenant_slot(s, d->stats.tenants[i].name);
		if (x)
			ady_counts_add(&x->c, &d->stats.tenants[i].c);
	}
	for (uint32_t i = 0; i < d->enclaves_hi && i < snap_cap; i++) {
		ady_denclave *e = &d->enclaves[i];
		if (e->state == ENC_FREE)
			continue;
		uint32_t kvm = e->backend == ADY_BACKEND_KVM;
		snap_enclave *x = &s->enclaves[s->nenclaves++];
		x->id = e->id;
		x->kvm = kvm;
		memcpy(x->tenant, e->tenant, sizeof(x->tenant));
		ady_counts_read(e, &x->c);
		s->by_backend[kvm]++;
		ady_counts_add(&s->counts[kvm], &x->c);
		if (e->tenant[0]) {
			snap_tenant *y = tenant_slot(s, e->tenant);
			if (y) {
				y->pages += e->pages;
				y->count++;
				ady_counts_add(&y->c, &x->c);
			}
		}
	}
	pthread_mutex_lock(&lock);
	t = shared;
	shared = s;
	building = t;
	served = ticket;
	pthread_cond_broadcast(&fresh);
	pthread_mutex_unlock(&lock);
}

typedef struct out {
	char *buf;
	size_t len, cap;
	bool failed;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->failed = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

static void head(out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t sat_sum(const uint64_t *v, int n)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		if (__builtin_add_overflow(t, v[i], &t))
			return UINT64_MAX;
	return t;
}

static uint64_t exits_sum(const ady_enclave_counts *c) { return sat_sum(c->exits, ADY_HOST_EXIT_KINDS); }

/* every VM exit: one per exit of the enclave, and the others */
static uint64_t vm_sum(const ady_enclave_counts *c)
{
	uint64_t t = exits_sum(c), v = sat_sum(c->vm_exits, ADY_HOST_VM_EXIT_KINDS);

	return __builtin_add_overflow(t, v, &t) ? UINT64_MAX : t;
}

/* enclave="ID",backend="...",tenant="..." (no tenant label for none) */
static const char *enclave_labels(const snapshot *s, uint32_t i, char *buf, size_t cap)
{
	const snap_enclave *e = &s->enclaves[i];

	snprintf(buf, cap, "enclave=\"%" PRIu64 "\",backend=\"%s\"%s%s%s", e->id, e->kvm ? "kvm" : "process",
		 e->tenant[0] ? ",tenant=\"" : "", e->tenant, e->tenant[0] ? "\"" : "");
	return buf;
}

/* The exposition of a snapshot; NULL when out of memory. */
static char *format(const snapshot *s, size_t *len)
{
	static const char *const results[ADY_LAUNCH_RESULTS] = {"ok", "quota", "policy", "error"};
	static const char *const ends[ADY_EXIT_KINDS] = {"destroyed", "exited", "killed", "seccomp"};
	static const char *const backends[2] = {"process", "kvm"};
	static const char *const exit_kinds[ADY_HOST_EXIT_KINDS] = {"ocall", "log", "abort", "platform"};
	static const char *const vm_kinds[ADY_HOST_VM_EXIT_KINDS] = {"idle", "wake", "other"};
	char labels[96];
	out o = {.cap = 16384 + 256 * (size_t)s->nenclaves};
	struct timespec now;
	uint64_t free_pages = s->pool.allocated < s->pool.total ? s->pool.total - s->pool.allocated : 0;

	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	head(&o, "adyton_epc_size_bytes", "gauge",
	     "Capacity of the enclave memory pool (policy epc, or the default share of physical memory).");
	put(&o, "adyton_epc_size_bytes %" PRIu64 "\n", s->pool.total * ADY_PAGE_SIZE);
	head(&o, "adyton_epc_free_bytes", "gauge", "Enclave memory pool bytes not held by an enclave.");
	put(&o, "adyton_epc_free_bytes %" PRIu64 "\n", free_pages * ADY_PAGE_SIZE);
	head(&o, "adyton_epc_allocated_bytes", "gauge",
	     "Enclave memory held by enclaves: the pages of their measured layouts.");
	put(&o, "adyton_epc_allocated_bytes %" PRIu64 "\n", s->pool.allocated * ADY_PAGE_SIZE);
	head(&o, "adyton_epc_allocated_high_water_bytes", "gauge",
	     "The most enclave memory held at once since the daemon started.");
	put(&o, "adyton_epc_allocated_high_water_bytes %" PRIu64 "\n", s->pool.high_water * ADY_PAGE_SIZE);
	head(&o, "adyton_epc_refused_launches_total", "counter",
	     "Launches refused because the pool or the tenant's limit had no room.");
	put(&o, "adyton_epc_refused_launches_total %" PRIu64 "\n", s->pool.refused);

	head(&o, "adyton_enclaves", "gauge", "Enclaves held (starting, running or ending), by backend.");
	put(&o, "adyton_enclaves{backend=\"process\"} %" PRIu32 "\n", s->by_backend[0]);
	put(&o, "adyton_enclaves{backend=\"kvm\"} %" PRIu32 "\n", s->by_backend[1]);
	head(&o, "adyton_launches_total", "counter",
	     "Launch requests by result: ok (running), quota (pool or tenant limit), policy (signer, debug or "
	     "per-user limit), error (anything else).");
	for (int i = 0; i < ADY_LAUNCH_RESULTS; i++)
		put(&o, "adyton_launches_total{result=\"%s\"} %" PRIu64 "\n", results[i], s->launches[i]);
	head(&o, "adyton_enclave_ends_total", "counter",
	     "Enclave host processes ended, by how: destroyed (closed by its application, or its application "
	     "left), exited (by itself), killed (by a signal not the daemon's), seccomp (a forbidden system call).");
	for (int i = 0; i < ADY_EXIT_KINDS; i++)
		put(&o, "adyton_enclave_ends_total{how=\"%s\"} %" PRIu64 "\n", ends[i], s->ends[i]);
	head(&o, "adyton_quotes_total", "counter", "Quote requests of enclaves by result.");
	put(&o, "adyton_quotes_total{result=\"ok\"} %" PRIu64 "\n", s->quotes[0]);
	put(&o, "adyton_quotes_total{result=\"refused\"} %" PRIu64 "\n", s->quotes[1]);

	/* ECALLs and exits: every enclave the daemon launched, ended ones included */
	head(&o, "adyton_ecalls_total", "counter",
	     "ECALLs that entered an enclave, by backend (enclaves that ended included; sim enclaves run in their "
	     "application and are not counted).");
	for (int b = 0; b < 2; b++)
		put(&o, "adyton_ecalls_total{backend=\"%s\"} %" PRIu64 "\n", backends[b], s->counts[b].ecalls);
	head(&o, "adyton_exits_total", "counter",
	     "Exits of enclaves to their host for a service, by backend and kind: ocall, log and abort go to the "
	     "application, platform (keys, reports, seeds, quotes) to adytond.");
	for (int b = 0; b < 2; b++)
		for (int k = 0; k < ADY_HOST_EXIT_KINDS; k++)
			put(&o, "adyton_exits_total{backend=\"%s\",kind=\"%s\"} %" PRIu64 "\n", backends[b],
			    exit_kinds[k], s->counts[b].exits[k]);
	head(&o, "adyton_vm_exits_total", "counter",
	     "VM exits of kvm enclaves' vCPUs, by reason: call (an exit of the enclave), idle (no call within "
	     "the spin: the vCPU sleeps in its host), wake (the application slept: its host wakes it), other "
	     "(a fault, a stop, a signal).");
	put(&o, "adyton_vm_exits_total{reason=\"call\"} %" PRIu64 "\n", exits_sum(&s->counts[1]));
	for (int k = 0; k < ADY_HOST_VM_EXIT_KINDS; k++)
		put(&o, "adyton_vm_exits_total{reason=\"%s\"} %" PRIu64 "\n", vm_kinds[k], s->counts[1].vm_exits[k]);
	head(&o, "adyton_enclave_ecalls_total", "counter", "ECALLs that entered a running enclave (by its id).");
	for (uint32_t i = 0; i < s->nenclaves; i++)
		put(&o, "adyton_enclave_ecalls_total{%s} %" PRIu64 "\n", enclave_labels(s, i, labels, sizeof(labels)),
		    s->enclaves[i].c.ecalls);
	head(&o, "adyton_enclave_exits_total", "counter", "Exits of a running enclave (all kinds).");
	for (uint32_t i = 0; i < s->nenclaves; i++)
		put(&o, "adyton_enclave_exits_total{%s} %" PRIu64 "\n", enclave_labels(s, i, labels, sizeof(labels)),
		    exits_sum(&s->enclaves[i].c));
	head(&o, "adyton_enclave_vm_exits_total", "counter", "VM exits of a running kvm enclave's vCPUs (all reasons).");
	for (uint32_t i = 0; i < s->nenclaves; i++)
		if (s->enclaves[i].kvm)
			put(&o, "adyton_enclave_vm_exits_total{%s} %" PRIu64 "\n",
			    enclave_labels(s, i, labels, sizeof(labels)), vm_sum(&s->enclaves[i].c));

	/* tenant names are [a-z0-9_]: nothing to escape in a label value */
	head(&o, "adyton_tenant_enclave_memory_bytes", "gauge", "Enclave memory held by a tenant's enclaves.");
	for (uint32_t i = 0; i < s->ntenants; i++)
		put(&o, "adyton_tenant_enclave_memory_bytes{tenant=\"%s\"} %" PRIu64 "\n", s->tenants[i].name,
		    s->tenants[i].pages * ADY_PAGE_SIZE);
	head(&o, "adyton_tenant_enclaves", "gauge", "Enclaves a tenant holds.");
	for (uint32_t i = 0; i < s->ntenants; i++)
		put(&o, "adyton_tenant_enclaves{tenant=\"%s\"} %" PRIu32 "\n", s->tenants[i].name, s->tenants[i].count);
	head(&o, "adyton_tenant_enclave_memory_limit_bytes", "gauge",
	     "A tenant's enclave memory limit (tenants without one are not listed).");
	for (uint32_t i = 0; i < s->ntenants; i++)
		if (s->tenants[i].max_pages)
			put(&o, "adyton_tenant_enclave_memory_limit_bytes{tenant=\"%s\"} %" PRIu64 "\n",
			    s->tenants[i].name, s->tenants[i].max_pages * ADY_PAGE_SIZE);
	head(&o, "adyton_tenant_ecalls_total", "counter", "ECALLs of a tenant's enclaves (ended ones included).");
	for (uint32_t i = 0; i < s->ntenants; i++)
		put(&o, "adyton_tenant_ecalls_total{tenant=\"%s\"} %" PRIu64 "\n", s->tenants[i].name,
		    s->tenants[i].c.ecalls);
	head(&o, "adyton_tenant_exits_total", "counter", "Exits of a tenant's enclaves, all kinds (ended ones included).");
	for (uint32_t i = 0; i < s->ntenants; i++)
		put(&o, "adyton_tenant_exits_total{tenant=\"%s\"} %" PRIu64 "\n", s->tenants[i].name,
		    exits_sum(&s->tenants[i].c));
	head(&o, "adyton_tenant_enclaves_limit", "gauge",
	     "A tenant's limit on its number of enclaves (tenants without one are not listed).");
	for (uint32_t i = 0; i < s->ntenants; i++)
		if (s->tenants[i].max_enclaves)
			put(&o, "adyton_tenant_enclaves_limit{tenant=\"%s\"} %" PRIu32 "\n", s->tenants[i].name,
			    s->tenants[i].max_enclaves);

	head(&o, "adyton_start_time_seconds", "gauge", "When the daemon started, in seconds since the Unix epoch.");
	put(&o, "adyton_start_time_seconds %" PRId64 "\n", s->started);
	head(&o, "adyton_uptime_seconds", "gauge", "Seconds since the daemon started.");
	put(&o, "adyton_uptime_seconds %" PRId64 "\n",
	    (int64_t)now.tv_sec > s->started ? (int64_t)now.tv_sec - s->started : 0);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* libmicrohttpd's thread: GET /metrics (HEAD too), nothing else. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct MHD_Response *r;
	struct timespec until;
	uint64_t ticket, one = 1;
	enum MHD_Result ret;
	size_t len;
	char *text;

	(void)cls, (void)version, (void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	/* a GET with a body: refused, not read */
	if (*upload_len || *state)
		return MHD_NO;
	if (strcmp(url, "/metrics") != 0)
		return answer_text(c, MHD_HTTP_NOT_FOUND, "adytond serves /metrics only\n");
	/* only this thread formats (MHD_USE_INTERNAL_POLLING_THREAD): mine is its own */
	pthread_mutex_lock(&lock);
	ticket = ++asked;
	pthread_mutex_unlock(&lock);
	if (write(wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		ticket = 0; /* cannot happen short of 2^64 asks: answer with what there is */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += METRICS_WAIT_MS / 1000;
	pthread_mutex_lock(&lock);
	while (served < ticket && pthread_cond_timedwait(&fresh, &lock, &until) == 0)
		;
	snap_copy(mine, shared);
	pthread_mutex_unlock(&lock);
	text = format(mine, &len);
	if (!text)
		return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* "unix:PATH", "HOST:PORT" (HOST an IPv4 address or [IPv6]), or "PORT"
 * (127.0.0.1).  A listening socket, or -1 with the reason logged. */
static int listen_addr(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64];
	const char *port = spec;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		const char *path = spec + 5;
		if (!*path || strlen(path) >= sizeof(un->sun_path)) {
			ady_log_err("--metrics %s: the socket path is empty or too long", spec);
			return -1;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		sl = sizeof(*un);
		unlink(path);
		snprintf(unix_path, sizeof(unix_path), "%s", path);
	} else {
		const char *colon = strrchr(spec, ':');
		char *end;
		unsigned long p;

		snprintf(host, sizeof(host), "127.0.0.1");
		if (colon) {
			size_t n = (size_t)(colon - spec);
			if (n >= sizeof(host)) {
				ady_log_err("--metrics %s: not HOST:PORT", spec);
				return -1;
			}
			memcpy(host, spec, n);
			host[n] = '\0';
			port = colon + 1;
		}
		errno = 0;
		p = strtoul(port, &end, 10);
		if (!*port || *end || errno || p == 0 || p > 65535) {
			ady_log_err("--metrics %s: the port is not a number 1-65535", spec);
			return -1;
		}
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			host[strlen(host) - 1] = '\0';
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)p);
			if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) {
				ady_log_err("--metrics %s: not an IPv6 address", spec);
				return -1;
			}
			sl = sizeof(*a);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)p);
			if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
				ady_log_err("--metrics %s: not an IPv4 address (names are not resolved)", spec);
				return -1;
			}
			sl = sizeof(*a);
		}
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (ss.ss_family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto close_fd;
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 16))
		goto close_fd;
	/* the metrics say nothing secret, but who may read them is the
	 * operator's choice: the directory's permissions decide */
	if (ss.ss_family == AF_UNIX && chmod(unix_path, 0666))
		goto close_fd;
	return fd;

close_fd:
	close(fd);
fail:
	ady_log_err("--metrics %s: %s", spec, strerror(errno));
	return -1;
}

/* see internal.h */
int ady_metrics_start(ady_daemon *d, const char *spec)
{
	int fd = listen_addr(spec);

	if (fd < 0)
		return -1;
	/* the condition waits on CLOCK_MONOTONIC: a clock step does not
	 * stretch a scrape */
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&fresh, &ca)) {
		ady_log_err("--metrics: pthread_cond_init failed");
		close(fd);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	snap_cap = d->max_enclaves;
	shared = snap_new(snap_cap);
	building = snap_new(snap_cap);
	mine = snap_new(snap_cap);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!shared || !building || !mine || wake_fd < 0) {
		ady_log_err("--metrics: out of memory or descriptors");
		close(fd);
		return -1;
	}
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, handle, NULL,
			       MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			       (size_t)METRICS_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, METRICS_CONN_TIMEOUT,
			       MHD_OPTION_CONNECTION_LIMIT, METRICS_CONN_LIMIT, MHD_OPTION_END);
	if (!mhd) {
		ady_log_err("--metrics %s: libmicrohttpd did not start", spec);
		close(fd);
		return -1;
	}
	ady_log_info(d, "metrics on %s", spec);
	return 0;
}

/* see internal.h */
void ady_metrics_stop(void)
{
	if (!mhd)
		return;
	MHD_stop_daemon(mhd);
	mhd = NULL;
	snap_free(shared);
	snap_free(building);
	snap_free(mine);
	shared = building = mine = NULL;
	close(wake_fd);
	wake_fd = -1;
	if (unix_path[0])
		unlink(unix_path);
}
