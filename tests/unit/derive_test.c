/*
 * The platform's EGETKEY/EREPORT (src/platform/derive.c): known answers for
 * the primitives (RFC 4493 CMAC, RFC 5869 HKDF), an independent
 * recomputation of the key derivation, and every SGX rule.  Includes the
 * .c to reach the HKDF helper through the same EVP path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "platform/derive.c"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Fails with both values printed (STYLE.md: KATs print on mismatch). */
static void expect_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
	if (memcmp(got, want, n) != 0) {
		char g[2 * 64 + 1], w[2 * 64 + 1];
		hex(got, n, g);
		hex(want, n, w);
		fail_msg("%s:\n  got  %s\n  want %s", what, g, w);
	}
}

static void test_cmac_rfc4493(void **state)
{
	static const char *const msg = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
				       "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
	static const struct {
		size_t len;
		const char *mac;
	} v[] = {
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	};
	uint8_t key[16], m[64], want[16], mac[16];

	(void)state;
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
	unhex(msg, m, 64);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(v[i].mac, want, 16);
		assert_int_equal(ady_cmac_aes128(key, m, v[i].len, mac), ADY_OK);
		expect_bytes("RFC 4493 CMAC", mac, want, 16);
	}
	assert_int_equal(ady_cmac_aes128(key, NULL, 1, mac), ADY_ERR_INVALID_ARG);
}

/* RFC 5869 A.1, test case 1, through the helper ady_derive_key uses. */
static void test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], want[42], okm[42];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", want, 42);
	assert_int_equal(hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), okm, sizeof(okm)),
			 ADY_OK);
	expect_bytes("RFC 5869 TC1 OKM", okm, want, sizeof(okm));
}

static ady_identity ident_a(void)
{
	ady_identity id;

	memset(&id, 0, sizeof(id));
	memset(id.mrenclave, 0xa1, 32);
	memset(id.mrsigner, 0x51, 32);
	id.isvprodid = 9;
	id.isvsvn = 5;
	id.attributes.flags = ADY_SGX_FLAGS_INIT | ADY_SGX_FLAGS_DEBUG | ADY_SGX_FLAGS_MODE64BIT;
	id.attributes.xfrm = ADY_SGX_XFRM_LEGACY;
	id.miscselect = 0;
	return id;
}

static void seal_request(uint8_t kr[512], uint16_t policy, uint16_t isvsvn)
{
	ady_sgx_keyrequest r;

	memset(&r, 0, sizeof(r));
	r.keyname = ADY_KEYNAME_SEAL;
	r.keypolicy = policy;
	r.isvsvn = isvsvn;
	r.attributemask.flags = 0xFF0000000000000Bull;
	r.miscmask = 0xF0000000u;
	for (int i = 0; i < 32; i++)
		r.keyid[i] = (uint8_t)(0x30 + i);
	memcpy(kr, &r, 512);
}

/* HKDF-SHA256 by hand (RFC 5869 2.2/2.3 with HMAC), over the encoding
 * derive.c documents, written out here field by field. */
static void reference_key(const ady_platform *p, const ady_identity *id, const ady_sgx_keyrequest *r,
			  uint8_t key[16])
{
	uint8_t info[160] = {0}, prk[32], t[32], block[161];
	unsigned int n = 0;
	uint64_t fmask = r->attributemask.flags | ADY_SGX_FLAGS_INIT | ADY_SGX_FLAGS_DEBUG;

	ady_put_u16le(info + 0, r->keyname);
	if (r->keypolicy & ADY_KEYPOLICY_MRENCLAVE)
		memcpy(info + 2, id->mrenclave, 32);
	if (r->keypolicy & ADY_KEYPOLICY_MRSIGNER)
		memcpy(info + 34, id->mrsigner, 32);
	ady_put_u16le(info + 66, id->isvprodid);
	ady_put_u16le(info + 68, r->isvsvn);
	memcpy(info + 70, r->cpusvn, 16);
	ady_put_u64le(info + 86, id->attributes.flags & fmask);
	ady_put_u64le(info + 94, id->attributes.xfrm & r->attributemask.xfrm);
	ady_put_u32le(info + 102, id->miscselect & r->miscmask);
	memcpy(info + 106, r->keyid, 32);
	ady_put_u16le(info + 138, r->configsvn);
	ady_put_u64le(info + 140, r->attributemask.flags);
	ady_put_u64le(info + 148, r->attributemask.xfrm);
	ady_put_u32le(info + 156, r->miscmask);

	assert_non_null(HMAC(EVP_sha256(), "adyton egetkey v1", 17, p->root, 32, prk, &n));
	memcpy(block, info, sizeof(info));
	block[160] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, 32, block, sizeof(block), t, &n));
	memcpy(key, t, 16);
}

