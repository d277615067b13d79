/*
 * bench/ecall - what an ECALL costs, next to what it is made of.
 *
 * Measured in one run, on one machine, one after the other:
 *   - a plain function call (noinline, through a volatile function pointer,
 *     with an ECALL handler's signature): the floor for sim;
 *   - an empty ECALL on the sim backend, and with 4 KiB / 64 KiB in + out;
 *   - a pipe ping-pong between two processes (1 byte there and back): the
 *     classic cross-process round trip, the yardstick for process; back to
 *     back and after 500 us of idling;
 *   - an empty ECALL on the process backend (enclave host launched by
 *     adytond; the call itself is the shared slot and futex doorbells), and
 *     with 4 KiB / 64 KiB in + out; and an empty one after 500 us of idling,
 *     when the enclave host has stopped spinning on its doorbell and sleeps
 *     in a futex (as the pipe's reader always does).
 * Each gets a warm-up, then samples for a fixed time.  A sample times a
 * batch of calls sized so that the batch takes >= 2 us (clock_gettime's own
 * cost stays ~1%); slow operations are batches of one.  Reported per call:
 * median, p10, p90 over the samples.
 *
 * usage: ecall [--seconds S] [--spin-us N] [IMAGE]   (default: this build's
 * bench enclave, bench-enclave.signed).  --spin-us: ady_enclave_opts.spin_us
 * for the process and kvm rows (how long each side spins before it sleeps;
 * under software emulation the default 5/50 us are shorter than one call,
 * so every side sleeps on every call).  The process backend needs adytond: libadyton
 * starts a per-user one on demand (see docs/operations.md, bench/run.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adyton/host.h"
#include "adyton/proto.h"
#include "backend/kvm/kvm.h"
#include "bench.h"

#ifndef ADY_BENCH_ENCLAVE
#define ADY_BENCH_ENCLAVE "bench-enclave.signed"
#endif

#define WARMUP_SEC 0.2
#define BATCH_MIN_NS 2000.0
#define MAX_SAMPLES 1000000u
/* Longer than the doorbell's spin (a few us), short enough for many samples. */
#define IDLE_US 500u

/* Runs the operation n times; records a failure in the context. */
typedef void (*op_fn)(void *ctx, unsigned n);

