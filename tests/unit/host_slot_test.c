/*
 * The zero-copy slot API of the host library (ady_ecall_slot_open /
 * ady_ecall_slot / ady_ecall_slot_close) end to end on the test enclave
 * (tests/enclaves/testenc.c, 2 thread slots of 64 KiB).  The backend comes
 * from ADYTON_BACKEND, as for host_test.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adyton/host.h"
#include "adyton/msbuf.h"
#include "../enclaves/testenc.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/testenc.signed"

static ady_enclave *nested_target;
static ady_err nested_status = ADY_OK;

static ady_err o_echo(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)ctx;
	if (in_len > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	memcpy(out, in, in_len);
	*out_len = in_len;
	return ADY_OK;
}

/* From an OCALL handler, opening a slot of the same enclave must fail:
 * the handler runs while its ECALL holds a slot. */
static ady_err o_nested(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	ady_ecall_slot s;

	(void)ctx, (void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	nested_status = ady_ecall_slot_open(nested_target, &s);
	if (nested_status == ADY_OK)
		ady_ecall_slot_close(&s);
	return nested_status;
}

static const ady_ocall_fn ocalls[T_O_COUNT] = {o_echo, o_nested};

static ady_enclave *open_test(void)
{
	ady_enclave_opts opts = {.ocalls = ocalls, .nocalls = T_O_COUNT};
	ady_enclave *e = NULL;
	ady_err err = ady_enclave_open(IMAGE, &opts, &e);

	if (err)
		fail_msg("ady_enclave_open(%s): %s", IMAGE, ady_strerror(err));
	return e;
}

static void test_echo_in_place(void **state)
{
	ady_enclave *e = open_test();
	ady_enclave_info info;
	ady_ecall_slot s;
	size_t n = 0;

	(void)state;
	ady_enclave_get_info(e, &info);
	assert_int_equal(ady_ecall_slot_open(e, &s), ADY_OK);
	assert_non_null(s.data);
	assert_int_equal(s.cap, info.msbuf_size - ADY_MSBUF_HEADER);
	memcpy(s.data, "hello", 5);
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 5, 64, &n), ADY_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(s.data, "hello", 5);
	/* the slot stays held: more calls on it, an OCALL in between */
	memcpy(s.data, "again", 5);
	assert_int_equal(ady_ecall_slot_call(&s, T_OCALL_ECHO, 5, 64, &n), ADY_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(s.data, "again", 5);
	/* no output, out_len may be NULL */
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 0, 0, NULL), ADY_OK);
	/* output that does not fit */
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 5, 3, &n), ADY_ERR_SHORT_BUFFER);
	ady_ecall_slot_close(&s);
	assert_null(s.data);
	ady_enclave_close(e);
}

static void test_sizes(void **state)
{
	ady_enclave *e = open_test();
	ady_ecall_slot s;
	size_t n = 0;

	(void)state;
	assert_int_equal(ady_ecall_slot_open(e, &s), ADY_OK);
	/* the whole data area, out then in-and-out */
	assert_int_equal(ady_ecall_slot_call(&s, T_FILL, 0, s.cap, &n), ADY_OK);
	assert_int_equal(n, s.cap);
	for (size_t i = 0; i < s.cap; i++)
		assert_int_equal(s.data[i], (uint8_t)i);
	for (size_t i = 0; i < s.cap; i++)
		s.data[i] = (uint8_t)(i * 7);
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, s.cap, s.cap, &n), ADY_OK);
	assert_int_equal(n, s.cap);
	for (size_t i = 0; i < s.cap; i++)
		assert_int_equal(s.data[i], (uint8_t)(i * 7));
	/* one byte more is refused before the enclave is entered */
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, s.cap + 1, s.cap, &n), ADY_ERR_TOO_LARGE);
	assert_int_equal(ady_ecall_slot_call(&s, T_FILL, 0, s.cap + 1, &n), ADY_ERR_TOO_LARGE);
	/* contract violations */
	assert_int_equal(ady_ecall_slot_call(&s, T_FILL, 0, 4, NULL), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_ecall_slot_call(NULL, T_ECHO, 0, 0, &n), ADY_ERR_INVALID_ARG);
	ady_ecall_slot_close(&s);
	/* a closed slot: calls refused, closing again is fine */
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 0, 0, &n), ADY_ERR_INVALID_ARG);
	ady_ecall_slot_close(&s);
	ady_ecall_slot_close(NULL);
	assert_int_equal(ady_ecall_slot_open(NULL, &s), ADY_ERR_INVALID_ARG);
	assert_null(s.data);
	assert_int_equal(ady_ecall_slot_open(e, NULL), ADY_ERR_INVALID_ARG);
	ady_enclave_close(e);
}

static void test_errors_keep_slot(void **state)
{
	ady_enclave *e = open_test();
	ady_ecall_slot s;
	size_t n = 99;

	(void)state;
	assert_int_equal(ady_ecall_slot_open(e, &s), ADY_OK);
	s.data[0] = ADY_ERR_PERMISSION, s.data[1] = s.data[2] = s.data[3] = 0;
	assert_int_equal(ady_ecall_slot_call(&s, T_STATUS, 4, 0, &n), ADY_ERR_PERMISSION);
	assert_int_equal(ady_ecall_slot_call(&s, T_OUT_LEN_LIE, 0, 16, &n), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(n, 99); /* untouched on failure */
	assert_int_equal(ady_ecall_slot_call(&s, T_COUNT, 0, 0, &n), ADY_ERR_ECALL_INDEX);
	memcpy(s.data, "ok", 2);
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 2, 2, &n), ADY_OK);
	assert_int_equal(n, 2);
	ady_ecall_slot_close(&s);
	ady_enclave_close(e);
}

