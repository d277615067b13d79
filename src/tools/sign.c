/*
 * The enclave signer (see sign.h): SIGSTRUCT construction and RSA-3072
 * signing with OpenSSL 3, and writing the meta note.
 */
#include "sign.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "adyton/elf.h"
#include "adyton/image.h"
#include "adyton/meta.h"
#include "host/image_internal.h"

#define RSA_BITS 3072

/* see sign.h */
ady_err ady_sign_keygen(EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	BIGNUM *e;
	ady_err err = ADY_ERR_CRYPTO;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	*out = NULL;
	e = BN_new();
	if (!e)
		return ADY_ERR_NOMEM;
	if (!BN_set_word(e, 3))
		goto free_e;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!ctx) {
		err = ADY_ERR_NOMEM;
		goto free_e;
	}
	if (EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, RSA_BITS) != 1 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1 ||
	    EVP_PKEY_generate(ctx, &key) != 1)
		goto free_ctx;
	err = ADY_OK;

free_ctx:
	EVP_PKEY_CTX_free(ctx);
free_e:
	BN_free(e);
	ERR_clear_error();
	if (err)
		return err;
	*out = key;
	return ADY_OK;
}

/* see sign.h */
ady_err ady_sign_check_key(const EVP_PKEY *key)
{
	BIGNUM *n = NULL, *e = NULL, *d = NULL;
	ady_err err = ADY_ERR_KEY;

	if (!key)
		return ADY_ERR_INVALID_ARG;
	if (!EVP_PKEY_is_a(key, "RSA"))
		return ADY_ERR_KEY;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto free_bns;
	/* SGX: RSA-3072 with e = 3 (EINIT checks the signature with q1/q2,
	 * which only work for that exponent). */
	if (BN_num_bits(n) != RSA_BITS || !BN_is_word(e, 3))
		goto free_bns;
	/* A public key cannot sign. */
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_D, &d) != 1)
		goto free_bns;
	err = ADY_OK;

free_bns:
	BN_clear_free(d);
	BN_free(e);
	BN_free(n);
	ERR_clear_error();
	return err;
}

/* see sign.h */
ady_err ady_sign_key_pem(EVP_PKEY *key, char **out, size_t *out_len)
{
	BIO *bio;
	char *data;
	char *buf;
	long n;
	ady_err err = ADY_ERR_CRYPTO;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!key || !out || !out_len)
		return ADY_ERR_INVALID_ARG;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return ADY_ERR_NOMEM;
	/* OpenSSL 3 writes PKCS#8 ("BEGIN PRIVATE KEY") here. */
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto free_bio;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		goto free_bio;
	buf = malloc((size_t)n + 1);
	if (!buf) {
		err = ADY_ERR_NOMEM;
		goto free_bio;
	}
	memcpy(buf, data, (size_t)n);
	buf[n] = '\0';
	*out_len = (size_t)n;
	*out = buf;
	err = ADY_OK;

free_bio:
	/* The memory BIO's buffer held the private key. */
	n = BIO_get_mem_data(bio, &data);
	if (n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	ERR_clear_error();
	return err;
}

/* see sign.h */
ady_err ady_sign_key_parse(const char *pem, size_t len, EVP_PKEY **out)
{
	EVP_PKEY *key;
	BIO *bio;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	*out = NULL;
	if (!pem || len > INT32_MAX)
		return ADY_ERR_INVALID_ARG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return ADY_ERR_NOMEM;
	/* No password callback: an encrypted key fails instead of prompting. */
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	ERR_clear_error();
	if (!key)
		return ADY_ERR_KEY;
	err = ady_sign_check_key(key);
	if (err) {
		EVP_PKEY_free(key);
		return err;
	}
	*out = key;
	return ADY_OK;
}

static int is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static ady_err date_bcd(unsigned y, unsigned m, unsigned d, uint32_t *bcd)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned dim;

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
		return ADY_ERR_INVALID_ARG;
	dim = mdays[m - 1] + (m == 2 && is_leap(y));
	if (d > dim)
		return ADY_ERR_INVALID_ARG;
	/* BCD: each decimal digit in its own nibble, 2024-05-17 = 0x20240517 */
	*bcd = (uint32_t)(y / 1000) << 28 | (uint32_t)(y / 100 % 10) << 24 |
	       (uint32_t)(y / 10 % 10) << 20 | (uint32_t)(y % 10) << 16 |
	       (uint32_t)(m / 10) << 12 | (uint32_t)(m % 10) << 8 |
	       (uint32_t)(d / 10) << 4 | (uint32_t)(d % 10);
	return ADY_OK;
}

