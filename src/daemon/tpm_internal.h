/*
 * src/daemon/tpm_internal.h - shared by adytond's TPM files (tpm.c: the
 * connection and the sealed root key; tpm_ak.c: the attestation key's
 * certification; tpm_enroll.c: enrollment).  See tpm.h.
 */
#ifndef ADY_DAEMON_TPM_INTERNAL_H
#define ADY_DAEMON_TPM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "daemon/tpm.h"

#define ROOT_MAX 2048u
#define AKCERT_MAX 4096u
/* TCG EK Credential Profile 2.0, 2.2.1.4: NV indices of the EK certificates. */
#define NV_EK_CERT_RSA 0x01c00002u
#define NV_EK_CERT_ECC 0x01c0000au
#define EK_CERT_MAX 4096u
/* The PCRs the TPM quote covers: 0-7, what firmware and the boot loader
 * measure (TCG PC Client PFP); the OS and adytond itself are not in them. */
#define QUOTE_PCRS 0xffu

struct ady_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};

/* ADY_OK for TSS2_RC_SUCCESS; else logs "TPM: what: <decoded rc>" and
 * returns ADY_ERR_CRYPTO. */
ady_err ady_tpm_tss(TSS2_RC rc, const char *what);

/* The AK (tpm_ak.c): the endorsement hierarchy's restricted ECDSA P-256
 * signing primary, loaded at *out, its public part in *pub (Esys_Free). */
ady_err ady_tpm_ak_primary(ady_tpm *t, ESYS_TR *out, TPM2B_PUBLIC **pub);

/* The AK's public point x||y; 0 when it is a P-256 point of 32-byte
 * coordinates. */
int ady_tpm_ak_xy(const TPM2B_PUBLIC *pub, uint8_t xy[static 64]);

/* The EK certificate (DER) from its TCG NV index, ECC preferred; *is_ecc
 * says which. */
ady_err ady_tpm_ek_cert(ady_tpm *t, uint8_t *buf, size_t cap, size_t *len, int *is_ecc);

#endif
