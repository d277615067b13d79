/*
 * adyton/kbs.h - resources from the key broker (adyton-kbs,
 * apps/kbs/README.md), for code inside an enclave.
 *
 * ady_kbs_fetch() asks the broker for a challenge, makes a fresh P-256
 * key, gets a quote whose REPORTDATA is SHA-256(nonce || public key) ||
 * 32 zero bytes (and whose header binds the nonce), and hands the broker
 * the key and the quote.  The broker verifies the quote against the
 * resource's policy and answers with the resource encrypted to that key
 * (ECDH P-256, HKDF-SHA256, AES-256-GCM); it is decrypted here, so the
 * application that relays the bytes (the OCALLs of adyton_kbs.edl,
 * adyton-kbs-relay) never sees it in clear.
 *
 * The enclave must import adyton_kbs.edl and be provisioned for quotes
 * by its platform (adytond's "provision" policy line).
 */
#ifndef ADYTON_KBS_H
#define ADYTON_KBS_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_KBS_KIND_SECRET 1u  /* an opaque blob */
#define ADY_KBS_KIND_CONFIG 2u  /* argv / environment / files (apps/kbs/README.md) */
#define ADY_KBS_MAX_NAME 128u
#define ADY_KBS_MAX_DATA (64u * 1024u)

/*
 * Fetches resource name (1..128 bytes of [A-Za-z0-9._-]) into out (cap
 * bytes, enclave memory); *len gets its length and *kind (may be NULL) its
 * kind.  Errors: ADY_ERR_INVALID_ARG (bad name, NULL len); the broker's
 * refusal (ADY_ERR_PERMISSION: policy, nonce, revoked or unknown resource;
 * the reason is in the broker's audit log); ADY_ERR_IO (broker
 * unreachable); ADY_ERR_PERMISSION from ady_get_quote (not provisioned);
 * ADY_ERR_MALFORMED / ADY_ERR_CRYPTO (the answer was altered on the way:
 * nothing is written to out); ADY_ERR_SHORT_BUFFER with *len the size
 * needed (the resource was released and is gone: ask again with more
 * room).  out is written only on ADY_OK.
 */
ADY_MUST_CHECK ady_err ady_kbs_fetch(const char *name, void *out, size_t cap, size_t *len, uint8_t *kind);

#ifdef __cplusplus
}
#endif
#endif
