/*
 * adyton/quote.h - adyton's remote-attestation evidence (DESIGN.md §3).
 * Freestanding-safe, no allocation.
 *
 * DCAP v3-shaped, but never mistakable for Intel evidence: the tee_type and
 * the vendor id are adyton's own, and the certification data types are in
 * a range DCAP does not use.  All integers little-endian (TPM structures
 * inside the TPM certification data keep the TPM's big-endian encoding).
 *
 *   0    header (48)
 *        0  version       u16  3
 *        2  att_key_type  u16  2 (ECDSA P-256)
 *        4  tee_type      u32  ADY_QUOTE_TEE_TYPE ("ADY\x01"), not SGX's 0 or TDX's 0x81
 *        8  reserved      u32  zero (DCAP: QE SVN, PCE SVN)
 *        12 vendor_id     16   ADY_QUOTE_VENDOR_ID ("adyton-quote-v1\0")
 *        28 user_data     20   SHA-256(nonce)[0..20): the verifier's freshness nonce
 *   48   REPORTBODY (384, adyton/sgx.h) as recorded by the platform at launch
 *   432  sig_data_len     u32  bytes that follow; exactly the rest of the quote
 *   436  signature        64   ECDSA P-256 r||s (big-endian each) over SHA-256(bytes [0,432))
 *   500  attest_pub       64   the attestation public key x||y (big-endian each)
 *   564  cert_type        u16  ADY_QUOTE_CERT_*
 *   566  cert_len         u32  <= ADY_QUOTE_MAX_CERT
 *   570  cert_data        cert_len bytes
 *
 * cert_data by type:
 *   ENROLLED: empty.  The verifier pins attest_pub (adytond --print-platform-key).
 *   SIM:      empty.  attest_pub is the public sim key; no policy accepts it
 *             unless allow_sim.
 *   TPM:      a sequence of fields, each u32 length + bytes, in this order:
 *             attest    TPMS_ATTEST as the TPM marshalled it (TPM2_Quote's quoted)
 *             ak_sig    r||s (64) of the AK's ECDSA P-256 SHA-256 signature over attest
 *             ak_pub    x||y (64) of the AK (TPM-resident, restricted signing)
 *             pcrs      u32 bitmap of SHA-256 PCRs 0..23, then 32 bytes per set bit, ascending
 *             ek_cert   the EK certificate, DER
 *             binding   the AK-to-EK binding evidence (docs/attestation.md)
 *             Nothing may follow the last field.
 */
#ifndef ADYTON_QUOTE_H
#define ADYTON_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_QUOTE_VERSION 3u
#define ADY_QUOTE_ATT_KEY_ECDSA_P256 2u
#define ADY_QUOTE_TEE_TYPE 0x01594441u /* "ADY\x01" little-endian */
#define ADY_QUOTE_HEADER 48u
#define ADY_QUOTE_TBS 432u             /* header + REPORTBODY: what the signature covers */
#define ADY_QUOTE_FIXED 570u           /* everything before cert_data */
#define ADY_QUOTE_MAX 8192u
#define ADY_QUOTE_MAX_CERT (ADY_QUOTE_MAX - ADY_QUOTE_FIXED)

extern const uint8_t ady_quote_vendor_id[16];

enum {
	ADY_QUOTE_CERT_ENROLLED = 0xad01,
	ADY_QUOTE_CERT_TPM = 0xad02,
	ADY_QUOTE_CERT_SIM = 0xad03,
};

typedef struct ady_quote {
	uint8_t user_data[20];
	ady_sgx_report_body body;
	uint8_t signature[64];
	uint8_t attest_pub[64];
	uint16_t cert_type;
	uint32_t cert_len;
	uint8_t cert[ADY_QUOTE_MAX_CERT];
} ady_quote;

/* A field of TPM certification data: [off, off+len) of ady_quote.cert. */
typedef struct ady_quote_span {
	uint32_t off;
	uint32_t len;
} ady_quote_span;

#define ADY_QUOTE_MAX_PCRS 24u

