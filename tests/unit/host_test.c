/*
 * Host library + runtime, end to end on a real signed enclave
 * (tests/enclaves/testenc.c).  The backend comes from ADYTON_BACKEND so
 * that the same suite runs on every backend.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/host.h"
#include "adyton/image.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "../enclaves/testenc.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/testenc.signed"
#define UNSIGNED ADY_TEST_BINARY_DIR "/tests/testenc.elf"

static ady_enclave *nested_target;
static char last_log[256];
static int lie_extra;

static ady_err o_echo(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)ctx;
	if (in_len > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	memcpy(out, in, in_len);
	*out_len = in_len + (size_t)lie_extra;
	return ADY_OK;
}

static ady_err o_nested(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t n;
	(void)ctx, (void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	return ady_ecall(nested_target, T_ECHO, "x", 1, NULL, 0, &n);
}

static void capture_log(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	snprintf(last_log, sizeof(last_log), "%.*s", (int)len, line);
}

static const ady_ocall_fn ocalls[T_O_COUNT] = {o_echo, o_nested};

static ady_enclave *open_test(void)
{
	ady_enclave_opts opts = {.ocalls = ocalls, .nocalls = T_O_COUNT, .log = capture_log};
	ady_enclave *e = NULL;
	ady_err err = ady_enclave_open(IMAGE, &opts, &e);

	if (err)
		fail_msg("ady_enclave_open(%s): %s", IMAGE, ady_strerror(err));
	return e;
}

static void test_echo(void **state)
{
	ady_enclave *e = open_test();
	uint8_t out[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(ady_ecall(e, T_ECHO, "hello", 5, out, sizeof(out), &n), ADY_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	/* empty input, no output */
	assert_int_equal(ady_ecall(e, T_ECHO, NULL, 0, NULL, 0, &n), ADY_OK);
	assert_int_equal(n, 0);
	/* output that does not fit */
	assert_int_equal(ady_ecall(e, T_ECHO, "hello", 5, out, 3, &n), ADY_ERR_SHORT_BUFFER);
	ady_enclave_close(e);
}

static void test_identity(void **state)
{
	ady_enclave *e = open_test();
	ady_enclave_info info;
	ady_image *img = NULL;

	(void)state;
	ady_enclave_get_info(e, &info);
	assert_int_equal(ady_image_open(IMAGE, &img), ADY_OK);
	assert_memory_equal(info.mrenclave, img->mrenclave, 32);
	assert_memory_equal(info.mrenclave, img->sigstruct.enclavehash, 32);
	assert_memory_equal(info.mrsigner, img->mrsigner, 32);
	assert_int_equal(info.isvprodid, 7);
	assert_int_equal(info.isvsvn, 3);
	assert_int_equal(info.threads, 2);
	if (info.backend == ADY_BACKEND_SIM)
		assert_true(info.attributes & ADY_SGX_FLAGS_DEBUG);
	ady_image_free(img);
	ady_enclave_close(e);
}

static void test_bad_index(void **state)
{
	ady_enclave *e = open_test();
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall(e, T_COUNT, NULL, 0, NULL, 0, &n), ADY_ERR_ECALL_INDEX);
	assert_int_equal(ady_ecall(e, 0xffffffffu, NULL, 0, NULL, 0, &n), ADY_ERR_ECALL_INDEX);
	/* the enclave is still fine */
	assert_int_equal(ady_ecall(e, T_ECHO, "a", 1, NULL, 0, &n), ADY_ERR_SHORT_BUFFER);
	ady_enclave_close(e);
}

static void test_sizes(void **state)
{
	ady_enclave *e = open_test();
	ady_enclave_info info;
	uint8_t *buf;
	size_t data, n = 0;

	(void)state;
	ady_enclave_get_info(e, &info);
	data = info.msbuf_size - ADY_MSBUF_HEADER;
	buf = malloc(data + 1);
	assert_non_null(buf);
	/* the whole data area, both ways */
	assert_int_equal(ady_ecall(e, T_FILL, NULL, 0, buf, data, &n), ADY_OK);
	assert_int_equal(n, data);
	for (size_t i = 0; i < data; i++)
		assert_int_equal(buf[i], (uint8_t)i);
	assert_int_equal(ady_ecall(e, T_ECHO, buf, data, buf, data, &n), ADY_OK);
	/* one byte more is refused before anything is copied */
	assert_int_equal(ady_ecall(e, T_ECHO, buf, data + 1, buf, data, &n), ADY_ERR_TOO_LARGE);
	assert_int_equal(ady_ecall(e, T_FILL, NULL, 0, buf, data + 1, &n), ADY_ERR_TOO_LARGE);
	/* contract violations */
	assert_int_equal(ady_ecall(e, T_ECHO, NULL, 4, buf, data, &n), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_ecall(e, T_ECHO, buf, 4, NULL, 4, &n), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_ecall(NULL, T_ECHO, buf, 4, buf, 4, &n), ADY_ERR_INVALID_ARG);
	free(buf);
	ady_enclave_close(e);
}

