/*
 * sign.c - quotes and P-256 keys through OpenSSL 3 (platform/sign.h).
 */
#include "platform/sign.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "adyton/cursor.h"

/* see platform/sign.h */
EVP_PKEY *ady_p256_from_xy(const uint8_t xy[static 64])
{
	uint8_t pt[65];
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	if (!b || !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(b);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return k;
}

/* see platform/sign.h */
int ady_p256_pub(EVP_PKEY *k, uint8_t out[static 64])
{
	uint8_t pt[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 || n != 65 ||
	    pt[0] != 0x04)
		return -1;
	memcpy(out, pt + 1, 64);
	return 0;
}

/* see platform/sign.h */
int ady_p256_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[static 64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *s = NULL;
	const BIGNUM *r, *sv;
	int rc = -1;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, der, &dlen, msg, len) != 1)
		goto out;
	s = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	if (!s)
		goto out;
	ECDSA_SIG_get0(s, &r, &sv);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(sv, sig + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* see platform/sign.h */
int ady_quote_nonce_bind(const uint8_t nonce[static 32], uint8_t user_data[static 20])
{
	uint8_t h[32];
	unsigned int n = 0;

	if (EVP_Digest(nonce, 32, h, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	memcpy(user_data, h, 20);
	return 0;
}

/* see platform/sign.h */
ady_err ady_quote_make(EVP_PKEY *k, const ady_sgx_report_body *body, const uint8_t nonce[static 32],
		       uint16_t cert_type, const uint8_t *cert, uint32_t cert_len, ady_quote *q, uint8_t *out,
		       size_t cap, size_t *len)
{
	ady_err err;

	memset(q, 0, sizeof(*q));
	if (cert_len > sizeof(q->cert))
		return ADY_ERR_INVALID_ARG;
	q->body = *body;
	q->cert_type = cert_type;
	q->cert_len = cert_len;
	if (cert_len)
		memcpy(q->cert, cert, cert_len);
	if (ady_quote_nonce_bind(nonce, q->user_data) || ady_p256_pub(k, q->attest_pub))
		return ADY_ERR_CRYPTO;
	err = ady_quote_encode(q, out, cap, len);
	if (err)
		return err;
	if (ady_p256_sign(k, out, ADY_QUOTE_TBS, q->signature))
		return ADY_ERR_CRYPTO;
	memcpy(out + ADY_QUOTE_TBS + 4, q->signature, 64);
	return ADY_OK;
}

/* see platform/sign.h */
void ady_quote_body(ady_sgx_report_body *b, const uint8_t mrenclave[static 32], const uint8_t mrsigner[static 32],
		    uint16_t isvprodid, uint16_t isvsvn, const ady_sgx_attributes *attributes, uint32_t miscselect,
		    const uint8_t cpusvn[static 16], const uint8_t reportdata[static 64])
{
	memset(b, 0, sizeof(*b));
	memcpy(b->cpusvn, cpusvn, 16);
	b->miscselect = miscselect;
	b->attributes = *attributes;
	memcpy(b->mrenclave, mrenclave, 32);
	memcpy(b->mrsigner, mrsigner, 32);
	b->isvprodid = isvprodid;
	b->isvsvn = isvsvn;
	memcpy(b->reportdata, reportdata, 64);
}
