/*
 * RA-TLS certificates without an enclave: the DER/CBOR encoder the enclave
 * runs (src/format/ratls.c) checked against OpenSSL's parser and against
 * golden vectors of the encoder as it was before it moved to the format
 * layer, and the host verifier (src/verify/ratls.c) on certificates
 * built from quotes made here with an enrolled platform key: accepted,
 * another MRENCLAVE (quote/identity), a key that is not the one in
 * report_data (binding), a broken self-signature and a certificate
 * without the extension; the evidence parser's strictness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "adyton/cursor.h"
#include "adyton/ratls.h"
#include "adyton/ratls_format.h"
#include "platform/sign.h"

static EVP_PKEY *attest, *key_a, *key_b;
static ady_quote scratch;
static ady_ratls_report rep;
static uint8_t qbuf[ADY_QUOTE_MAX], der[ADY_QUOTE_MAX + 1024];
static size_t der_len;
static ady_vpolicy pol_ok, pol_other;

static ady_err ossl_sign(void *ctx, const uint8_t *tbs, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t n = cap;
	int ok = m && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, ctx) == 1 &&
		 EVP_DigestSign(m, sig, &n, tbs, len) == 1;

	EVP_MD_CTX_free(m);
	*sig_len = n;
	return ok ? ADY_OK : ADY_ERR_CRYPTO;
}

static void pub65(EVP_PKEY *k, uint8_t out[static 65])
{
	size_t n = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &n), 1);
	assert_int_equal(n, 65);
}

/* A certificate for cert_key whose quote's report_data is the SPKI hash of
 * bound_key, made by the enclave-side encoder. */
static void make(EVP_PKEY *cert_key, EVP_PKEY *bound_key)
{
	static const uint8_t zero_nonce[32], cpusvn[16];
	uint8_t pub[65], bpub[65], spki[ADY_RATLS_SPKI_LEN], rd[64] = {0}, mre[32], mrs[32], serial[16];
	ady_sgx_attributes a = {.flags = 0x5, .xfrm = 3};
	ady_sgx_report_body b;
	unsigned int hl = 0;
	size_t qlen;

	pub65(cert_key, pub);
	pub65(bound_key, bpub);
	assert_int_equal(ady_ratls_spki_encode(bpub, spki), ADY_OK);
	assert_int_equal(EVP_Digest(spki, sizeof(spki), rd, &hl, EVP_sha256(), NULL), 1);
	memset(mre, 0xaa, 32);
	memset(mrs, 0xbb, 32);
	memset(serial, 0x42, 16);
	ady_quote_body(&b, mre, mrs, 21, 5, &a, 0, cpusvn, rd);
	assert_int_equal(ady_quote_make(attest, &b, zero_nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, qbuf,
					sizeof(qbuf), &qlen),
			 ADY_OK);
	assert_int_equal(ady_ratls_cert_encode(pub, serial, rd, qbuf, qlen, ossl_sign, cert_key, der, sizeof(der), &der_len),
			 ADY_OK);
}

static void policy(ady_vpolicy *p, char mre_digit)
{
	char text[512], mre[65], hexpub[129];
	uint8_t pub[64];
	unsigned line;

	assert_int_equal(ady_p256_pub(attest, pub), 0);
	for (int i = 0; i < 64; i++)
		snprintf(hexpub + 2 * i, 3, "%02x", pub[i]);
	memset(mre, mre_digit, 64);
	mre[64] = '\0';
	snprintf(text, sizeof(text), "mrenclave = %s\nplatform_key = %s\n", mre, hexpub);
	assert_int_equal(ady_vpolicy_parse(text, strlen(text), p, &line), ADY_OK);
}

static int setup(void **state)
{
	(void)state;
	attest = EVP_EC_gen("P-256");
	key_a = EVP_EC_gen("P-256");
	key_b = EVP_EC_gen("P-256");
	if (!attest || !key_a || !key_b)
		return -1;
	policy(&pol_ok, 'a');
	policy(&pol_other, 'd');
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(attest);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	return 0;
}

static void expect(const char *failed, const char *quote_failed)
{
	ady_err err = ady_ratls_verify_der(der, der_len, &pol_ok, &rep);

	if (!failed) {
		if (err != ADY_OK || !rep.accepted)
			fail_msg("refused: %s", rep.reason);
		return;
	}
	assert_int_equal(err, ADY_ERR_PERMISSION);
	assert_false(rep.accepted);
	if (!rep.failed || strcmp(rep.failed, failed) != 0)
		fail_msg("failed %s (%s), wanted %s", rep.failed ? rep.failed : "-", rep.reason, failed);
	if (quote_failed && (!rep.quote_failed || strcmp(rep.quote_failed, quote_failed) != 0))
		fail_msg("quote check %s, wanted %s", rep.quote_failed ? rep.quote_failed : "-", quote_failed);
}

