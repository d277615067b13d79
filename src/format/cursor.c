/*
 * cursor.c - the bounded reader of untrusted bytes and the bounded writer
 * of encodings (adyton/cursor.h).
 */
#include <string.h>

#include "adyton/cursor.h"

/* The first failure wins: later reads report the original cause. */
static ady_err fail(ady_cur *c, ady_err err)
{
	if (!c->err)
		c->err = err;
	return c->err;
}

/* see adyton/cursor.h */
void ady_cur_init(ady_cur *c, const void *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
	c->off = 0;
	/* A NULL buffer with a length is a caller bug; make every read fail
	 * rather than dereference it. */
	c->err = (!p && len) ? ADY_ERR_INVALID_ARG : ADY_OK;
}

/* see adyton/cursor.h */
ady_err ady_cur_sub(const ady_cur *c, uint64_t off, uint64_t len, ady_cur *out)
{
	uint64_t end;

	if (c->err) {
		ady_cur_init(out, NULL, 0);
		out->err = c->err;
		return c->err;
	}
	if (__builtin_add_overflow(off, len, &end) || end > c->len) {
		ady_cur_init(out, NULL, 0);
		out->err = ADY_ERR_RANGE;
		return ADY_ERR_RANGE;
	}
	ady_cur_init(out, c->p + off, (size_t)len);
	return ADY_OK;
}

/* Reserves n bytes and returns where they start, or NULL after failing. */
static const uint8_t *take(ady_cur *c, size_t n)
{
	const uint8_t *q;

	if (c->err)
		return NULL;
	if (n > c->len - c->off) {
		fail(c, ADY_ERR_TRUNCATED);
		return NULL;
	}
	q = c->p + c->off;
	c->off += n;
	return q;
}

/* see adyton/cursor.h */
ady_err ady_cur_u8(ady_cur *c, uint8_t *v)
{
	const uint8_t *q = take(c, 1);

	*v = q ? q[0] : 0;
	return c->err;
}

/* see adyton/cursor.h */
ady_err ady_cur_u16le(ady_cur *c, uint16_t *v)
{
	const uint8_t *q = take(c, 2);

	*v = q ? (uint16_t)(q[0] | (uint16_t)q[1] << 8) : 0;
	return c->err;
}

/* see adyton/cursor.h */
ady_err ady_cur_u32le(ady_cur *c, uint32_t *v)
{
	const uint8_t *q = take(c, 4);
	uint32_t x = 0;

	if (q) {
		for (int i = 3; i >= 0; i--)
			x = x << 8 | q[i];
	}
	*v = x;
	return c->err;
}

/* see adyton/cursor.h */
ady_err ady_cur_u64le(ady_cur *c, uint64_t *v)
{
	const uint8_t *q = take(c, 8);
	uint64_t x = 0;

	if (q) {
		for (int i = 7; i >= 0; i--)
			x = x << 8 | q[i];
	}
	*v = x;
	return c->err;
}

/* see adyton/cursor.h */
ady_err ady_cur_bytes(ady_cur *c, void *out, size_t n)
{
	const uint8_t *q = take(c, n);

	if (n == 0)
		return c->err;
	if (q)
		memcpy(out, q, n);
	else
		memset(out, 0, n);
	return c->err;
}

/* see adyton/cursor.h */
ady_err ady_cur_skip(ady_cur *c, size_t n)
{
	(void)take(c, n);
	return c->err;
}

/* see adyton/cursor.h */
ady_err ady_cur_seek(ady_cur *c, uint64_t off)
{
	if (c->err)
		return c->err;
	if (off > c->len)
		return fail(c, ADY_ERR_RANGE);
	c->off = (size_t)off;
	return ADY_OK;
}

/* see adyton/cursor.h */
ady_err ady_cur_zeros(ady_cur *c, size_t n)
{
	const uint8_t *q = take(c, n);
	uint8_t acc = 0;

	if (!q)
		return c->err;
	for (size_t i = 0; i < n; i++)
		acc |= q[i];
	if (acc)
		return fail(c, ADY_ERR_MALFORMED);
	return ADY_OK;
}

/* ---- the bounded writer --------------------------------------------- */

/* see adyton/cursor.h */
uint8_t *ady_wr_reserve(ady_wr *w, size_t n)
{
	uint8_t *q = ady_wr_take_(w, n);

	if (q && n)
		memset(q, 0, n);
	return q;
}

/* see adyton/cursor.h */
uint8_t *ady_wr_at(ady_wr *w, size_t off, size_t n)
{
	size_t end;

	if (w->err || __builtin_add_overflow(off, n, &end) || end > w->len)
		return NULL;
	return w->p + off;
}

/* see adyton/cursor.h */
void ady_wr_cut(ady_wr *w, size_t off, size_t n)
{
	size_t end;

	if (w->err)
		return;
	if (__builtin_add_overflow(off, n, &end) || end > w->len) {
		ady_wr_fail(w, ADY_ERR_RANGE);
		return;
	}
	if (n)
		memmove(w->p + off, w->p + end, w->len - end);
	w->len -= n;
}

/* ---- hex, comparison, wiping ----------------------------------------- */

/* see adyton/cursor.h */
void ady_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* see adyton/cursor.h */
int ady_hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (n > SIZE_MAX / 2 || len != 2 * n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

/* see adyton/cursor.h */
int ady_memeq_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= (uint8_t)(x[i] ^ y[i]);
	/* Branch-free: 1 iff acc == 0. */
	return (int)(1 & (((uint32_t)acc - 1) >> 8));
}

/* see adyton/cursor.h */
void ady_wipe(void *p, size_t n)
{
	if (!p || !n)
		return;
	memset(p, 0, n);
	/* The barrier tells the compiler the zeroed bytes are observed, so
	 * the memset of a buffer about to die is not removed. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}
