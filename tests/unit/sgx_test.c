/* Unit tests of SIGSTRUCT decoding (src/format/sgx.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/sgx.h"

/* A well-formed SIGSTRUCT as bytes, built independently of the struct. */
static void valid(uint8_t b[ADY_SGX_SIGSTRUCT_SIZE])
{
	static const uint8_t h1[12] = { 6, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t h2[16] = { 1, 1, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 1, 0, 0, 0 };

	memset(b, 0, ADY_SGX_SIGSTRUCT_SIZE);
	memcpy(b, h1, sizeof(h1));
	ady_put_u32le(b + 12, 0x80000000u); /* debug-signed */
	ady_put_u32le(b + 16, 0);
	ady_put_u32le(b + 20, 0x20240131u);
	memcpy(b + 24, h2, sizeof(h2));
	ady_put_u32le(b + 40, 0x1234);     /* SWDEFINED: anything */
	for (int i = 0; i < 384; i++) {
		b[128 + i] = (uint8_t)(i * 7 + 1);
		b[516 + i] = (uint8_t)(i * 13 + 5);
		b[1040 + i] = (uint8_t)(i + 3);
		b[1424 + i] = (uint8_t)(i + 9);
	}
	ady_put_u32le(b + 512, 3);
	ady_put_u32le(b + 900, 0);
	ady_put_u32le(b + 904, 0xffffffffu);
	b[912] = 0x42;                      /* ISVFAMILYID */
	ady_put_u64le(b + 928, 0x06);       /* ATTRIBUTES.FLAGS: DEBUG|MODE64BIT */
	ady_put_u64le(b + 936, 0x03);
	ady_put_u64le(b + 944, 0xffffffffffffffffull);
	for (int i = 0; i < 32; i++)
		b[960 + i] = (uint8_t)(0xa0 + i);
	b[1008] = 0x77;                     /* ISVEXTPRODID */
	ady_put_u16le(b + 1024, 0x1234);
	ady_put_u16le(b + 1026, 0x0005);
}

static void test_valid(void **state)
{
	uint8_t b[ADY_SGX_SIGSTRUCT_SIZE];
	ady_sgx_sigstruct ss;

	(void)state;
	valid(b);
	assert_int_equal(ady_sigstruct_decode(b, sizeof(b), &ss), ADY_OK);
	assert_memory_equal(&ss, b, sizeof(b));
	assert_int_equal(ss.exponent, 3);
	assert_int_equal(ss.isvprodid, 0x1234);
	assert_int_equal(ss.isvsvn, 5);
	assert_true(ss.attributes.flags == 0x06);
	assert_int_equal(ss.enclavehash[0], 0xa0);
	assert_int_equal(ss.type, 0x80000000u);

	ady_put_u32le(b + 16, 0x8086);
	ady_put_u32le(b + 12, 0);
	assert_int_equal(ady_sigstruct_decode(b, sizeof(b), &ss), ADY_OK);
}

static void test_constants(void **state)
{
	static const uint8_t h1[12] = { 6, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t h2[16] = { 1, 1, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 1, 0, 0, 0 };

	(void)state;
	assert_memory_equal(ady_sigstruct_header, h1, 12);
	assert_memory_equal(ady_sigstruct_header2, h2, 16);
}

static void expect_bad(size_t off, uint8_t xor_with)
{
	uint8_t b[ADY_SGX_SIGSTRUCT_SIZE];
	ady_sgx_sigstruct ss;

	valid(b);
	b[off] ^= xor_with;
	memset(&ss, 0xee, sizeof(ss));
	if (ady_sigstruct_decode(b, sizeof(b), &ss) != ADY_ERR_SIGSTRUCT)
		print_error("offset %zu ^ %#x accepted\n", off, xor_with);
	assert_int_equal(ady_sigstruct_decode(b, sizeof(b), &ss), ADY_ERR_SIGSTRUCT);
	/* *out is zeroed on failure. */
	for (size_t i = 0; i < sizeof(ss); i++)
		assert_int_equal(((uint8_t *)&ss)[i], 0);
}

static void test_header(void **state)
{
	(void)state;
	for (size_t i = 0; i < 12; i++)
		expect_bad(i, 0x01);
	for (size_t i = 24; i < 40; i++)
		expect_bad(i, 0x10);
}

static void test_exponent(void **state)
{
	(void)state;
	expect_bad(512, 0x03 ^ 0x01);      /* e = 1 */
	expect_bad(512, 0x03 ^ 0x11);      /* e = 17 */
	expect_bad(514, 0x01);             /* e = 65539 */
}

static void test_type_vendor(void **state)
{
	(void)state;
	expect_bad(12, 0x01);              /* TYPE bit 0 */
	expect_bad(14, 0x80);              /* TYPE bit 23 */
	expect_bad(16, 0x01);              /* VENDOR 1 */
	expect_bad(17, 0x86);              /* VENDOR 0x8600 ... */
}

static void test_reserved(void **state)
{
	(void)state;
	for (size_t i = 44; i < 128; i++)
		expect_bad(i, 0xff);               /* reserved1 */
	for (size_t i = 908; i < 912; i++)
		expect_bad(i, 0x01);               /* reserved2 */
	for (size_t i = 992; i < 1008; i++)
		expect_bad(i, 0x01);               /* reserved3 */
	for (size_t i = 1028; i < 1040; i++)
		expect_bad(i, 0x01);               /* reserved4 */
}

static void test_lengths(void **state)
{
	uint8_t b[ADY_SGX_SIGSTRUCT_SIZE + 1];
	ady_sgx_sigstruct ss;

	(void)state;
	valid(b);
	b[ADY_SGX_SIGSTRUCT_SIZE] = 0;
	assert_int_equal(ady_sigstruct_decode(b, ADY_SGX_SIGSTRUCT_SIZE - 1, &ss), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_sigstruct_decode(b, 0, &ss), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_sigstruct_decode(b, sizeof(b), &ss), ADY_ERR_SIGSTRUCT);
	assert_int_equal(ady_sigstruct_decode(NULL, 5, &ss), ADY_ERR_INVALID_ARG);
}

static void test_signed_bytes(void **state)
{
	uint8_t b[ADY_SGX_SIGSTRUCT_SIZE], out[256];
	ady_sgx_sigstruct ss;

	(void)state;
	valid(b);
	assert_int_equal(ady_sigstruct_decode(b, sizeof(b), &ss), ADY_OK);
	ady_sigstruct_signed_bytes(&ss, out);
	assert_memory_equal(out, b, 128);
	assert_memory_equal(out + 128, b + 900, 128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_exponent),
		cmocka_unit_test(test_type_vendor),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_signed_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
