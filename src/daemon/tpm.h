/*
 * adytond's TPM root of trust (tpm2-tss ESAPI), private to adytond;
 * docs/attestation.md ("The TPM root of trust").
 *
 *   - the platform root key: 32 bytes from TPM2_GetRandom, kept as a
 *     keyed-hash sealed data object under the owner hierarchy's ECC P-256
 *     storage primary (the TCG "SRK" template, so the same TPM recreates
 *     the same parent), its TPM2B_PUBLIC and TPM2B_PRIVATE in
 *     STATE_DIR/root.tpm; only that TPM can load and unseal it, and,
 *     sealed to PCRs (--tpm-pcrs), only while they hold the same values;
 *   - the TPM attestation key (AK): the endorsement hierarchy's restricted
 *     ECDSA P-256 signing primary from a fixed template (recreated, never
 *     stored); TPM2_Quote over SHA-256 PCRs 0-7 with qualifying data =
 *     SHA-256(attestation public key);
 *   - enrollment: TPM2_MakeCredential against the EK from the EK
 *     certificate and TPM2_ActivateCredential; on success the enrollment
 *     CA's AK certificate in STATE_DIR/ak.crt.
 */
#ifndef ADY_DAEMON_TPM_H
#define ADY_DAEMON_TPM_H

#include <stdint.h>

#include "adyton/error.h"
#include "daemon/internal.h"

typedef struct ady_tpm ady_tpm;

/* Connects to the TPM through the TCTI configuration string tcti
 * ("swtpm:path=SOCK", "device:/dev/tpmrm0").  ADY_ERR_IO when the TPM
 * cannot be reached.  *out is NULL on failure. */
ADY_MUST_CHECK ady_err ady_tpm_open(const char *tcti, ady_tpm **out);
void ady_tpm_close(ady_tpm *t);

#define ADY_TPM_PCRS 24u               /* PCRs 0-23, SHA-256 bank */
#define ADY_TPM_PCRS_ANY 0xffffffffu   /* pcr_mask: whatever root.tpm says */

/* The TPM-sealed root key: unseals STATE_DIR/root.tpm, or creates it on
 * first start.  pcr_mask (bit i: PCR i) names the PCRs whose current
 * values a new root key is sealed to (TPM2_PolicyPCR; 0: none), and must
 * match an existing root's (ADY_ERR_CONFIG) unless ADY_TPM_PCRS_ANY.
 * ADY_ERR_CRYPTO when this TPM cannot load or unseal it (another TPM's
 * state, a cleared owner hierarchy, PCRs changed since sealing; the log
 * says which), ADY_ERR_MALFORMED for a damaged file, ADY_ERR_PERMISSION
 * for a file not ours and private. */
ADY_MUST_CHECK ady_err ady_tpm_rootkey_load(ady_tpm *t, const char *state_dir, uint32_t pcr_mask,
					    uint8_t key[static 32]);

/* TPM certification data (adyton/quote.h, type TPM) for the attestation
 * key a->pub, set into a (cert, cert_len, cert_type).  Needs
 * STATE_DIR/ak.crt (ady_tpm_enroll): ADY_ERR_STATE when absent. */
ADY_MUST_CHECK ady_err ady_tpm_certify(ady_tpm *t, const char *state_dir, ady_attest *a);

/* Enrollment CA side: the EK certificate read from NV must carry the EK
 * this TPM creates; TPM2_MakeCredential for (EK, AK name), then
 * TPM2_ActivateCredential must give the secret back; then an AK
 * certificate signed with ca_key (PEM private key), issued by ca_cert,
 * is written to STATE_DIR/ak.crt.  ADY_ERR_CRYPTO when activation fails. */
ADY_MUST_CHECK ady_err ady_tpm_enroll(ady_tpm *t, const char *state_dir, const char *ca_key, const char *ca_cert);

#endif