/* see sign.h */
ady_err ady_sign_date_parse(const char *text, uint32_t *bcd)
{
	unsigned v[8];

	if (!text || !bcd)
		return ADY_ERR_INVALID_ARG;
	for (int i = 0; i < 8; i++) {
		if (text[i] < '0' || text[i] > '9')
			return ADY_ERR_INVALID_ARG;
		v[i] = (unsigned)(text[i] - '0');
	}
	if (text[8] != '\0')
		return ADY_ERR_INVALID_ARG;
	return date_bcd(v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], v[4] * 10 + v[5],
			v[6] * 10 + v[7], bcd);
}

/* see sign.h */
ady_err ady_sign_date_from_time(int64_t t, uint32_t *bcd)
{
	struct tm tm;
	time_t tt;

	if (!bcd)
		return ADY_ERR_INVALID_ARG;
	tt = (time_t)t;
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm))
		return ADY_ERR_INVALID_ARG;
	if (tm.tm_year < 70)
		return ADY_ERR_INVALID_ARG;
	return date_bcd((unsigned)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday,
			bcd);
}

static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

/* RSA-3072 PKCS#1 v1.5 SHA-256 over msg; sig_le gets the little-endian
 * signature SIGSTRUCT stores. */
static ady_err rsa_sign(EVP_PKEY *key, const uint8_t msg[static 256],
			uint8_t sig_le[static ADY_RSA3072_BYTES])
{
	uint8_t sig_be[ADY_RSA3072_BYTES];
	size_t siglen = sizeof(sig_be);
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *md;
	ady_err err = ADY_ERR_CRYPTO;

	md = EVP_MD_CTX_new();
	if (!md)
		return ADY_ERR_NOMEM;
	if (EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_DigestSign(md, sig_be, &siglen, msg, 256) != 1)
		goto free_md;
	if (siglen != sizeof(sig_be)) {
		err = ADY_ERR_KEY;
		goto free_md;
	}
	reverse_copy(sig_le, sig_be, sizeof(sig_be));
	err = ADY_OK;

free_md:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return err;
}

/* Q1 = floor(s^2 / n), Q2 = floor(s * (s^2 mod n) / n), little-endian. */
static ady_err compute_q(const uint8_t n_le[static ADY_RSA3072_BYTES],
			 const uint8_t s_le[static ADY_RSA3072_BYTES],
			 uint8_t q1_le[static ADY_RSA3072_BYTES], uint8_t q2_le[static ADY_RSA3072_BYTES])
{
	BN_CTX *bnctx;
	BIGNUM *n, *s, *t, *q1, *q2, *rem;
	ady_err err = ADY_ERR_CRYPTO;

	bnctx = BN_CTX_new();
	if (!bnctx)
		return ADY_ERR_NOMEM;
	BN_CTX_start(bnctx);
	n = BN_CTX_get(bnctx);
	s = BN_CTX_get(bnctx);
	t = BN_CTX_get(bnctx);
	q1 = BN_CTX_get(bnctx);
	q2 = BN_CTX_get(bnctx);
	rem = BN_CTX_get(bnctx);
	if (!rem) {
		err = ADY_ERR_NOMEM;
		goto end_ctx;
	}
	if (!BN_lebin2bn(n_le, ADY_RSA3072_BYTES, n) || !BN_lebin2bn(s_le, ADY_RSA3072_BYTES, s) ||
	    !BN_sqr(t, s, bnctx) || !BN_div(q1, rem, t, n, bnctx) || !BN_mul(t, s, rem, bnctx) ||
	    !BN_div(q2, NULL, t, n, bnctx))
		goto end_ctx;
	if (BN_bn2lebinpad(q1, q1_le, ADY_RSA3072_BYTES) != ADY_RSA3072_BYTES ||
	    BN_bn2lebinpad(q2, q2_le, ADY_RSA3072_BYTES) != ADY_RSA3072_BYTES)
		goto end_ctx;
	err = ADY_OK;

end_ctx:
	BN_CTX_end(bnctx);
	BN_CTX_free(bnctx);
	ERR_clear_error();
	return err;
}

