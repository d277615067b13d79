/*
 * src/format/internal.h - helpers shared by the format modules.  Not
 * installed; freestanding-safe.
 */
#ifndef ADYTON_FORMAT_INTERNAL_H
#define ADYTON_FORMAT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/sgx.h"

/* The packed ABI structs in adyton/sgx.h and adyton/layout.h mirror
 * little-endian bytes; adyton targets x86-64 only. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "adyton formats assume a little-endian host");

#define ADY_PAGE_MASK ((uint64_t)ADY_PAGE_SIZE - 1)

static inline uint64_t page_down(uint64_t v) { return v & ~ADY_PAGE_MASK; }

/* Callers guarantee v <= UINT64_MAX - ADY_PAGE_MASK (values below 2^36). */
static inline uint64_t page_up(uint64_t v) { return (v + ADY_PAGE_MASK) & ~ADY_PAGE_MASK; }

static inline bool page_aligned(uint64_t v) { return (v & ADY_PAGE_MASK) == 0; }

/*
 * Value-returning reads for runs of fields checked once at the end with
 * ady_cur_err(): the cursor's error is sticky, and gcc does not let a
 * (void) cast discard a warn_unused_result value.  0 after an error.
 */
static inline uint8_t get_u8(ady_cur *c) { uint8_t v; return ady_cur_u8(c, &v) ? 0 : v; }
static inline uint16_t get_u16(ady_cur *c) { uint16_t v; return ady_cur_u16le(c, &v) ? 0 : v; }
static inline uint32_t get_u32(ady_cur *c) { uint32_t v; return ady_cur_u32le(c, &v) ? 0 : v; }
static inline uint64_t get_u64(ady_cur *c) { uint64_t v; return ady_cur_u64le(c, &v) ? 0 : v; }
static inline void get_bytes(ady_cur *c, void *out, size_t n) { if (ady_cur_bytes(c, out, n)) return; }
static inline void get_skip(ady_cur *c, size_t n) { if (ady_cur_skip(c, n)) return; }

/* The opening of a decoder: *out (size bytes) zeroed, so that a failure
 * never leaves half a value behind, then a cursor over [buf, buf+len).
 * ADY_ERR_INVALID_ARG for a NULL out, or a NULL buf with a length. */
static inline ady_err decode_open(ady_cur *c, const void *buf, size_t len, void *out, size_t size)
{
	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, size);
	if (!buf && len)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(c, buf, len);
	return ADY_OK;
}

/* Shared by config.c and meta.c: the range rules of adyton/config.h. */
bool ady_config_heap_ok(uint64_t v);
bool ady_config_stack_ok(uint64_t v);
bool ady_config_msbuf_ok(uint64_t v);
bool ady_config_threads_ok(uint64_t v);

/*
 * "key = value" text, the shared line handling of config.c, policy.c and
 * vpolicy.c.  One setting a line; '#' starts a comment wherever it stands,
 * so no value holds a '#'.  Blanks are space, tab and CR (so CRLF works);
 * a line that is blank after its comment is cut off is skipped.  Otherwise
 * the line is: blanks, a key of [a-z0-9_]+, blanks, '=', blanks, a value
 * (one run of non-blank bytes, possibly empty), blanks.  A line is
 * malformed if it is not of that shape, if its content before any comment
 * is longer than the caller's buffer, or if that content holds a control
 * byte other than tab and CR, or DEL (NUL never reaches a value).
 */
typedef struct ady_kv_span {
	const uint8_t *s;
	size_t n;
} ady_kv_span;

typedef struct ady_kv {
	ady_cur cur;
	uint8_t *buf; /* caller's, cap bytes: the current line's content */
	size_t cap;
	unsigned line; /* 1-based number of the line last read, 0 before any */
	ady_err err;   /* sticky: the first malformed line */
	bool qualified; /* set by the caller: "key word = value" lines allowed */
	ady_kv_span qual; /* of the setting just read: its word, or n == 0 */
} ady_kv;

/* text may be NULL only when len is 0.  buf (cap bytes) holds the current
 * line; cap is the longest content a line may have. */
void ady_kv_init(ady_kv *kv, const char *text, size_t len, uint8_t *buf, size_t cap);

/*
 * Reads up to the next setting.  With kv->qualified, a key may be followed
 * by one word of key characters before the '=' ("tenant acme = ..."): it is
 * kv->qual until the next call (n == 0 when there is none).  true: *key (never empty) and *val (maybe
 * empty) point into the caller's buffer until the next call, kv->line is
 * their line.  false at the end of the text, kv->line then being the
 * number of lines (a last line without '\n' counts), or on a malformed
 * line, which kv->line names and ady_kv_err() reports as ADY_ERR_CONFIG.
 */
bool ady_kv_next(ady_kv *kv, ady_kv_span *key, ady_kv_span *val);

/* Makes a setting the caller rejects a sticky ADY_ERR_CONFIG of its line. */
static inline void ady_kv_fail(ady_kv *kv) { kv->err = ADY_ERR_CONFIG; }
static inline ady_err ady_kv_err(const ady_kv *kv) { return kv->err; }

/* v is exactly the string lit. */
bool ady_kv_is(ady_kv_span v, const char *lit);
/* "yes" or "no"; *out untouched otherwise. */
bool ady_kv_bool(ady_kv_span v, bool *out);
/* Decimal digits, with size a K/M/G suffix (2^10/2^20/2^30), at most max;
 * every step overflow-checked.  *out untouched on failure. */
bool ady_kv_number(ady_kv_span v, bool size, uint64_t max, uint64_t *out);
/* Exactly 2*n hex digits of either case; out may be partly written on
 * failure. */
bool ady_kv_hex(ady_kv_span v, uint8_t *out, size_t n);

#endif
