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

/*
 * The bounded writer, the encoding side of the cursor: every encoder of a
 * wire or file format writes through it.  A writer covers [p, p+cap) and a
 * length; every write checks the room left first.  A write that does not
 * fit sets a sticky ADY_ERR_SHORT_BUFFER and writes nothing; later writes
 * write nothing either, but the length keeps counting, so that after the
 * last write ady_wr_len() is the size the whole encoding needs (the
 * short-buffer protocol, adyton/error.h).  A count that would wrap a size_t
 * turns the error into ADY_ERR_OVERFLOW.  A writer over p == NULL, cap 0
 * only counts.  The idiom: a run of writes, one check at the end:
 *     ady_wr_init(&w, buf, cap);
 *     ady_wr_u32le(&w, a); ady_wr_bytes(&w, b, n);
 *     *len = ady_wr_len(&w);
 *     return ady_wr_err(&w);
 */
typedef struct ady_wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	ady_err err;
} ady_wr;

/* Sets the sticky error (the first one stays): for an encoder whose own
 * rule a value breaks (a length over its field's maximum). */
static inline void ady_wr_fail(ady_wr *w, ady_err err)
{
	if (!w->err)
		w->err = err;
}

/* p may be NULL only with cap 0 (else every write fails, ADY_ERR_INVALID_ARG). */
static inline void ady_wr_init(ady_wr *w, void *p, size_t cap)
{
	w->p = (uint8_t *)p;
	w->cap = p ? cap : 0;
	w->len = 0;
	w->err = (!p && cap) ? ADY_ERR_INVALID_ARG : ADY_OK;
}

/* Counts n bytes and returns where they go, or NULL if they do not fit or
 * the writer has failed.  Counting goes on after a short buffer, so that
 * the final length is what the encoding needs.  Inline, with the writes
 * below: encoders of fixed layouts (the marshalling slot header on every
 * ECALL) fold to plain stores. */
static inline uint8_t *ady_wr_take_(ady_wr *w, size_t n)
{
	size_t end;
	uint8_t *q;

	if (w->err && w->err != ADY_ERR_SHORT_BUFFER)
		return NULL;
	if (__builtin_add_overflow(w->len, n, &end)) {
		w->err = ADY_ERR_OVERFLOW;
		return NULL;
	}
	if (w->err || end > w->cap) {
		ady_wr_fail(w, ADY_ERR_SHORT_BUFFER);
		w->len = end;
		return NULL;
	}
	q = w->p + w->len;
	w->len = end;
	return q;
}

static inline void ady_wr_le_(ady_wr *w, uint64_t v, size_t n)
{
	uint8_t *q = ady_wr_take_(w, n);

	if (q)
		for (size_t i = 0; i < n; i++)
			q[i] = (uint8_t)(v >> (8 * i));
}

static inline void ady_wr_u8(ady_wr *w, uint8_t v) { ady_wr_le_(w, v, 1); }
static inline void ady_wr_u16le(ady_wr *w, uint16_t v) { ady_wr_le_(w, v, 2); }
static inline void ady_wr_u32le(ady_wr *w, uint32_t v) { ady_wr_le_(w, v, 4); }
static inline void ady_wr_u64le(ady_wr *w, uint64_t v) { ady_wr_le_(w, v, 8); }

/* s may be NULL when n is 0. */
static inline void ady_wr_bytes(ady_wr *w, const void *s, size_t n)
{
	uint8_t *q = ady_wr_take_(w, n);

	if (q && n)
		__builtin_memcpy(q, s, n);
}

static inline void ady_wr_zero(ady_wr *w, size_t n)
{
	uint8_t *q = ady_wr_take_(w, n);

	if (q && n)
		__builtin_memset(q, 0, n);
}

/* Takes the next n bytes for the caller to fill (a ciphertext, a nested
 * encoding) and returns where they start, or NULL once the writer has
 * failed (the n bytes are counted all the same).  The bytes are zeroed. */
uint8_t *ady_wr_reserve(ady_wr *w, size_t n);
/* The n bytes already written at off, for a field that is known only
 * later (a length, a signature); NULL after a failure or if [off, off+n)
 * is not within what was written. */
uint8_t *ady_wr_at(ady_wr *w, size_t off, size_t n);
/* Removes n written bytes at off, moving what follows down (DER lengths
 * whose size is known only when the element is closed).  Nothing happens
 * after a failure; ADY_ERR_RANGE if [off, off+n) was not written. */
void ady_wr_cut(ady_wr *w, size_t off, size_t n);

/* Bytes written so far, or, after ADY_ERR_SHORT_BUFFER, bytes needed. */
static inline size_t ady_wr_len(const ady_wr *w) { return w->len; }
static inline ady_err ady_wr_err(const ady_wr *w) { return w->err; }

/* Little-endian stores into caller-owned buffers of a fixed size (the
 * encoding side where no writer is needed: one field in place). */
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
