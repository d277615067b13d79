/*
 * adyton/vpolicy.h - a quote verifier's policy (adyton verify-quote
 * --policy FILE, adyton/verify.h).  Freestanding-safe, no allocation.
 *
 * Text form, one "key = value" per line, '#' comments, blank lines:
 *
 *   mrenclave    = <64 hex>                      # accepted MRENCLAVE (repeatable)
 *   signer       = <64 hex>:<isvprodid>:<min isvsvn>  # accepted MRSIGNER, product and
 *                                                # lowest ISVSVN (repeatable)
 *   allow_debug  = yes | no                      # DEBUG enclaves (default no)
 *   allow_sim    = yes | no                      # sim quotes (default no; implies nothing
 *                                                # about debug: sim enclaves are DEBUG too)
 *   platform_key = <128 hex>                     # pinned attestation key x||y of an
 *                                                # enrolled platform (repeatable)
 *   tpm_ca       = <path>                        # CA certificate (PEM) the EK certificate
 *                                                # must chain to (repeatable)
 *   pcr          = <0..23>:<64 hex>              # expected SHA-256 PCR value (repeatable,
 *                                                # one per index)
 *
 * A quote is accepted when its identity matches some mrenclave line or some
 * signer line (at least one of the two must be given), and its platform is
 * certified by a pinned key or a TPM chained to a tpm_ca.  Errors
 * (ADY_ERR_CONFIG) report the 1-based line: unknown key, a scalar key
 * twice, bad hex (exact length, either case) or number, more than the
 * maximum entries, a pcr index twice, a path over ADY_VPOLICY_MAX_PATH - 1
 * bytes, control bytes, nothing to match identities against.  Relative
 * tpm_ca paths are kept as written (the caller resolves them).
 */
#ifndef ADYTON_VPOLICY_H
#define ADYTON_VPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_VPOLICY_MAX 32u
#define ADY_VPOLICY_MAX_CA 4u
#define ADY_VPOLICY_MAX_PATH 256u

typedef struct ady_vpolicy_signer {
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t min_isvsvn;
} ady_vpolicy_signer;

typedef struct ady_vpolicy {
	bool allow_debug;
	bool allow_sim;
	uint32_t nmrenclave;
	uint8_t mrenclave[ADY_VPOLICY_MAX][32];
	uint32_t nsigner;
	ady_vpolicy_signer signer[ADY_VPOLICY_MAX];
	uint32_t nplatform;
	uint8_t platform_key[ADY_VPOLICY_MAX][64];
	uint32_t nca;
	char tpm_ca[ADY_VPOLICY_MAX_CA][ADY_VPOLICY_MAX_PATH];
	uint32_t pcr_mask;              /* bit i: pcr[i] is expected */
	uint8_t pcr[24][32];
} ady_vpolicy;

ADY_MUST_CHECK ady_err ady_vpolicy_parse(const char *text, size_t len, ady_vpolicy *out, unsigned *line);

#ifdef __cplusplus
}
#endif
#endif
