/*
 * adyton/ima.h - Linux IMA measurement lists and the TPM structures a host
 * quote carries.  Freestanding-safe decoders of untrusted bytes (the
 * format layer): no allocation, no hashing.  Replay into PCRs and policy
 * checks live above this (apps/gate/gate.h).
 *
 * binary_runtime_measurements (Linux security/integrity/ima/ima_fs.c,
 * ima_measurements_show; host byte order, little-endian here, i.e. no
 * ima_canonical_fmt on a big-endian host), per entry:
 *   u32 PCR index | 20-byte template hash | u32 name length + template name |
 *   (not for template "ima") u32 template-data length + template data
 * Template data, per field u32 length + bytes (ima_template_lib.c):
 *   ima-ng:  d-ng | n-ng        d-ng = "<alg>:\0" + digest, n-ng = path + NUL
 *   ima-sig: d-ng | n-ng | sig  sig = the file's security.ima value, or empty
 *   ima-buf: d-ng | n-ng | buf  buf = the measured buffer (keys, dm tables...)
 *   ima:     d (20-byte SHA-1 digest, no length) | u32 length + name (no NUL);
 *            its template hash is over digest || name zero-padded to 256 bytes.
 * A violation (a file measured while open for writing, or read while
 * mmapped for writing) logs an all-zero template hash and digest; the
 * kernel extends the PCR with all ones instead.
 */
#ifndef ADYTON_IMA_H
#define ADYTON_IMA_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/cursor.h"
#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel limits: IMA_TEMPLATE_NAME_LEN_MAX 15; IMA_EVENT_NAME_LEN_MAX 255
 * for the "ima" template.  Template data is capped here at 1 MiB (an
 * ima-buf of a key or a dm table is a few KiB); larger is refused as
 * ADY_ERR_TOO_LARGE before any use. */
#define ADY_IMA_TEMPLATE_NAME_MAX 15
#define ADY_IMA_EVENT_NAME_MAX 255
#define ADY_IMA_MAX_DATA (1u << 20)
#define ADY_IMA_MAX_DIGEST 64

typedef enum ady_ima_template {
	ADY_IMA_TEMPLATE_IMA = 1, /* "ima" */
	ADY_IMA_TEMPLATE_NG = 2,  /* "ima-ng" */
	ADY_IMA_TEMPLATE_SIG = 3, /* "ima-sig" */
	ADY_IMA_TEMPLATE_BUF = 4, /* "ima-buf" */
} ady_ima_template;

/* File digest algorithms of the d-ng field (crypto/hash_info.c names). */
typedef enum ady_ima_alg {
	ADY_IMA_ALG_SHA1 = 1,
	ADY_IMA_ALG_SHA256 = 2,
	ADY_IMA_ALG_SHA384 = 3,
	ADY_IMA_ALG_SHA512 = 4,
	ADY_IMA_ALG_MD5 = 5,
} ady_ima_alg;

/*
 * One decoded entry.  Every pointer points into the caller's buffer, valid
 * as long as it is; nothing is copied.  name is not NUL-terminated inside
 * the buffer for "ima" (use name_len); for the other templates the byte
 * after name is the field's NUL.
 */
typedef struct ady_ima_entry {
	uint32_t pcr;
	uint8_t template_hash[20];  /* as logged (SHA-1) */
	ady_ima_template tmpl;
	int violation;              /* template hash all zero */
	/* The template data: what the kernel hashes for the template hash.
	 * For "ima" it is the logged d and n fields (digest, u32 length,
	 * name); the kernel hashes digest || name zero-padded to 256 bytes
	 * instead (ima_calc_field_array_hash_tfm). */
	const uint8_t *data;
	uint32_t data_len;
	ady_ima_alg alg;
	const char *alg_name;       /* static: "sha1", "sha256", ... */
	const uint8_t *digest;
	uint32_t digest_len;
	const char *name;
	uint32_t name_len;          /* without the NUL */
	const uint8_t *extra;       /* ima-sig: signature; ima-buf: buffer */
	uint32_t extra_len;
	size_t end;                 /* cursor offset just after this entry */
} ady_ima_entry;

/*
 * Decodes the entry at c's read position and advances past it.
 * Errors: ADY_ERR_TRUNCATED (the input ends inside the entry),
 * ADY_ERR_TOO_LARGE (a length over the caps above),
 * ADY_ERR_UNSUPPORTED (a template other than the four above, or a digest
 * algorithm not listed), ADY_ERR_MALFORMED (a field that breaks the layout:
 * a digest length not matching its algorithm, a path with a NUL inside or
 * without its NUL, bytes left over inside the template data, a violation
 * whose digest is not zero).  On failure *out is zeroed and c is sticky.
 */
ADY_MUST_CHECK ady_err ady_ima_decode(ady_cur *c, ady_ima_entry *out);

/* The static name of a template ("ima-ng", ...) or "?" */
const char *ady_ima_template_name(ady_ima_template t);

/* Digest length of an algorithm (20, 32, ...), 0 if unknown.  Name lookup:
 * 0 if the name is not one of ady_ima_alg's. */
uint32_t ady_ima_alg_len(ady_ima_alg a);
ady_ima_alg ady_ima_alg_from_name(const char *name, size_t len);

/*
 * ima-sig's security.ima v2 signature (EVM_IMA_XATTR_DIGSIG, digsig v2,
 * struct signature_v2_hdr, big-endian): u8 type 3 | u8 version 2 |
 * u8 hash algo (HASH_ALGO_*) | u32 keyid | u16 size | signature.
 * Errors: ADY_ERR_TRUNCATED, ADY_ERR_UNSUPPORTED (another type/version),
 * ADY_ERR_MALFORMED (size disagrees with the length).
 */
typedef struct ady_ima_sigv2 {
	uint8_t hash_algo;          /* kernel HASH_ALGO_*: 2 sha1, 4 sha256, 5 sha384, 6 sha512 */
	uint32_t keyid;             /* last 4 bytes of the key's SHA-1 SKID */
	const uint8_t *sig;
	uint16_t sig_len;
} ady_ima_sigv2;

ADY_MUST_CHECK ady_err ady_ima_sigv2_decode(const uint8_t *p, size_t len, ady_ima_sigv2 *out);

/*
 * TPMT_SIGNATURE (TPM 2.0 Part 2, 11.3.4; big-endian), as tpm2_quote writes
 * it: u16 sigAlg | u16 hashAlg | RSASSA: TPM2B signature;
 * ECDSA: TPM2B r, TPM2B s.  Only SHA-256 signatures are accepted.
 * Errors: ADY_ERR_TRUNCATED, ADY_ERR_UNSUPPORTED (another scheme or hash),
 * ADY_ERR_MALFORMED (trailing bytes, empty or oversized fields).
 */
#define ADY_TPM_ALG_RSASSA 0x0014
#define ADY_TPM_ALG_ECDSA 0x0018
#define ADY_TPM_ALG_SHA256 0x000b

typedef struct ady_tpmt_signature {
	uint16_t sig_alg;
	uint16_t hash_alg;
	const uint8_t *a;   /* RSASSA: the signature; ECDSA: r */
	uint16_t a_len;
	const uint8_t *b;   /* ECDSA: s; RSASSA: NULL */
	uint16_t b_len;
} ady_tpmt_signature;

ADY_MUST_CHECK ady_err ady_tpmt_signature_decode(const uint8_t *p, size_t len, ady_tpmt_signature *out);

#ifdef __cplusplus
}
#endif
#endif
