/*
 * The marshalling-slot header (src/format/msbuf.c): the encoding byte for
 * byte as it was written before the shared writer, and the decoder's
 * refusals of what the application may put in the slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"

static void test_encode_as_before(void **state)
{
	const ady_msbuf_hdr h = {ADY_MSBUF_REPLY, 0x01020304u, 0x1112131415161718ull, 0x2122232425262728ull,
			      0x3132333435363738ull, 0x41424344u};
	uint8_t want[ADY_MSBUF_HEADER], got[ADY_MSBUF_HEADER + 8];

	(void)state;
	/* the layout of adyton/msbuf.h as ady_msbuf_encode wrote it before */
	memset(want, 0, sizeof(want));
	ady_put_u32le(want + 0, h.op);
	ady_put_u32le(want + 4, h.index);
	ady_put_u64le(want + 8, h.in_len);
	ady_put_u64le(want + 16, h.out_cap);
	ady_put_u64le(want + 24, h.out_len);
	ady_put_u32le(want + 32, h.status);
	memset(got, 0xee, sizeof(got));
	ady_msbuf_encode(got, &h);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(got[ADY_MSBUF_HEADER], 0xee);
}

static void test_decode(void **state)
{
	const ady_msbuf_hdr h = {ADY_MSBUF_ECALL, 7, 100, 4096 - ADY_MSBUF_HEADER, 0, 0};
	uint8_t slot[ADY_MSBUF_HEADER];
	ady_msbuf_hdr d;

	(void)state;
	ady_msbuf_encode(slot, &h);
	assert_int_equal(ady_msbuf_decode(slot, 4096, &d), ADY_OK);
	assert_true(d.op == h.op && d.index == h.index && d.in_len == h.in_len && d.out_cap == h.out_cap &&
		    d.out_len == h.out_len && d.status == h.status);
	/* out_cap one above the data area */
	assert_int_equal(ady_msbuf_decode(slot, 4095, &d), ADY_ERR_PROTOCOL);
	/* a slot shorter than its header */
	assert_int_equal(ady_msbuf_decode(slot, ADY_MSBUF_HEADER - 1, &d), ADY_ERR_RANGE);
	/* an unknown op, a reserved byte */
	slot[0] = 6;
	assert_int_equal(ady_msbuf_decode(slot, 4096, &d), ADY_ERR_PROTOCOL);
	slot[0] = 0;
	assert_int_equal(ady_msbuf_decode(slot, 4096, &d), ADY_ERR_PROTOCOL);
	slot[0] = ADY_MSBUF_ECALL;
	slot[63] = 1;
	assert_int_equal(ady_msbuf_decode(slot, 4096, &d), ADY_ERR_PROTOCOL);
	slot[63] = 0;
	/* a length with its top bit set (no wrap on the comparison) */
	slot[15] = 0x80;
	assert_int_equal(ady_msbuf_decode(slot, 4096, &d), ADY_ERR_PROTOCOL);
	slot[15] = 0;
	assert_int_equal(ady_msbuf_decode(slot, 4096, &d), ADY_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_as_before),
		cmocka_unit_test(test_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
