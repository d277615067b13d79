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
 *   epc           = <size>[K|M|G]     # the enclave memory pool of the machine: a multiple
 *                                     # of 4 KiB above 0 (default: adytond's, see
 *                                     # docs/operations.md)
 *   tenant <name> = <item>[,<item>...] # a tenant (repeatable, one line each); items:
 *       uid:<n>  gid:<n>              # who belongs (at least one; repeatable; a uid or
 *                                     # gid belongs to one tenant only)
 *       memory:<size>[K|M|G]          # enclave memory of all its enclaves (4 KiB multiple)
 *       enclaves:<n>                  # number of its enclaves
 *                                     # (each limit once; absent: only the pool bounds it)
 *     <name>: [a-z0-9_], 1..31 bytes, unique.  A client belongs to the tenant
 *     that lists its uid, else to the one that lists its primary gid, else to
 *     none (bounded by the pool and the per-user limits only).
 *
 * Errors (ADY_ERR_CONFIG) report the 1-based line: unknown key, a scalar
 * key or a signer/provision entry given twice, bad hex (exactly 64 digits,
 * either case) or number, more than ADY_POLICY_MAX_SIGNERS entries, "any"
 * mixed with hashes, anything after the value, control bytes, a word between
 * key and '=' on any key but tenant, a malformed or repeated tenant item.  On error
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
#define ADY_POLICY_MAX_TENANTS 32u
#define ADY_POLICY_MAX_TENANT_IDS 16u  /* uids, and gids, of one tenant */
#define ADY_POLICY_TENANT_NAME 32u     /* bytes with the NUL */

typedef struct ady_policy_tenant {
	char name[ADY_POLICY_TENANT_NAME];
	uint32_t nuids, ngids;
	uint32_t uids[ADY_POLICY_MAX_TENANT_IDS];
	uint32_t gids[ADY_POLICY_MAX_TENANT_IDS];
	uint64_t max_memory;       /* bytes, 4 KiB multiple; 0 = no limit of its own */
	uint32_t max_enclaves;     /* 0 = no limit of its own */
} ady_policy_tenant;

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
	uint64_t epc;              /* bytes, 4 KiB multiple; 0 = not configured */
	uint32_t ntenants;
	ady_policy_tenant tenants[ADY_POLICY_MAX_TENANTS];
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

/* The tenant of a client with this uid and primary gid (see above), or
 * NULL for none. */
const ady_policy_tenant *ady_policy_tenant_of(const ady_policy *p, uint32_t uid, uint32_t gid);

/* May this enclave get PROVISION keys and quotes? */
bool ady_policy_may_provision(const ady_policy *p, const uint8_t mrsigner[static 32], uint16_t isvprodid);

#ifdef __cplusplus
}
#endif
#endif
