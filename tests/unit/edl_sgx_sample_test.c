/*
 * The SGX SDK's SampleEnclave interface, unmodified (shared/vectors/sgx-edl:
 * Enclave/Enclave.edl with -I Include -I sdk), through adyton-edl's
 * generated stubs into tests/enclaves/sample_enc.c, with the values
 * SampleEnclave's App passes and checks, on the backend ADYTON_BACKEND
 * names.  The sgx_tstdc.edl OCALLs come from libadyton (adyton/tstdc.h):
 * Thread.edl's mutex and condition-variable ECALLs sleep and wake through
 * them.  [user_check] ECALLs pass addresses that mean something only when
 * the enclave shares the application's memory (sim): elsewhere they are
 * skipped, as docs/edl.md says.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cpuid.h>

#include <cmocka.h>

#include "Enclave_u.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/sample_enc.signed"

static ady_enclave *g_e;
static char printed[256];
static ady_err nested = ADY_OK;

/* ---- the OCALLs of the App ---- */
void ocall_print_string(const char *str) { snprintf(printed, sizeof(printed), "%s", str); }
void ocall_pointer_user_check(int *val) { (void)val; /* the App cannot use it either */ }
void ocall_pointer_in(int *val) { *val = 1234; }
void ocall_pointer_out(int *val) { *val = 1234; }
void ocall_pointer_in_out(int *val) { *val = 1234; }

/* The App calls the private ECALL its allow() names: SGX allows it; adyton
 * has no nested ECALLs yet and refuses, clearly. */
void ocall_function_allow(void)
{
	uint8_t out[4];
	size_t n = 0;

	nested = ady_ecall(g_e, ENCLAVE_ECALL_ecall_function_private, NULL, 0, out, sizeof(out), &n);
}

static int isolating(void)
{
	const char *b = getenv("ADYTON_BACKEND");

	return !b || strcmp(b, "sim") != 0;
}

static ady_enclave *open_sample(void)
{
	ady_enclave_opts opts = {.ocalls = Enclave_ocall_table, .nocalls = ENCLAVE_OCALL_COUNT};
	ady_enclave *e = NULL;
	ady_err err = ady_enclave_open(IMAGE, &opts, &e);

	if (err)
		fail_msg("ady_enclave_open(%s): %s", IMAGE, ady_strerror(err));
	g_e = e;
	return e;
}

/* App/Edger8rSyntax/Types.cpp */
static void test_types(void **state)
{
	ady_enclave *e = open_sample();
	struct struct_foo_t g = {1234, 5678};
	union union_foo_t val;

	(void)state;
	assert_int_equal(ecall_type_char(e, (char)0x12), ADY_OK);
	assert_int_equal(ecall_type_int(e, 1234), ADY_OK);
	assert_int_equal(ecall_type_float(e, (float)1234.0), ADY_OK);
	assert_int_equal(ecall_type_double(e, 1234.5678), ADY_OK);
	assert_int_equal(ecall_type_size_t(e, 12345678), ADY_OK);
	assert_int_equal(ecall_type_wchar_t(e, (wchar_t)0x1234), ADY_OK);
	assert_int_equal(ecall_type_struct(e, g), ADY_OK);
	/* the enclave checks what it got: a wrong value fails the ECALL */
	assert_int_equal(ecall_type_int(e, 1235), ADY_ERR_ABORTED);
	ady_enclave_close(e);
	e = open_sample();
	if (isolating()) {
		print_message("ecall_type_enum_union: [user_check] skipped on an isolating backend\n");
	} else {
		memset(&val, 0, sizeof(val));
		assert_int_equal(ecall_type_enum_union(e, ENUM_FOO_0, &val), ADY_OK);
		assert_int_equal(val.union_foo_0, 2);
		assert_int_equal(val.union_foo_1, 2);
		assert_int_equal(val.union_foo_3, 2);
	}
	ady_enclave_close(e);
}

