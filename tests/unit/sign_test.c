/*
 * Unit tests of the signer (src/tools/sign.c): keys, dates, SIGSTRUCT
 * contents, q1/q2, re-signing, and that signing touches only the note.
 *
 * The test image is the hello example's unsigned enclave from the build
 * tree (or $ADY_TEST_IMAGE); its absence is a failure, not a skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "adyton/elf.h"
#include "adyton/image.h"
#include "adyton/meta.h"
#include "host/image_internal.h"
#include "tools/sign.h"

#define DATE 0x20240517u

static struct {
	uint8_t *file;   /* the unsigned image */
	size_t len;
	EVP_PKEY *key;   /* RSA-3072, e = 3 */
	EVP_PKEY *key2;
	ady_config cfg;
} fx;

static const char *image_path(void)
{
	const char *env = getenv("ADY_TEST_IMAGE");

	return env && *env ? env : ADY_TEST_BINARY_DIR "/examples/hello/hello-enclave.elf";
}

static int setup(void **state)
{
	const char *path = image_path();
	ady_err err;

	(void)state;
	err = ady_file_read(path, ADY_IMAGE_MAX_FILE, &fx.file, &fx.len);
	if (err) {
		fprintf(stderr, "sign_test: cannot read the test image %s: %s "
			"(build the hello-enclave target first)\n", path, ady_strerror(err));
		return -1;
	}
	if (ady_sign_keygen(&fx.key) != ADY_OK || ady_sign_keygen(&fx.key2) != ADY_OK) {
		fprintf(stderr, "sign_test: key generation failed\n");
		return -1;
	}
	ady_config_defaults(&fx.cfg);
	fx.cfg.heap_size = 256u << 10;
	fx.cfg.threads = 2;
	fx.cfg.isvprodid = 0x1234;
	fx.cfg.isvsvn = 0x0203;
	fx.cfg.flags = ADY_CONFIG_DEBUG;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.key);
	EVP_PKEY_free(fx.key2);
	free(fx.file);
	return 0;
}

static void sign_ok(const uint8_t *file, size_t len, const ady_config *cfg, EVP_PKEY *key,
		    uint8_t **out, size_t *out_len)
{
	ady_err err = ady_sign_image(file, len, cfg, key, DATE, out, out_len);

	if (err)
		fail_msg("ady_sign_image: %s", ady_strerror(err));
	assert_non_null(*out);
	assert_int_equal(*out_len, len);
}

static EVP_PKEY *rsa_key(int bits, unsigned e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *bn = BN_new();

	assert_non_null(ctx);
	assert_non_null(bn);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &key), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static void modulus_le(EVP_PKEY *key, uint8_t out[static 384])
{
	BIGNUM *n = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(BN_bn2lebinpad(n, out, 384), 384);
	BN_free(n);
}

