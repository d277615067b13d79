/*
 * adyton/ratls_enclave.h - attested TLS inside an enclave (RA-TLS,
 * docs/attestation.md "Attested TLS").  Enclave code only (links with
 * libadyton-trts.a and BearSSL).
 *
 * ady_ratls_cert_init() creates an ECDSA P-256 key pair inside the
 * enclave, gets a quote whose report_data is SHA-256 of the DER
 * SubjectPublicKeyInfo (then 32 zero bytes) with the all-zero nonce, and
 * builds a self-signed X.509 v3 certificate carrying the quote in the TCG
 * DICE tagged-evidence extension (OID 2.23.133.5.4.9).  The private key
 * stays in the caller's struct, in enclave memory; hand c->chain and c->sk
 * to BearSSL's server engine:
 *     br_ssl_server_init_full_ec(&sc, &c.chain, 1, BR_KEYTYPE_EC, &c.sk);
 */
#ifndef ADYTON_RATLS_ENCLAVE_H
#define ADYTON_RATLS_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "adyton/error.h"
#include "adyton/quote.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A certificate: at most ~470 bytes around the quote and its evidence. */
#define ADY_RATLS_CERT_MAX (ADY_QUOTE_MAX + 1024u)

typedef struct ady_ratls_cert {
	br_ec_private_key sk;        /* P-256; sk.x points into skey */
	br_x509_certificate chain;   /* one certificate; data points into der */
	uint8_t skey[32];
	uint8_t pub[65];             /* 0x04 || x || y */
	size_t der_len;
	uint8_t der[ADY_RATLS_CERT_MAX];
} ady_ratls_cert;

/*
 * Fills *c (caller-owned, about 10 KiB: keep it static or on the heap, not
 * on a small enclave stack).  Errors: ady_random's and ady_get_quote's
 * (ADY_ERR_PERMISSION when the platform does not provision this enclave),
 * ADY_ERR_CRYPTO if BearSSL refuses.  On failure *c is wiped.
 */
ADY_MUST_CHECK ady_err ady_ratls_cert_init(ady_ratls_cert *c);

/* Wipes the key and the certificate.  NULL is fine. */
void ady_ratls_cert_fini(ady_ratls_cert *c);

/*
 * Readies *sc for one server session with c's certificate and key:
 * br_ssl_server_init_full_ec, iobuf (BR_SSL_BUFSIZE_BIDI is the usual
 * size) as the engine's bidirectional buffer, the engine's DRBG (ECDHE
 * keys, server random) seeded from ady_random - the enclave's RNG, never
 * the host's - and br_ssl_server_reset.  Errors: ady_random's,
 * ADY_ERR_CRYPTO if the engine will not reset.
 */
ADY_MUST_CHECK ady_err ady_ratls_server_start(br_ssl_server_context *sc, const ady_ratls_cert *c,
					      void *iobuf, size_t iobuf_len);

#ifdef __cplusplus
}
#endif
#endif