/* App/Edger8rSyntax/Pointers.cpp */
static void test_pointers(void **state)
{
	ady_enclave *e = open_sample();
	char c[128], str1[] = "1234567890", str3[] = "1234567890", str4[] = "1234567890";
	const char str2[] = "1234567890";
	int val, arr[10] = {0};
	size_t len = 0;

	(void)state;
	if (isolating()) {
		print_message("ecall_pointer_user_check: [user_check] skipped on an isolating backend\n");
	} else {
		memset(c, 0xe, sizeof(c));
		assert_int_equal(ecall_pointer_user_check(e, &len, c, sizeof(c)), ADY_OK);
		assert_int_equal(len, 100);
		assert_string_equal(c, "SGX_SUCCESS");
	}
	val = 0;
	assert_int_equal(ecall_pointer_in(e, &val), ADY_OK);
	assert_int_equal(val, 0);
	val = 0;
	assert_int_equal(ecall_pointer_out(e, &val), ADY_OK);
	assert_int_equal(val, 1234);
	val = 0;
	assert_int_equal(ecall_pointer_in_out(e, &val), ADY_OK);
	assert_int_equal(val, 1234);
	assert_int_equal(ocall_pointer_attr(e), ADY_OK);
	assert_int_equal(ecall_pointer_string(e, str1), ADY_OK);
	assert_true(strlen(str1) == 10 && memcmp(str1, "0987654321", 10) == 0);
	assert_int_equal(ecall_pointer_string_const(e, str2), ADY_OK);
	assert_true(strlen(str2) == 10 && memcmp(str2, "1234567890", 10) == 0);
	assert_int_equal(ecall_pointer_size(e, str3, strlen(str3)), ADY_OK);
	assert_true(strlen(str3) == 10 && memcmp(str3, "0987654321", 10) == 0);
	assert_int_equal(ecall_pointer_isptr_readonly(e, (buffer_t)str4, strlen(str4)), ADY_OK);
	assert_true(strlen(str4) == 10 && memcmp(str4, "1234567890", 10) == 0);
	assert_int_equal(ecall_pointer_count(e, arr, 10), ADY_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(arr[i], 9 - i);
	ady_enclave_close(e);
}

/* App/Edger8rSyntax/Arrays.cpp */
static void test_arrays(void **state)
{
	ady_enclave *e = open_sample();
	int arr1[4] = {0, 1, 2, 3}, arr2[4] = {0, 1, 2, 3}, arr3[4] = {0, 1, 2, 3}, arr4[4] = {0, 1, 2, 3};
	array_t arr5 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

	(void)state;
	assert_int_equal(ecall_array_in(e, arr2), ADY_OK);
	assert_int_equal(ecall_array_out(e, arr3), ADY_OK);
	assert_int_equal(ecall_array_in_out(e, arr4), ADY_OK);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(arr2[i], i);
		assert_int_equal(arr3[i], 3 - i);
		assert_int_equal(arr4[i], 3 - i);
	}
	if (isolating()) {
		print_message("ecall_array_user_check, ecall_array_isary: [user_check] skipped on an isolating backend\n");
	} else {
		assert_int_equal(ecall_array_user_check(e, arr1), ADY_OK);
		assert_int_equal(ecall_array_isary(e, arr5), ADY_OK);
		for (int i = 0; i < 4; i++)
			assert_int_equal(arr1[i], 3 - i);
		for (int i = 0; i < 10; i++)
			assert_int_equal(arr5[i], 9 - i);
	}
	ady_enclave_close(e);
}

/* App/Edger8rSyntax/Functions.cpp */
static void test_functions(void **state)
{
	ady_enclave *e = open_sample();
	uint8_t out[4];
	size_t n = 0;

	(void)state;
	nested = ADY_OK;
	assert_int_equal(ecall_function_public(e), ADY_OK);
	assert_int_equal(nested, ADY_ERR_NESTED);
	/* the private ECALL: no stub, and refused when called by index */
	assert_int_equal(ady_ecall(e, ENCLAVE_ECALL_ecall_function_private, NULL, 0, out, sizeof(out), &n),
			 ADY_ERR_PERMISSION);
	ady_enclave_close(e);
}

/* App/TrustedLibrary/Libc.cpp and Libcxx.cpp */
static void test_libc(void **state)
{
	ady_enclave *e = open_sample();
	int cpuid[4] = {0, 0, 0, 0};
	unsigned a, b, c, d;

	(void)state;
	assert_int_equal(ecall_malloc_free(e), ADY_OK);
	if (ecall_sgx_cpuid(e, cpuid, 0) != ADY_OK)
		fail_msg("ecall_sgx_cpuid: %s", ady_enclave_abort_reason(e));
	__cpuid_count(0, 0, a, b, c, d);
	assert_int_equal((unsigned)cpuid[0], a);
	assert_int_equal((unsigned)cpuid[1], b);
	assert_int_equal((unsigned)cpuid[2], c);
	assert_int_equal((unsigned)cpuid[3], d);
	assert_int_equal(ecall_exception(e), ADY_OK);
	assert_int_equal(ecall_map(e), ADY_OK);
	ady_enclave_close(e);
}

