/*
 * The sealing and local-attestation test enclaves A, B and C
 * (tests/keys.cmake): one source, built with SEAL_VARIANT 1 (A, C) or 2
 * (B) so that B's code, and so its MRENCLAVE, differs.
 */
#include <stdlib.h>
#include <string.h>

#include <adyton/enclave.h>
#include <adyton/sgx.h>

#include "seal_enc.h"

#ifndef SEAL_VARIANT
#error "SEAL_VARIANT must be defined"
#endif

/* The runtime's CMAC is internal (src/trts/cmac.c); tested here with the
 * RFC 4493 vectors because it only runs inside an enclave. */

#define SENTINEL 0xa5

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static ady_err seal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint16_t policy;
	uint32_t aad_len;

	if (in_len < 6)
		return ADY_ERR_INVALID_ARG;
	policy = (uint16_t)(in[0] | in[1] << 8);
	aad_len = get_u32(in + 2);
	if (aad_len > in_len - 6)
		return ADY_ERR_INVALID_ARG;
	return ady_seal(policy, in + 6, aad_len, in + 6 + aad_len, in_len - 6 - aad_len, out, out_cap, out_len);
}

static int untouched(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != SENTINEL)
			return 0;
	return 1;
}

static ady_err unseal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint32_t text_cap, aad_cap;
	size_t text_len = 0xdead, aad_len = 0xdead;
	uint8_t *text, *aad;
	int want_aad;
	ady_err st;

	if (in_len < 9)
		return ADY_ERR_INVALID_ARG;
	text_cap = get_u32(in);
	aad_cap = get_u32(in + 4);
	want_aad = in[8];
	text = malloc(text_cap + 1u);
	aad = malloc(aad_cap + 1u);
	if (!text || !aad) {
		free(text);
		free(aad);
		return ADY_ERR_NOMEM;
	}
	memset(text, SENTINEL, text_cap + 1u);
	memset(aad, SENTINEL, aad_cap + 1u);
	st = ady_unseal(in + 9, in_len - 9, want_aad ? aad : NULL, aad_cap, &aad_len, text, text_cap, &text_len);
	if (st != ADY_OK && (!untouched(text, text_cap + 1u) || !untouched(aad, aad_cap + 1u)))
		st = ADY_ERR_STATE;
	if (st == ADY_OK && (!untouched(text + text_len, 1) || (want_aad && !untouched(aad + aad_len, 1))))
		st = ADY_ERR_STATE;
	if (st != ADY_OK && st != ADY_ERR_SHORT_BUFFER && (text_len != 0 || aad_len != 0))
		st = ADY_ERR_STATE; /* lengths are reported only on success or a short buffer */
	if (st != ADY_OK) {
		if (st != ADY_ERR_SHORT_BUFFER)
			text_len = aad_len = 0;
	}
	if (12 + (st == ADY_OK ? aad_len + text_len : 0) > out_cap) {
		st = ADY_ERR_SHORT_BUFFER;
		text_len = aad_len = 0;
	}
	put_u32(out, (uint32_t)st);
	put_u32(out + 4, (uint32_t)aad_len);
	put_u32(out + 8, (uint32_t)text_len);
	*out_len = 12;
	if (st == ADY_OK) {
		if (want_aad)
			memcpy(out + 12, aad, aad_len);
		memcpy(out + 12 + (want_aad ? aad_len : 0), text, text_len);
		*out_len = 12 + (want_aad ? aad_len : 0) + text_len;
	}
	free(text);
	free(aad);
	return ADY_OK;
}

static ady_err report(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	ady_err err;

	if (out_cap < 432)
		return ADY_ERR_SHORT_BUFFER;
	if (in_len == 64)
		err = ady_create_report(NULL, in, out);
	else if (in_len == 512 + 64)
		err = ady_create_report(in, in + 512, out);
	else
		return ADY_ERR_INVALID_ARG;
	if (!err)
		*out_len = 432;
	return err;
}