static void test_derivation_kat(void **state)
{
	ady_platform p;
	ady_identity id = ident_a();
	uint8_t kr[512], key[16], want[16];
	static const uint16_t policies[] = {ADY_KEYPOLICY_MRENCLAVE, ADY_KEYPOLICY_MRSIGNER, 3, 0};

	(void)state;
	ady_platform_sim(&p);
	id.miscselect = 0x90000001u;
	id.attributes.flags |= ADY_SGX_FLAGS_KSS;
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		seal_request(kr, policies[i], 4);
		kr[24 + 8] = 0x03; /* xfrm mask: x87|SSE */
		assert_int_equal(ady_derive_key(&p, &id, kr, false, key), ADY_OK);
		reference_key(&p, &id, (const ady_sgx_keyrequest *)kr, want);
		expect_bytes("derivation vs the documented encoding", key, want, 16);
	}
}

static ady_err key_of(const ady_platform *p, const ady_identity *id, const uint8_t kr[512], uint8_t key[16])
{
	return ady_derive_key(p, id, kr, false, key);
}

static void test_svn_rules(void **state)
{
	ady_platform p;
	ady_identity id = ident_a();
	uint8_t kr[512], k1[16], k2[16];

	(void)state;
	ady_platform_sim(&p);
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 6);
	memset(k1, 0xee, 16);
	assert_int_equal(key_of(&p, &id, kr, k1), ADY_ERR_PERMISSION);
	for (int i = 0; i < 16; i++)
		assert_int_equal(k1[i], 0); /* no half-derived key on refusal */
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	assert_int_equal(key_of(&p, &id, kr, k1), ADY_OK);
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 4);
	assert_int_equal(key_of(&p, &id, kr, k2), ADY_OK);
	assert_memory_not_equal(k1, k2, 16);

	/* CPUSVN: not above the platform's, component by component */
	memset(p.cpusvn, 2, sizeof(p.cpusvn));
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	memset(kr + 8, 2, 16);
	assert_int_equal(key_of(&p, &id, kr, k1), ADY_OK);
	kr[8 + 15] = 3;
	assert_int_equal(key_of(&p, &id, kr, k2), ADY_ERR_PERMISSION);
	kr[8 + 15] = 1;
	assert_int_equal(key_of(&p, &id, kr, k2), ADY_OK);
	assert_memory_not_equal(k1, k2, 16);
	kr[8] = 3; /* one component up, another down: still above */
	assert_int_equal(key_of(&p, &id, kr, k2), ADY_ERR_PERMISSION);

	/* CONFIGSVN: adyton has no KSS, every enclave's is 0 */
	ady_platform_sim(&p);
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	kr[76] = 1;
	assert_int_equal(key_of(&p, &id, kr, k1), ADY_ERR_PERMISSION);
}

static void test_provision_einittoken(void **state)
{
	ady_platform p;
	ady_identity id = ident_a();
	uint8_t kr[512], key[16];

	(void)state;
	ady_platform_sim(&p);
	for (uint16_t name = ADY_KEYNAME_PROVISION; name <= ADY_KEYNAME_PROVISION_SEAL; name++) {
		seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
		kr[0] = (uint8_t)name;
		id = ident_a();
		assert_int_equal(ady_derive_key(&p, &id, kr, true, key), ADY_ERR_PERMISSION);
		id.attributes.flags |= ADY_SGX_FLAGS_PROVISIONKEY;
		assert_int_equal(ady_derive_key(&p, &id, kr, false, key), ADY_ERR_PERMISSION);
		assert_int_equal(ady_derive_key(&p, &id, kr, true, key), ADY_OK);
	}
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	kr[0] = ADY_KEYNAME_EINITTOKEN;
	assert_int_equal(ady_derive_key(&p, &id, kr, true, key), ADY_ERR_PERMISSION);
}

static void test_malformed(void **state)
{
	ady_platform p;
	ady_identity id = ident_a();
	uint8_t kr[512], key[16];
	static const size_t reserved[] = {6, 7, 78, 200, 511};

	(void)state;
	ady_platform_sim(&p);
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	kr[0] = 5;
	assert_int_equal(key_of(&p, &id, kr, key), ADY_ERR_INVALID_ARG);
	kr[0] = ADY_KEYNAME_SEAL;
	kr[1] = 1;
	assert_int_equal(key_of(&p, &id, kr, key), ADY_ERR_INVALID_ARG);
	kr[1] = 0;
	for (uint16_t bit = 2; bit; bit = (uint16_t)(bit << 1)) {
		kr[2] = (uint8_t)(ADY_KEYPOLICY_MRSIGNER | bit);
		kr[3] = (uint8_t)(bit >> 8);
		assert_int_equal(key_of(&p, &id, kr, key), bit == 2 ? ADY_OK : ADY_ERR_INVALID_ARG);
	}
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		kr[reserved[i]] = 0x80;
		assert_int_equal(key_of(&p, &id, kr, key), ADY_ERR_INVALID_ARG);
		kr[reserved[i]] = 0;
	}
	assert_int_equal(key_of(&p, &id, kr, key), ADY_OK);
	assert_int_equal(ady_derive_key(NULL, &id, kr, false, key), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_derive_key(&p, NULL, kr, false, key), ADY_ERR_INVALID_ARG);
}