typedef struct ady_quote_tpm {
	ady_quote_span attest;
	uint8_t ak_sig[64];
	uint8_t ak_pub[64];
	uint32_t pcr_mask;               /* bit i: SHA-256 PCR i carried */
	uint8_t pcr[ADY_QUOTE_MAX_PCRS][32]; /* indexed by PCR number; zero when not carried */
	ady_quote_span ek_cert;
	ady_quote_span binding;
} ady_quote_tpm;

/* The header's user_data for a nonce: the first 20 bytes of SHA-256(nonce)
 * are computed by the caller (the format layer has no hash); this only
 * fixes the rule in one place. */
#define ADY_QUOTE_NONCE_LEN 32u

/*
 * Encodes q into buf (cap bytes): ADY_ERR_SHORT_BUFFER with *len the size
 * needed, ADY_ERR_INVALID_ARG for an unknown cert_type, a cert_len over
 * ADY_QUOTE_MAX_CERT, or non-empty cert data for ENROLLED/SIM.  The first
 * ADY_QUOTE_TBS bytes are what the signature covers: encode once with any
 * signature, sign those bytes, and write the signature at offset 436 (or
 * encode again).
 */
ADY_MUST_CHECK ady_err ady_quote_encode(const ady_quote *q, uint8_t *buf, size_t cap, size_t *len);

/*
 * Strict decode: version, key type, tee_type, vendor id, reserved zero,
 * REPORTBODY reserved fields zero, sig_data_len exactly the rest, a known
 * cert_type with its length rule; for TPM the field structure is checked
 * too (ady_quote_decode_tpm).  ADY_ERR_TRUNCATED for a short input,
 * ADY_ERR_MALFORMED for anything else wrong.  *q is zeroed on failure.
 * Says nothing about signatures: that is adyton/verify.h.
 */
ADY_MUST_CHECK ady_err ady_quote_decode(const uint8_t *buf, size_t len, ady_quote *q);

/* Splits TPM certification data into its fields (layout above): every
 * length in range, ak_sig and ak_pub exactly 64, the PCR block exactly
 * 4 + 32 * popcount(mask) with no bit above 23, nothing trailing.
 * ADY_ERR_MALFORMED / ADY_ERR_TRUNCATED otherwise. */
ADY_MUST_CHECK ady_err ady_quote_decode_tpm(const ady_quote *q, ady_quote_tpm *out);

/* Encodes TPM certification data from its parts into out (cap bytes);
 * short-buffer protocol. */
ADY_MUST_CHECK ady_err ady_quote_encode_tpm(const uint8_t *attest, uint32_t attest_len, const uint8_t ak_sig[static 64],
					    const uint8_t ak_pub[static 64], uint32_t pcr_mask,
					    const uint8_t (*pcr)[32], const uint8_t *ek_cert, uint32_t ek_cert_len,
					    const uint8_t *binding, uint32_t binding_len, uint8_t *out, size_t cap,
					    size_t *len);

/*
 * The parts of a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (TPM 2.0 Part 2,
 * 10.12.12; big-endian) a verifier needs.  Decoding checks magic
 * TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE, every TPM2B in range,
 * exactly one PCR selection of bank SHA-256 with sizeofSelect 3, and
 * nothing trailing.
 */
typedef struct ady_tpms_quote {
	uint8_t extra[64];     /* qualifying data */
	uint16_t extra_len;
	uint32_t pcr_mask;     /* selected SHA-256 PCRs, bit i = PCR i */
	uint8_t pcr_digest[32];
	/* clockInfo (TPMS_CLOCK_INFO): resetCount counts TPM Resets (a
	 * reboot: PCRs cleared), restartCount TPM Restarts/Resumes since the
	 * last reset (PCRs kept on resume). */
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
	uint8_t safe;
} ady_tpms_quote;

ADY_MUST_CHECK ady_err ady_tpms_quote_decode(const uint8_t *buf, size_t len, ady_tpms_quote *out);

#ifdef __cplusplus
}
#endif
#endif
