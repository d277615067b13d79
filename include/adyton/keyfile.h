/*
 * adyton/keyfile.h - the sealed key files in adytond's state directory
 * (docs/attestation.md).  Freestanding-safe, no allocation: only the
 * framing lives here; the cryptography (AES-GCM, the TPM's own
 * marshalling, read by tpm2-tss) is the daemon's.  The files are the
 * daemon's own, but they are read back from disk: decoding treats them as
 * untrusted bytes.
 *
 * attest.key, the attestation key sealed with the platform root key:
 *   0   magic   4   "ADYA"
 *   4   n       u32 ciphertext bytes (the PKCS#8 DER key's), 1..ADY_AKFILE_MAX_DER
 *   8   iv      12  AES-256-GCM IV
 *   20  tag     16  AES-256-GCM tag
 *   36  ct      n   ciphertext
 * bytes [0, 8) are the GCM AAD; nothing follows the ciphertext.
 *
 * root.tpm, the root key sealed by the TPM:
 *   0   magic     4   "ADYT"
 *   4   n         u32 bytes after this field (4 + the TPM objects)
 *   8   pcr_mask  u32 0, or the SHA-256 PCRs (bit i: PCR i, i < 24) whose
 *                     values at sealing the object's policy requires
 *   12  TPM2B_PUBLIC then TPM2B_PRIVATE, TPM marshalling: the sealed object
 */
#ifndef ADYTON_KEYFILE_H
#define ADYTON_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_AKFILE_HEAD 8u       /* magic + n: the AAD */
#define ADY_AKFILE_IV 12u
#define ADY_AKFILE_TAG 16u
#define ADY_AKFILE_FIXED (ADY_AKFILE_HEAD + ADY_AKFILE_IV + ADY_AKFILE_TAG)
#define ADY_AKFILE_MAX_DER 512u
#define ADY_AKFILE_MAX (ADY_AKFILE_FIXED + ADY_AKFILE_MAX_DER)

#define ADY_TPMROOT_HEAD 12u
#define ADY_TPMROOT_PCRS 24u

/* Where the parts of an attest.key lie in its buffer: offsets from its
 * start (AAD at 0, ADY_AKFILE_HEAD bytes). */
typedef struct ady_akfile {
	size_t iv_off;
	size_t tag_off;
	size_t ct_off;
	uint32_t ct_len;
} ady_akfile;

/*
 * Checks the framing of an attest.key of len bytes: the magic, n in
 * 1..ADY_AKFILE_MAX_DER, len exactly ADY_AKFILE_FIXED + n.
 * ADY_ERR_MALFORMED otherwise (ADY_ERR_INVALID_ARG for NULL).  *out is
 * zeroed on failure.
 */
ADY_MUST_CHECK ady_err ady_akfile_decode(const uint8_t *buf, size_t len, ady_akfile *out);

/*
 * Lays out an attest.key for ct_len bytes of ciphertext in buf (cap
 * bytes): writes the magic and n, zeroes IV, tag and ciphertext, and
 * tells in *out where the caller puts them.  *len = the file's size.
 * ADY_ERR_INVALID_ARG for ct_len outside 1..ADY_AKFILE_MAX_DER,
 * ADY_ERR_SHORT_BUFFER (*len = the size needed) when cap is short.
 */
ADY_MUST_CHECK ady_err ady_akfile_encode(uint32_t ct_len, uint8_t *buf, size_t cap, size_t *len, ady_akfile *out);

/*
 * Checks the framing of a root.tpm of len bytes: the magic, n = len - 8,
 * no PCR bit at or above ADY_TPMROOT_PCRS.  *pcr_mask gets the mask,
 * *objects_off the offset of the TPM objects (they run to len; the caller
 * unmarshals them and checks that nothing trails).  ADY_ERR_MALFORMED
 * otherwise; outputs zeroed on failure.
 */
ADY_MUST_CHECK ady_err ady_tpmroot_decode(const uint8_t *buf, size_t len, uint32_t *pcr_mask, size_t *objects_off);

/*
 * Writes the ADY_TPMROOT_HEAD bytes of a root.tpm whose TPM objects
 * (objects_len bytes) the caller has marshalled at buf +
 * ADY_TPMROOT_HEAD; cap is buf's size.  *len = the file's size.
 * ADY_ERR_INVALID_ARG for a PCR bit at or above ADY_TPMROOT_PCRS or a size
 * n cannot hold, ADY_ERR_SHORT_BUFFER when the file does not fit cap.
 */
ADY_MUST_CHECK ady_err ady_tpmroot_encode(uint32_t pcr_mask, size_t objects_len, uint8_t *buf, size_t cap,
					  size_t *len);

#ifdef __cplusplus
}
#endif
#endif
