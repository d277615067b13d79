/*
 * adyton/sealed.h - the sealed-data blob (the SGX SDK's sgx_sealed_data_t)
 * and the KEYREQUEST it starts with.  Freestanding-safe, no allocation:
 * used inside enclaves (ady_seal/ady_unseal), by the platform (EGETKEY
 * requests) and by tools.
 *
 * Blob layout (little-endian, packed; SGX SDK sgx_tseal.h):
 *   0    key_request        512   ady_sgx_keyrequest, KEYNAME = SEAL
 *   512  plain_text_offset  u32   ciphertext length = offset of the AAD in the payload
 *   516  reserved           12    zero
 *   528  payload_size       u32   ciphertext + AAD length
 *   532  reserved           12    zero
 *   544  payload_tag        16    AES-128-GCM tag
 *   560  payload                  ciphertext, then the additional MAC text (AAD)
 * The GCM IV is 12 zero bytes and the GCM AAD is the additional MAC text
 * only, as in the SDK: the key request is bound through the key it derives.
 */
#ifndef ADYTON_SEALED_H
#define ADYTON_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_SEALED_HDR_SIZE 560u
#define ADY_SEALED_TAG_SIZE 16u
/* payload_size is a u32: a blob never carries more than this. */
#define ADY_SEALED_MAX_PAYLOAD 0xffffffffu

/* KEYPOLICY bits adyton knows (adyton/sgx.h); everything else is refused. */
#define ADY_KEYPOLICY_KNOWN (ADY_KEYPOLICY_MRENCLAVE | ADY_KEYPOLICY_MRSIGNER)

typedef struct __attribute__((packed)) ady_sealed_hdr {
	ady_sgx_keyrequest key_request;
	uint32_t plain_text_offset;  /* ciphertext bytes */
	uint8_t reserved1[12];
	uint32_t payload_size;       /* ciphertext + AAD bytes */
	uint8_t reserved2[12];
	uint8_t tag[ADY_SEALED_TAG_SIZE];
} ady_sealed_hdr;

ADY_CHECK_SIZE(ady_sealed_hdr, ADY_SEALED_HDR_SIZE);
ADY_CHECK_LAYOUT(ady_sealed_hdr, plain_text_offset, 512);
ADY_CHECK_LAYOUT(ady_sealed_hdr, reserved1, 516);
ADY_CHECK_LAYOUT(ady_sealed_hdr, payload_size, 528);
ADY_CHECK_LAYOUT(ady_sealed_hdr, reserved2, 532);
ADY_CHECK_LAYOUT(ady_sealed_hdr, tag, 544);

/*
 * *out = the size of a blob holding text_len bytes of ciphertext and
 * aad_len bytes of additional MAC text.  ADY_ERR_OVERFLOW when the payload
 * does not fit payload_size's u32 or the total does not fit a size_t.
 * On failure *out = 0.
 */
ADY_MUST_CHECK ady_err ady_sealed_total(uint64_t aad_len, uint64_t text_len, size_t *out);

/*
 * Copies a 512-byte KEYREQUEST into *out and validates its form: len
 * exactly 512 (shorter: ADY_ERR_TRUNCATED, longer: ADY_ERR_MALFORMED), a
 * KEYNAME of adyton/sgx.h (0..4), KEYPOLICY only ADY_KEYPOLICY_KNOWN bits,
 * both reserved ranges zero (else ADY_ERR_MALFORMED).  Whether the caller
 * may have that key is the platform's question, not this one's.  *out is
 * zeroed on failure.
 */
ADY_MUST_CHECK ady_err ady_keyrequest_decode(const uint8_t *p, size_t len, ady_sgx_keyrequest *out);

/*
 * Copies the header of a len-byte sealed blob into *out, once, and
 * validates the copy: the key request as ady_keyrequest_decode() and
 * KEYNAME = SEAL with a non-empty KEYPOLICY, plain_text_offset <=
 * payload_size, reserved bytes zero, and len exactly ADY_SEALED_HDR_SIZE +
 * payload_size.  ADY_ERR_TRUNCATED when len is short of the header or of
 * the payload it announces, ADY_ERR_MALFORMED for anything else (including
 * trailing bytes).  The payload itself is not read.  *out is zeroed on
 * failure.
 */
ADY_MUST_CHECK ady_err ady_sealed_decode(const uint8_t *blob, size_t len, ady_sealed_hdr *out);

/* Writes h as the first ADY_SEALED_HDR_SIZE bytes of a blob (reserved
 * bytes zero whatever h holds). */
void ady_sealed_encode(const ady_sealed_hdr *h, uint8_t out[static ADY_SEALED_HDR_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
