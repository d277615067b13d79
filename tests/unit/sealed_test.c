/*
 * The sealed-blob header and KEYREQUEST decoders (src/format/sealed.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/sealed.h"

#define PAYLOAD 24
#define TEXT 10

/* A valid blob: header + PAYLOAD bytes (TEXT of ciphertext, the rest AAD). */
static size_t make_blob(uint8_t *blob)
{
	ady_sealed_hdr h;

	memset(&h, 0, sizeof(h));
	h.key_request.keyname = ADY_KEYNAME_SEAL;
	h.key_request.keypolicy = ADY_KEYPOLICY_MRSIGNER;
	h.key_request.isvsvn = 0x0203;
	h.key_request.attributemask.flags = 0xFF0000000000000Bull;
	h.key_request.miscmask = 0xF0000000u;
	for (int i = 0; i < 32; i++)
		h.key_request.keyid[i] = (uint8_t)(i + 1);
	h.plain_text_offset = TEXT;
	h.payload_size = PAYLOAD;
	memset(h.tag, 0x77, sizeof(h.tag));
	ady_sealed_encode(&h, blob);
	memset(blob + ADY_SEALED_HDR_SIZE, 0x55, PAYLOAD);
	return ADY_SEALED_HDR_SIZE + PAYLOAD;
}

static void test_total(void **state)
{
	size_t n = 1;

	(void)state;
	assert_int_equal(ady_sealed_total(0, 0, &n), ADY_OK);
	assert_int_equal(n, 560);
	assert_int_equal(ady_sealed_total(3, 5, &n), ADY_OK);
	assert_int_equal(n, 568);
	assert_int_equal(ady_sealed_total(0xffffffffu, 0, &n), ADY_OK);
	assert_int_equal(n, 560 + 0xffffffffull);
	assert_int_equal(ady_sealed_total(0xffffffffu, 1, &n), ADY_ERR_OVERFLOW);
	assert_int_equal(n, 0);
	assert_int_equal(ady_sealed_total(UINT64_MAX, 1, &n), ADY_ERR_OVERFLOW);
	assert_int_equal(ady_sealed_total(1, UINT64_MAX, &n), ADY_ERR_OVERFLOW);
	assert_int_equal(ady_sealed_total(UINT64_MAX, UINT64_MAX, &n), ADY_ERR_OVERFLOW);
	assert_int_equal(ady_sealed_total(0, 0, NULL), ADY_ERR_INVALID_ARG);
}

static void test_roundtrip(void **state)
{
	uint8_t blob[ADY_SEALED_HDR_SIZE + PAYLOAD], again[ADY_SEALED_HDR_SIZE];
	ady_sealed_hdr h;
	size_t len = make_blob(blob);

	(void)state;
	assert_int_equal(ady_sealed_decode(blob, len, &h), ADY_OK);
	assert_int_equal(h.key_request.keyname, ADY_KEYNAME_SEAL);
	assert_int_equal(h.key_request.keypolicy, ADY_KEYPOLICY_MRSIGNER);
	assert_int_equal(h.key_request.isvsvn, 0x0203);
	assert_int_equal(h.plain_text_offset, TEXT);
	assert_int_equal(h.payload_size, PAYLOAD);
	assert_int_equal(h.tag[15], 0x77);
	/* the SDK's offsets, byte for byte */
	assert_int_equal(blob[512], TEXT);
	assert_int_equal(blob[528], PAYLOAD);
	assert_int_equal(blob[544], 0x77);
	assert_int_equal(blob[4], 0x03);
	assert_int_equal(blob[24], 0x0B);
	assert_int_equal(blob[31], 0xFF);
	assert_int_equal(blob[40], 1);
	assert_int_equal(blob[75], 0xF0);
	ady_sealed_encode(&h, again);
	assert_memory_equal(again, blob, sizeof(again));
	/* the encoder zeroes reserved bytes whatever the struct says */
	memset(h.reserved1, 0xee, sizeof(h.reserved1));
	memset(h.reserved2, 0xee, sizeof(h.reserved2));
	ady_sealed_encode(&h, again);
	assert_memory_equal(again, blob, sizeof(again));
}

static void test_lengths(void **state)
{
	uint8_t blob[ADY_SEALED_HDR_SIZE + PAYLOAD + 1];
	ady_sealed_hdr h;
	size_t len = make_blob(blob);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		memset(&h, 0xcc, sizeof(h));
		assert_int_equal(ady_sealed_decode(blob, n, &h), ADY_ERR_TRUNCATED);
		for (size_t i = 0; i < sizeof(h); i++)
			assert_int_equal(((uint8_t *)&h)[i], 0);
	}
	blob[len] = 0;
	assert_int_equal(ady_sealed_decode(blob, len + 1, &h), ADY_ERR_MALFORMED);
	assert_int_equal(ady_sealed_decode(NULL, 0, &h), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_sealed_decode(NULL, 5, &h), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sealed_decode(blob, len, NULL), ADY_ERR_INVALID_ARG);
	/* text longer than the payload */
	blob[512] = PAYLOAD + 1;
	assert_int_equal(ady_sealed_decode(blob, len, &h), ADY_ERR_MALFORMED);
	/* everything ciphertext, nothing AAD, and the other way round */
	blob[512] = PAYLOAD;
	assert_int_equal(ady_sealed_decode(blob, len, &h), ADY_OK);
	blob[512] = 0;
	assert_int_equal(ady_sealed_decode(blob, len, &h), ADY_OK);
	/* a payload_size that announces more than there is */
	blob[528] = PAYLOAD + 1;
	assert_int_equal(ady_sealed_decode(blob, len, &h), ADY_ERR_TRUNCATED);
	blob[531] = 0x80;
	assert_int_equal(ady_sealed_decode(blob, len, &h), ADY_ERR_TRUNCATED);
}

