/* Unit tests of the bounded cursor and the bounded writer (src/format/cursor.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/cursor.h"

/* The writer's writes are inline: gcc's flow analysis under ASan follows
 * the overflow and short-buffer cases into memsets it cannot prove
 * unreachable (they are: the tests check that nothing is written). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

static const uint8_t bytes[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void test_reads_le(void **state)
{
	ady_cur c;
	uint8_t b;
	uint16_t h;
	uint32_t w;
	uint64_t q;

	(void)state;
	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_u8(&c, &b), ADY_OK);
	assert_int_equal(b, 1);
	assert_int_equal(ady_cur_u16le(&c, &h), ADY_OK);
	assert_int_equal(h, 0x0302);
	assert_int_equal(ady_cur_u32le(&c, &w), ADY_OK);
	assert_int_equal(w, 0x07060504);
	assert_int_equal(ady_cur_u64le(&c, &q), ADY_OK);
	assert_true(q == 0x0f0e0d0c0b0a0908ull);
	assert_int_equal(ady_cur_left(&c), 1);
	assert_int_equal(ady_cur_u8(&c, &b), ADY_OK);
	assert_int_equal(b, 16);
	assert_int_equal(ady_cur_left(&c), 0);
	assert_int_equal(ady_cur_err(&c), ADY_OK);
}

static void test_bounds_and_sticky(void **state)
{
	ady_cur c;
	uint32_t w = 0xdeadbeef;
	uint8_t b = 0xaa, out[4] = { 9, 9, 9, 9 };

	(void)state;
	ady_cur_init(&c, bytes, 3);
	assert_int_equal(ady_cur_u32le(&c, &w), ADY_ERR_TRUNCATED);
	assert_int_equal(w, 0);
	/* Sticky: even a read that would fit now fails, output zeroed. */
	assert_int_equal(ady_cur_u8(&c, &b), ADY_ERR_TRUNCATED);
	assert_int_equal(b, 0);
	assert_int_equal(ady_cur_bytes(&c, out, 2), ADY_ERR_TRUNCATED);
	assert_int_equal(out[0] | out[1], 0);
	assert_int_equal(out[2], 9);
	assert_int_equal(ady_cur_seek(&c, 0), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_cur_left(&c), 0);
	assert_int_equal(ady_cur_err(&c), ADY_ERR_TRUNCATED);
}

static void test_exact_end(void **state)
{
	ady_cur c;
	uint8_t out[16];

	(void)state;
	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_bytes(&c, out, sizeof(out)), ADY_OK);
	assert_memory_equal(out, bytes, sizeof(out));
	assert_int_equal(ady_cur_bytes(&c, out, 0), ADY_OK);
	assert_int_equal(ady_cur_skip(&c, 1), ADY_ERR_TRUNCATED);
}

static void test_skip_seek(void **state)
{
	ady_cur c;
	uint8_t b;

	(void)state;
	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_skip(&c, 5), ADY_OK);
	assert_int_equal(ady_cur_u8(&c, &b), ADY_OK);
	assert_int_equal(b, 6);
	assert_int_equal(ady_cur_seek(&c, 0), ADY_OK);
	assert_int_equal(ady_cur_u8(&c, &b), ADY_OK);
	assert_int_equal(b, 1);
	assert_int_equal(ady_cur_seek(&c, 16), ADY_OK);
	assert_int_equal(ady_cur_left(&c), 0);
	assert_int_equal(ady_cur_seek(&c, 17), ADY_ERR_RANGE);
	assert_int_equal(ady_cur_err(&c), ADY_ERR_RANGE);

	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_seek(&c, UINT64_MAX), ADY_ERR_RANGE);
	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_skip(&c, SIZE_MAX), ADY_ERR_TRUNCATED);
}

