/*
 * policy.c - adytond's launch and provisioning policy (adyton/policy.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/policy.h"
#include "adyton/sgx.h"
#include "internal.h"

#define POLICY_DEFAULT_MAX_ENCLAVES 64u

/* Longer than any meaningful line ("provision = <64 hex>:65535" is 82
 * bytes) with room for alignment; comments are not stored. */
#define LINE_MAX_CONTENT 256u

/* see adyton/policy.h */
void ady_policy_embedded(ady_policy *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->allow_debug = true;
	out->any_signer = true;
	out->max_enclaves = POLICY_DEFAULT_MAX_ENCLAVES;
}

static void policy_defaults(ady_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_enclaves = POLICY_DEFAULT_MAX_ENCLAVES;
}

/* A value: [s, s+n), no spaces inside. */
typedef struct span {
	const uint8_t *s;
	size_t n;
} span;

static bool is_space(uint8_t ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }
static bool is_digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }
static bool is_keych(uint8_t ch) { return (ch >= 'a' && ch <= 'z') || ch == '_' || is_digit(ch); }

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

/* Exactly 64 hex digits, either case. */
static bool parse_hash(span v, uint8_t out[static 32])
{
	if (v.n != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(v.s[2 * i]), lo = hexval(v.s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Decimal, optionally with a K/M/G suffix, every step overflow-checked
 * so "99999999999999999999G" is an error, not a wrap. */
static bool parse_number(span v, bool size, uint64_t max, uint64_t *out)
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

static bool set_allow_debug(ady_policy *p, span v)
{
	if (span_is(v, "yes"))
		p->allow_debug = true;
	else if (span_is(v, "no"))
		p->allow_debug = false;
	else
		return false;
	return true;
}

static bool add_signer(ady_policy *p, span v)
{
	uint8_t h[32];

	if (span_is(v, "any")) {
		/* "any" beside hashes would make the hashes meaningless and
		 * is most likely a mistake; a second "any" likewise. */
		if (p->any_signer || p->nsigners)
			return false;
		p->any_signer = true;
		return true;
	}
	if (p->any_signer || p->nsigners >= ADY_POLICY_MAX_SIGNERS || !parse_hash(v, h))
		return false;
	for (uint32_t i = 0; i < p->nsigners; i++) {
		if (memcmp(p->signers[i], h, 32) == 0)
			return false;
	}
	memcpy(p->signers[p->nsigners], h, 32);
	p->nsigners++;
	return true;
}

static bool add_provision(ady_policy *p, span v)
{
	ady_policy_provision e;
	span hash = v, prod = { NULL, 0 };
	uint64_t id = 0;
	const uint8_t *colon = memchr(v.s, ':', v.n);

	memset(&e, 0, sizeof(e));
	if (colon) {
		hash.n = (size_t)(colon - v.s);
		prod.s = colon + 1;
		prod.n = v.n - hash.n - 1;
		if (!parse_number(prod, false, UINT16_MAX, &id))
			return false;
	}
	if (p->nprovision >= ADY_POLICY_MAX_SIGNERS || !parse_hash(hash, e.mrsigner))
		return false;
	e.any_product = !colon;
	e.isvprodid = (uint16_t)id;
	for (uint32_t i = 0; i < p->nprovision; i++) {
		const ady_policy_provision *q = &p->provision[i];

		if (memcmp(q->mrsigner, e.mrsigner, 32) == 0 && q->any_product == e.any_product &&
		    q->isvprodid == e.isvprodid)
			return false;
	}
	p->provision[p->nprovision++] = e;
	return true;
}

static bool set_max_enclaves(ady_policy *p, span v)
{
	uint64_t x;

	if (!parse_number(v, false, UINT32_MAX, &x))
		return false;
	p->max_enclaves = (uint32_t)x;
	return true;
}

static bool set_max_memory(ady_policy *p, span v)
{
	return parse_number(v, true, UINT64_MAX, &p->max_memory);
}

static const struct {
	const char *name;
	bool repeatable;
	bool (*set)(ady_policy *p, span v);
} keys[] = {
	{ "allow_debug", false, set_allow_debug },
	{ "signer", true, add_signer },
	{ "provision", true, add_provision },
	{ "max_enclaves", false, set_max_enclaves },
	{ "max_memory", false, set_max_memory },
};
_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 32, "seen is a 32-bit mask");

/* One line's content (comment already cut off): blank, or "key = value"
 * with one space-free value and nothing after it. */
static bool parse_line(const uint8_t *s, size_t n, ady_policy *p, uint32_t *seen)
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

/* see adyton/policy.h */
ady_err ady_policy_parse(const char *text, size_t len, ady_policy *out, unsigned *line)
{
	ady_policy tmp;
	ady_cur c;
	unsigned lineno = 0;
	uint32_t seen = 0;

	if (line)
		*line = 0;
	if (!out || (!text && len))
		return ADY_ERR_INVALID_ARG;
	policy_defaults(&tmp);
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
	*out = tmp;
	return ADY_OK;
}

/* see adyton/policy.h */
ady_err ady_policy_check_launch(const ady_policy *p, const uint8_t mrsigner[static 32], uint64_t attributes)
{
	bool listed = false;

	if (!p || !mrsigner)
		return ADY_ERR_INVALID_ARG;
	if ((attributes & ADY_SGX_FLAGS_DEBUG) && !p->allow_debug)
		return ADY_ERR_PERMISSION;
	if (p->any_signer)
		return ADY_OK;
	/* Bounded by the array, not only by the count, in case a caller
	 * filled the struct by hand. */
	for (uint32_t i = 0; i < p->nsigners && i < ADY_POLICY_MAX_SIGNERS; i++) {
		if (memcmp(p->signers[i], mrsigner, 32) == 0)
			listed = true;
	}
	return listed ? ADY_OK : ADY_ERR_PERMISSION;
}

/* see adyton/policy.h */
bool ady_policy_may_provision(const ady_policy *p, const uint8_t mrsigner[static 32], uint16_t isvprodid)
{
	if (!p || !mrsigner)
		return false;
	for (uint32_t i = 0; i < p->nprovision && i < ADY_POLICY_MAX_SIGNERS; i++) {
		const ady_policy_provision *e = &p->provision[i];

		if (memcmp(e->mrsigner, mrsigner, 32) == 0 && (e->any_product || e->isvprodid == isvprodid))
			return true;
	}
	return false;
}
