/*
 * config.c - the enclave configuration and its text form (adyton/config.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/config.h"
#include "adyton/cursor.h"
#include "internal.h"

/* The longest meaningful line content ("isvprodid = 65535" and the like
 * are far shorter); comments may be longer, they are not stored. */
#define LINE_MAX_CONTENT 128u

/* see internal.h */
bool ady_config_heap_ok(uint64_t v)
{
	return v >= ADY_PAGE_SIZE && v <= ADY_CONFIG_MAX_HEAP && page_aligned(v);
}

/* see internal.h */
bool ady_config_stack_ok(uint64_t v)
{
	return v >= ADY_PAGE_SIZE && v <= ADY_CONFIG_MAX_STACK && page_aligned(v);
}

/* see internal.h */
bool ady_config_msbuf_ok(uint64_t v)
{
	return v >= ADY_PAGE_SIZE && v <= ADY_CONFIG_MAX_MSBUF && page_aligned(v);
}

/* see internal.h */
bool ady_config_threads_ok(uint64_t v)
{
	return v >= 1 && v <= ADY_MAX_THREADS;
}

/* see adyton/config.h */
void ady_config_defaults(ady_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->heap_size = ADY_CONFIG_DEFAULT_HEAP;
	cfg->stack_size = ADY_CONFIG_DEFAULT_STACK;
	cfg->msbuf_size = ADY_CONFIG_DEFAULT_MSBUF;
	cfg->threads = ADY_CONFIG_DEFAULT_THREADS;
}

/* see adyton/config.h */
ady_err ady_config_validate(const ady_config *cfg)
{
	if (!cfg)
		return ADY_ERR_INVALID_ARG;
	if (!ady_config_heap_ok(cfg->heap_size) || !ady_config_stack_ok(cfg->stack_size) ||
	    !ady_config_msbuf_ok(cfg->msbuf_size) || !ady_config_threads_ok(cfg->threads))
		return ADY_ERR_CONFIG;
	if (cfg->flags & ~(uint32_t)ADY_CONFIG_DEBUG)
		return ADY_ERR_CONFIG;
	return ADY_OK;
}

enum key {
	KEY_HEAP,
	KEY_STACK,
	KEY_THREADS,
	KEY_MSBUF,
	KEY_ISVPRODID,
	KEY_ISVSVN,
	KEY_DEBUG,
	KEY_COUNT_
};

static const struct {
	const char *name;
	bool size; /* accepts a K/M/G suffix */
} keys[KEY_COUNT_] = {
	[KEY_HEAP] = { "heap", true },
	[KEY_STACK] = { "stack", true },
	[KEY_THREADS] = { "threads", false },
	[KEY_MSBUF] = { "msbuf", true },
	[KEY_ISVPRODID] = { "isvprodid", false },
	[KEY_ISVSVN] = { "isvsvn", false },
	[KEY_DEBUG] = { "debug", false },
};

static bool is_space(uint8_t ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }
static bool is_digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }
static bool is_keych(uint8_t ch) { return (ch >= 'a' && ch <= 'z') || ch == '_' || is_digit(ch); }

/* Decimal with an optional K/M/G suffix (sizes only); every step is
 * overflow-checked so "99999999999999999999G" is an error, not a wrap. */
static bool parse_number(const uint8_t *s, size_t n, bool size, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	size_t i = 0;

	if (n == 0 || !is_digit(s[0]))
		return false;
	for (; i < n && is_digit(s[i]); i++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return false;
	}
	if (i < n && size) {
		switch (s[i]) {
		case 'K': mul = 1ull << 10; break;
		case 'M': mul = 1ull << 20; break;
		case 'G': mul = 1ull << 30; break;
		default: return false;
		}
		i++;
	}
	if (i != n)
		return false;
	if (__builtin_mul_overflow(v, mul, &v))
		return false;
	*out = v;
	return true;
}

static bool set_key(ady_config *cfg, enum key k, uint64_t v)
{
	switch (k) {
	case KEY_HEAP:
		cfg->heap_size = v;
		return ady_config_heap_ok(v);
	case KEY_STACK:
		cfg->stack_size = v;
		return ady_config_stack_ok(v);
	case KEY_MSBUF:
		cfg->msbuf_size = v;
		return ady_config_msbuf_ok(v);
	case KEY_THREADS:
		if (!ady_config_threads_ok(v))
			return false;
		cfg->threads = (uint32_t)v;
		return true;
	case KEY_ISVPRODID:
		if (v > UINT16_MAX)
			return false;
		cfg->isvprodid = (uint16_t)v;
		return true;
	case KEY_ISVSVN:
		if (v > UINT16_MAX)
			return false;
		cfg->isvsvn = (uint16_t)v;
		return true;
	case KEY_DEBUG:
		if (v > 1)
			return false;
		cfg->flags = v ? ADY_CONFIG_DEBUG : 0;
		return true;
	default:
		return false;
	}
}

/* One line's content (comment already cut off): blank, or "key = value". */
static bool parse_line(const uint8_t *s, size_t n, ady_config *cfg, unsigned *seen)
{
	size_t i = 0, k0, k1, v0, v1;
	uint64_t v;

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
	if (k1 == k0 || i == n || s[i] != '=')
		return false;
	i++;
	while (i < n && is_space(s[i]))
		i++;
	v0 = i;
	while (i < n && !is_space(s[i]))
		i++;
	v1 = i;
	while (i < n && is_space(s[i]))
		i++;
	if (i != n)
		return false;

	for (unsigned k = 0; k < KEY_COUNT_; k++) {
		size_t kl = strlen(keys[k].name);

		if (kl != k1 - k0 || memcmp(s + k0, keys[k].name, kl) != 0)
			continue;
		if (*seen & (1u << k))
			return false;
		*seen |= 1u << k;
		if (!parse_number(s + v0, v1 - v0, keys[k].size, &v))
			return false;
		return set_key(cfg, (enum key)k, v);
	}
	return false;
}

/* see adyton/config.h */
ady_err ady_config_parse(const char *text, size_t len, ady_config *cfg, unsigned *line)
{
	ady_config tmp;
	ady_cur c;
	unsigned lineno = 0, seen = 0;

	if (line)
		*line = 0;
	if (!cfg || (!text && len))
		return ADY_ERR_INVALID_ARG;
	ady_config_defaults(&tmp);
	ady_cur_init(&c, text, len);

	while (ady_cur_left(&c) > 0) {
		uint8_t buf[LINE_MAX_CONTENT];
		size_t n = 0;
		bool comment = false, bad = false;
		uint8_t ch;

		lineno++;
		while (ady_cur_left(&c) > 0) {
			if (ady_cur_u8(&c, &ch))
				return ADY_ERR_CONFIG;
			if (ch == '\n')
				break;
			if (ch == '#')
				comment = true;
			if (comment)
				continue;
			/* NUL and other control bytes never belong in a value. */
			if (ch < 0x20 && !is_space(ch))
				bad = true;
			else if (n < sizeof(buf))
				buf[n++] = ch;
			else
				bad = true;
		}
		if (bad || !parse_line(buf, n, &tmp, &seen)) {
			if (line)
				*line = lineno;
			return ADY_ERR_CONFIG;
		}
	}
	if (ady_config_validate(&tmp))
		return ADY_ERR_CONFIG;
	*cfg = tmp;
	return ADY_OK;
}
