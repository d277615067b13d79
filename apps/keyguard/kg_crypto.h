/*
 * kg_crypto.h - the key guard's sector crypto, compiled into the enclave
 * and, for tests and benchmarks, into host programs.
 *
 * AES-XTS-256 (IEEE 1619) on AES-NI intrinsics: BearSSL has no XTS mode.
 * Data units are whole sectors (512 or 4096 bytes, multiples of the AES
 * block), so ciphertext stealing never happens; the tweak of a sector is
 * its number as a 64-bit little-endian integer padded with zeros to 16
 * bytes (dm-crypt's "plain64").
 *
 * PBKDF2-HMAC-SHA256 (RFC 8018) on BearSSL's HMAC/SHA-256: BearSSL has no
 * PBKDF2 either.  The LUKS1 anti-forensic merge (AFmerge, LUKS1 on-disk
 * format specification, section 2.4) with SHA-256 diffusion.
 *
 * No allocation; contexts are caller-owned; kg_xts_wipe() before freeing.
 */
#ifndef ADYTON_KG_CRYPTO_H
#define ADYTON_KG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define KG_XTS_KEY_SIZE 64u /* key1 (data) || key2 (tweak), 256 bits each */

typedef struct kg_xts {
	_Alignas(16) uint8_t ek[15 * 16]; /* data key, encryption schedule */
	_Alignas(16) uint8_t dk[15 * 16]; /* data key, equivalent-inverse schedule */
	_Alignas(16) uint8_t tk[15 * 16]; /* tweak key, encryption schedule */
} kg_xts;

/* 1 when this CPU has AES-NI (and SSE4.1), else 0: kg_xts_* need it. */
int kg_xts_supported(void);

/*
 * For tests and benchmarks: limits kg_xts_encrypt/decrypt to one code
 * path, 0 AES-NI (8 blocks in flight), 1 VAES on AVX2 registers, 2 VAES
 * on AVX-512 registers, or -1 the best this CPU has (the default; a path
 * the CPU lacks falls back to the best it has).  Returns the path now in
 * use.  Not thread-safe against concurrent en/decryption.
 */
int kg_xts_select(int path);

/* Expands key (key1 || key2).  key1 == key2 is refused by IEEE 1619-2018
 * but allowed here: LUKS volumes made elsewhere must still open. */
void kg_xts_init(kg_xts *x, const uint8_t key[static KG_XTS_KEY_SIZE]);
void kg_xts_wipe(kg_xts *x);

/*
 * En/decrypts len bytes (a multiple of sector_size; sector_size a
 * multiple of 16) from src to dst, sector by sector, the first with tweak
 * number `sector`, the next sector + 1, ...  dst == src is fine (each
 * 16-byte block is loaded once before its result is stored); other
 * overlaps are not.
 */
void kg_xts_encrypt(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst, const uint8_t *src,
		    size_t len);
void kg_xts_decrypt(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst, const uint8_t *src,
		    size_t len);

/* PBKDF2-HMAC-SHA256: out_len bytes from password, salt, iterations (>= 1). */
void kg_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
		      uint32_t iterations, uint8_t *out, size_t out_len);

/* LUKS1 AFmerge with SHA-256: key_len bytes of key from stripes * key_len
 * bytes of split material.  stripes >= 1. */
void kg_af_merge(const uint8_t *material, size_t key_len, uint32_t stripes, uint8_t *key);

/* The inverse (AFsplit), for tests: random must hold (stripes - 1) *
 * key_len bytes; material gets stripes * key_len bytes. */
void kg_af_split(const uint8_t *key, size_t key_len, uint32_t stripes, const uint8_t *random, uint8_t *material);

#endif