static ady_err verify(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out, (void)out_cap, (void)out_len;
	if (in_len != 432)
		return ADY_ERR_INVALID_ARG;
	return ady_verify_report(in);
}

static ady_err targetinfo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len;
	if (out_cap < 512)
		return ADY_ERR_SHORT_BUFFER;
	*out_len = 512;
	return ady_self_targetinfo(out);
}

static ady_err random_bytes(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint32_t n;

	if (in_len != 4)
		return ADY_ERR_INVALID_ARG;
	n = get_u32(in);
	if (n > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	*out_len = n;
	return ady_random(out, n);
}

/* Crosses the 2^16-request reseed; consecutive outputs must differ and a
 * large fill must look like noise (every byte value, no zero page). */
static ady_err random_many(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	enum { BIG = 1 << 20 };
	uint8_t prev[16] = {0}, cur[16];
	uint32_t seen[256] = {0};
	uint8_t *big;
	ady_err err;

	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	for (int i = 0; i < 70000; i++) {
		err = ady_random(cur, sizeof(cur));
		if (err)
			return err;
		if (memcmp(cur, prev, sizeof(cur)) == 0)
			return ADY_ERR_CRYPTO;
		memcpy(prev, cur, sizeof(cur));
	}
	big = malloc(BIG);
	if (!big)
		return ADY_ERR_NOMEM;
	memset(big, 0, BIG);
	err = ady_random(big, BIG);
	if (!err) {
		for (size_t i = 0; i < BIG; i++)
			seen[big[i]]++;
		/* 4096 expected per value; 3000..5200 is beyond 15 sigma. */
		for (int v = 0; v < 256 && !err; v++)
			if (seen[v] < 3000 || seen[v] > 5200)
				err = ADY_ERR_CRYPTO;
		for (size_t pg = 0; pg < BIG && !err; pg += 4096) {
			uint8_t acc = 0;
			for (size_t i = 0; i < 4096; i++)
				acc |= big[pg + i];
			if (!acc)
				err = ADY_ERR_CRYPTO;
		}
	}
	free(big);
	return err;
}

static int unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];
			b = (uint8_t)(b << 4 | (c <= '9' ? c - '0' : c - 'a' + 10));
		}
		out[i] = b;
	}
	return (int)n;
}

/* RFC 4493 section 4: examples 1-4. */
static ady_err cmac_kat(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const char *const key = "2b7e151628aed2a6abf7158809cf4f3c";
	static const char *const msg = "6bc1bee22e409f96e93d7e117393172a"
				       "ae2d8a571e03ac9c9eb76fac45af8e51"
				       "30c81c46a35ce411e5fbc1191a0a52ef"
				       "f69f2445df4f9b17ad2b417be66c3710";
	static const struct {
		size_t len;
		const char *mac;
	} v[] = {
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	};
	uint8_t k[16], m[64], want[16], mac[16];

	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	unhex(key, k);
	unhex(msg, m);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(v[i].mac, want);
		if (ady_cmac_aes128(k, m, v[i].len, mac) != ADY_OK)
			return ADY_ERR_CRYPTO;
		if (memcmp(mac, want, 16) != 0) {
			ady_log("cmac example %zu: got %02x%02x%02x%02x.. want %s", i + 1, mac[0], mac[1], mac[2], mac[3],
				v[i].mac);
			return ADY_ERR_CRYPTO;
		}
	}
	return ADY_OK;
}

static ady_err getkey(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (in_len != 512)
		return ADY_ERR_INVALID_ARG;
	if (out_cap < 16)
		return ADY_ERR_SHORT_BUFFER;
	*out_len = 16;
	return ady_get_key(in, out);
}