static void test_sub(void **state)
{
	ady_cur c, s;
	uint8_t b;

	(void)state;
	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_skip(&c, 10), ADY_OK);
	/* Offsets are relative to the whole range, not the read position. */
	assert_int_equal(ady_cur_sub(&c, 2, 3, &s), ADY_OK);
	assert_int_equal(ady_cur_left(&s), 3);
	assert_int_equal(ady_cur_u8(&s, &b), ADY_OK);
	assert_int_equal(b, 3);
	assert_int_equal(ady_cur_skip(&s, 2), ADY_OK);
	assert_int_equal(ady_cur_u8(&s, &b), ADY_ERR_TRUNCATED);
	/* A failing sub-cursor does not disturb its parent. */
	assert_int_equal(ady_cur_err(&c), ADY_OK);
	assert_int_equal(ady_cur_sub(&c, 0, 16, &s), ADY_OK);
	assert_int_equal(ady_cur_sub(&c, 16, 0, &s), ADY_OK);
	assert_int_equal(ady_cur_sub(&c, 15, 2, &s), ADY_ERR_RANGE);
	assert_int_equal(ady_cur_u8(&s, &b), ADY_ERR_RANGE);
	assert_int_equal(ady_cur_sub(&c, 17, 0, &s), ADY_ERR_RANGE);
}

static void test_sub_overflow(void **state)
{
	ady_cur c, s;

	(void)state;
	ady_cur_init(&c, bytes, sizeof(bytes));
	assert_int_equal(ady_cur_sub(&c, 8, UINT64_MAX - 4, &s), ADY_ERR_RANGE);
	assert_int_equal(ady_cur_sub(&c, UINT64_MAX, 2, &s), ADY_ERR_RANGE);
	assert_int_equal(ady_cur_sub(&c, UINT64_MAX, 0, &s), ADY_ERR_RANGE);
	assert_int_equal(ady_cur_left(&s), 0);
}

static void test_sub_of_failed(void **state)
{
	ady_cur c, s;
	uint64_t q;

	(void)state;
	ady_cur_init(&c, bytes, 4);
	assert_int_equal(ady_cur_u64le(&c, &q), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_cur_sub(&c, 0, 1, &s), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_cur_err(&s), ADY_ERR_TRUNCATED);
}

static void test_zeros(void **state)
{
	static const uint8_t z[] = { 0, 0, 0, 1, 0 };
	ady_cur c;
	uint8_t b;

	(void)state;
	ady_cur_init(&c, z, sizeof(z));
	assert_int_equal(ady_cur_zeros(&c, 3), ADY_OK);
	assert_int_equal(ady_cur_zeros(&c, 2), ADY_ERR_MALFORMED);
	assert_int_equal(ady_cur_u8(&c, &b), ADY_ERR_MALFORMED);
	ady_cur_init(&c, z, sizeof(z));
	assert_int_equal(ady_cur_zeros(&c, 6), ADY_ERR_TRUNCATED);
}

static void test_null_and_empty(void **state)
{
	ady_cur c;
	uint8_t b;

	(void)state;
	ady_cur_init(&c, NULL, 0);
	assert_int_equal(ady_cur_left(&c), 0);
	assert_int_equal(ady_cur_u8(&c, &b), ADY_ERR_TRUNCATED);
	ady_cur_init(&c, NULL, 5);
	assert_int_equal(ady_cur_u8(&c, &b), ADY_ERR_INVALID_ARG);
}

static void test_memeq_wipe(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 0x11, sizeof(a));
	memset(b, 0x11, sizeof(b));
	assert_int_equal(ady_memeq_ct(a, b, sizeof(a)), 1);
	b[31] ^= 0x80;
	assert_int_equal(ady_memeq_ct(a, b, sizeof(a)), 0);
	assert_int_equal(ady_memeq_ct(a, b, 0), 1);
	ady_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], 0);
	ady_wipe(NULL, 0);
}

static void test_put(void **state)
{
	uint8_t buf[8];
	ady_cur c;
	uint64_t q;

	(void)state;
	ady_put_u64le(buf, 0x0102030405060708ull);
	assert_int_equal(buf[0], 8);
	ady_cur_init(&c, buf, sizeof(buf));
	assert_int_equal(ady_cur_u64le(&c, &q), ADY_OK);
	assert_true(q == 0x0102030405060708ull);
}