static void test_out_len_lie(void **state)
{
	ady_enclave *e = open_test();
	uint8_t out[16];
	size_t n = 99;

	(void)state;
	assert_int_equal(ady_ecall(e, T_OUT_LEN_LIE, NULL, 0, out, sizeof(out), &n), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(n, 99); /* untouched on failure */
	ady_enclave_close(e);
}

static void test_ocall(void **state)
{
	ady_enclave *e = open_test();
	uint8_t out[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(ady_ecall(e, T_OCALL_ECHO, "round trip", 10, out, sizeof(out), &n), ADY_OK);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "round trip", 10);
	/* a handler that claims more output than the enclave offered is refused */
	lie_extra = 1;
	assert_int_equal(ady_ecall(e, T_OCALL_ECHO, "abc", 3, out, 3, &n), ADY_ERR_SHORT_BUFFER);
	lie_extra = 0;
	/* unknown OCALL index */
	uint8_t idx[4] = {T_O_COUNT, 0, 0, 0};
	assert_int_equal(ady_ecall(e, T_OCALL_INDEX, idx, 4, NULL, 0, &n), ADY_ERR_OCALL_INDEX);
	uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
	assert_int_equal(ady_ecall(e, T_OCALL_INDEX, huge, 4, NULL, 0, &n), ADY_ERR_OCALL_INDEX);
	/* the enclave refuses an OCALL above the slot itself */
	assert_int_equal(ady_ecall(e, T_OCALL_BIG, NULL, 0, NULL, 0, &n), ADY_ERR_TOO_LARGE);
	ady_enclave_close(e);
}

static void test_nested(void **state)
{
	ady_enclave *e = open_test();
	size_t n;

	(void)state;
	nested_target = e;
	assert_int_equal(ady_ecall(e, T_OCALL_NESTED, NULL, 0, NULL, 0, &n), ADY_ERR_NESTED);
	/* and the enclave still works afterwards */
	assert_int_equal(ady_ecall(e, T_ECHO, NULL, 0, NULL, 0, &n), ADY_OK);
	ady_enclave_close(e);
}

static void test_status_passthrough(void **state)
{
	ady_enclave *e = open_test();
	uint8_t st[4] = {ADY_ERR_PERMISSION, 0, 0, 0};
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall(e, T_STATUS, st, 4, NULL, 0, &n), ADY_ERR_PERMISSION);
	ady_enclave_close(e);
}

static void test_abort(void **state)
{
	ady_enclave *e = open_test();
	size_t n;

	(void)state;
	assert_null(ady_enclave_abort_reason(e));
	assert_int_equal(ady_ecall(e, T_ABORT, "bye", 3, NULL, 0, &n), ADY_ERR_ABORTED);
	assert_non_null(ady_enclave_abort_reason(e));
	assert_string_equal(ady_enclave_abort_reason(e), "requested: bye");
	/* dead for good */
	assert_int_equal(ady_ecall(e, T_ECHO, NULL, 0, NULL, 0, &n), ADY_ERR_ABORTED);
	ady_enclave_close(e);
}

static void test_stack_protector(void **state)
{
	ady_enclave *e = open_test();
	uint8_t out[4];
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall(e, T_SMASH, NULL, 0, out, sizeof(out), &n), ADY_ERR_ABORTED);
	assert_non_null(ady_enclave_abort_reason(e));
	assert_string_equal(ady_enclave_abort_reason(e), "stack smashing detected");
	ady_enclave_close(e);
}

static void test_log(void **state)
{
	ady_enclave *e = open_test();
	size_t n;

	(void)state;
	last_log[0] = '\0';
	assert_int_equal(ady_ecall(e, T_LOG, NULL, 0, NULL, 0, &n), ADY_OK);
	assert_string_equal(last_log, "log line 42");
	ady_enclave_close(e);
}

static void test_heap_and_crypto(void **state)
{
	static const uint8_t expect[32] = {0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92, 0xf3, 0x28, 0xc2,
					   0xb9, 0x71, 0xb2, 0xfe, 0x78, 0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec,
					   0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf};
	ady_enclave *e = open_test();
	uint8_t out[32];
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall(e, T_HEAP, NULL, 0, NULL, 0, &n), ADY_OK);
	assert_int_equal(ady_ecall(e, T_HEAP, NULL, 0, NULL, 0, &n), ADY_OK);
	assert_int_equal(ady_ecall(e, T_GCM, NULL, 0, out, sizeof(out), &n), ADY_OK);
	assert_int_equal(n, 32);
	assert_memory_equal(out, expect, 32);
	ady_enclave_close(e);
}

static void test_private_copies(void **state)
{
	ady_enclave *e = open_test();
	uint8_t out[16];
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall(e, T_PRIVATE, "abcd", 4, out, sizeof(out), &n), ADY_OK);
	ady_enclave_close(e);
}

