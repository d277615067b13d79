/*
 * adyton/luks1.h - the LUKS1 partition header (LUKS On-Disk Format
 * Specification 1.2.3, section 2.4), as `cryptsetup luksFormat --type
 * luks1` writes it.  Freestanding-safe, no allocation: parsed inside the
 * key guard enclave from bytes the application hands it.
 *
 * Layout (big-endian, packed, 592 bytes at offset 0 of the device):
 *   0   magic            6   "LUKS\xba\xbe"
 *   6   version          u16 1
 *   8   cipher_name      32  NUL-terminated, e.g. "aes"
 *   40  cipher_mode      32  e.g. "xts-plain64"
 *   72  hash_spec        32  e.g. "sha256"
 *   104 payload_offset   u32 sectors (512 bytes) before the encrypted data
 *   108 key_bytes        u32 volume key length
 *   112 mk_digest        20  PBKDF2(volume key, mk_digest_salt, mk_digest_iter)
 *   132 mk_digest_salt   32
 *   164 mk_digest_iter   u32
 *   168 uuid             40  NUL-terminated text
 *   208 key slots        8 x 48: active u32, iterations u32, salt 32,
 *                        key_material_offset u32 (sectors), stripes u32
 */
#ifndef ADYTON_LUKS1_H
#define ADYTON_LUKS1_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_LUKS1_PHDR_SIZE 592u
#define ADY_LUKS1_SECTOR 512u
#define ADY_LUKS1_SLOTS 8u
#define ADY_LUKS1_STRIPES 4000u
#define ADY_LUKS1_SLOT_ENABLED 0x00ac71f3u
#define ADY_LUKS1_SLOT_DISABLED 0x0000deadu
#define ADY_LUKS1_DIGEST_SIZE 20u
#define ADY_LUKS1_SALT_SIZE 32u
#define ADY_LUKS1_KEY_BYTES 64u /* aes-xts-plain64 with two AES-256 keys */

typedef struct ady_luks1_slot {
	uint32_t active; /* ADY_LUKS1_SLOT_ENABLED or _DISABLED */
	uint32_t iterations;
	uint8_t salt[ADY_LUKS1_SALT_SIZE];
	uint32_t material_offset; /* sectors */
	uint32_t stripes;
} ady_luks1_slot;

typedef struct ady_luks1_hdr {
	char cipher_name[32]; /* NUL-terminated */
	char cipher_mode[32];
	char hash_spec[32];
	uint32_t payload_offset; /* sectors */
	uint32_t key_bytes;
	uint8_t mk_digest[ADY_LUKS1_DIGEST_SIZE];
	uint8_t mk_digest_salt[ADY_LUKS1_SALT_SIZE];
	uint32_t mk_digest_iter;
	char uuid[40]; /* NUL-terminated */
	ady_luks1_slot slot[ADY_LUKS1_SLOTS];
} ady_luks1_hdr;

/*
 * Decodes and validates the first ADY_LUKS1_PHDR_SIZE bytes of p (len may
 * be larger; the rest is not read), each byte once, into *out.  Strict:
 *   - ADY_ERR_TRUNCATED: len < ADY_LUKS1_PHDR_SIZE;
 *   - ADY_ERR_MALFORMED: wrong magic, a text field without its NUL, a NUL
 *     followed by non-zero bytes, a key slot state that is neither enabled
 *     nor disabled, zero iterations, an enabled slot with stripes other
 *     than 4000, key material that starts inside the header (sector 0),
 *     runs into the payload or overlaps another slot's, a payload offset of
 *     0, key_bytes 0 or above 64, no enabled slot;
 *   - ADY_ERR_UNSUPPORTED: version other than 1 or a cipher other than
 *     aes / xts-plain64 / sha256 with 64 key bytes (what the key guard
 *     implements).
 * *out is zeroed on failure.
 */
ADY_MUST_CHECK ady_err ady_luks1_decode(const uint8_t *p, size_t len, ady_luks1_hdr *out);

/* Bytes of key material of one slot: key_bytes * stripes rounded up to
 * whole sectors (how cryptsetup lays it out).  For a decoded header. */
uint64_t ady_luks1_material_size(const ady_luks1_hdr *h, const ady_luks1_slot *s);

#ifdef __cplusplus
}
#endif
#endif
