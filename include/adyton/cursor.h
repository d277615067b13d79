/*
 * adyton/cursor.h - the bounded cursor through which every parser of
 * untrusted bytes reads.  Freestanding-safe, no allocation.
 *
 * A cursor covers [p, p+len) and a read position.  Every read checks the
 * remaining length first; a failed read sets a sticky error, after which
 * every read fails with that same error and leaves its output untouched
 * except for being zeroed.  The compiler insists that each result is
 * used (gcc ignores a (void) cast of a warn_unused_result call), so the
 * idiom is one condition over a chain of reads:
 *     if (ady_cur_u32le(&c, &a) || ady_cur_u64le(&c, &b)) return ady_cur_err(&c);
 */
#ifndef ADYTON_CURSOR_H
#define ADYTON_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ady_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
	ady_err err;
} ady_cur;

void ady_cur_init(ady_cur *c, const void *p, size_t len);

/* A sub-cursor over [off, off+len) of c's whole range (not relative to the
 * read position).  Fails with ADY_ERR_RANGE if it does not fit. */
ADY_MUST_CHECK ady_err ady_cur_sub(const ady_cur *c, uint64_t off, uint64_t len, ady_cur *out);

ADY_MUST_CHECK ady_err ady_cur_u8(ady_cur *c, uint8_t *v);
ADY_MUST_CHECK ady_err ady_cur_u16le(ady_cur *c, uint16_t *v);
ADY_MUST_CHECK ady_err ady_cur_u32le(ady_cur *c, uint32_t *v);
ADY_MUST_CHECK ady_err ady_cur_u64le(ady_cur *c, uint64_t *v);
ADY_MUST_CHECK ady_err ady_cur_bytes(ady_cur *c, void *out, size_t n);
ADY_MUST_CHECK ady_err ady_cur_skip(ady_cur *c, size_t n);
/* Sets the read position to an absolute offset within the range. */
ADY_MUST_CHECK ady_err ady_cur_seek(ady_cur *c, uint64_t off);
/* Fails with ADY_ERR_MALFORMED unless the next n bytes are all zero. */
ADY_MUST_CHECK ady_err ady_cur_zeros(ady_cur *c, size_t n);

static inline size_t ady_cur_left(const ady_cur *c) { return c->err ? 0 : c->len - c->off; }
static inline ady_err ady_cur_err(const ady_cur *c) { return c->err; }

/* Little-endian stores into caller-owned buffers (encoding side). */
static inline void ady_put_u16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void ady_put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ady_put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Hex, lower case on output, either case on input (identities, keys,
 * nonces on command lines and in policies).  ady_hex_encode writes 2n
 * digits and a NUL to out (2n + 1 bytes).  ady_hex_decode decodes exactly
 * 2n digits at s (len must be 2n) into out: 1 on success, 0 on a wrong
 * length or a non-hex byte (out may then be partly written). */
void ady_hex_encode(const uint8_t *p, size_t n, char *out);
int ady_hex_decode(const char *s, size_t len, uint8_t *out, size_t n);

/* Constant-time equality of two n-byte secrets: 1 if equal, else 0. */
int ady_memeq_ct(const void *a, const void *b, size_t n);

/* Overwrites n bytes in a way the compiler does not elide. */
void ady_wipe(void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