/*
 * The platform writes its answer into the io struct of a platform exit:
 * one outside the enclave's writable pages (its code, its TCS, its
 * read-only layout page, across the end of its heap, outside it) is
 * refused with ADY_ERR_RANGE on every backend, and the enclave lives on
 * (the process host used to accept any enclave address and crashed on the
 * write).
 */
static void test_platform_io_placement(void **state)
{
	static const struct {
		uint32_t place;
		ady_err want;
	} cases[] = {
		{T_IO_HEAP, ADY_OK},	      {T_IO_CODE, ADY_ERR_RANGE},     {T_IO_TCS, ADY_ERR_RANGE},
		{T_IO_LAYOUT, ADY_ERR_RANGE}, {T_IO_HEAP_END, ADY_ERR_RANGE}, {T_IO_OUTSIDE, ADY_ERR_RANGE},
	};
	static const uint32_t ops[] = {ADY_EXIT_GETKEY, ADY_EXIT_REPORT};
	ady_enclave *e = open_test();
	uint8_t in[8], out[8];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
			ady_err err;

			ady_put_u32le(in, ops[i]);
			ady_put_u32le(in + 4, cases[j].place);
			err = ady_ecall(e, T_PLAT_IO, in, sizeof(in), NULL, 0, &n);
			if (err != cases[j].want)
				fail_msg("exit %u, io struct at place %u: %s, want %s", ops[i], cases[j].place,
					 ady_strerror(err), ady_strerror(cases[j].want));
			assert_int_equal(ady_ecall(e, T_ECHO, "live", 4, out, sizeof(out), &n), ADY_OK);
		}
	}
	ady_enclave_close(e);
}

typedef struct {
	ady_enclave *e;
	int id;
	int failures;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	char in[32], out[32];
	size_t n;

	for (int i = 0; i < 300; i++) {
		int len = snprintf(in, sizeof(in), "w%d-%d", w->id, i);
		if (ady_ecall(w->e, i % 3 == 0 ? T_OCALL_ECHO : T_ECHO, in, (size_t)len, out, sizeof(out), &n) != ADY_OK ||
		    n != (size_t)len || memcmp(in, out, n) != 0)
			w->failures++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	ady_enclave *e = open_test();
	pthread_t t[4];
	worker w[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (worker){e, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	ady_enclave_close(e);
}

static void test_open_errors(void **state)
{
	ady_enclave_opts opts = {0};
	ady_enclave *e = (ady_enclave *)&opts;

	(void)state;
	assert_int_equal(ady_enclave_open("/nonexistent/x.signed", NULL, &e), ADY_ERR_IO);
	assert_null(e);
	assert_int_equal(ady_enclave_open(UNSIGNED, NULL, &e), ADY_ERR_UNSIGNED);
	assert_int_equal(ady_enclave_open(NULL, NULL, &e), ADY_ERR_INVALID_ARG);
	opts.nocalls = 3;
	assert_int_equal(ady_enclave_open(IMAGE, &opts, &e), ADY_ERR_INVALID_ARG);
	opts.nocalls = 0;
	opts.backend = (ady_backend)42;
	assert_int_equal(ady_enclave_open(IMAGE, &opts, &e), ADY_ERR_BACKEND);
	ady_enclave_close(NULL);
}

/* Flipping a measured byte must stop enclave creation, not just `adyton verify`. */
static void test_tampered_image(void **state)
{
	uint8_t *file = NULL;
	size_t len = 0;
	ady_image *img = NULL;
	char path[] = "/tmp/ady-tampered-XXXXXX";
	ady_enclave *e = NULL;
	int fd;

	(void)state;
	assert_int_equal(ady_image_open(IMAGE, &img), ADY_OK);
	assert_int_equal(ady_file_read(IMAGE, ADY_IMAGE_MAX_FILE, &file, &len), ADY_OK);
	/* a byte of the executable segment */
	for (uint32_t i = 0; i < img->elf.nseg; i++) {
		if (img->elf.seg[i].perms & ADY_SECINFO_X) {
			file[img->elf.seg[i].offset + img->elf.seg[i].filesz / 2] ^= 0x01;
			break;
		}
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, file, len), (ssize_t)len);
	close(fd);
	assert_int_equal(ady_enclave_open(path, NULL, &e), ADY_ERR_MEASUREMENT);
	assert_null(e);
	unlink(path);
	free(file);
	ady_image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),           cmocka_unit_test(test_identity),
		cmocka_unit_test(test_bad_index),      cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_out_len_lie),    cmocka_unit_test(test_ocall),
		cmocka_unit_test(test_nested),         cmocka_unit_test(test_status_passthrough),
		cmocka_unit_test(test_abort),          cmocka_unit_test(test_stack_protector),
		cmocka_unit_test(test_log),            cmocka_unit_test(test_heap_and_crypto),
		cmocka_unit_test(test_private_copies), cmocka_unit_test(test_threads),
		cmocka_unit_test(test_platform_io_placement),
		cmocka_unit_test(test_open_errors),    cmocka_unit_test(test_tampered_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