static void test_sign_verifies(void **state)
{
	uint8_t mrenclave[32], mrsigner[32], n[384];
	uint8_t *signed_file;
	size_t len;
	ady_image *img = NULL;
	const ady_sgx_sigstruct *ss;
	ady_err err;

	(void)state;
	sign_ok(fx.file, fx.len, &fx.cfg, fx.key, &signed_file, &len);
	err = ady_image_new(signed_file, len, &img);
	if (err)
		fail_msg("ady_image_new of a freshly signed image: %s", ady_strerror(err));
	assert_non_null(img);

	assert_int_equal(ady_image_measure(fx.file, fx.len, &fx.cfg, mrenclave), ADY_OK);
	assert_memory_equal(img->mrenclave, mrenclave, 32);
	modulus_le(fx.key, n);
	assert_int_equal(EVP_Digest(n, sizeof(n), mrsigner, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(img->mrsigner, mrsigner, 32);

	ss = &img->sigstruct;
	assert_memory_equal(ss->header, ady_sigstruct_header, 12);
	assert_memory_equal(ss->header2, ady_sigstruct_header2, 16);
	assert_int_equal(ss->type, 0x80000000u);
	assert_int_equal(ss->vendor, 0);
	assert_int_equal(ss->date, DATE);
	assert_memory_equal(ss->modulus, n, 384);
	assert_int_equal(ss->exponent, 3);
	assert_int_equal(ss->miscselect, 0);
	assert_int_equal(ss->miscmask, 0xffffffffu);
	assert_int_equal(ss->attributes.flags, ADY_SGX_FLAGS_MODE64BIT | ADY_SGX_FLAGS_DEBUG);
	assert_int_equal(ss->attributes.xfrm, ADY_SGX_XFRM_LEGACY);
	assert_true(ss->attributemask.flags == ~0ull);
	assert_int_equal(ss->attributemask.xfrm, 0);
	assert_memory_equal(ss->enclavehash, mrenclave, 32);
	assert_int_equal(ss->isvprodid, 0x1234);
	assert_int_equal(ss->isvsvn, 0x0203);

	assert_memory_equal(&img->config, &fx.cfg, sizeof(fx.cfg));
	ady_image_free(img);
	free(signed_file);
}

static void test_release_sigstruct(void **state)
{
	ady_config cfg = fx.cfg;
	ady_sgx_sigstruct ss;
	uint8_t mr[32] = { 1, 2, 3 };

	(void)state;
	cfg.flags = 0;
	assert_int_equal(ady_sign_sigstruct(fx.key, mr, &cfg, DATE, &ss), ADY_OK);
	assert_int_equal(ss.type, 0);
	assert_int_equal(ss.attributes.flags, ADY_SGX_FLAGS_MODE64BIT);
	assert_int_equal(ady_image_check_sigstruct(&ss), ADY_OK);
}

static void test_bad_keys_refused(void **state)
{
	EVP_PKEY *e65537 = rsa_key(3072, 65537);
	EVP_PKEY *small = rsa_key(2048, 3);
	EVP_PKEY *pub;
	uint8_t *out = (uint8_t *)1;
	size_t out_len = 1;
	unsigned char *der = NULL;
	const unsigned char *p;
	int der_len;

	(void)state;
	assert_int_equal(ady_sign_check_key(fx.key), ADY_OK);
	assert_int_equal(ady_sign_check_key(e65537), ADY_ERR_KEY);
	assert_int_equal(ady_sign_check_key(small), ADY_ERR_KEY);
	assert_int_equal(ady_sign_image(fx.file, fx.len, &fx.cfg, e65537, DATE, &out, &out_len),
			 ADY_ERR_KEY);
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_int_equal(ady_sign_image(fx.file, fx.len, &fx.cfg, small, DATE, &out, &out_len),
			 ADY_ERR_KEY);
	assert_null(out);

	/* The public half alone cannot sign. */
	der_len = i2d_PUBKEY(fx.key, &der);
	assert_true(der_len > 0);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, der_len);
	assert_non_null(pub);
	assert_int_equal(ady_sign_check_key(pub), ADY_ERR_KEY);

	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	EVP_PKEY_free(small);
	EVP_PKEY_free(e65537);
}

static void test_pem_round_trip(void **state)
{
	static const char begin[] = "-----BEGIN PRIVATE KEY-----";
	uint8_t a[384], b[384];
	EVP_PKEY *back = NULL;
	char *pem = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ady_sign_key_pem(fx.key, &pem, &len), ADY_OK);
	assert_true(len > sizeof(begin));
	assert_memory_equal(pem, begin, sizeof(begin) - 1);
	assert_int_equal(ady_sign_key_parse(pem, len, &back), ADY_OK);
	modulus_le(fx.key, a);
	modulus_le(back, b);
	assert_memory_equal(a, b, 384);
	EVP_PKEY_free(back);
	free(pem);

	assert_int_equal(ady_sign_key_parse("not a key", 9, &back), ADY_ERR_KEY);
	assert_null(back);
}

static void test_resign(void **state)
{
	ady_config cfg2 = fx.cfg;
	uint8_t *a, *b, *a2;
	size_t alen, blen, a2len;
	ady_image *img = NULL;
	uint8_t n2[384];

	(void)state;
	cfg2.isvsvn = 9;
	cfg2.threads = 3;
	cfg2.flags = 0;
	sign_ok(fx.file, fx.len, &fx.cfg, fx.key, &a, &alen);
	/* Re-sign the signed image with another key and config. */
	sign_ok(a, alen, &cfg2, fx.key2, &b, &blen);
	assert_int_equal(ady_image_new(b, blen, &img), ADY_OK);
	modulus_le(fx.key2, n2);
	assert_memory_equal(img->sigstruct.modulus, n2, 384);
	assert_int_equal(img->config.isvsvn, 9);
	assert_int_equal(img->config.threads, 3);
	assert_int_equal(img->sigstruct.type, 0);
	ady_image_free(img);

	/* PKCS#1 v1.5 is deterministic: going back gives the same bytes. */
	sign_ok(b, blen, &fx.cfg, fx.key, &a2, &a2len);
	assert_int_equal(a2len, alen);
	assert_memory_equal(a2, a, alen);
	free(a2);
	free(b);
	free(a);
}

