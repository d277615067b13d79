/*
 * adyton/policy.h - adytond's launch and provisioning policy.
 * Freestanding-safe, no allocation.
 *
 * Text form, one "key = value" per line, '#' comments, blank lines:
 *
 *   allow_debug   = yes | no          # may DEBUG enclaves run (default no)
 *   signer        = any | <64 hex>    # MRSIGNERs that may launch (repeatable;
 *                                     # none listed: nobody; "any": everyone)
 *   provision     = <64 hex>[:<isvprodid>]  # may get PROVISION keys and quotes
 *                                     # (repeatable; default: nobody)
 *   max_enclaves  = <n>               # per user, 0 = unlimited (default 64)
 *   max_memory    = <size>[K|M|G]     # enclave memory per user, 0 = unlimited (default 1G)
 *
 * Errors (ADY_ERR_CONFIG) report the 1-based line: unknown key, a scalar
 * key or a signer/provision entry given twice, bad hex (exactly 64 digits,
 * either case) or number, more than ADY_POLICY_MAX_SIGNERS entries, "any"
 * mixed with hashes, anything after the value, control bytes.  On error
 * *out is left unchanged.
 */
#ifndef ADYTON_POLICY_H
#define ADYTON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_POLICY_MAX_SIGNERS 32u

typedef struct ady_policy_provision {
	uint8_t mrsigner[32];
	bool any_product;          /* no ":isvprodid" given */
	uint16_t isvprodid;
} ady_policy_provision;

typedef struct ady_policy {
	bool allow_debug;
	bool any_signer;
	uint32_t nsigners;
	uint8_t signers[ADY_POLICY_MAX_SIGNERS][32];
	uint32_t nprovision;
	ady_policy_provision provision[ADY_POLICY_MAX_SIGNERS];
	uint32_t max_enclaves;     /* per user; 0 = unlimited */
	uint64_t max_memory;       /* per user; 0 = unlimited */
} ady_policy;

/* The built-in policy of the per-user embedded daemon: any signer, debug
 * allowed (it is the user's own machine and own enclaves), nobody
 * provisioned, 64 enclaves. */
void ady_policy_embedded(ady_policy *out);

ADY_MUST_CHECK ady_err ady_policy_parse(const char *text, size_t len, ady_policy *out, unsigned *line);

/* ADY_OK or ADY_ERR_PERMISSION: may an enclave with this signer and
 * attributes.flags run? */
ADY_MUST_CHECK ady_err ady_policy_check_launch(const ady_policy *p, const uint8_t mrsigner[static 32],
					       uint64_t attributes);

/* May this enclave get PROVISION keys and quotes? */
bool ady_policy_may_provision(const ady_policy *p, const uint8_t mrsigner[static 32], uint16_t isvprodid);

#ifdef __cplusplus
}
#endif
#endif
