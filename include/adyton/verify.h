/*
 * adyton/verify.h - libadyton-verify: checks an adyton quote
 * (adyton/quote.h) against a verifier policy (adyton/vpolicy.h) with
 * nothing but public data: no daemon, no TPM.  OpenSSL.
 *
 * Every check is recorded, in order, with its result and a short detail,
 * so that a refusal names what failed (docs/attestation.md lists them):
 *   format        the quote decodes strictly (adyton/quote.h)
 *   signature     ECDSA P-256 over header+body with attest_pub
 *   platform      the attestation key is certified: pinned (ENROLLED),
 *                 or by a TPM (the checks tpm_* below); SIM only with allow_sim
 *   tpm_quote     the AK's signature over TPMS_ATTEST (TPM only)
 *   tpm_qualifying_data  TPMS_ATTEST.extraData = SHA-256(attest_pub)
 *   tpm_pcr_digest  SHA-256 of the PCR values carried = the quoted digest,
 *                 and the carried selection = the quoted selection
 *   tpm_pcr_policy  the policy's expected PCR values (if any) match
 *   tpm_ek_chain  the EK certificate chains to a tpm_ek_ca of the policy
 *                 and carries the TCG EK extended key usage 2.23.133.8.1
 *   tpm_ak_binding  the AK certificate (the binding) chains to a tpm_ak_ca,
 *                 not through a CA that is also a tpm_ek_ca, carries the
 *                 TCG AIK extended key usage 2.23.133.8.3 and key usage
 *                 digitalSignature, is no CA, and certifies the AK that
 *                 signed the TPM quote
 *   nonce         header user_data = SHA-256(nonce)[0..20) (skipped without a nonce)
 *   report_data   REPORTDATA equals policy->report_data, all 64 bytes
 *                 (skipped unless policy->want_report_data)
 *   identity      MRENCLAVE listed, or MRSIGNER+ISVPRODID listed with ISVSVN >= minimum
 *   debug         DEBUG attribute absent unless allow_debug
 * A check that could not run because an earlier one failed is "skipped".
 */
#ifndef ADYTON_VERIFY_H
#define ADYTON_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/quote.h"
#include "adyton/vpolicy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { ADY_CHECK_PASS = 0, ADY_CHECK_FAIL = 1, ADY_CHECK_SKIP = 2 } ady_check_result;

#define ADY_VERIFY_MAX_CHECKS 16u

typedef struct ady_verify_check {
	const char *name;            /* static, one of the names above */
	ady_check_result result;
	char detail[160];
} ady_verify_check;

typedef struct ady_verify_report {
	bool accepted;
	const char *failed;          /* name of the first failed check, or NULL */
	uint32_t nchecks;
	ady_verify_check checks[ADY_VERIFY_MAX_CHECKS];
	ady_quote quote;             /* as decoded (zero if format failed) */
} ady_verify_report;

/* Returns a static name for a check result ("pass", "FAIL", "skip"). */
const char *ady_check_result_name(ady_check_result r);

/*
 * Verifies quote[0, len) under policy.  nonce: the 32-byte nonce the
 * verifier chose, or NULL to skip freshness (the report says so).  To
 * require the enclave's report data, set policy->want_report_data and
 * policy->report_data (a copy of a parsed policy per expectation).  *out
 * (caller-allocated, about 9 KiB) receives every check.  Returns ADY_OK
 * only if the quote is accepted; ADY_ERR_PERMISSION if a check failed
 * (out->failed names it; an unreadable tpm_ek_ca / tpm_ak_ca file, or
 * OpenSSL out of memory, fails its check too); ADY_ERR_INVALID_ARG for a
 * NULL out or policy.
 */
ADY_MUST_CHECK ady_err ady_verify_quote(const uint8_t *quote, size_t len, const ady_vpolicy *policy,
					const uint8_t *nonce, ady_verify_report *out);

/*
 * A host's TPM2_Quote (TPM 2.0 Part 3, 18.4), as tpm2_quote writes it:
 * attest = TPMS_ATTEST, sig = TPMT_SIGNATURE (RSASSA or ECDSA, SHA-256),
 * ak_pem = the AK's SubjectPublicKeyInfo PEM, the PCR values of the SHA-256
 * bank for PCRs 0..npcr-1 (pcr[k] = PCR k).  Checks, in order: the
 * signature ("quote_signature"), that extraData equals the nonce
 * ("quote_nonce"), that the selection lies within the given values and its
 * digest is over them ("quote_pcrs").  Returns ADY_OK with out->failed NULL
 * (passed) or the name of the failed check and the reason in out->detail;
 * ADY_ERR_KEY if ak_pem is not a public key, ADY_ERR_INVALID_ARG.
 * Who the AK belongs to is the caller's decision (pinned key, or an AK
 * certificate checked as ady_verify_quote does).
 */
typedef struct ady_tpm_quote_check {
	const char *failed;
	char detail[160];
	uint32_t pcr_mask;           /* the quoted selection (after the signature passed) */
} ady_tpm_quote_check;

ADY_MUST_CHECK ady_err ady_verify_tpm_quote(const uint8_t *attest, size_t attest_len, const uint8_t *sig,
					    size_t sig_len, const char *ak_pem, const uint8_t *nonce,
					    size_t nonce_len, const uint8_t (*pcr)[32], uint32_t npcr,
					    ady_tpm_quote_check *out);

/*
 * An EK certificate (DER) as ady_verify_quote's tpm_ek_chain check takes
 * it: chains to one of pol->tpm_ek_ca (TPM-specific critical extensions
 * allowed) and carries the TCG EK EKU.  1 on success, with the certified
 * key's SubjectPublicKeyInfo DER in spki (cap bytes; its length in
 * *spki_len); 0 with the reason in why.
 */
int ady_verify_tpm_ek_cert(const ady_vpolicy *pol, const uint8_t *der, size_t len, uint8_t *spki, size_t cap,
			   size_t *spki_len, char *why, size_t whylen);

/*
 * Binds a parsed policy to an ephemeral enclave key and a challenge, as
 * the key broker and the gate ask for it: policy->report_data becomes
 * SHA-256(nonce || pub) || 32 zero bytes and want_report_data is set, so
 * that ady_verify_quote() accepts only a quote made for this key and this
 * nonce.  pub: the key exactly as the enclave hashed it (for P-256 the
 * 65-byte point 0x04 || x || y; ady_keyquote_new in the enclave).
 */
void ady_verify_bind_key(ady_vpolicy *policy, const uint8_t nonce[static 32], const uint8_t *pub, size_t pub_len);

/* The detail text of r's first failed check, or "" (static or in r). */
const char *ady_verify_report_detail(const ady_verify_report *r);

#ifdef __cplusplus
}
#endif
#endif