/* The encoder's output as OpenSSL reads it. */
static void test_encoder_openssl(void **state)
{
	const unsigned char *p = der;
	unsigned char *ossl_spki = NULL;
	uint8_t pub[65], spki[ADY_RATLS_SPKI_LEN];
	ASN1_OBJECT *oid = OBJ_txt2obj("2.23.133.5.4.9", 1);
	ady_ratls_evidence ev;
	X509 *x;
	int idx, n;

	(void)state;
	make(key_a, key_a);
	x = d2i_X509(NULL, &p, (long)der_len);
	assert_non_null(x);
	assert_ptr_equal(p, der + der_len);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key_a), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
	/* re-encoding by OpenSSL gives the same bytes: our DER is canonical */
	{
		unsigned char *re = NULL;
		int rl = i2d_X509(x, &re);
		assert_int_equal(rl, (int)der_len);
		assert_memory_equal(re, der, der_len);
		OPENSSL_free(re);
	}
	/* SubjectPublicKeyInfo: ours = OpenSSL's */
	pub65(key_a, pub);
	assert_int_equal(ady_ratls_spki_encode(pub, spki), ADY_OK);
	n = i2d_PUBKEY(key_a, &ossl_spki);
	assert_int_equal(n, (int)sizeof(spki));
	assert_memory_equal(ossl_spki, spki, sizeof(spki));
	OPENSSL_free(ossl_spki);
	/* the extension: once, not critical, its bytes are the evidence */
	assert_non_null(oid);
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	assert_true(idx >= 0);
	assert_int_equal(X509_get_ext_by_OBJ(x, oid, idx), -1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), 0);
	{
		ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, idx));
		const uint8_t *e = ASN1_STRING_get0_data(d);
		size_t el = (size_t)ASN1_STRING_length(d);
		uint8_t h[32];
		unsigned int hl = 0;
		/* tag(60000) = d9 ea 60, array(2) = 82, bstr(quote) = 59 len16 */
		assert_true(el > 8);
		assert_int_equal(e[0], 0xd9);
		assert_int_equal(e[1], 0xea);
		assert_int_equal(e[2], 0x60);
		assert_int_equal(e[3], 0x82);
		assert_int_equal(ady_ratls_evidence_decode(e, el, &ev), ADY_OK);
		assert_int_equal(ev.quote_len, scratch.cert_len + ADY_QUOTE_FIXED);
		assert_memory_equal(ev.quote, qbuf, ev.quote_len);
		assert_int_equal(EVP_Digest(spki, sizeof(spki), h, &hl, EVP_sha256(), NULL), 1);
		assert_memory_equal(ev.pubkey_hash, h, 32);
		assert_false(ev.has_nonce);
	}
	ASN1_OBJECT_free(oid);
	X509_free(x);
}

static void test_verify(void **state)
{
	(void)state;
	make(key_a, key_a);
	expect(NULL, NULL);
	assert_non_null(strstr(rep.reason, "accepted"));

	/* a policy that lists another MRENCLAVE */
	assert_int_equal(ady_ratls_verify_der(der, der_len, &pol_other, &rep), ADY_ERR_PERMISSION);
	assert_string_equal(rep.failed, "quote");
	assert_string_equal(rep.quote_failed, "identity");
	assert_non_null(strstr(rep.reason, "MRENCLAVE"));

	/* certificate key A, report_data bound to key B */
	make(key_a, key_b);
	expect("binding", NULL);
	assert_non_null(strstr(rep.reason, "SubjectPublicKeyInfo"));

	/* every byte of the signature value flipped: the self-signature */
	make(key_a, key_a);
	der[der_len - 5] ^= 1;
	expect("certificate", NULL);
	der[der_len - 5] ^= 1;
	/* a byte inside the quote (covered by the self-signature too) */
	der[200] ^= 1;
	assert_int_not_equal(ady_ratls_verify_der(der, der_len, &pol_ok, &rep), ADY_OK);
	der[200] ^= 1;
	/* trailing garbage, truncation */
	assert_int_not_equal(ady_ratls_verify_der(der, der_len - 1, &pol_ok, &rep), ADY_OK);
	assert_string_equal(rep.failed, "certificate");
}