/* Hex both ways: round trip of every byte value, either case in, and
 * every malformed input refused (odd or wrong length, non-hex bytes at
 * either digit, NUL inside). */
static void test_hex(void **state)
{
	uint8_t all[256], back[256], out[2];
	char text[513];

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	ady_hex_encode(all, sizeof(all), text);
	assert_int_equal(strlen(text), 512);
	assert_memory_equal(text, "000102", 6);
	assert_memory_equal(text + 506, "fdfeff", 6);
	assert_int_equal(ady_hex_decode(text, 512, back, sizeof(back)), 1);
	assert_memory_equal(back, all, sizeof(all));
	assert_int_equal(ady_hex_decode("aBcD", 4, out, 2), 1);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(out[1], 0xcd);
	assert_int_equal(ady_hex_decode("abc", 3, out, 2), 0);
	assert_int_equal(ady_hex_decode("abcdef", 6, out, 2), 0);
	assert_int_equal(ady_hex_decode("abcg", 4, out, 2), 0);
	assert_int_equal(ady_hex_decode("gbcd", 4, out, 2), 0);
	assert_int_equal(ady_hex_decode("ab\0d", 4, out, 2), 0);
	assert_int_equal(ady_hex_decode(" abc", 4, out, 2), 0);
	assert_int_equal(ady_hex_decode("", 0, out, 0), 1);
	ady_hex_encode(all, 0, text);
	assert_string_equal(text, "");
}

/* ---- the writer ------------------------------------------------------ */

static void test_wr_le(void **state)
{
	static const uint8_t want[] = {0xaa, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0e, 0x0d, 0x0c, 0x0b,
				       0x0a, 0x09, 0x08, 0x07, 'x', 'y', 0, 0, 0};
	uint8_t out[sizeof(want) + 4];
	ady_wr w;

	(void)state;
	memset(out, 0xee, sizeof(out));
	ady_wr_init(&w, out, sizeof(want));
	ady_wr_u8(&w, 0xaa);
	ady_wr_u16le(&w, 0x0102);
	ady_wr_u32le(&w, 0x03040506);
	ady_wr_u64le(&w, 0x0708090a0b0c0d0eull);
	ady_wr_bytes(&w, "xy", 2);
	ady_wr_zero(&w, 3);
	assert_int_equal(ady_wr_err(&w), ADY_OK);
	assert_int_equal(ady_wr_len(&w), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* nothing beyond the writer's range was touched */
	assert_int_equal(out[sizeof(want)], 0xee);
	/* what the writer writes, the cursor reads back */
	{
		ady_cur c;
		uint64_t q;
		uint32_t v;
		uint16_t h;
		uint8_t b;

		ady_cur_init(&c, out, ady_wr_len(&w));
		assert_int_equal(ady_cur_u8(&c, &b) || ady_cur_u16le(&c, &h) || ady_cur_u32le(&c, &v) ||
					 ady_cur_u64le(&c, &q),
				 ADY_OK);
		assert_true(b == 0xaa && h == 0x0102 && v == 0x03040506 && q == 0x0708090a0b0c0d0eull);
	}
}

/* A write that does not fit writes nothing, the error sticks, and the
 * length goes on counting to the size the encoding needs. */
static void test_wr_short_counts(void **state)
{
	uint8_t out[8];
	ady_wr w;

	(void)state;
	memset(out, 0xee, sizeof(out));
	ady_wr_init(&w, out, 6);
	ady_wr_u32le(&w, 0x01020304);
	ady_wr_u32le(&w, 0x05060708);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(out[4], 0xee);
	assert_int_equal(out[5], 0xee);
	/* a write that would fit now writes nothing either */
	ady_wr_u8(&w, 0x99);
	assert_int_equal(out[4], 0xee);
	ady_wr_bytes(&w, "abc", 3);
	ady_wr_zero(&w, 10);
	assert_null(ady_wr_reserve(&w, 5));
	assert_int_equal(ady_wr_len(&w), 4 + 4 + 1 + 3 + 10 + 5);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_SHORT_BUFFER);
	assert_null(ady_wr_at(&w, 0, 1));
	/* a counting writer */
	ady_wr_init(&w, NULL, 0);
	ady_wr_u64le(&w, 1);
	ady_wr_bytes(&w, out, 8);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(ady_wr_len(&w), 16);
	/* a NULL buffer with a capacity is a caller bug: nothing is written */
	ady_wr_init(&w, NULL, 8);
	ady_wr_u8(&w, 1);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_wr_len(&w), 0);
}

