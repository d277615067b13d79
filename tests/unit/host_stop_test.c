/*
 * An enclave host stopped and continued (job control, a freezer cgroup, a
 * debugger, CRIU) goes on serving: its idle doorbell wait is a timed
 * FUTEX_WAIT, which the kernel resumes through restart_syscall, and that
 * must pass the seccomp allowlist (issue 11 item 8).  Runs on the backend
 * ADYTON_BACKEND names (process, or kvm where it works).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "adyton/host.h"
#include "../enclaves/testenc.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/testenc.signed"
#define MAX_HOSTS 256

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&t, &t))
		;
}

/* The PIDs of processes named comm (as /proc/PID/stat has it, which any
 * user may read, undumpable or not). */
static size_t hosts(const char *comm, pid_t *out, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) && n < cap) {
		char path[64], line[256], want[32];
		FILE *f;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		snprintf(want, sizeof(want), " (%s) ", comm);
		if (fgets(line, sizeof(line), f) && strstr(line, want))
			out[n++] = pid;
		fclose(f);
	}
	closedir(d);
	return n;
}

static bool listed(pid_t pid, const pid_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == pid)
			return true;
	return false;
}

static void test_stop_continue_idle_host(void **state)
{
	static pid_t before[MAX_HOSTS], after[MAX_HOSTS];
	ady_enclave *e = NULL;
	ady_enclave_info info;
	const char *comm;
	uint8_t out[8];
	size_t nb, na, n = 0, stopped = 0;

	(void)state;
	/* comm is cut at 15 bytes */
	comm = getenv("ADYTON_BACKEND") && strcmp(getenv("ADYTON_BACKEND"), "kvm") == 0 ? "adyton-kvm-host"
											    : "adyton-enclave-";
	nb = hosts(comm, before, MAX_HOSTS);
	assert_int_equal(ady_enclave_open(IMAGE, NULL, &e), ADY_OK);
	ady_enclave_get_info(e, &info);
	assert_true(info.backend == ADY_BACKEND_PROCESS || info.backend == ADY_BACKEND_KVM);
	assert_int_equal(ady_ecall(e, T_ECHO, "a", 1, out, sizeof(out), &n), ADY_OK);
	na = hosts(comm, after, MAX_HOSTS);
	/* Let the host go idle: past its spin, asleep in the timed wait. */
	sleep_ms(200);
	/* Ours is among the hosts that appeared; a concurrent test's new host
	 * is stopped and continued too, which must be as harmless to it. */
	for (size_t i = 0; i < na; i++)
		if (!listed(after[i], before, nb) && kill(after[i], SIGSTOP) == 0)
			stopped++;
	assert_true(stopped > 0);
	sleep_ms(100);
	for (size_t i = 0; i < na; i++)
		if (!listed(after[i], before, nb))
			kill(after[i], SIGCONT);
	/* The resumed wait runs out its period and goes on waiting. */
	sleep_ms(200);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(ady_ecall(e, T_ECHO, "b", 1, out, sizeof(out), &n), ADY_OK);
		assert_int_equal(n, 1);
		assert_memory_equal(out, "b", 1);
	}
	ady_enclave_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_continue_idle_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
