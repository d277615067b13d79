/*
 * kv.c - "key = value" lines, shared by config.c, policy.c and vpolicy.c
 * (contract in internal.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "internal.h"

static bool is_space(uint8_t ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }
static bool is_digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }
static bool is_keych(uint8_t ch) { return (ch >= 'a' && ch <= 'z') || ch == '_' || is_digit(ch); }

/* see internal.h */
void ady_kv_init(ady_kv *kv, const char *text, size_t len, uint8_t *buf, size_t cap)
{
	ady_cur_init(&kv->cur, text, len);
	kv->buf = buf;
	kv->cap = cap;
	kv->line = 0;
	kv->err = ADY_OK;
	kv->qualified = false;
	kv->qual = (ady_kv_span){ NULL, 0 };
}

/* Reads one line into buf, up to and without its '\n' and comment.
 * false if it is too long or holds a byte no value may hold; the rest of
 * the line is consumed either way. */
static bool read_line(ady_kv *kv, size_t *n)
{
	bool comment = false, bad = false;
	uint8_t ch;

	*n = 0;
	while (ady_cur_left(&kv->cur) > 0) {
		if (ady_cur_u8(&kv->cur, &ch))
			return false;
		if (ch == '\n')
			break;
		if (ch == '#')
			comment = true;
		if (comment)
			continue;
		/* NUL and other control bytes never belong in a value. */
		if ((ch < 0x20 && !is_space(ch)) || ch == 0x7f)
			bad = true;
		else if (*n < kv->cap)
			kv->buf[(*n)++] = ch;
		else
			bad = true;
	}
	return !bad;
}

/* Splits one line's content; key->n == 0 for a blank line. */
static bool split_line(const uint8_t *s, size_t n, bool qualified, ady_kv_span *key, ady_kv_span *qual,
		       ady_kv_span *val)
{
	size_t i = 0, k0, k1, v0;

	key->n = 0;
	qual->n = 0;
	while (i < n && is_space(s[i]))
		i++;
	if (i == n)
		return true;
	k0 = i;
	while (i < n && is_keych(s[i]))
		i++;
	k1 = i;
	while (i < n && is_space(s[i]))
		i++;
	if (qualified && i < n && is_keych(s[i]) && k1 > k0) {
		size_t q0 = i;
		while (i < n && is_keych(s[i]))
			i++;
		*qual = (ady_kv_span){ s + q0, i - q0 };
		while (i < n && is_space(s[i]))
			i++;
	}
	if (k1 == k0 || i == n || s[i] != '=')
		return false;
	i++;
	while (i < n && is_space(s[i]))
		i++;
	v0 = i;
	while (i < n && !is_space(s[i]))
		i++;
	*val = (ady_kv_span){ s + v0, i - v0 };
	while (i < n && is_space(s[i]))
		i++;
	if (i != n)
		return false;
	*key = (ady_kv_span){ s + k0, k1 - k0 };
	return true;
}

/* see internal.h */
bool ady_kv_next(ady_kv *kv, ady_kv_span *key, ady_kv_span *val)
{
	size_t n;

	while (!kv->err && ady_cur_left(&kv->cur) > 0) {
		kv->line++;
		if (!read_line(kv, &n) || !split_line(kv->buf, n, kv->qualified, key, &kv->qual, val)) {
			kv->err = ADY_ERR_CONFIG;
			return false;
		}
		if (key->n)
			return true;
	}
	return false;
}

/* see internal.h */
bool ady_kv_is(ady_kv_span v, const char *lit)
{
	size_t n = strlen(lit);

	return v.n == n && memcmp(v.s, lit, n) == 0;
}

/* see internal.h */
bool ady_kv_bool(ady_kv_span v, bool *out)
{
	if (ady_kv_is(v, "yes"))
		*out = true;
	else if (ady_kv_is(v, "no"))
		*out = false;
	else
		return false;
	return true;
}

/* see internal.h */
bool ady_kv_number(ady_kv_span v, bool size, uint64_t max, uint64_t *out)
{
	uint64_t x = 0, mul = 1;
	size_t i = 0;

	if (v.n == 0 || !is_digit(v.s[0]))
		return false;
	for (; i < v.n && is_digit(v.s[i]); i++) {
		if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, (uint64_t)(v.s[i] - '0'), &x))
			return false;
	}
	if (i < v.n && size) {
		switch (v.s[i]) {
		case 'K': mul = 1ull << 10; break;
		case 'M': mul = 1ull << 20; break;
		case 'G': mul = 1ull << 30; break;
		default: return false;
		}
		i++;
	}
	if (i != v.n || __builtin_mul_overflow(x, mul, &x) || x > max)
		return false;
	*out = x;
	return true;
}

/* see internal.h */
bool ady_kv_hex(ady_kv_span v, uint8_t *out, size_t n)
{
	return ady_hex_decode((const char *)v.s, v.n, out, n) == 1;
}
