/*
 * The framing of adytond's key files (src/format/keyfile.c): attest.key
 * and root.tpm, byte for byte as the daemon wrote them before the framing
 * moved to the format layer, and every malformed form refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/keyfile.h"

static void test_akfile(void **state)
{
	uint8_t buf[ADY_AKFILE_MAX + 8], want[ADY_AKFILE_MAX];
	ady_akfile f, d;
	size_t len = 0;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(ady_akfile_encode(138, buf, sizeof(buf), &len, &f), ADY_OK);
	assert_int_equal(len, 36 + 138);
	/* the daemon's layout before: "ADYA" | u32 n | IV@8 | tag@20 | ct@36 */
	memset(want, 0, sizeof(want));
	memcpy(want, "ADYA", 4);
	ady_put_u32le(want + 4, 138);
	assert_memory_equal(buf, want, len);
	assert_int_equal(buf[len], 0xee);
	assert_int_equal(f.iv_off, 8);
	assert_int_equal(f.tag_off, 20);
	assert_int_equal(f.ct_off, 36);
	assert_int_equal(f.ct_len, 138);
	memset(buf + 8, 0x5a, len - 8);
	assert_int_equal(ady_akfile_decode(buf, len, &d), ADY_OK);
	assert_memory_equal(&d, &f, sizeof(f));
	/* the largest key, and none */
	assert_int_equal(ady_akfile_encode(ADY_AKFILE_MAX_DER, buf, sizeof(buf), &len, &f), ADY_OK);
	assert_int_equal(ady_akfile_decode(buf, len, &d), ADY_OK);
	assert_int_equal(ady_akfile_encode(ADY_AKFILE_MAX_DER + 1, buf, sizeof(buf), &len, &f), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_akfile_encode(0, buf, sizeof(buf), &len, &f), ADY_ERR_INVALID_ARG);
	/* short buffer: the size needed */
	assert_int_equal(ady_akfile_encode(100, buf, 135, &len, &f), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(len, 136);
	assert_int_equal(ady_akfile_encode(100, NULL, 0, &len, &f), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(len, 136);
}

static void test_akfile_malformed(void **state)
{
	uint8_t buf[ADY_AKFILE_MAX + 8];
	ady_akfile f, d;
	size_t len = 0;

	(void)state;
	assert_int_equal(ady_akfile_encode(100, buf, sizeof(buf), &len, &f), ADY_OK);
	/* every truncation, a trailing byte */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(ady_akfile_decode(buf, i, &d), ADY_ERR_MALFORMED);
	assert_int_equal(ady_akfile_decode(buf, len + 1, &d), ADY_ERR_MALFORMED);
	assert_int_equal(d.ct_len, 0);
	/* another magic */
	buf[3] = 'T';
	assert_int_equal(ady_akfile_decode(buf, len, &d), ADY_ERR_MALFORMED);
	buf[3] = 'A';
	/* a length that disagrees with the file, zero, or over the cap */
	ady_put_u32le(buf + 4, 101);
	assert_int_equal(ady_akfile_decode(buf, len, &d), ADY_ERR_MALFORMED);
	ady_put_u32le(buf + 4, 0);
	assert_int_equal(ady_akfile_decode(buf, 36, &d), ADY_ERR_MALFORMED);
	ady_put_u32le(buf + 4, ADY_AKFILE_MAX_DER + 1);
	assert_int_equal(ady_akfile_decode(buf, 36 + ADY_AKFILE_MAX_DER + 1, &d), ADY_ERR_MALFORMED);
	ady_put_u32le(buf + 4, 0xffffffffu);
	assert_int_equal(ady_akfile_decode(buf, len, &d), ADY_ERR_MALFORMED);
	assert_int_equal(ady_akfile_decode(NULL, 4, &d), ADY_ERR_INVALID_ARG);
}

static void test_tpmroot(void **state)
{
	uint8_t buf[256], want[256];
	uint32_t mask = 1;
	size_t len = 0, off = 0;

	(void)state;
	memset(buf, 0x77, sizeof(buf));
	/* the daemon marshals the objects at 12, then writes the header */
	assert_int_equal(ady_tpmroot_encode(0x81, 100, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(len, 112);
	/* before: "ADYT" | u32 (off - 8) | u32 mask, objects untouched */
	memset(want, 0x77, sizeof(want));
	memcpy(want, "ADYT", 4);
	ady_put_u32le(want + 4, 112 - 8);
	ady_put_u32le(want + 8, 0x81);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(ady_tpmroot_decode(buf, len, &mask, &off), ADY_OK);
	assert_int_equal(mask, 0x81);
	assert_int_equal(off, 12);
	/* malformed: truncations, a trailing byte, the magic, PCR 24 */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(ady_tpmroot_decode(buf, i, &mask, &off), ADY_ERR_MALFORMED);
	assert_int_equal(ady_tpmroot_decode(buf, len + 1, &mask, &off), ADY_ERR_MALFORMED);
	assert_int_equal(mask, 0);
	buf[0] = 'X';
	assert_int_equal(ady_tpmroot_decode(buf, len, &mask, &off), ADY_ERR_MALFORMED);
	buf[0] = 'A';
	ady_put_u32le(buf + 8, 1u << 24);
	assert_int_equal(ady_tpmroot_decode(buf, len, &mask, &off), ADY_ERR_MALFORMED);
	/* encoder's refusals */
	assert_int_equal(ady_tpmroot_encode(1u << 24, 100, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_tpmroot_encode(0, sizeof(buf) - 11, buf, sizeof(buf), &len), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(len, sizeof(buf) + 1);
	assert_int_equal(ady_tpmroot_encode(0, 0, buf, 11, &len), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(ady_tpmroot_encode(0, 0, buf, 12, &len), ADY_OK);
	assert_int_equal(ady_tpmroot_decode(buf, 12, &mask, &off), ADY_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_akfile),
		cmocka_unit_test(test_akfile_malformed),
		cmocka_unit_test(test_tpmroot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
