/*
 * adyton/keyquote.h - an enclave key pair bound to a verifier's challenge,
 * for code inside an enclave (links with libadyton-trts.a and BearSSL).
 *
 * ady_keyquote_new() makes a fresh P-256 key pair in enclave memory and a
 * quote whose REPORTDATA is SHA-256(nonce || public key) || 32 zero bytes
 * and whose header binds the nonce.  A verifier that checks the quote
 * with ady_verify_bind_key() (adyton/verify.h) knows that the public key
 * belongs to this enclave and was made for its challenge.  The key
 * broker's ady_kbs_fetch() and the gate's client certificates
 * (apps/gate/README.md) both stand on it.
 */
#ifndef ADYTON_KEYQUOTE_H
#define ADYTON_KEYQUOTE_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_KEYQUOTE_PUB 65u   /* 0x04 || x || y */

typedef struct ady_keyquote {
	br_ec_private_key sk;          /* P-256; sk.x points into kbuf */
	uint8_t kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	uint8_t pub[ADY_KEYQUOTE_PUB];
} ady_keyquote;

/*
 * Fills *k (caller-owned, enclave memory) and quote[0, cap) with *qlen
 * bytes (cap: ADY_QUOTE_MAX is always enough).  Errors: ADY_ERR_INVALID_ARG
 * (NULL argument), ady_random's, ADY_ERR_CRYPTO (BearSSL refused), and
 * ady_get_quote's (ADY_ERR_PERMISSION: the platform does not provision
 * this enclave; ADY_ERR_SHORT_BUFFER).  On failure *k is wiped.
 */
ADY_MUST_CHECK ady_err ady_keyquote_new(const uint8_t nonce[static 32], ady_keyquote *k, uint8_t *quote, size_t cap,
					size_t *qlen);

/* Wipes the key.  NULL is fine. */
void ady_keyquote_fini(ady_keyquote *k);

#ifdef __cplusplus
}
#endif
#endif
