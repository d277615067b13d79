/*
 * adyton/ratls.h - verifying an RA-TLS peer (libadyton-verify, OpenSSL):
 * a self-signed certificate made inside an enclave
 * (adyton/ratls_enclave.h) that carries an adyton quote in the TCG DICE
 * tagged-evidence extension.  docs/attestation.md "Attested TLS" gives
 * the exact encoding.
 *
 * Checks, in order; the first that fails is named in the report:
 *   certificate  parses; ecdsa-with-SHA256; a P-256 key; the self-signature
 *                verifies with that key
 *   extension    exactly one 2.23.133.5.4.9 extension, and its content is
 *                well-formed evidence (ady_ratls_evidence_decode,
 *                adyton/ratls_format.h)
 *   quote        ady_verify_quote() under the policy with the all-zero
 *                nonce; quote_failed names its failed check ("identity"
 *                for a MRENCLAVE the policy does not list, "platform" for
 *                an unpinned platform key, ...)
 *   binding      SHA-256 of the certificate's DER SubjectPublicKeyInfo =
 *                report_data[0,32), report_data[32,64) zero, and the same
 *                hash in the evidence's pubkey-hash claim
 *
 * Freshness: an RA-TLS certificate is made before any verifier exists, so
 * its quote binds no verifier nonce; accepting one proves which enclave
 * holds the key, not when the quote was made.  See docs/attestation.md.
 */
#ifndef ADYTON_RATLS_H
#define ADYTON_RATLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "adyton/error.h"
#include "adyton/ratls_format.h"
#include "adyton/verify.h"
#include "adyton/vpolicy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ady_ratls_report {
	bool accepted;
	const char *failed;        /* static: "certificate", "extension", "quote", "binding"; NULL if accepted */
	const char *quote_failed;  /* static: the quote check that failed (adyton/verify.h), or NULL */
	char reason[320];          /* printable: "<check>: <why>", or a summary when accepted */
	ady_verify_report quote;   /* every quote check (zero if the quote was not reached) */
} ady_ratls_report;

/*
 * Verifies an RA-TLS certificate under policy.  *out (caller-allocated,
 * about 10 KiB) is always filled.  ADY_OK only if accepted;
 * ADY_ERR_PERMISSION when a check failed (out->failed names it,
 * out->reason says why); ADY_ERR_INVALID_ARG for NULL arguments.
 */
ADY_MUST_CHECK ady_err ady_ratls_verify_cert(X509 *cert, const ady_vpolicy *policy, ady_ratls_report *out);

/* The same for a DER certificate (len bytes, nothing trailing). */
ADY_MUST_CHECK ady_err ady_ratls_verify_der(const uint8_t *der, size_t len, const ady_vpolicy *policy,
					    ady_ratls_report *out);

/*
 * OpenSSL glue.  Per connection, before the handshake:
 *     ady_ratls_ctx rc = {.policy = &policy};
 *     SSL_set_verify(ssl, SSL_VERIFY_PEER, ady_ratls_verify);
 *     ady_ratls_ssl_set(ssl, &rc);
 * ady_ratls_verify() is an SSL_verify_cb: it ignores OpenSSL's own verdict
 * (a self-signed certificate never chains), decides on the leaf (depth 0)
 * with ady_ratls_verify_cert(), fills rc.report, and on refusal sets
 * X509_V_ERR_APPLICATION_VERIFICATION so the handshake fails.  Without an
 * ady_ratls_ctx on the SSL it refuses.  rc must outlive the handshake.
 */
typedef struct ady_ratls_ctx {
	const ady_vpolicy *policy;
	ady_ratls_report report;
	bool done;                 /* set when the leaf was examined */
} ady_ratls_ctx;

ADY_MUST_CHECK ady_err ady_ratls_ssl_set(SSL *ssl, ady_ratls_ctx *rc);
int ady_ratls_verify(int preverify_ok, X509_STORE_CTX *ctx);

#ifdef __cplusplus
}
#endif
#endif