/* A self-signed P-256 certificate without the extension. */
static void test_no_extension(void **state)
{
	X509 *x = X509_new();
	unsigned char *p = NULL;
	int n;

	(void)state;
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"x", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key_a);
	assert_true(X509_sign(x, key_a, EVP_sha256()) > 0);
	n = i2d_X509(x, &p);
	assert_true(n > 0 && (size_t)n < sizeof(der));
	memcpy(der, p, (size_t)n);
	der_len = (size_t)n;
	OPENSSL_free(p);
	X509_free(x);
	expect("extension", NULL);
	assert_non_null(strstr(rep.reason, "2.23.133.5.4.9"));
}

/* The evidence parser: what it accepts and what it refuses. */
static void test_evidence_parser(void **state)
{
	static uint8_t ev[ADY_QUOTE_MAX + 256], bad[sizeof(ev) + 16];
	uint8_t h[32] = {7}, q[600];
	ady_ratls_evidence out;
	ady_wr w;
	size_t n;

	(void)state;
	memset(q, 0x5a, sizeof(q));
	ady_wr_init(&w, ev, sizeof(ev));
	ady_ratls_evidence_encode(&w, q, sizeof(q), h);
	assert_int_equal(ady_wr_err(&w), ADY_OK);
	n = ady_wr_len(&w);
	assert_int_equal(ady_ratls_evidence_decode(ev, n, &out), ADY_OK);
	assert_int_equal(out.quote_len, sizeof(q));
	assert_memory_equal(out.pubkey_hash, h, 32);
	/* every truncation */
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(ady_ratls_evidence_decode(ev, i, &out), ADY_OK);
	/* a byte trailing */
	memcpy(bad, ev, n);
	bad[n] = 0;
	assert_int_equal(ady_ratls_evidence_decode(bad, n + 1, &out), ADY_ERR_MALFORMED);
	/* another tag */
	memcpy(bad, ev, n);
	bad[2] = 0x61;
	assert_int_equal(ady_ratls_evidence_decode(bad, n, &out), ADY_ERR_MALFORMED);
	/* the tag in a longer form than needed: da 00 00 ea 60 */
	bad[0] = 0xda;
	bad[1] = 0;
	bad[2] = 0;
	bad[3] = 0xea;
	bad[4] = 0x60;
	memcpy(bad + 5, ev + 3, n - 3);
	assert_int_equal(ady_ratls_evidence_decode(bad, n + 2, &out), ADY_ERR_MALFORMED);
	/* an indefinite-length array */
	memcpy(bad, ev, n);
	bad[3] = 0x9f;
	assert_int_equal(ady_ratls_evidence_decode(bad, n, &out), ADY_ERR_MALFORMED);
	/* the claim key renamed: unknown claim, no pubkey-hash */
	memcpy(bad, ev, n);
	bad[n - 38 - 11] = 'P';
	assert_int_equal(ady_ratls_evidence_decode(bad, n, &out), ADY_ERR_MALFORMED);
	/* hash algorithm other than sha-256 */
	memcpy(bad, ev, n);
	bad[n - 35] = 0x07;
	assert_int_equal(ady_ratls_evidence_decode(bad, n, &out), ADY_ERR_MALFORMED);
	/* a quote above ADY_QUOTE_MAX */
	{
		static uint8_t big[ADY_QUOTE_MAX + 1];
		ady_wr w2;
		ady_wr_init(&w2, bad, sizeof(bad));
		ady_ratls_evidence_encode(&w2, big, sizeof(big), h);
		assert_int_equal(ady_wr_err(&w2), ADY_OK);
		assert_int_equal(ady_ratls_evidence_decode(bad, ady_wr_len(&w2), &out), ADY_ERR_MALFORMED);
	}
}

/* The DER writer's bounds: every capacity below the certificate's size
 * fails cleanly, and lengths take their minimal form. */
static void test_encoder_bounds(void **state)
{
	static uint8_t small[sizeof(der)];
	uint8_t pub[65], serial[16] = {0x40}, h[32] = {0};
	size_t len, full;

	(void)state;
	pub65(key_a, pub);
	assert_int_equal(ady_ratls_cert_encode(pub, serial, h, qbuf, 600, ossl_sign, key_a, small, sizeof(small), &full),
			 ADY_OK);
	for (size_t cap = 0; cap < full; cap += 37)
		assert_int_equal(ady_ratls_cert_encode(pub, serial, h, qbuf, 600, ossl_sign, key_a, small, cap, &len),
				 ADY_ERR_SHORT_BUFFER);
	serial[0] = 0x80;
	assert_int_equal(ady_ratls_cert_encode(pub, serial, h, qbuf, 600, ossl_sign, key_a, small, sizeof(small), &len),
			 ADY_ERR_INVALID_ARG);
}