static void test_nested(void **state)
{
	ady_enclave *e = open_test();
	ady_ecall_slot s;
	size_t n;

	(void)state;
	nested_target = e;
	nested_status = ADY_OK;
	assert_int_equal(ady_ecall_slot_open(e, &s), ADY_OK);
	assert_int_equal(ady_ecall_slot_call(&s, T_OCALL_NESTED, 0, 0, &n), ADY_ERR_NESTED);
	assert_int_equal(nested_status, ADY_ERR_NESTED);
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 0, 0, &n), ADY_OK);
	ady_ecall_slot_close(&s);
	ady_enclave_close(e);
}

static void test_abort(void **state)
{
	ady_enclave *e = open_test();
	ady_ecall_slot s, t;
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall_slot_open(e, &s), ADY_OK);
	memcpy(s.data, "bye", 3);
	assert_int_equal(ady_ecall_slot_call(&s, T_ABORT, 3, 0, &n), ADY_ERR_ABORTED);
	assert_string_equal(ady_enclave_abort_reason(e), "requested: bye");
	/* dead for good, through the slot, a new slot and ady_ecall */
	assert_int_equal(ady_ecall_slot_call(&s, T_ECHO, 0, 0, &n), ADY_ERR_ABORTED);
	assert_int_equal(ady_ecall_slot_open(e, &t), ADY_ERR_ABORTED);
	assert_null(t.data);
	assert_int_equal(ady_ecall(e, T_ECHO, NULL, 0, NULL, 0, &n), ADY_ERR_ABORTED);
	ady_ecall_slot_close(&s);
	ady_enclave_close(e);
}

typedef struct {
	ady_enclave *e;
	int done;     /* atomic */
	ady_err err;
} waiter;

static void *call_echo(void *arg)
{
	waiter *w = arg;
	uint8_t out[4];
	size_t n = 0;

	w->err = ady_ecall(w->e, T_ECHO, "abc", 3, out, sizeof(out), &n);
	if (w->err == ADY_OK && (n != 3 || memcmp(out, "abc", 3)))
		w->err = ADY_ERR_PROTOCOL;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Held slots count against the enclave's threads: with both held,
 * ady_ecall waits until one is closed. */
static void test_held_slots_block(void **state)
{
	ady_enclave *e = open_test();
	ady_ecall_slot a, b;
	waiter w = {.e = e};
	pthread_t t;
	size_t n;

	(void)state;
	assert_int_equal(ady_ecall_slot_open(e, &a), ADY_OK);
	assert_int_equal(ady_ecall_slot_open(e, &b), ADY_OK);
	assert_ptr_not_equal(a.data, b.data);
	/* two held slots do not see each other's data */
	memset(a.data, 'a', 8);
	memset(b.data, 'b', 8);
	assert_int_equal(ady_ecall_slot_call(&a, T_ECHO, 8, 8, &n), ADY_OK);
	assert_int_equal(a.data[7], 'a');
	assert_int_equal(b.data[0], 'b');
	assert_int_equal(pthread_create(&t, NULL, call_echo, &w), 0);
	usleep(100 * 1000);
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), 0);
	ady_ecall_slot_close(&b);
	pthread_join(t, NULL);
	assert_int_equal(w.err, ADY_OK);
	ady_ecall_slot_close(&a);
	ady_enclave_close(e);
}

typedef struct {
	ady_enclave *e;
	int id;
	int failures;
} worker;

/* One thread keeps a slot for all its calls, the others use ady_ecall. */
static void *work(void *arg)
{
	worker *w = arg;
	ady_ecall_slot s = {0};
	uint8_t in[512], out[512];
	size_t n;

	if (w->id == 0 && ady_ecall_slot_open(w->e, &s) != ADY_OK) {
		w->failures++;
		return NULL;
	}
	for (int i = 0; i < 200; i++) {
		size_t len = 1 + (size_t)((i * 37 + w->id * 11) % (int)sizeof(in));

		memset(in, w->id * 31 + i, len);
		if (w->id == 0) {
			memcpy(s.data, in, len);
			if (ady_ecall_slot_call(&s, T_ECHO, len, len, &n) != ADY_OK || n != len || memcmp(s.data, in, len))
				w->failures++;
		} else if (ady_ecall(w->e, T_ECHO, in, len, out, sizeof(out), &n) != ADY_OK || n != len ||
			   memcmp(out, in, len)) {
			w->failures++;
		}
	}
	ady_ecall_slot_close(&s);
	return NULL;
}

static void test_threads(void **state)
{
	ady_enclave *e = open_test();
	pthread_t t[3];
	worker w[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		w[i] = (worker){e, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	ady_enclave_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_in_place), cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_errors_keep_slot), cmocka_unit_test(test_nested),
		cmocka_unit_test(test_abort),         cmocka_unit_test(test_held_slots_block),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
