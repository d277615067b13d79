/*
 * ecall_in.h - the key guard enclave's ECALL inputs (layouts: keyguard.h),
 * decoded through the public bounded cursor (adyton/cursor.h) only.  Pure:
 * no keys, no state, no runtime calls, so tests/fuzz/fuzz_keyguard_ecall.c
 * runs every decoder on the host.  The input is the enclave's private copy
 * of the ECALL input; spans point into it.
 *
 * Each decoder returns a KG_ST_* status: KG_ST_OK with *out filled,
 * KG_ST_BAD_HEADER for bytes that do not have the layout, KG_ST_UNSUPPORTED
 * for a well-formed parameter the key guard does not implement.  *out is
 * zeroed unless KG_ST_OK.  The envelope span is not checked here
 * (kg_envelope_decode does, when the enclave opens it).
 */
#ifndef KG_ECALL_IN_H
#define KG_ECALL_IN_H

#include <stddef.h>
#include <stdint.h>

#include <adyton/error.h>
#include <adyton/luks1.h>

#include "keyguard.h"

typedef struct kg_span {
	const uint8_t *p;
	size_t n;
} kg_span;

/* KG_E_CREATE: u32 sector, u32 iterations, u64 size, envelope. */
typedef struct kg_create_in {
	uint32_t sector;
	uint32_t iter;
	uint64_t size;
	kg_span env;
} kg_create_in;

uint32_t kg_create_in_decode(const uint8_t *in, size_t len, kg_create_in *out);

/* KG_E_OPEN_NATIVE: u32 hdr_len, the native header (hdr_len bytes), envelope. */
typedef struct kg_native_in {
	uint32_t sector;
	uint32_t iter;
	uint32_t policy;
	uint64_t size;
	kg_span aad;     /* header bytes [0, KG_HDR_AAD): what the sealed text binds */
	kg_span sealed;  /* the sealed blob, sealed_len bytes */
	kg_span env;
} kg_native_in;

uint32_t kg_native_in_decode(const uint8_t *in, size_t len, kg_native_in *out);

/* KG_E_OPEN_LUKS1: u32 slot, phdr (ADY_LUKS1_PHDR_SIZE), the slot's key
 * material, envelope.  The slot is an enabled one of the decoded header. */
typedef struct kg_luks1_in {
	uint32_t slot;
	ady_luks1_hdr hdr;
	kg_span material; /* ady_luks1_material_size() bytes */
	kg_span env;
} kg_luks1_in;

uint32_t kg_luks1_in_decode(const uint8_t *in, size_t len, kg_luks1_in *out);

/* KG_E_OPEN_PLAIN: u32 sector, envelope. */
typedef struct kg_plain_in {
	uint32_t sector;
	kg_span env;
} kg_plain_in;

uint32_t kg_plain_in_decode(const uint8_t *in, size_t len, kg_plain_in *out);

/* The unlock envelope: tool_pub (65) || nonce (12) || ciphertext || tag
 * (16), KG_ENV_OVERHEAD..KG_ENV_MAX bytes; KG_ST_BAD_ENVELOPE otherwise. */
typedef struct kg_envelope {
	const uint8_t *tool_pub; /* KG_PUB_SIZE bytes */
	const uint8_t *nonce;    /* KG_NONCE_SIZE */
	kg_span ct;              /* at most KG_SECRET_MAX */
	const uint8_t *tag;      /* KG_TAG_SIZE */
} kg_envelope;

uint32_t kg_envelope_decode(kg_span env, kg_envelope *out);

/* KG_E_CRYPT's control block (KG_CTL_SIZE bytes): u64 first sector, u32
 * op, u32 zero.  ADY_ERR_MALFORMED if the reserved word is not zero; the
 * op is the caller's to check. */
typedef struct kg_crypt_ctl {
	uint64_t sector;
	uint32_t op;
} kg_crypt_ctl;

ADY_MUST_CHECK ady_err kg_crypt_ctl_decode(const uint8_t ctl[static KG_CTL_SIZE], kg_crypt_ctl *out);

#endif