/* A count that would wrap a size_t is an overflow, not a short buffer. */
static void test_wr_overflow(void **state)
{
	volatile size_t huge1 = SIZE_MAX - 1, huge4 = SIZE_MAX - 4;
	uint8_t out[4];
	ady_wr w;

	(void)state;
	ady_wr_init(&w, out, sizeof(out));
	ady_wr_u32le(&w, 7);
	ady_wr_zero(&w, huge1);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_OVERFLOW);
	ady_wr_u8(&w, 1);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_OVERFLOW);
	assert_int_equal(ady_wr_len(&w), 4);
	/* first a short buffer, then a wrap: the wrap wins */
	ady_wr_init(&w, out, sizeof(out));
	ady_wr_u64le(&w, 7);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_SHORT_BUFFER);
	ady_wr_zero(&w, huge4);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_OVERFLOW);
	/* other errors stay: ady_wr_fail keeps the first */
	ady_wr_init(&w, out, sizeof(out));
	ady_wr_fail(&w, ADY_ERR_RANGE);
	ady_wr_fail(&w, ADY_ERR_MALFORMED);
	ady_wr_u8(&w, 1);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_RANGE);
	assert_int_equal(ady_wr_len(&w), 0);
}

/* reserve, at and cut: fields filled in later, DER-style length holes. */
static void test_wr_patch(void **state)
{
	uint8_t out[16], *r, *a;
	ady_wr w;

	(void)state;
	memset(out, 0xee, sizeof(out));
	ady_wr_init(&w, out, sizeof(out));
	ady_wr_u8(&w, 0x30);
	r = ady_wr_reserve(&w, 3);
	assert_ptr_equal(r, out + 1);
	assert_int_equal(r[0] | r[1] | r[2], 0);
	ady_wr_bytes(&w, "hello", 5);
	a = ady_wr_at(&w, 1, 3);
	assert_ptr_equal(a, out + 1);
	a[0] = 5;
	ady_wr_cut(&w, 2, 2);
	assert_int_equal(ady_wr_len(&w), 7);
	assert_memory_equal(out, "\x30\x05hello", 7);
	/* at and cut stay within what was written */
	assert_null(ady_wr_at(&w, 5, 3));
	assert_null(ady_wr_at(&w, SIZE_MAX, 2));
	assert_non_null(ady_wr_at(&w, 7, 0));
	ady_wr_cut(&w, 6, 2);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_RANGE);
	assert_int_equal(ady_wr_len(&w), 7);
	/* exactly full is fine; one more byte is not */
	ady_wr_init(&w, out, 4);
	ady_wr_u32le(&w, 1);
	assert_int_equal(ady_wr_err(&w), ADY_OK);
	ady_wr_zero(&w, 0);
	assert_int_equal(ady_wr_err(&w), ADY_OK);
	ady_wr_u8(&w, 1);
	assert_int_equal(ady_wr_err(&w), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(ady_wr_len(&w), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_le),
		cmocka_unit_test(test_wr_le),
		cmocka_unit_test(test_wr_short_counts),
		cmocka_unit_test(test_wr_overflow),
		cmocka_unit_test(test_wr_patch),
		cmocka_unit_test(test_bounds_and_sticky),
		cmocka_unit_test(test_exact_end),
		cmocka_unit_test(test_skip_seek),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_sub_overflow),
		cmocka_unit_test(test_sub_of_failed),
		cmocka_unit_test(test_zeros),
		cmocka_unit_test(test_null_and_empty),
		cmocka_unit_test(test_memeq_wipe),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
