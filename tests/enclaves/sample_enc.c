/*
 * The SGX SDK's SampleEnclave, its ECALLs written again in C against the
 * unmodified SDK EDL files (Enclave/Enclave.edl and its imports, built by
 * tests/edl.cmake from the copies in shared/vectors/sgx-edl) and checked
 * as the SDK's enclave checks them: a failed check aborts the enclave, so
 * the ECALL fails (as assert/abort make an SGX ECALL fail).  Driven by
 * tests/unit/edl_sgx_sample_test.c with the values SampleEnclave's App
 * passes and checks.  Libcxx.edl's ECALLs are C++ in the SDK (exceptions,
 * std::map); here they do the same job in C.
 */
#include <stdlib.h>
#include <string.h>

#include <adyton/sgx_thread.h>

#include "Enclave_t.h"

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c))                                                                 \
			ady_abort("sample_enc.c:%d: check failed: %s", __LINE__, #c);     \
	} while (0)

/* ---- Edger8rSyntax/Types.edl ---- */
void ecall_type_char(char val) { CHECK(val == (char)0x12); }
void ecall_type_int(int val) { CHECK(val == 1234); }
void ecall_type_float(float val) { CHECK(val == (float)1234.0); }
void ecall_type_double(double val) { CHECK(val == (double)1234.5678); }
void ecall_type_size_t(size_t val) { CHECK(val == (size_t)12345678); }
void ecall_type_wchar_t(wchar_t val) { CHECK(val == (wchar_t)0x1234); }

void ecall_type_struct(struct struct_foo_t val)
{
	CHECK(val.struct_foo_0 == 1234);
	CHECK(val.struct_foo_1 == 5678);
}

void ecall_type_enum_union(enum enum_foo_t val1, union union_foo_t *val2)
{
	CHECK(val1 == ENUM_FOO_0);
	val2->union_foo_0 = 1;
	val2->union_foo_1 = 2; /* overwrites union_foo_0 */
}

/* ---- Edger8rSyntax/Pointers.edl ---- */
size_t ecall_pointer_user_check(void *val, size_t sz)
{
	char tmp[100] = {0};
	size_t len = sz > 100 ? 100 : sz;

	CHECK(len > 0);
	memcpy(tmp, val, len);
	memcpy(val, "SGX_SUCCESS", len < 12 ? len : 12);
	((char *)val)[len - 1] = '\0';
	return len;
}

void ecall_pointer_in(int *val)
{
	CHECK(*val == 0);
	*val = 1234; /* not copied back */
}

void ecall_pointer_out(int *val)
{
	CHECK(*val == 0); /* a fresh zeroed buffer */
	*val = 1234;
}

void ecall_pointer_in_out(int *val)
{
	CHECK(*val == 0);
	*val = 1234;
}

void ecall_pointer_string(char *str)
{
	size_t n = strlen(str);

	CHECK(n == 10);
	memcpy(str, "0987654321", n);
}

void ecall_pointer_string_const(const char *str)
{
	char *tmp = malloc(strlen(str) + 1);

	CHECK(tmp != NULL);
	memcpy(tmp, str, strlen(str) + 1);
	CHECK(strcmp(tmp, "1234567890") == 0);
	free(tmp);
}

void ecall_pointer_size(void *ptr, size_t len)
{
	CHECK(len == 10);
	memcpy(ptr, "0987654321", len);
}

void ecall_pointer_count(int *arr, size_t cnt)
{
	for (int i = (int)cnt - 1; i >= 0; i--)
		arr[i] = (int)(cnt - 1 - (size_t)i);
}

void ecall_pointer_isptr_readonly(buffer_t buf, size_t len)
{
	CHECK(len == 10);
	memcpy(buf, "0987654321", len); /* [readonly]: never copied back */
}

void ocall_pointer_attr(void)
{
	int val = 0;

	CHECK(ocall_pointer_user_check(&val) == ADY_OK);
	val = 0;
	CHECK(ocall_pointer_in(&val) == ADY_OK);
	CHECK(val == 0);
	val = 0;
	CHECK(ocall_pointer_out(&val) == ADY_OK);
	CHECK(val == 1234);
	val = 0;
	CHECK(ocall_pointer_in_out(&val) == ADY_OK);
	CHECK(val == 1234);
}

/* ---- Edger8rSyntax/Arrays.edl ---- */
void ecall_array_user_check(int arr[4])
{
	for (int i = 0; i < 4; i++) {
		CHECK(arr[i] == i);
		arr[i] = 3 - i;
	}
}

void ecall_array_in(int arr[4])
{
	for (int i = 0; i < 4; i++) {
		CHECK(arr[i] == i);
		arr[i] = 3 - i; /* not copied back */
	}
}

void ecall_array_out(int arr[4])
{
	for (int i = 0; i < 4; i++) {
		CHECK(arr[i] == 0);
		arr[i] = 3 - i;
	}
}