static void test_policy_and_binding(void **state)
{
	ady_platform p, other;
	ady_identity a = ident_a(), a2 = ident_a();
	uint8_t kr[512], ke[16], ks[16], k[16];

	(void)state;
	ady_platform_sim(&p);
	memset(a2.mrenclave, 0xa2, 32); /* other code, same signer and product */

	seal_request(kr, ADY_KEYPOLICY_MRENCLAVE, 5);
	assert_int_equal(key_of(&p, &a, kr, ke), ADY_OK);
	assert_int_equal(key_of(&p, &a2, kr, k), ADY_OK);
	assert_memory_not_equal(ke, k, 16);
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	assert_int_equal(key_of(&p, &a, kr, ks), ADY_OK);
	assert_memory_not_equal(ke, ks, 16);
	assert_int_equal(key_of(&p, &a2, kr, k), ADY_OK);
	assert_memory_equal(ks, k, 16);

	/* another product of the same signer */
	a2 = ident_a();
	a2.isvprodid = 10;
	assert_int_equal(key_of(&p, &a2, kr, k), ADY_OK);
	assert_memory_not_equal(ks, k, 16);
	/* another signer */
	a2 = ident_a();
	a2.mrsigner[0] ^= 1;
	assert_int_equal(key_of(&p, &a2, kr, k), ADY_OK);
	assert_memory_not_equal(ks, k, 16);

	/* KEYID changes the key */
	kr[40] ^= 1;
	assert_int_equal(key_of(&p, &a, kr, k), ADY_OK);
	assert_memory_not_equal(ks, k, 16);
	kr[40] ^= 1;

	/* another platform root: another key */
	other = p;
	other.root[31] ^= 0x80;
	assert_int_equal(key_of(&other, &a, kr, k), ADY_OK);
	assert_memory_not_equal(ks, k, 16);
}