static void test_only_note_changes(void **state)
{
	uint8_t *s;
	size_t len;
	ady_elf elf;
	size_t changed = 0;

	(void)state;
	assert_int_equal(ady_elf_decode(fx.file, fx.len, &elf), ADY_OK);
	sign_ok(fx.file, fx.len, &fx.cfg, fx.key, &s, &len);
	for (size_t i = 0; i < len; i++) {
		bool in_note = i >= elf.meta_offset && i - elf.meta_offset < elf.meta_size;

		if (s[i] == fx.file[i])
			continue;
		if (!in_note)
			fail_msg("signing changed byte %zu outside the note [%" PRIu64 ", +%" PRIu64 ")",
				 i, elf.meta_offset, elf.meta_size);
		changed++;
	}
	assert_true(changed > ADY_SGX_SIGSTRUCT_SIZE / 2);
	free(s);
}

static void test_q1_q2(void **state)
{
	uint8_t mr[32] = { 0xaa };
	ady_sgx_sigstruct ss, bad;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *n = BN_new(), *s = BN_new(), *t = BN_new(), *q = BN_new(), *r = BN_new();
	uint8_t q1[384], q2[384];

	(void)state;
	assert_non_null(ctx);
	assert_non_null(r);
	assert_int_equal(ady_sign_sigstruct(fx.key, mr, &fx.cfg, DATE, &ss), ADY_OK);

	/* Independently: q1 = s^2 / n, q2 = s * (s^2 mod n) / n. */
	assert_non_null(BN_lebin2bn(ss.modulus, 384, n));
	assert_non_null(BN_lebin2bn(ss.signature, 384, s));
	assert_int_equal(BN_mul(t, s, s, ctx), 1);
	assert_int_equal(BN_div(q, r, t, n, ctx), 1);
	assert_int_equal(BN_bn2lebinpad(q, q1, 384), 384);
	assert_int_equal(BN_mul(t, s, r, ctx), 1);
	assert_int_equal(BN_div(q, NULL, t, n, ctx), 1);
	assert_int_equal(BN_bn2lebinpad(q, q2, 384), 384);
	assert_memory_equal(ss.q1, q1, 384);
	assert_memory_equal(ss.q2, q2, 384);

	assert_int_equal(ady_image_check_sigstruct(&ss), ADY_OK);
	bad = ss;
	bad.q1[0] ^= 1;
	assert_int_equal(ady_image_check_sigstruct(&bad), ADY_ERR_SIGNATURE);
	bad = ss;
	bad.q2[383] ^= 0x80;
	assert_int_equal(ady_image_check_sigstruct(&bad), ADY_ERR_SIGNATURE);
	bad = ss;
	bad.signature[100] ^= 4;
	assert_int_equal(ady_image_check_sigstruct(&bad), ADY_ERR_SIGNATURE);
	bad = ss;
	bad.exponent = 65537;
	assert_int_equal(ady_image_check_sigstruct(&bad), ADY_ERR_SIGSTRUCT);

	BN_free(r);
	BN_free(q);
	BN_free(t);
	BN_free(s);
	BN_free(n);
	BN_CTX_free(ctx);
}

static void test_dates(void **state)
{
	uint32_t d = 0;

	(void)state;
	assert_int_equal(ady_sign_date_parse("20240229", &d), ADY_OK);
	assert_int_equal(d, 0x20240229u);
	assert_int_equal(ady_sign_date_parse("19991231", &d), ADY_OK);
	assert_int_equal(d, 0x19991231u);
	assert_int_equal(ady_sign_date_parse("20230229", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_parse("21000229", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_parse("20240431", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_parse("20241301", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_parse("2024010", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_parse("202401011", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_parse("2024-1-01", &d), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_sign_date_from_time(0, &d), ADY_OK);
	assert_int_equal(d, 0x19700101u);
	assert_int_equal(ady_sign_date_from_time(1709164800, &d), ADY_OK); /* 2024-02-29 */
	assert_int_equal(d, 0x20240229u);
}

static void test_bad_inputs(void **state)
{
	ady_config cfg = fx.cfg;
	uint8_t *out = NULL;
	size_t len = 0;
	static const uint8_t junk[64] = "not an ELF file";

	(void)state;
	cfg.threads = 0;
	assert_int_equal(ady_sign_image(fx.file, fx.len, &cfg, fx.key, DATE, &out, &len), ADY_ERR_CONFIG);
	assert_null(out);
	assert_int_equal(ady_sign_image(junk, sizeof(junk), &fx.cfg, fx.key, DATE, &out, &len),
			 ADY_ERR_ELF_MAGIC);
	assert_null(out);
	assert_int_equal(ady_sign_image(NULL, 0, &fx.cfg, fx.key, DATE, &out, &len), ADY_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verifies),
		cmocka_unit_test(test_release_sigstruct),
		cmocka_unit_test(test_bad_keys_refused),
		cmocka_unit_test(test_pem_round_trip),
		cmocka_unit_test(test_resign),
		cmocka_unit_test(test_only_note_changes),
		cmocka_unit_test(test_q1_q2),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_bad_inputs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