static void test_fields(void **state)
{
	uint8_t blob[ADY_SEALED_HDR_SIZE + PAYLOAD], bad[sizeof(blob)];
	static const size_t reserved[] = {6, 7, 78, 100, 511, 516, 520, 527, 532, 543};
	ady_sealed_hdr h;
	size_t len = make_blob(blob);

	(void)state;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		memcpy(bad, blob, len);
		bad[reserved[i]] = 1;
		assert_int_equal(ady_sealed_decode(bad, len, &h), ADY_ERR_MALFORMED);
	}
	static const uint16_t names[] = {ADY_KEYNAME_EINITTOKEN, ADY_KEYNAME_PROVISION, ADY_KEYNAME_PROVISION_SEAL,
					 ADY_KEYNAME_REPORT, 5, 0x0104, 0xffff};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memcpy(bad, blob, len);
		bad[0] = (uint8_t)names[i];
		bad[1] = (uint8_t)(names[i] >> 8);
		assert_int_equal(ady_sealed_decode(bad, len, &h), ADY_ERR_MALFORMED);
	}
	static const uint16_t policies[] = {0, 4, 8, 0x10, 0x20, 0x8000, 0x0101};
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		memcpy(bad, blob, len);
		bad[2] = (uint8_t)policies[i];
		bad[3] = (uint8_t)(policies[i] >> 8);
		assert_int_equal(ady_sealed_decode(bad, len, &h), ADY_ERR_MALFORMED);
	}
	static const uint16_t good[] = {ADY_KEYPOLICY_MRENCLAVE, ADY_KEYPOLICY_MRSIGNER,
					ADY_KEYPOLICY_MRENCLAVE | ADY_KEYPOLICY_MRSIGNER};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memcpy(bad, blob, len);
		bad[2] = (uint8_t)good[i];
		assert_int_equal(ady_sealed_decode(bad, len, &h), ADY_OK);
		assert_int_equal(h.key_request.keypolicy, good[i]);
	}
}

static void test_keyrequest(void **state)
{
	uint8_t kr[513] = {0};
	ady_sgx_keyrequest out;

	(void)state;
	/* every key name SGX defines is well formed; which one a caller gets
	 * is the platform's decision */
	for (uint16_t n = 0; n <= ADY_KEYNAME_SEAL; n++) {
		kr[0] = (uint8_t)n;
		assert_int_equal(ady_keyrequest_decode(kr, 512, &out), ADY_OK);
		assert_int_equal(out.keyname, n);
	}
	kr[0] = 5;
	assert_int_equal(ady_keyrequest_decode(kr, 512, &out), ADY_ERR_MALFORMED);
	kr[0] = ADY_KEYNAME_SEAL;
	kr[2] = 0; /* policy 0 is a well-formed request */
	assert_int_equal(ady_keyrequest_decode(kr, 512, &out), ADY_OK);
	kr[2] = 4;
	assert_int_equal(ady_keyrequest_decode(kr, 512, &out), ADY_ERR_MALFORMED);
	kr[2] = 3;
	assert_int_equal(ady_keyrequest_decode(kr, 511, &out), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_keyrequest_decode(kr, 513, &out), ADY_ERR_MALFORMED);
	assert_int_equal(ady_keyrequest_decode(NULL, 512, &out), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_keyrequest_decode(kr, 512, NULL), ADY_ERR_INVALID_ARG);
	for (size_t i = 78; i < 512; i += 53) {
		kr[i] = 0x40;
		memset(&out, 0xcc, sizeof(out));
		assert_int_equal(ady_keyrequest_decode(kr, 512, &out), ADY_ERR_MALFORMED);
		for (size_t k = 0; k < sizeof(out); k++)
			assert_int_equal(((uint8_t *)&out)[k], 0);
		kr[i] = 0;
	}
	kr[6] = 1;
	assert_int_equal(ady_keyrequest_decode(kr, 512, &out), ADY_ERR_MALFORMED);
}

/* The encoder against its form before the shared writer: the packed
 * struct copied, reserved bytes zeroed.  Every field set, random-looking
 * values, reserved bytes of the header and of the key request zero. */
static void test_encode_as_before(void **state)
{
	uint8_t want[ADY_SEALED_HDR_SIZE], got[ADY_SEALED_HDR_SIZE];
	ady_sealed_hdr h;

	(void)state;
	for (unsigned seed = 1; seed < 20; seed++) {
		uint8_t *b = (uint8_t *)&h;

		for (size_t i = 0; i < sizeof(h); i++)
			b[i] = (uint8_t)(seed * 97 + i * 13 + (i >> 8));
		memset(h.key_request.reserved1, 0, sizeof(h.key_request.reserved1));
		memset(h.key_request.reserved2, 0, sizeof(h.key_request.reserved2));
		memset(h.reserved1, 0, sizeof(h.reserved1));
		memset(h.reserved2, 0, sizeof(h.reserved2));
		memcpy(want, &h, sizeof(want));
		memset(got, 0xee, sizeof(got));
		ady_sealed_encode(&h, got);
		assert_memory_equal(got, want, sizeof(want));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_total),    cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_fields),   cmocka_unit_test(test_keyrequest),
		cmocka_unit_test(test_encode_as_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