/* A stand-in signature: deterministic, a function of the signed bytes. */
static ady_err fixed_sign(void *ctx, const uint8_t *tbs, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	uint8_t acc = 0;

	(void)ctx, (void)cap;
	for (size_t i = 0; i < len; i++)
		acc = (uint8_t)(acc * 31 + tbs[i]);
	for (int i = 0; i < 70; i++)
		sig[i] = (uint8_t)(acc + i);
	*sig_len = 70;
	return ADY_OK;
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t h[32];
	unsigned int hl = 0;

	assert_int_equal(EVP_Digest(p, n, h, &hl, EVP_sha256(), NULL), 1);
	ady_hex_encode(h, 32, out);
}

/* The bytes are those of the encoder before it moved from src/trts to
 * src/format onto the shared writer (SHA-256 of its output for the same
 * inputs, taken from the old code): quote lengths that put the DER and
 * CBOR lengths in their one-, two- and three-byte forms. */
static void test_golden(void **state)
{
	static const struct {
		size_t qlen, len;
		const char *sha256;
	} cert[] = {
		{600, 1003, "b7b4d29f3c78539ae1c8321cab3eecadc2f58041a902ad82366eedb9d3700e23"},
		{1, 394, "f73256caa4dcada49e15f0847994f29193664a2cc8f5c7fe9ff4bd6677c75208"},
		{60, 457, "b454dc435894bb1318f77a8d4f619836eb504e757507b9b23598950484e0e04d"},
		{119, 517, "92c949d2c322e10b1ed524e79bd618230c9cfc590e5bbf72be32a7518353db23"},
		{178, 578, "1d6af0ef102c2a284ef6ab0ccaf5b6b44ef16b773206c6e90e8d0ee36bfbe3ad"},
		{237, 639, "d3714b5d1c53c711a5a60c674d3a04c521a193835330659d42dc346e7204dd77"},
		{296, 699, "9c1d6f1c223a13f337dd064f5d107e56c6bf3e4177a43dc85b49401f2fe1489e"},
	};
	static uint8_t out[4096];
	uint8_t pub[65], serial[16], hash[32], quote[600], spki[ADY_RATLS_SPKI_LEN];
	char hex[65];
	size_t len = 0;
	ady_wr w;

	(void)state;
	for (int i = 0; i < 65; i++)
		pub[i] = (uint8_t)(i * 7 + 4);
	pub[0] = 4;
	for (int i = 0; i < 16; i++)
		serial[i] = (uint8_t)(0x40 + i);
	for (int i = 0; i < 32; i++)
		hash[i] = (uint8_t)(0xa0 ^ i);
	for (int i = 0; i < 600; i++)
		quote[i] = (uint8_t)(i * 13);
	for (size_t i = 0; i < sizeof(cert) / sizeof(cert[0]); i++) {
		assert_int_equal(ady_ratls_cert_encode(pub, serial, hash, quote, cert[i].qlen, fixed_sign, NULL, out,
						       sizeof(out), &len),
				 ADY_OK);
		sha256_hex(out, len, hex);
		if (len != cert[i].len || strcmp(hex, cert[i].sha256) != 0)
			fail_msg("certificate for a %zu-byte quote: %zu bytes, SHA-256 %s; want %zu bytes, %s", cert[i].qlen,
				 len, hex, cert[i].len, cert[i].sha256);
	}
	assert_int_equal(ady_ratls_spki_encode(pub, spki), ADY_OK);
	sha256_hex(spki, sizeof(spki), hex);
	assert_string_equal(hex, "26778b8fcdad5e90264aa495049ac02ff85f6dac2254a5a0f446db7e7fe567e2");
	ady_wr_init(&w, out, sizeof(out));
	ady_ratls_evidence_encode(&w, quote, sizeof(quote), hash);
	assert_int_equal(ady_wr_err(&w), ADY_OK);
	assert_int_equal(ady_wr_len(&w), 660);
	sha256_hex(out, 660, hex);
	assert_string_equal(hex, "c822f69be4712791c9a53e2ccc0aa7190e0a83bf9b3327e5395dade420696f4a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoder_openssl), cmocka_unit_test(test_verify),
		cmocka_unit_test(test_no_extension),    cmocka_unit_test(test_evidence_parser),
		cmocka_unit_test(test_encoder_bounds),  cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
