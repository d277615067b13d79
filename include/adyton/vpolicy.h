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
 *   tpm_ek_ca    = <path>                        # EK trust anchor: CA certificate(s) (PEM)
 *                                                # the TPM's EK certificate must chain to,
 *                                                # e.g. the TPM vendor's (repeatable)
 *   tpm_ak_ca    = <path>                        # AK trust anchor: the enrollment CA's
 *                                                # certificate(s) (PEM) the AK certificate
 *                                                # must chain to (repeatable)
 *   pcr          = <0..23>:<64 hex>              # expected SHA-256 PCR value (repeatable,
 *                                                # one per index)
 *
 * A quote is accepted when its identity matches some mrenclave line or some
 * signer line (at least one of the two must be given), and its platform is
 * certified by a pinned key or by a TPM: EK certificate chained to a
 * tpm_ek_ca, AK certificate chained to a tpm_ak_ca (adyton/verify.h).  The
 * two sets of anchors are kept apart: a certificate vouches only for the
 * role of the anchor it chains to (and carries that role's TCG extended
 * key usage).
 *
 * Errors report the 1-based line.  ADY_ERR_CONFIG: unknown key, a scalar
 * key twice, bad hex (exact length, either case) or number, more than the
 * maximum entries, a pcr index twice, a path over ADY_VPOLICY_MAX_PATH - 1
 * bytes, control bytes, nothing to match identities against.
 * ADY_ERR_UNSUPPORTED: a retired key, i.e. "tpm_ca" (one store for EK and
 * AK anchors, which let any certificate from either CA pass as an AK
 * certificate): it has no meaning now, so that an old policy fails to load
 * instead of trusting a CA for a role nobody chose; write each CA as
 * tpm_ek_ca or tpm_ak_ca.  Relative paths are kept as written (the caller
 * resolves them).
 *
 * Not in the text form: want_report_data and report_data, which a caller
 * sets for one verification (adyton verify-quote --report-data); the
 * parser leaves them zero.
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
	uint32_t nek_ca;
	char tpm_ek_ca[ADY_VPOLICY_MAX_CA][ADY_VPOLICY_MAX_PATH];
	uint32_t nak_ca;
	char tpm_ak_ca[ADY_VPOLICY_MAX_CA][ADY_VPOLICY_MAX_PATH];
	uint32_t pcr_mask;              /* bit i: pcr[i] is expected */
	uint8_t pcr[24][32];
	bool want_report_data;          /* the quote's REPORTDATA must equal report_data */
	uint8_t report_data[64];
} ady_vpolicy;

ADY_MUST_CHECK ady_err ady_vpolicy_parse(const char *text, size_t len, ady_vpolicy *out, unsigned *line);

#ifdef __cplusplus
}
#endif
#endif
