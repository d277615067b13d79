/*
 * src/platform/sign.h - making quotes (adyton/quote.h) with OpenSSL, and the
 * P-256 key conversions they need: used by the platform's quote exit
 * (platform/platform.h: adytond's attestation key, the sim backend's public
 * one), adytond's TPM enrollment and the verifier (libadyton-verify).
 * Internal; not installed.
 */
#ifndef ADYTON_PLATFORM_SIGN_H
#define ADYTON_PLATFORM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "adyton/error.h"
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
EVP_PKEY *ady_p256_from_xy(const uint8_t xy[static 64]);

/* x||y of a P-256 key. */
int ady_p256_pub(EVP_PKEY *k, uint8_t out[static 64]);

/* ECDSA P-256 over SHA-256(msg), as r||s (32 bytes each, big-endian). */
int ady_p256_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[static 64]);

/* user_data of the quote header for a nonce: SHA-256(nonce)[0..20). */
int ady_quote_nonce_bind(const uint8_t nonce[static 32], uint8_t user_data[static 20]);

/*
 * Builds and signs a quote into out (cap bytes): body is the REPORTBODY the
 * platform built from the identity it recorded; cert/cert_len the
 * certification data of cert_type.  q is the caller's scratch (8 KiB).
 * Returns an ady_err.
 */
ADY_MUST_CHECK ady_err ady_quote_make(EVP_PKEY *k, const ady_sgx_report_body *body, const uint8_t nonce[static 32],
				      uint16_t cert_type, const uint8_t *cert, uint32_t cert_len, ady_quote *q,
				      uint8_t *out, size_t cap, size_t *len);

/* The REPORTBODY of an enclave identity (SDM 38.15.1), report_data as given. */
void ady_quote_body(ady_sgx_report_body *b, const uint8_t mrenclave[static 32], const uint8_t mrsigner[static 32],
		    uint16_t isvprodid, uint16_t isvsvn, const ady_sgx_attributes *attributes, uint32_t miscselect,
		    const uint8_t cpusvn[static 16], const uint8_t reportdata[static 64]);

#endif
