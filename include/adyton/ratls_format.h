/*
 * adyton/ratls_format.h - the byte layouts of RA-TLS (docs/attestation.md
 * "Attested TLS"): the evidence carried in the certificate's TCG DICE
 * tagged-evidence extension, and the certificate itself.  Freestanding-
 * safe, no allocation: the enclave runtime encodes with it
 * (adyton/ratls_enclave.h), the verifier decodes with it (adyton/ratls.h).
 *
 * Evidence (CBOR, RFC 8949, shortest-form heads, definite lengths), as
 * Gramine's RA-TLS lays it out:
 *   tag(60000) [ bstr(quote), bstr(claims) ]
 *   claims     = { "pubkey-hash": bstr(hash-entry) [, "nonce": bstr] }
 *   hash-entry = [ 1 (sha-256), bstr(SHA-256(DER SubjectPublicKeyInfo)) ]
 */
#ifndef ADYTON_RATLS_FORMAT_H
#define ADYTON_RATLS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/cursor.h"
#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TCG DICE tagged evidence, and the CBOR tag Gramine registered for TEE
 * quotes (IANA CBOR tags: 60000). */
#define ADY_RATLS_OID "2.23.133.5.4.9"    /* tcg-dice-conceptual-message-wrapper */
#define ADY_RATLS_EVIDENCE_TAG 60000u     /* CBOR tag of a TEE quote (Gramine's) */
#define ADY_RATLS_MAX_NONCE 64u
/* DER SubjectPublicKeyInfo of a P-256 key (RFC 5480), uncompressed point. */
#define ADY_RATLS_SPKI_LEN 91u

/* The evidence extension's content, decoded; quote points into the input. */
typedef struct ady_ratls_evidence {
	const uint8_t *quote;
	size_t quote_len;
	uint8_t pubkey_hash[32];      /* the "pubkey-hash" claim, SHA-256 */
	bool has_nonce;               /* the optional "nonce" claim */
	size_t nonce_len;
	uint8_t nonce[ADY_RATLS_MAX_NONCE];
} ady_ratls_evidence;

/*
 * Strict decode of untrusted bytes: tag(60000) [bstr quote, bstr claims],
 * claims a map with "pubkey-hash" (required: [1, bstr .size 32]) and
 * "nonce" (optional, bstr up to 64 bytes), nothing else.  Shortest-form
 * CBOR heads only, definite lengths only, a quote of 1..ADY_QUOTE_MAX
 * bytes, nothing trailing anywhere.  ADY_ERR_TRUNCATED for short input,
 * ADY_ERR_MALFORMED otherwise; *out is zeroed on failure.
 */
ADY_MUST_CHECK ady_err ady_ratls_evidence_decode(const uint8_t *buf, size_t len, ady_ratls_evidence *out);

/* Appends the evidence for quote (qlen bytes) and the pubkey-hash claim
 * (no nonce claim) to w; errors are w's (adyton/cursor.h).  What
 * ady_ratls_evidence_decode() accepts without a nonce re-encodes to the
 * same bytes. */
void ady_ratls_evidence_encode(ady_wr *w, const uint8_t *quote, size_t qlen, const uint8_t pubkey_hash[static 32]);

/* The DER SubjectPublicKeyInfo of the P-256 point pub (0x04 || x || y):
 * its SHA-256 is the quote's report_data[0,32). */
ADY_MUST_CHECK ady_err ady_ratls_spki_encode(const uint8_t pub[static 65], uint8_t out[static ADY_RATLS_SPKI_LEN]);

/* Signs tbs (ECDSA P-256 over SHA-256) and writes the DER ECDSA-Sig-Value
 * (at most 72 bytes) to sig (cap bytes), its length to *sig_len. */
typedef ady_err (*ady_ratls_sign_fn)(void *ctx, const uint8_t *tbs, size_t len, uint8_t *sig, size_t cap,
				     size_t *sig_len);

/*
 * The certificate (RFC 5280), self-signed, ecdsa-with-SHA256:
 *   tbs: v3, serial (16 bytes, positive, serial[0] in 0x01..0x7f), CN=adyton
 *   RA-TLS as issuer and subject, a fixed validity (the enclave has no
 *   trusted clock), the P-256 SPKI of pub, extensions: basicConstraints
 *   (critical, cA FALSE) and the DICE tagged evidence (not critical, as
 *   Gramine) holding the quote and spki_hash.
 * sign is called once, over the encoded tbs.  Short-buffer protocol on
 * out, but the needed length is not computed (a short buffer is a caller
 * bug; ADY_RATLS_CERT_MAX of adyton/ratls_enclave.h always suffices):
 * ADY_ERR_SHORT_BUFFER, ADY_ERR_INVALID_ARG for a serial that is not a
 * minimal positive DER INTEGER, ADY_ERR_OVERFLOW for an element over
 * 65535 bytes, or sign's error.  *len = 0 on failure.
 */
ADY_MUST_CHECK ady_err ady_ratls_cert_encode(const uint8_t pub[static 65], const uint8_t serial[static 16],
					     const uint8_t spki_hash[static 32], const uint8_t *quote, size_t qlen,
					     ady_ratls_sign_fn sign, void *sign_ctx, uint8_t *out, size_t cap,
					     size_t *len);

#ifdef __cplusplus
}
#endif
#endif