void ecall_array_in_out(int arr[4])
{
	for (int i = 0; i < 4; i++) {
		CHECK(arr[i] == i);
		arr[i] = 3 - i;
	}
}

void ecall_array_isary(array_t arr)
{
	int n = (int)(sizeof(array_t) / sizeof(arr[0]));

	for (int i = 0; i < n; i++) {
		CHECK(arr[i] == i);
		arr[i] = n - 1 - i;
	}
}

/* ---- Edger8rSyntax/Functions.edl ---- */
void ecall_function_public(void) { CHECK(ocall_function_allow() == ADY_OK); }
int ecall_function_private(void) { return 1; }

/* ---- TrustedLibrary/Libc.edl ---- */
void ecall_malloc_free(void)
{
	void *ptr = malloc(100);

	CHECK(ptr != NULL);
	memset(ptr, 0, 100);
	free(ptr);
}

void ecall_sgx_cpuid(int cpuinfo[4], int leaf) { CHECK(sgx_cpuid(cpuinfo, leaf) == SGX_SUCCESS); }

/* ---- TrustedLibrary/Libcxx.edl (C++ in the SDK) ---- */
static int thrower(int v, int *caught)
{
	if (v < 0) {
		*caught = v;
		return -1;
	}
	return v;
}

void ecall_exception(void)
{
	int caught = 0;

	CHECK(thrower(-7, &caught) == -1 && caught == -7);
	CHECK(thrower(5, &caught) == 5);
}

void ecall_map(void)
{
	struct {
		char key;
		int value;
	} m[5];
	size_t n = 0;
	const char keys[] = "adbec";

	for (int i = 0; i < 5; i++) { /* sorted insertion, as std::map keeps it */
		size_t j = n++;
		for (; j > 0 && m[j - 1].key > keys[i]; j--)
			m[j] = m[j - 1];
		m[j].key = keys[i];
		m[j].value = i + 1;
	}
	for (size_t i = 0; i < n; i++)
		CHECK(m[i].key == (char)('a' + i));
	CHECK(m[0].value == 1 && m[1].value == 3 && m[2].value == 5 && m[3].value == 2 && m[4].value == 4);
}

/* ---- TrustedLibrary/Thread.edl ---- */
static size_t global_counter;
static sgx_thread_mutex_t global_mutex = SGX_THREAD_MUTEX_INITIALIZER;

#define BUFFER_SIZE 50

typedef struct {
	int buf[BUFFER_SIZE];
	int occupied;
	int nextin;
	int nextout;
	sgx_thread_mutex_t mutex;
	sgx_thread_cond_t more;
	sgx_thread_cond_t less;
} cond_buffer_t;

static cond_buffer_t buffer = {{0}, 0, 0, 0, SGX_THREAD_MUTEX_INITIALIZER, SGX_THREAD_COND_INITIALIZER,
			       SGX_THREAD_COND_INITIALIZER};

size_t ecall_increase_counter(void)
{
	size_t ret = 0;

	for (int i = 0; i < LOOPS_PER_THREAD; i++) {
		CHECK(sgx_thread_mutex_lock(&global_mutex) == 0);
		size_t tmp = global_counter; /* a read-modify-write the mutex must keep whole */
		global_counter = ++tmp;
		if (4 * LOOPS_PER_THREAD == global_counter)
			ret = global_counter;
		CHECK(sgx_thread_mutex_unlock(&global_mutex) == 0);
	}
	return ret;
}

void ecall_producer(void)
{
	cond_buffer_t *b = &buffer;

	for (int i = 0; i < 4 * LOOPS_PER_THREAD; i++) {
		CHECK(sgx_thread_mutex_lock(&b->mutex) == 0);
		while (b->occupied >= BUFFER_SIZE)
			CHECK(sgx_thread_cond_wait(&b->less, &b->mutex) == 0);
		b->buf[b->nextin] = b->nextin;
		b->nextin++;
		b->nextin %= BUFFER_SIZE;
		b->occupied++;
		CHECK(sgx_thread_cond_signal(&b->more) == 0);
		CHECK(sgx_thread_mutex_unlock(&b->mutex) == 0);
	}
}

void ecall_consumer(void)
{
	cond_buffer_t *b = &buffer;

	for (int i = 0; i < LOOPS_PER_THREAD; i++) {
		CHECK(sgx_thread_mutex_lock(&b->mutex) == 0);
		while (b->occupied <= 0)
			CHECK(sgx_thread_cond_wait(&b->more, &b->mutex) == 0);
		b->buf[b->nextout++] = 0;
		b->nextout %= BUFFER_SIZE;
		b->occupied--;
		CHECK(sgx_thread_cond_signal(&b->less) == 0);
		CHECK(sgx_thread_mutex_unlock(&b->mutex) == 0);
	}
}