static void test_masks(void **state)
{
	ady_platform p;
	ady_identity a = ident_a(), b = ident_a();
	uint8_t kr[512], ka[16], kb[16];

	(void)state;
	ady_platform_sim(&p);
	b.attributes.flags |= ADY_SGX_FLAGS_KSS; /* bit 7: not in the SDK's mask */
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	assert_int_equal(key_of(&p, &b, kr, kb), ADY_OK);
	assert_memory_equal(ka, kb, 16);
	kr[24] |= 0x80; /* now it is */
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	assert_int_equal(key_of(&p, &b, kr, kb), ADY_OK);
	assert_memory_not_equal(ka, kb, 16);

	/* INIT and DEBUG enter whatever the mask says */
	b = ident_a();
	b.attributes.flags &= ~ADY_SGX_FLAGS_DEBUG;
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	memset(kr + 24, 0, 16);
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	assert_int_equal(key_of(&p, &b, kr, kb), ADY_OK);
	assert_memory_not_equal(ka, kb, 16);

	/* XFRM and MISCSELECT through their masks */
	b = ident_a();
	b.attributes.xfrm = 0x07;
	b.miscselect = 0x1;
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	assert_int_equal(key_of(&p, &b, kr, kb), ADY_OK);
	assert_memory_equal(ka, kb, 16);
	kr[32] = 0x04; /* xfrm mask bit 2 */
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	assert_int_equal(key_of(&p, &b, kr, kb), ADY_OK);
	assert_memory_not_equal(ka, kb, 16);
	kr[32] = 0;
	kr[72] = 0x01; /* misc mask bit 0 */
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	assert_int_equal(key_of(&p, &b, kr, kb), ADY_OK);
	assert_memory_not_equal(ka, kb, 16);

	/* The masks themselves are bound: a mask bit over an attribute the
	 * enclave does not have still changes the key, so a sealed blob's key
	 * request cannot be altered without unsealing failing. */
	seal_request(kr, ADY_KEYPOLICY_MRSIGNER, 5);
	assert_int_equal(key_of(&p, &a, kr, ka), ADY_OK);
	for (size_t off = 24; off < 40; off++) {
		for (int bit = 0; bit < 8; bit++) {
			kr[off] ^= (uint8_t)(1u << bit);
			assert_int_equal(key_of(&p, &a, kr, kb), ADY_OK);
			assert_memory_not_equal(ka, kb, 16);
			kr[off] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t off = 72; off < 76; off++) {
		kr[off] ^= 0x01;
		assert_int_equal(key_of(&p, &a, kr, kb), ADY_OK);
		assert_memory_not_equal(ka, kb, 16);
		kr[off] ^= 0x01;
	}
}

static void report_key_of(const ady_platform *p, const ady_identity *id, const uint8_t keyid[32], uint8_t key[16])
{
	ady_sgx_keyrequest r;

	memset(&r, 0, sizeof(r));
	r.keyname = ADY_KEYNAME_REPORT;
	memcpy(r.keyid, keyid, 32);
	assert_int_equal(ady_derive_key(p, id, (const uint8_t *)&r, false, key), ADY_OK);
}

static void targetinfo_of(const ady_identity *id, uint8_t ti[512])
{
	ady_sgx_targetinfo t;

	memset(&t, 0, sizeof(t));
	memcpy(t.mrenclave, id->mrenclave, 32);
	t.attributes = id->attributes;
	t.miscselect = id->miscselect;
	memcpy(ti, &t, 512);
}

static void test_report(void **state)
{
	ady_platform p;
	ady_identity a = ident_a(), b = ident_a(), c = ident_a();
	uint8_t ti[512], data[64], rep[432], rep2[432], key[16], mac[16];
	ady_sgx_report r;

	(void)state;
	ady_platform_sim(&p);
	memset(b.mrenclave, 0xb1, 32);
	b.isvsvn = 7;
	memset(c.mrenclave, 0xc1, 32);
	for (int i = 0; i < 64; i++)
		data[i] = (uint8_t)i;
	targetinfo_of(&b, ti);
	assert_int_equal(ady_derive_report(&p, &a, ti, data, rep), ADY_OK);
	memcpy(&r, rep, sizeof(r));
	assert_memory_equal(r.body.mrenclave, a.mrenclave, 32);
	assert_memory_equal(r.body.mrsigner, a.mrsigner, 32);
	assert_int_equal(r.body.isvprodid, 9);
	assert_int_equal(r.body.isvsvn, 5);
	assert_int_equal(r.body.attributes.flags, a.attributes.flags);
	assert_int_equal(r.body.attributes.xfrm, a.attributes.xfrm);
	assert_memory_equal(r.body.reportdata, data, 64);

	/* the target's report key (for the report's KEYID) verifies it... */
	report_key_of(&p, &b, r.keyid, key);
	assert_int_equal(ady_cmac_aes128(key, &r.body, sizeof(r.body), mac), ADY_OK);
	assert_memory_equal(mac, r.mac, 16);
	/* ...whatever ISVSVN the target runs with (REPORT keys bind MRENCLAVE) */
	b.isvsvn = 1;
	report_key_of(&p, &b, r.keyid, key);
	assert_int_equal(ady_cmac_aes128(key, &r.body, sizeof(r.body), mac), ADY_OK);
	assert_memory_equal(mac, r.mac, 16);
	/* another enclave's does not, nor the creator's own */
	report_key_of(&p, &c, r.keyid, key);
	assert_int_equal(ady_cmac_aes128(key, &r.body, sizeof(r.body), mac), ADY_OK);
	assert_memory_not_equal(mac, r.mac, 16);
	report_key_of(&p, &a, r.keyid, key);
	assert_int_equal(ady_cmac_aes128(key, &r.body, sizeof(r.body), mac), ADY_OK);
	assert_memory_not_equal(mac, r.mac, 16);
	/* a target that differs only in attributes is another target */
	b.attributes.flags &= ~ADY_SGX_FLAGS_DEBUG;
	report_key_of(&p, &b, r.keyid, key);
	assert_int_equal(ady_cmac_aes128(key, &r.body, sizeof(r.body), mac), ADY_OK);
	assert_memory_not_equal(mac, r.mac, 16);

	/* fresh KEYID per report */
	assert_int_equal(ady_derive_report(&p, &a, ti, data, rep2), ADY_OK);
	assert_memory_not_equal(rep + 384, rep2 + 384, 32);

	/* TARGETINFO reserved bytes must be zero */
	ti[48] = 1;
	assert_int_equal(ady_derive_report(&p, &a, ti, data, rep), ADY_ERR_INVALID_ARG);
	ti[48] = 0;
	ti[511] = 1;
	assert_int_equal(ady_derive_report(&p, &a, ti, data, rep), ADY_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmac_rfc4493),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_derivation_kat),
		cmocka_unit_test(test_svn_rules),
		cmocka_unit_test(test_provision_einittoken),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_policy_and_binding),
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