static ady_err key_modulus_le(const EVP_PKEY *key, uint8_t n_le[static ADY_RSA3072_BYTES])
{
	BIGNUM *n = NULL;
	ady_err err = ADY_ERR_KEY;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    BN_bn2lebinpad(n, n_le, ADY_RSA3072_BYTES) == ADY_RSA3072_BYTES)
		err = ADY_OK;
	BN_free(n);
	ERR_clear_error();
	return err;
}

/* see sign.h */
ady_err ady_sign_sigstruct(EVP_PKEY *key, const uint8_t mrenclave[static 32],
			   const ady_config *cfg, uint32_t date, ady_sgx_sigstruct *out)
{
	ady_sgx_sigstruct ss;
	uint8_t msg[256];
	bool debug;
	ady_err err;

	if (!key || !cfg || !out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	err = ady_sign_check_key(key);
	if (err)
		return err;
	err = ady_config_validate(cfg);
	if (err)
		return err;
	debug = (cfg->flags & ADY_CONFIG_DEBUG) != 0;

	memset(&ss, 0, sizeof(ss));
	memcpy(ss.header, ady_sigstruct_header, sizeof(ss.header));
	memcpy(ss.header2, ady_sigstruct_header2, sizeof(ss.header2));
	ss.type = debug ? 0x80000000u : 0;
	ss.vendor = 0;
	ss.date = date;
	err = key_modulus_le(key, ss.modulus);
	if (err)
		return err;
	ss.exponent = 3;
	ss.miscselect = 0;
	ss.miscmask = 0xffffffffu;
	ss.attributes.flags = ADY_SGX_FLAGS_MODE64BIT | (debug ? ADY_SGX_FLAGS_DEBUG : 0);
	ss.attributes.xfrm = ADY_SGX_XFRM_LEGACY;
	/* Every flag must match, DEBUG and MODE64BIT included; XFRM is free. */
	ss.attributemask.flags = ~0ull;
	ss.attributemask.xfrm = 0;
	memcpy(ss.enclavehash, mrenclave, sizeof(ss.enclavehash));
	ss.isvprodid = cfg->isvprodid;
	ss.isvsvn = cfg->isvsvn;

	ady_sigstruct_signed_bytes(&ss, msg);
	err = rsa_sign(key, msg, ss.signature);
	if (err)
		return err;
	err = compute_q(ss.modulus, ss.signature, ss.q1, ss.q2);
	if (err)
		return err;
	/* Check before publishing: a faulty signature (RSA-CRT fault) would
	 * leak the key and an unverifiable image is useless anyway. */
	err = ady_image_check_sigstruct(&ss);
	if (err)
		return err == ADY_ERR_SIGNATURE ? ADY_ERR_CRYPTO : err;

	*out = ss;
	return ADY_OK;
}

/* see sign.h */
ady_err ady_sign_image(const uint8_t *file, size_t len, const ady_config *cfg, EVP_PKEY *key,
		       uint32_t date, uint8_t **out, size_t *out_len)
{
	uint8_t mrenclave[32];
	ady_sgx_sigstruct ss;
	uint8_t *copy;
	ady_elf elf;
	ady_err err;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!file || !cfg || !key || !out || !out_len)
		return ADY_ERR_INVALID_ARG;
	err = ady_config_validate(cfg);
	if (err)
		return err;
	err = ady_elf_decode(file, len, &elf);
	if (err)
		return err;
	if (elf.meta_size < ADY_META_SIZE)
		return ADY_ERR_ELF_NO_META;
	err = ady_image_measure(file, len, cfg, mrenclave);
	if (err)
		return err;
	err = ady_sign_sigstruct(key, mrenclave, cfg, date, &ss);
	if (err)
		return err;

	copy = malloc(len);
	if (!copy)
		return ADY_ERR_NOMEM;
	memcpy(copy, file, len);
	/* The whole descriptor is rewritten, so re-signing an image gives the
	 * same bytes as signing it fresh. */
	memset(copy + elf.meta_offset, 0, (size_t)elf.meta_size);
	err = ady_meta_encode(cfg, &ss, copy + elf.meta_offset, (size_t)elf.meta_size);
	if (err)
		goto free_copy;

	*out_len = len;
	*out = copy;
	return ADY_OK;

free_copy:
	free(copy);
	return err;
}
