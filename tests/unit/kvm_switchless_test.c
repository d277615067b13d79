/*
 * kvm_switchless_test: the kvm backend's switchless calls leave the VM no
 * more than that: back-to-back ECALLs of an enclave whose vCPU waits in
 * guest mode (spin_us) cost no port-I/O exit each, where the same calls
 * with ADY_OPEN_EXIT_PER_CALL cost at least one each (the control: the
 * counter sees our exits).
 *
 * The count is KVM's own: io_exits in debugfs, summed over every VM of the
 * machine, so the test runs alone (RUN_SERIAL) and needs root with debugfs
 * mounted (the nested guest of scripts/vm-test.sh has both).  Exits 77
 * with the reason where KVM cannot run the backend or the counter cannot
 * be read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "adyton/host.h"
#include "../enclaves/testenc.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/testenc.signed"
#define IO_EXITS "/sys/kernel/debug/kvm/io_exits"
#define CALLS 2000u

static int read_exits(uint64_t *out)
{
	FILE *f = fopen(IO_EXITS, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%" SCNu64, out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* io_exits during CALLS back-to-back empty ECALLs of an enclave opened
 * with opts; -1 on a failure (printed). */
static int64_t exits_during_calls(const ady_enclave_opts *opts, const char *what)
{
	ady_enclave *e;
	uint64_t before, after;
	uint8_t out[8];
	size_t n;
	ady_err err;

	err = ady_enclave_open(IMAGE, opts, &e);
	if (err) {
		fprintf(stderr, "FAIL: %s: open: %s\n", what, ady_strerror(err));
		return -1;
	}
	for (unsigned i = 0; i < 20; i++) /* warm: the vCPU entered, pages touched */
		if ((err = ady_ecall(e, T_ECHO, "x", 1, out, sizeof(out), &n)) != ADY_OK)
			goto fail;
	if (read_exits(&before))
		goto fail;
	for (unsigned i = 0; i < CALLS; i++)
		if ((err = ady_ecall(e, T_ECHO, "x", 1, out, sizeof(out), &n)) != ADY_OK)
			goto fail;
	if (read_exits(&after))
		goto fail;
	ady_enclave_close(e);
	printf("%s: %u ECALLs, %" PRIu64 " port-I/O exits\n", what, CALLS, after - before);
	return (int64_t)(after - before);
fail:
	fprintf(stderr, "FAIL: %s: %s\n", what, err ? ady_strerror(err) : "reading " IO_EXITS);
	ady_enclave_close(e);
	return -1;
}

int main(void)
{
	/* 100 ms: longer than any gap between two calls of this loop, even
	 * under software emulation, so every call finds the vCPU waiting. */
	ady_enclave_opts switchless = {.backend = ADY_BACKEND_KVM, .spin_us = 100000};
	ady_enclave_opts exits = {.backend = ADY_BACKEND_KVM, .flags = ADY_OPEN_EXIT_PER_CALL};
	const char *why = NULL;
	uint64_t probe;
	int64_t s, x;

	if (!ady_backend_available(ADY_BACKEND_KVM, &why)) {
		printf("SKIP: %s\n", why ? why : "no kvm backend");
		return 77;
	}
	if (read_exits(&probe)) {
		printf("SKIP: cannot read KVM's exit counter %s (root and debugfs needed)\n", IO_EXITS);
		return 77;
	}
	s = exits_during_calls(&switchless, "switchless (spin_us 100000)");
	x = exits_during_calls(&exits, "ADY_OPEN_EXIT_PER_CALL");
	if (s < 0 || x < 0)
		return 1;
	/* A few are allowed: a scheduler tick that stalls the application
	 * past the spin, a wake-up of an application that slept. */
	if (s > (int64_t)(CALLS / 20)) {
		fprintf(stderr, "FAIL: switchless calls left the VM %" PRId64 " times in %u calls\n", s, CALLS);
		return 1;
	}
	if (x < (int64_t)CALLS) {
		fprintf(stderr, "FAIL: exit-per-call made only %" PRId64 " exits in %u calls: the counter misses ours\n",
			x, CALLS);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
