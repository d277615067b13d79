/*
 * vpolicy.c - a quote verifier's policy (adyton/vpolicy.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/vpolicy.h"

/* Room for "tpm_ca = " and a maximal path. */
#define LINE_MAX_CONTENT (ADY_VPOLICY_MAX_PATH + 32u)

typedef struct span {
	const uint8_t *s;
	size_t n;
} span;

static bool is_space(uint8_t ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }
static bool is_keych(uint8_t ch) { return (ch >= 'a' && ch <= 'z') || ch == '_'; }

static bool span_is(span v, const char *lit)
{
	size_t n = strlen(lit);

	return v.n == n && memcmp(v.s, lit, n) == 0;
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Exactly 2*n hex digits. */
static bool parse_hex(span v, uint8_t *out, size_t n)
{
	if (v.n != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(v.s[2 * i]), lo = hexval(v.s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Decimal, 1..5 digits, <= max. */
static bool parse_u16(span v, uint32_t max, uint16_t *out)
{
	uint32_t x = 0;

	if (v.n == 0 || v.n > 5)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (v.s[i] < '0' || v.s[i] > '9')
			return false;
		x = x * 10 + (uint32_t)(v.s[i] - '0');
	}
	if (x > max)
		return false;
	*out = (uint16_t)x;
	return true;
}

/* Splits v at the first ':' into a and the rest. */
static bool split(span v, span *a, span *rest)
{
	for (size_t i = 0; i < v.n; i++) {
		if (v.s[i] == ':') {
			*a = (span){v.s, i};
			*rest = (span){v.s + i + 1, v.n - i - 1};
			return true;
		}
	}
	return false;
}

static bool parse_bool(span v, bool *out)
{
	if (span_is(v, "yes"))
		*out = true;
	else if (span_is(v, "no"))
		*out = false;
	else
		return false;
	return true;
}

static bool set_allow_debug(ady_vpolicy *p, span v) { return parse_bool(v, &p->allow_debug); }
static bool set_allow_sim(ady_vpolicy *p, span v) { return parse_bool(v, &p->allow_sim); }

static bool add_mrenclave(ady_vpolicy *p, span v)
{
	return p->nmrenclave < ADY_VPOLICY_MAX && parse_hex(v, p->mrenclave[p->nmrenclave++], 32);
}

static bool add_signer(ady_vpolicy *p, span v)
{
	span hash, rest, prod, svn;
	ady_vpolicy_signer *s;

	if (p->nsigner >= ADY_VPOLICY_MAX || !split(v, &hash, &rest) || !split(rest, &prod, &svn))
		return false;
	s = &p->signer[p->nsigner++];
	return parse_hex(hash, s->mrsigner, 32) && parse_u16(prod, 0xffff, &s->isvprodid) &&
	       parse_u16(svn, 0xffff, &s->min_isvsvn);
}

static bool add_platform(ady_vpolicy *p, span v)
{
	return p->nplatform < ADY_VPOLICY_MAX && parse_hex(v, p->platform_key[p->nplatform++], 64);
}

static bool add_ca(ady_vpolicy *p, span v)
{
	if (p->nca >= ADY_VPOLICY_MAX_CA || v.n == 0 || v.n >= ADY_VPOLICY_MAX_PATH)
		return false;
	memcpy(p->tpm_ca[p->nca], v.s, v.n);
	p->tpm_ca[p->nca][v.n] = '\0';
	p->nca++;
	return true;
}

static bool add_pcr(ady_vpolicy *p, span v)
{
	span idx, val;
	uint16_t i;

	if (!split(v, &idx, &val) || !parse_u16(idx, 23, &i) || (p->pcr_mask >> i & 1u))
		return false;
	p->pcr_mask |= 1u << i;
	return parse_hex(val, p->pcr[i], 32);
}

static const struct {
	const char *name;
	bool repeatable;
	bool (*set)(ady_vpolicy *, span);
} keys[] = {
	{"mrenclave", true, add_mrenclave},     {"signer", true, add_signer},
	{"allow_debug", false, set_allow_debug}, {"allow_sim", false, set_allow_sim},
	{"platform_key", true, add_platform},   {"tpm_ca", true, add_ca},
	{"pcr", true, add_pcr},
};

static bool parse_line(const uint8_t *s, size_t n, ady_vpolicy *p, uint32_t *seen)
{
	size_t i = 0, k0, k1;
	span key, val;

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
	val.s = s + i;
	while (i < n && !is_space(s[i]))
		i++;
	val.n = (size_t)(s + i - val.s);
	while (i < n && is_space(s[i]))
		i++;
	if (i != n)
		return false;
	key.s = s + k0;
	key.n = k1 - k0;
	for (uint32_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!span_is(key, keys[k].name))
			continue;
		if (!keys[k].repeatable && (*seen & (1u << k)))
			return false;
		*seen |= 1u << k;
		return keys[k].set(p, val);
	}
	return false;
}

/* see adyton/vpolicy.h */
ady_err ady_vpolicy_parse(const char *text, size_t len, ady_vpolicy *out, unsigned *line)
{
	static const ady_vpolicy zero;
	ady_vpolicy tmp = zero;
	unsigned lineno = 0;
	uint32_t seen = 0;
	ady_cur c;

	if (line)
		*line = 0;
	if (!out || (!text && len))
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, text, len);
	while (ady_cur_left(&c) > 0) {
		uint8_t buf[LINE_MAX_CONTENT], ch;
		bool comment = false, bad = false;
		size_t n = 0;

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
			if ((ch < 0x20 && !is_space(ch)) || ch == 0x7f)
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
	/* A policy that names no enclave would accept nothing; say so now
	 * rather than refuse every quote later. */
	if (tmp.nmrenclave == 0 && tmp.nsigner == 0) {
		if (line)
			*line = lineno;
		return ADY_ERR_CONFIG;
	}
	*out = tmp;
	return ADY_OK;
}