#define CHECK(cond)                                                                                        \
	do {                                                                                               \
		if (!(cond)) {                                                                             \
			ady_log("S_API check failed at line %d: %s", __LINE__, #cond);                      \
			return ADY_ERR_STATE;                                                              \
		}                                                                                          \
	} while (0)

static ady_err api(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t blob[ADY_SEALED_HEADER + 8], text[8], aad[8], key[16];
	size_t n = 7, a = 7;

	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	CHECK(ady_sealed_size(0, 0) == ADY_SEALED_HEADER);
	CHECK(ady_sealed_size(3, 5) == ADY_SEALED_HEADER + 8);
	CHECK(ady_sealed_size(SIZE_MAX, 1) == 0);
	CHECK(ady_sealed_size(0xffffffffu, 1) == 0);
	CHECK(ady_sealed_size(0xffffffffu, 0) == ADY_SEALED_HEADER + 0xffffffffull);
	CHECK(ady_seal(0, NULL, 0, "x", 1, blob, sizeof(blob), &n) == ADY_ERR_INVALID_ARG && n == 0);
	CHECK(ady_seal(4, NULL, 0, "x", 1, blob, sizeof(blob), &n) == ADY_ERR_INVALID_ARG);
	CHECK(ady_seal(ADY_SEAL_MRENCLAVE, NULL, 1, "x", 1, blob, sizeof(blob), &n) == ADY_ERR_INVALID_ARG);
	CHECK(ady_seal(ADY_SEAL_MRENCLAVE, NULL, 0, "x", 1, blob, sizeof(blob), NULL) == ADY_ERR_INVALID_ARG);
	CHECK(ady_seal(ADY_SEAL_MRENCLAVE, "aaa", 3, "12345", 5, blob, sizeof(blob) - 1, &n) ==
	      ADY_ERR_SHORT_BUFFER);
	CHECK(n == sizeof(blob));
	CHECK(ady_seal(ADY_SEAL_MRENCLAVE | ADY_SEAL_MRSIGNER, "aaa", 3, "12345", 5, blob, sizeof(blob), &n) ==
	      ADY_OK);
	CHECK(n == sizeof(blob));
	/* short buffers report both lengths and write nothing */
	memset(text, SENTINEL, sizeof(text));
	memset(aad, SENTINEL, sizeof(aad));
	CHECK(ady_unseal(blob, n, aad, 2, &a, text, sizeof(text), &n) == ADY_ERR_SHORT_BUFFER);
	CHECK(a == 3 && n == 5 && untouched(text, sizeof(text)) && untouched(aad, sizeof(aad)));
	n = sizeof(blob);
	CHECK(ady_unseal(blob, n, aad, sizeof(aad), &a, text, 4, &n) == ADY_ERR_SHORT_BUFFER && n == 5);
	n = sizeof(blob);
	CHECK(ady_unseal(blob, n, NULL, 0, NULL, text, sizeof(text), &n) == ADY_OK);
	CHECK(n == 5 && memcmp(text, "12345", 5) == 0);
	CHECK(ady_unseal(blob, sizeof(blob), aad, sizeof(aad), &a, text, sizeof(text), NULL) == ADY_ERR_INVALID_ARG);
	CHECK(ady_unseal(blob, sizeof(blob), aad, sizeof(aad), NULL, text, sizeof(text), &n) == ADY_ERR_INVALID_ARG);
	CHECK(ady_unseal(NULL, 0, NULL, 0, NULL, text, sizeof(text), &n) == ADY_ERR_TRUNCATED);
	CHECK(ady_random(NULL, 1) == ADY_ERR_INVALID_ARG);
	CHECK(ady_random(NULL, 0) == ADY_OK);
	CHECK(ady_get_key(NULL, key) == ADY_ERR_INVALID_ARG);
	return ADY_OK;
}

static ady_err variant(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len;
	if (out_cap < 4)
		return ADY_ERR_SHORT_BUFFER;
	put_u32(out, SEAL_VARIANT);
	*out_len = 4;
	return ADY_OK;
}

ADY_ECALLS(seal, unseal, report, verify, targetinfo, random_bytes, random_many, cmac_kat, getkey, api, variant);
