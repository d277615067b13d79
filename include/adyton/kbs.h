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

/*
 * Configuration resources (kind ADY_KBS_KIND_CONFIG): the argv, the
 * environment and the files an enclave runs with, released only to it
 * (`adyton run --config-from`, apps/kbs/README.md, docs/kbs-config.md).
 * Parsed, every string NUL-terminated, into one allocation that
 * ady_kbs_config_free() wipes.
 */
typedef struct ady_kbs_file {
	const char *path;
	const uint8_t *data;
	size_t len;
} ady_kbs_file;

typedef struct ady_kbs_config {
	size_t argc;
	char **argv;                 /* argc entries, then NULL */
	size_t envc;
	char **envp;                 /* "KEY=VALUE", envc entries, then NULL */
	size_t nfiles;
	ady_kbs_file *files;
	void *mem_;                  /* private: the allocation */
	size_t mem_len_;
} ady_kbs_config;

/*
 * Parses a configuration resource (p, len bytes; at most
 * ADY_KBS_MAX_DATA): entries u8 tag | u16 length | bytes, tag 1 = one
 * argv element, 2 = one environment entry KEY=VALUE (KEY not empty), 3 =
 * a file: path, then u32 length | content.  No string is empty or holds
 * a NUL.  ADY_ERR_MALFORMED / ADY_ERR_TRUNCATED / ADY_ERR_TOO_LARGE /
 * ADY_ERR_NOMEM; on error *cfg is zeroed.
 */
ADY_MUST_CHECK ady_err ady_kbs_config_parse(const void *p, size_t len, ady_kbs_config *cfg);

/* ady_kbs_fetch() of a configuration resource, parsed.  A resource of
 * another kind: ADY_ERR_CONFIG; otherwise the errors of ady_kbs_fetch
 * and ady_kbs_config_parse.  The heap must have room for ADY_KBS_MAX_DATA
 * bytes twice. */
ADY_MUST_CHECK ady_err ady_kbs_config_fetch(const char *name, ady_kbs_config *cfg);

/* The value of KEY in the configuration's environment, or NULL. */
const char *ady_kbs_config_getenv(const ady_kbs_config *cfg, const char *key);
/* The file at path, or NULL. */
const ady_kbs_file *ady_kbs_config_file(const ady_kbs_config *cfg, const char *path);
/* Wipes and frees; accepts a zeroed cfg. */
void ady_kbs_config_free(ady_kbs_config *cfg);

/*
 * The entry ABI of `adyton run --config-from BROKER#NAME` (docs/kbs-config.md):
 * the enclave's EDL is apps/kbs/adyton_kbs_run.edl (the kbs OCALLs are its
 * OCALLs 0 and 1, its one ECALL kbs_run_main), and the run tool calls
 * kbs_run_main with the resource name NAME and nothing else (neither its
 * own argv nor its environment); the enclave fetches the configuration
 * itself, under its own attestation, and runs its main with it:
 *
 *     int kbs_run_main(const char *name, uint8_t *out, size_t cap, size_t *out_len)
 *     {
 *             return ady_kbs_run_main(name, out, cap, out_len, app_main);
 *     }
 *
 * main's output is what `adyton run` prints.  A name that is not 1..128
 * bytes of [A-Za-z0-9._-]: ADY_ERR_INVALID_ARG.  The configuration is
 * wiped and freed after main returns.
 */
typedef ady_err (*ady_kbs_main_fn)(const ady_kbs_config *cfg, uint8_t *out, size_t out_cap, size_t *out_len);
ADY_MUST_CHECK ady_err ady_kbs_run_main(const char *name, uint8_t *out, size_t out_cap, size_t *out_len,
					ady_kbs_main_fn main);

#ifdef __cplusplus
}
#endif
#endif
