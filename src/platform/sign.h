/*
 * src/verify/sign.h - making quotes (adyton/quote.h) with OpenSSL, and the
 * P-256 key conversions they need: shared by adytond (its attestation key,
 * TPM enrollment), the sim backend (the public sim key) and the verifier.  Header-only, static inline, because the two link different
 * libraries (adytond, libadyton) and neither links adyton-verify.
 * Internal; not installed.
 */
#ifndef ADYTON_VERIFY_SIGN_H
#define ADYTON_VERIFY_SIGN_H

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "adyton/sgx.h"

/* The TCG extended key usages that give a certificate its role in a TPM
 * quote (adyton/verify.h tpm_ek_chain, tpm_ak_binding): tcg-kp-EKCertificate
 * (TCG EK Credential Profile 2.0, 3.2.16; swtpm's EK certificates carry
 * it) and tcg-kp-AIKCertificate (TCG "TPM 2.0 Keys for Device Identity and
 * Attestation", the AK certificate profile), which adytond --enroll-ca
 * writes on the AK certificates it issues. */
#define ADY_TCG_EKU_EK "2.23.133.8.1"
#define ADY_TCG_EKU_AIK "2.23.133.8.3"

/* The P-256 public key x||y as an EVP_PKEY (EVP_PKEY_free), or NULL when
 * it is not a point of the curve. */
static inline EVP_PKEY *ady_p256_from_xy(const uint8_t xy[static 64])
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

/* x||y of a P-256 key. */
static inline int ady_p256_pub(EVP_PKEY *k, uint8_t out[static 64])
{
	uint8_t pt[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 || n != 65 ||
	    pt[0] != 0x04)
		return -1;
	memcpy(out, pt + 1, 64);
	return 0;
}

/* ECDSA P-256 over SHA-256(msg), as r||s (32 bytes each, big-endian). */
static inline int ady_p256_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[static 64])
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

/* user_data of the quote header for a nonce: SHA-256(nonce)[0..20). */
static inline int ady_quote_nonce_bind(const uint8_t nonce[static 32], uint8_t user_data[static 20])
{
	uint8_t h[32];
	unsigned int n = 0;

	if (EVP_Digest(nonce, 32, h, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	memcpy(user_data, h, 20);
	return 0;
}

/*
 * Builds and signs a quote into out (cap bytes): body is the REPORTBODY the
 * platform built from the identity it recorded; cert/cert_len the
 * certification data of cert_type.  q is the caller's scratch (8 KiB).
 * Returns an ady_err.
 */
static inline ady_err ady_quote_make(EVP_PKEY *k, const ady_sgx_report_body *body, const uint8_t nonce[static 32],
				     uint16_t cert_type, const uint8_t *cert, uint32_t cert_len, ady_quote *q,
				     uint8_t *out, size_t cap, size_t *len)
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

/* The REPORTBODY of an enclave identity (SDM 38.15.1), report_data as given. */
static inline void ady_quote_body(ady_sgx_report_body *b, const uint8_t mrenclave[static 32],
				  const uint8_t mrsigner[static 32], uint16_t isvprodid, uint16_t isvsvn,
				  const ady_sgx_attributes *attributes, uint32_t miscselect,
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

#endif
