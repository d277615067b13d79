/*
 * keyguard.h - what the key guard's enclave, its nbdkit filter and the
 * adyton-keyguard tool agree on: ECALL numbers and their byte layouts,
 * the unlock envelope, the native volume header, the unlock socket.
 * All integers little-endian.
 */
#ifndef ADYTON_KEYGUARD_H
#define ADYTON_KEYGUARD_H

#include <stdint.h>

/* ---- ECALLs ----
 * Every control ECALL answers ADY_OK with a u32 KG_ST_* status first:
 * ady_err is for the call itself, the status for what the enclave found. */
enum {
	KG_E_PUBKEY = 0,      /* out: the enclave's ephemeral P-256 key, 65 bytes (SEC1 uncompressed) */
	KG_E_CREATE = 1,      /* in: u32 sector, u32 iterations, u64 size, envelope; out: status, header */
	KG_E_OPEN_NATIVE = 2, /* in: u32 hdr_len, header, envelope; out: status, u32 sector, u64 size */
	KG_E_OPEN_LUKS1 = 3,  /* in: u32 slot, phdr (592), key material, envelope; out: status, u32 payload */
	KG_E_OPEN_PLAIN = 4,  /* in: u32 sector, envelope of the 64-byte key; out: status */
	KG_E_LOCK = 5,        /* forgets the volume key; out: status */
	KG_E_CRYPT = 6,       /* bulk, in place: data || ctl (KG_CTL_SIZE); out: the data */
	KG_E_QUOTE = 7,       /* in: the verifier's 32-byte nonce; out: a quote (adyton/quote.h) whose
			       * report_data is kg_quote_binding(enclave_pub) || 32 zero bytes */
	KG_E_COUNT
};

enum {
	KG_ST_OK = 0,
	KG_ST_WRONG_PASSWORD = 1, /* the password does not open this volume (or key slot) */
	KG_ST_SEAL = 2,           /* the sealed header does not unseal: other machine, other enclave */
	KG_ST_BAD_HEADER = 3,     /* the header is malformed */
	KG_ST_BAD_ENVELOPE = 4,   /* the envelope does not decrypt (not for this enclave instance) */
	KG_ST_UNSUPPORTED = 5,    /* a parameter the key guard does not implement */
	KG_ST_ALREADY = 6,        /* a volume is already open in this enclave */
	KG_ST_LOCKED = 7,         /* no volume open */
};

/* KG_E_CRYPT control block, the last 16 bytes of the input: u64 first
 * sector, u32 op, u32 zero.  Data: whole sectors of the open volume. */
#define KG_CTL_SIZE 16u
enum { KG_OP_ENCRYPT = 1, KG_OP_DECRYPT = 2 };

/* ---- unlock envelope ----
 * tool_pub (65) || nonce (12) || AES-256-GCM(secret) || tag (16), with
 *   key = SHA-256("adyton-keyguard/1" || ECDH-X(tool, enclave) || enclave_pub || tool_pub)
 *   AAD = "adyton-keyguard/1" || purpose (1 byte) || enclave_pub
 * The secret is the password (KG_PURPOSE_PASSWORD) or, for plain
 * volumes, the 64-byte XTS key (KG_PURPOSE_RAWKEY). */
#define KG_LABEL "adyton-keyguard/1"
#define KG_PUB_SIZE 65u
#define KG_NONCE_SIZE 12u
#define KG_TAG_SIZE 16u
#define KG_ENV_OVERHEAD (KG_PUB_SIZE + KG_NONCE_SIZE + KG_TAG_SIZE)
#define KG_SECRET_MAX 1024u
#define KG_ENV_MAX (KG_ENV_OVERHEAD + KG_SECRET_MAX)
enum { KG_PURPOSE_PASSWORD = 1, KG_PURPOSE_RAWKEY = 2 };

/* ---- native volume header (a file next to the volume) ----
 *   0  magic "ADYKGVH1"  8
 *   8  version           u32  1
 *   12 sector_size       u32  512 or 4096
 *   16 iterations        u32  PBKDF2-HMAC-SHA256 rounds
 *   20 policy            u32  ADY_SEAL_* the blob is sealed under
 *   24 volume_size       u64  bytes
 *   32 sealed_len        u32
 *   36 zero              28
 *   64 sealed blob: AAD = bytes 0..32 above, text = salt (32) || verifier (32)
 * verifier = HMAC-SHA256(volume key, "adyton-keyguard verifier/1"). */
#define KG_HDR_MAGIC "ADYKGVH1"
#define KG_HDR_FIXED 64u
#define KG_HDR_AAD 32u
#define KG_HDR_MAX 1024u
#define KG_SALT_SIZE 32u
#define KG_MIN_ITERATIONS 1000u
#define KG_DEFAULT_ITERATIONS 600000u

/* ---- unlock socket (filter <-> adyton-keyguard unlock) ----
 * filter: "KGU1" || u8 volume type || enclave_pub (65)
 * tool, to attest first (optional, once):
 *         u32 KG_SOCK_QUOTE || nonce (32)
 * filter: u32 ady_err || u32 quote_len (<= KG_QUOTE_MAX) || quote (KG_E_QUOTE)
 * tool:   u32 env_len || envelope
 * filter: u32 status (KG_ST_*) || u32 ady_err */
#define KG_SOCK_MAGIC "KGU1"
#define KG_SOCK_QUOTE 0xffffffffu
#define KG_QUOTE_MAX 8192u /* = ADY_QUOTE_MAX */
/* What binds the enclave's unlock key to its quote: the first 32 bytes of
 * report_data are SHA-256(KG_QUOTE_LABEL || enclave_pub). */
#define KG_QUOTE_LABEL "adyton-keyguard/1 unlock key"
enum { KG_TYPE_NATIVE = 1, KG_TYPE_LUKS1 = 2, KG_TYPE_PLAIN = 3 };

#endif