typedef struct stats {
	double median, p10, p90; /* ns per call */
	size_t samples;
	unsigned batch;
	bool ok;
} stats;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n), nearest rank. */
static double quantile(const double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

/*
 * Samples op for `seconds` after a warm-up.  With idle_us > 0 every sample
 * is a single call preceded (untimed) by that long a sleep: the cost of a
 * call that finds the other side asleep rather than spinning.
 */
static stats measure(op_fn op, void *ctx, double seconds, unsigned idle_us)
{
	const struct timespec idle = {0, (long)idle_us * 1000};
	stats s = {0};
	double t0, t, end;
	unsigned batch = 1;
	double *v;
	size_t n = 0;

	/* warm-up: caches, branch predictors, page faults, CPU frequency */
	t0 = now_ns();
	while (now_ns() - t0 < WARMUP_SEC * 1e9)
		op(ctx, 16);
	/* the smallest power-of-two batch that takes BATCH_MIN_NS, by the
	 * fastest of a few tries: one interrupt must not end the search */
	while (!idle_us && batch < (1u << 20)) {
		double best = 1e18;

		for (int k = 0; k < 5; k++) {
			t = now_ns();
			op(ctx, batch);
			t0 = now_ns() - t;
			best = t0 < best ? t0 : best;
		}
		if (best >= BATCH_MIN_NS)
			break;
		batch *= 2;
	}
	v = malloc(MAX_SAMPLES * sizeof(*v));
	if (!v)
		return s;
	end = now_ns() + seconds * 1e9;
	while (n < MAX_SAMPLES) {
		if (idle_us)
			nanosleep(&idle, NULL);
		t = now_ns();
		op(ctx, batch);
		t0 = now_ns();
		v[n++] = (t0 - t) / batch;
		if (t0 >= end)
			break;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	s.median = quantile(v, n, 0.5);
	s.p10 = quantile(v, n, 0.1);
	s.p90 = quantile(v, n, 0.9);
	s.samples = n;
	s.batch = batch;
	s.ok = true;
	free(v);
	return s;
}

static void fmt_time(double ns, char *buf, size_t cap)
{
	if (ns < 1000)
		snprintf(buf, cap, "%.1f ns", ns);
	else
		snprintf(buf, cap, "%.2f us", ns / 1000);
}

static void report(const char *name, const stats *s)
{
	char m[32], lo[32], hi[32];

	if (!s->ok) {
		printf("  %-40s %s\n", name, "(failed)");
		return;
	}
	fmt_time(s->median, m, sizeof(m));
	fmt_time(s->p10, lo, sizeof(lo));
	fmt_time(s->p90, hi, sizeof(hi));
	printf("  %-40s %10s  %10s  %10s  %7zu x %u\n", name, m, lo, hi, s->samples, s->batch);
	fflush(stdout);
}

/* ---- plain function call ---- */

typedef int (*handler_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* An ECALL handler's signature and nothing inside: the compiler may
 * neither inline it (noinline, and the pointer is volatile) nor drop the
 * call (the asm is opaque). */
__attribute__((noinline)) static int plain(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
					   size_t *out_len)
{
	__asm__ volatile("" : : "r"(in), "r"(in_len), "r"(out), "r"(out_cap) : "memory");
	*out_len = 0;
	return 0;
}

static handler_fn volatile plain_ptr = plain;

static void op_function(void *ctx, unsigned n)
{
	size_t out_len;
	int *acc = ctx;

	for (unsigned i = 0; i < n; i++)
		*acc |= plain_ptr(NULL, 0, NULL, 0, &out_len);
}

/* ---- ECALLs ---- */

typedef struct ecall_ctx {
	ady_enclave *e;
	uint32_t index;
	const uint8_t *in;
	size_t len; /* in, and out capacity */
	uint8_t *out;
	ady_err err; /* first failure */
} ecall_ctx;

static void op_ecall(void *ctx, unsigned n)
{
	ecall_ctx *c = ctx;

	for (unsigned i = 0; i < n; i++) {
		size_t out_len;
		ady_err err = ady_ecall(c->e, c->index, c->in, c->len, c->out, c->len, &out_len);

		if (err && !c->err)
			c->err = err;
	}
}

/* Empty, 4 KiB and 64 KiB ECALLs on one backend, s[0..3); process and kvm
 * also an empty ECALL after an idle gap, s[3]. */
static uint32_t spin_us; /* --spin-us */

static void bench_backend(ady_backend backend, uint32_t flags, const char *name, const char *image, double seconds,
			  stats s[4])
{
	static const size_t sizes[] = {4096, 65536};
	ady_enclave_opts opts = {.backend = backend, .flags = flags, .spin_us = spin_us};
	uint8_t *in = NULL, *out = NULL;
	char label[64];
	ecall_ctx c;
	ady_enclave *e;
	ady_err err;

	memset(s, 0, 4 * sizeof(*s));
	err = ady_enclave_open(image, &opts, &e);
	if (err) {
		const char *why = NULL;
		(void)ady_backend_available(backend, &why);
		printf("  %-40s unavailable: %s%s%s\n", name, ady_strerror(err), why ? ": " : "", why ? why : "");
		return;
	}
	in = malloc(sizes[1]);
	out = malloc(sizes[1]);
	if (!in || !out)
		goto close;
	for (size_t i = 0; i < sizes[1]; i++)
		in[i] = (uint8_t)(i * 131u + 7u);

	c = (ecall_ctx){.e = e, .index = BENCH_EMPTY};
	snprintf(label, sizeof(label), "%s ecall, empty", name);
	s[0] = measure(op_ecall, &c, seconds, 0);
	s[0].ok = s[0].ok && !c.err;
	report(label, &s[0]);
	if (c.err)
		fprintf(stderr, "bench: %s: %s\n", label, ady_strerror(c.err));

	for (size_t k = 0; k < 2; k++) {
		size_t out_len = 0;

		c = (ecall_ctx){.e = e, .index = BENCH_ECHO, .in = in, .len = sizes[k], .out = out};
		snprintf(label, sizeof(label), "%s ecall, %zu KiB in + out", name, sizes[k] / 1024);
		/* the copies are real: check them once */
		err = ady_ecall(e, BENCH_ECHO, in, sizes[k], out, sizes[k], &out_len);
		if (err || out_len != sizes[k] || memcmp(in, out, sizes[k])) {
			fprintf(stderr, "bench: %s: echo is wrong (%s)\n", label, ady_strerror(err));
			report(label, &s[1 + k]);
			continue;
		}
		s[1 + k] = measure(op_ecall, &c, seconds, 0);
		s[1 + k].ok = s[1 + k].ok && !c.err;
		report(label, &s[1 + k]);
		if (c.err)
			fprintf(stderr, "bench: %s: %s\n", label, ady_strerror(c.err));
	}

	/* The loops above keep the enclave host spinning on its doorbell; an
	 * application that calls now and then wakes it from a futex instead. */
	if (backend != ADY_BACKEND_SIM) {
		c = (ecall_ctx){.e = e, .index = BENCH_EMPTY};
		snprintf(label, sizeof(label), "%s ecall, empty, after %u us idle", name, IDLE_US);
		s[3] = measure(op_ecall, &c, seconds, IDLE_US);
		s[3].ok = s[3].ok && !c.err;
		report(label, &s[3]);
		if (c.err)
			fprintf(stderr, "bench: %s: %s\n", label, ady_strerror(c.err));
	}
close:
	free(in);
	free(out);
	ady_enclave_close(e);
}

/* ---- the bare KVM exit round trip ---- */

typedef struct exit_ctx {
	ady_kvm_exitloop *x;
	bool failed;
} exit_ctx;

static void op_exit(void *ctx, unsigned n)
{
	exit_ctx *c = ctx;

	if (ady_kvm_exitloop_run(c->x, n))
		c->failed = true;
}

/* One KVM_RUN that enters a guest and comes back with a port-I/O exit:
 * the floor under a kvm ECALL that exits once per call, measured in the
 * same run on the same machine. */
static void bench_raw_exit(double seconds, stats *s)
{
	exit_ctx c = {0};
	char why[256];

	memset(s, 0, sizeof(*s));
	if (ady_kvm_exitloop_new(&c.x, why, sizeof(why))) {
		printf("  %-40s unavailable: %s\n", "KVM_RUN exit round trip", why);
		return;
	}
	*s = measure(op_exit, &c, seconds, 0);
	s->ok = s->ok && !c.failed;
	report("KVM_RUN exit round trip (bare guest)", s);
	ady_kvm_exitloop_free(c.x);
}

/* ---- pipe ping-pong ---- */

typedef struct pipe_ctx {
	int to_child, from_child;
	bool failed;
} pipe_ctx;

static bool xfer(int fd, bool wr)
{
	char b = 'x';

	for (;;) {
		ssize_t r = wr ? write(fd, &b, 1) : read(fd, &b, 1);

		if (r == 1)
			return true;
		if (r < 0 && errno == EINTR)
			continue;
		return false;
	}
}

static void op_pipe(void *ctx, unsigned n)
{
	pipe_ctx *p = ctx;

	for (unsigned i = 0; i < n && !p->failed; i++)
		if (!xfer(p->to_child, true) || !xfer(p->from_child, false))
			p->failed = true;
}

/* Back to back, s[0], and after an idle gap, s[1]. */
static void bench_pipe(double seconds, stats s[2])
{
	int a[2], b[2], status;
	pipe_ctx p = {0};
	char label[64];
	pid_t pid;

	memset(s, 0, 2 * sizeof(*s));
	if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC)) {
		perror("bench: pipe");
		return;
	}
	pid = fork();
	if (pid < 0) {
		perror("bench: fork");
		return;
	}
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		/* echo until the parent closes its end */
		while (xfer(a[0], false) && xfer(b[1], true))
			;
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	p.to_child = a[1];
	p.from_child = b[0];
	s[0] = measure(op_pipe, &p, seconds, 0);
	s[0].ok = s[0].ok && !p.failed;
	report("pipe ping-pong (2 processes, 1 byte)", &s[0]);
	s[1] = measure(op_pipe, &p, seconds, IDLE_US);
	s[1].ok = s[1].ok && !p.failed;
	snprintf(label, sizeof(label), "pipe ping-pong, after %u us idle", IDLE_US);
	report(label, &s[1]);
	close(a[1]);
	close(b[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* ---- main ---- */

static void print_machine(void)
{
	char model[256] = "unknown CPU", line[512], date[64];
	struct utsname u;
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && colon) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	printf("bench/ecall  %s\n%s, %ld CPUs, Linux %s\n", date, model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

static void ratio(const char *name, const stats *num, const stats *den)
{
	if (num->ok && den->ok && den->median > 0)
		printf("  %-40s %10.2f\n", name, num->median / den->median);
	else
		printf("  %-40s %10s\n", name, "n/a");
}

int main(int argc, char **argv)
{
	const char *image = ADY_BENCH_ENCLAVE;
	double seconds = 1.5;
	stats fn, pipe_s[2], sim[4], proc[4], kvm[4], kvm_exit[4], raw_exit;
	int acc = 0, a = 1;

	if (a + 1 < argc && strcmp(argv[a], "--seconds") == 0) {
		char *end;
		seconds = strtod(argv[a + 1], &end);
		if (*end || !(seconds > 0 && seconds <= 60)) {
			fprintf(stderr, "bench: --seconds wants 0 < S <= 60\n");
			return 2;
		}
		a += 2;
	}
	if (a + 1 < argc && strcmp(argv[a], "--spin-us") == 0) {
		char *end;
		unsigned long v = strtoul(argv[a + 1], &end, 10);
		if (*end || argv[a + 1][0] == '-' || v > ADY_LAUNCH_MAX_SPIN_US) {
			fprintf(stderr, "bench: --spin-us wants 0 <= N <= %u\n", ADY_LAUNCH_MAX_SPIN_US);
			return 2;
		}
		spin_us = (uint32_t)v;
		a += 2;
	}
	if (a < argc && argv[a][0] == '-') {
		fprintf(stderr, "usage: ecall [--seconds S] [--spin-us N] [IMAGE]\n");
		return 2;
	}
	if (a < argc)
		image = argv[a++];
	if (a != argc) {
		fprintf(stderr, "usage: ecall [--seconds S] [--spin-us N] [IMAGE]\n");
		return 2;
	}

	print_machine();
	printf("per call: median, p10, p90; samples x calls per sample; %.1f s each after %.1f s warm-up\n",
	       seconds, WARMUP_SEC);
	printf("spin before sleeping: %s\n\n", spin_us ? "--spin-us for process and kvm" : "the defaults (5 us, 50 us)");
	printf("  %-40s %10s  %10s  %10s  %s\n", "", "median", "p10", "p90", "samples");
	fn = measure(op_function, &acc, seconds, 0);
	report("function call (noinline, volatile ptr)", &fn);
	bench_backend(ADY_BACKEND_SIM, 0, "sim", image, seconds, sim);
	bench_pipe(seconds, pipe_s);
	bench_backend(ADY_BACKEND_PROCESS, 0, "process", image, seconds, proc);
	/* kvm: switchless (the vCPU waits in guest mode) next to the process
	 * backend, a VM exit per call next to the bare exit; "unavailable"
	 * with the probe's reason where the backend cannot run. */
	bench_raw_exit(seconds, &raw_exit);
	bench_backend(ADY_BACKEND_KVM, 0, "kvm", image, seconds, kvm);
	bench_backend(ADY_BACKEND_KVM, ADY_OPEN_EXIT_PER_CALL, "kvm exit/call", image, seconds, kvm_exit);

	printf("\nratios of medians\n");
	ratio("sim empty ecall / function call", &sim[0], &fn);
	ratio("process empty ecall / pipe ping-pong", &proc[0], &pipe_s[0]);
	ratio("  both after idle", &proc[3], &pipe_s[1]);
	if (kvm[0].ok) {
		ratio("kvm empty ecall / process empty ecall", &kvm[0], &proc[0]);
		ratio("  both after idle", &kvm[3], &proc[3]);
		ratio("kvm empty ecall / KVM_RUN exit", &kvm[0], &raw_exit);
	}
	if (kvm_exit[0].ok) {
		ratio("kvm exit/call empty ecall / KVM_RUN exit", &kvm_exit[0], &raw_exit);
		ratio("  after idle / KVM_RUN exit", &kvm_exit[3], &raw_exit);
		ratio("kvm exit/call empty ecall / process", &kvm_exit[0], &proc[0]);
	}
	return fn.ok && pipe_s[0].ok && sim[0].ok && proc[0].ok ? 0 : 1;
}
