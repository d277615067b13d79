/*
 * Sealing across the platform's life on the process backend: a blob sealed
 * by enclave A unseals in A after adytond restarts (the root key persists
 * in its state directory, mode 0600), and does not unseal under another
 * platform (another daemon state = another root key).  Each daemon here is
 * private: its own socket and state under the build tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/enclave.h"
#include "adyton/host.h"
#include "../enclaves/seal_enc.h"

#define IMAGE_A ADY_TEST_BINARY_DIR "/tests/seal_a.signed"
#define DIR ADY_TEST_BINARY_DIR "/td-restart"

static const ady_enclave_opts opts = {.backend = ADY_BACKEND_PROCESS};

static void use_platform(const char *name)
{
	char sock[512], state[512];

	snprintf(sock, sizeof(sock), DIR "/%s.sock", name);
	snprintf(state, sizeof(state), DIR "/%s-state", name);
	setenv("ADYTON_SOCKET", sock, 1);
	setenv("ADYTON_STATE_DIR", state, 1);
}

/* Stops the daemon serving `name` (its pid is in the socket's lock file). */
static void stop_daemon(const char *name)
{
	char path[512];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), DIR "/%s.sock.lock", name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	assert_true(pid > 1);
	assert_int_equal(kill(pid, SIGTERM), 0);
	for (int i = 0; i < 250 && !(kill(pid, 0) && errno == ESRCH); i++)
		usleep(20000);
	assert_true(kill(pid, 0) && errno == ESRCH);
}

static ady_err unseal_in_a(const uint8_t *blob, size_t blob_len, uint8_t *text, size_t cap, size_t *text_len)
{
	uint8_t in[9 + 1024], out[12 + 1024];
	ady_enclave *e = NULL;
	size_t n;
	ady_err err;

	assert_true(blob_len <= 1024);
	ady_put_u32le(in, (uint32_t)cap);
	ady_put_u32le(in + 4, 0);
	in[8] = 0;
	memcpy(in + 9, blob, blob_len);
	err = ady_enclave_open(IMAGE_A, &opts, &e);
	if (err)
		fail_msg("open A: %s", ady_strerror(err));
	err = ady_ecall(e, S_UNSEAL, in, 9 + blob_len, out, sizeof(out), &n);
	ady_enclave_close(e);
	assert_int_equal(err, ADY_OK);
	assert_true(n >= 12);
	err = (ady_err)(out[0] | out[1] << 8 | out[2] << 16 | (uint32_t)out[3] << 24);
	if (err == ADY_OK) {
		*text_len = out[8] | (size_t)out[9] << 8;
		memcpy(text, out + 12, *text_len);
	}
	return err;
}

static void test_restart_and_other_root(void **state)
{
	static const char secret[] = "volume salt 0123456789abcdef";
	uint8_t in[6 + sizeof(secret)], blob[1024], text[256];
	char keyfile[512];
	ady_enclave *e = NULL;
	struct stat st;
	size_t blob_len, text_len = 0;

	(void)state;
	mkdir(DIR, 0700);
	use_platform("one");
	in[0] = ADY_SEAL_MRENCLAVE;
	in[1] = 0;
	ady_put_u32le(in + 2, 0);
	memcpy(in + 6, secret, sizeof(secret));
	if (ady_enclave_open(IMAGE_A, &opts, &e))
		fail_msg("open A");
	assert_int_equal(ady_ecall(e, S_SEAL, in, sizeof(in), blob, sizeof(blob), &blob_len), ADY_OK);
	ady_enclave_close(e);

	/* The root key: a private file of exactly 32 bytes. */
	snprintf(keyfile, sizeof(keyfile), DIR "/one-state/root.key");
	assert_int_equal(stat(keyfile, &st), 0);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Restart: the next open starts a fresh daemon on the same state. */
	stop_daemon("one");
	assert_int_equal(unseal_in_a(blob, blob_len, text, sizeof(text), &text_len), ADY_OK);
	assert_int_equal(text_len, sizeof(secret));
	assert_memory_equal(text, secret, sizeof(secret));
	stop_daemon("one");

	/* Another platform: same enclave, another root: the blob stays shut. */
	use_platform("two");
	assert_int_equal(unseal_in_a(blob, blob_len, text, sizeof(text), &text_len), ADY_ERR_CRYPTO);
	stop_daemon("two");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_restart_and_other_root)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