/* App/TrustedLibrary/Thread.cpp */
static size_t counter;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void *increase_counter(void *arg)
{
	size_t cnr = 0;

	if (ecall_increase_counter(arg, &cnr) != ADY_OK)
		return "ecall_increase_counter failed";
	pthread_mutex_lock(&counter_lock);
	if (cnr)
		counter = cnr;
	pthread_mutex_unlock(&counter_lock);
	return NULL;
}

static void *producer(void *arg) { return ecall_producer(arg) == ADY_OK ? NULL : "ecall_producer failed"; }
static void *consumer(void *arg) { return ecall_consumer(arg) == ADY_OK ? NULL : "ecall_consumer failed"; }

/* Counting wrappers around the generated handlers of the event OCALLs:
 * the threads really sleep and wake outside the enclave. */
static unsigned long n_wait, n_set;
static int fail_waits;

static ady_err count_wait(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	__atomic_add_fetch(&n_wait, 1, __ATOMIC_RELAXED);
	if (fail_waits)
		return ADY_ERR_IO;
	return Enclave_ocall_table[ENCLAVE_OCALL_sgx_thread_wait_untrusted_event_ocall](ctx, in, in_len, out, out_cap,
											  out_len);
}

static ady_err count_set(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	__atomic_add_fetch(&n_set, 1, __ATOMIC_RELAXED);
	return Enclave_ocall_table[ENCLAVE_OCALL_sgx_thread_set_untrusted_event_ocall](ctx, in, in_len, out, out_cap,
											 out_len);
}

static ady_err count_setwait(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			     size_t *out_len)
{
	__atomic_add_fetch(&n_set, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&n_wait, 1, __ATOMIC_RELAXED);
	return Enclave_ocall_table[ENCLAVE_OCALL_sgx_thread_setwait_untrusted_events_ocall](ctx, in, in_len, out,
											      out_cap, out_len);
}

static ady_enclave *open_counting(void)
{
	static ady_ocall_fn table[ENCLAVE_OCALL_COUNT];
	ady_enclave_opts opts = {.ocalls = table, .nocalls = ENCLAVE_OCALL_COUNT};
	ady_enclave *e = NULL;

	memcpy(table, Enclave_ocall_table, sizeof(table));
	table[ENCLAVE_OCALL_sgx_thread_wait_untrusted_event_ocall] = count_wait;
	table[ENCLAVE_OCALL_sgx_thread_set_untrusted_event_ocall] = count_set;
	table[ENCLAVE_OCALL_sgx_thread_setwait_untrusted_events_ocall] = count_setwait;
	assert_int_equal(ady_enclave_open(IMAGE, &opts, &e), ADY_OK);
	g_e = e;
	return e;
}

static void test_threads(void **state)
{
	ady_enclave *e = open_counting();
	pthread_t t[5];
	void *r;

	(void)state;
	n_wait = n_set = 0;
	fail_waits = 0;
	counter = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, increase_counter, e), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		if (r)
			fail_msg("%s", (const char *)r);
	}
	assert_int_equal(counter, 4 * LOOPS_PER_THREAD);
	/* four consumers wait on a condition variable until the producer
	 * fills the buffer; the producer waits when it is full */
	assert_int_equal(pthread_create(&t[0], NULL, consumer, e), 0);
	assert_int_equal(pthread_create(&t[1], NULL, producer, e), 0);
	for (int i = 2; i < 5; i++)
		assert_int_equal(pthread_create(&t[i], NULL, consumer, e), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		if (r)
			fail_msg("%s: %s", (const char *)r, ady_enclave_abort_reason(e));
	}
	/* the consumers started on an empty buffer: they slept outside */
	print_message("event OCALLs: %lu waits, %lu sets\n", n_wait, n_set);
	assert_true(n_wait > 0);
	assert_true(n_set > 0);
	ady_enclave_close(e);
}

/* An application that fails the wait OCALL: the waiting thread cannot go
 * on (that would be a lost wakeup or two owners), so the enclave stops
 * and says why. */
static void test_threads_failed_wait(void **state)
{
	ady_enclave *e = open_counting();
	size_t got = 0;
	pthread_t t;
	void *r;

	(void)state;
	fail_waits = 1;
	n_wait = 0;
	assert_int_equal(pthread_create(&t, NULL, consumer, e), 0);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_non_null(r);
	assert_non_null(strstr(ady_enclave_abort_reason(e), "sgx_thread: wait_untrusted_event failed"));
	assert_true(n_wait > 0);
	assert_int_equal(ecall_increase_counter(e, &got), ADY_ERR_ABORTED);
	fail_waits = 0;
	ady_enclave_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),     cmocka_unit_test(test_pointers), cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_functions), cmocka_unit_test(test_libc),     cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_failed_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
