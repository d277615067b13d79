/*
 * vpolicy.c - a quote verifier's policy (adyton/vpolicy.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/vpolicy.h"
#include "internal.h"

/* Room for "tpm_ek_ca = " and a maximal path. */
#define LINE_MAX_CONTENT (ADY_VPOLICY_MAX_PATH + 32u)

typedef ady_kv_span span;

/* Decimal, 1..5 digits, <= max. */
static bool parse_u16(span v, uint32_t max, uint16_t *out)
{
	uint64_t x;

	if (v.n > 5 || !ady_kv_number(v, false, max, &x))
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

static bool set_allow_debug(ady_vpolicy *p, span v) { return ady_kv_bool(v, &p->allow_debug); }
static bool set_allow_sim(ady_vpolicy *p, span v) { return ady_kv_bool(v, &p->allow_sim); }

static bool add_mrenclave(ady_vpolicy *p, span v)
{
	return p->nmrenclave < ADY_VPOLICY_MAX && ady_kv_hex(v, p->mrenclave[p->nmrenclave++], 32);
}

static bool add_signer(ady_vpolicy *p, span v)
{
	span hash, rest, prod, svn;
	ady_vpolicy_signer *s;

	if (p->nsigner >= ADY_VPOLICY_MAX || !split(v, &hash, &rest) || !split(rest, &prod, &svn))
		return false;
	s = &p->signer[p->nsigner++];
	return ady_kv_hex(hash, s->mrsigner, 32) && parse_u16(prod, 0xffff, &s->isvprodid) &&
	       parse_u16(svn, 0xffff, &s->min_isvsvn);
}

static bool add_platform(ady_vpolicy *p, span v)
{
	return p->nplatform < ADY_VPOLICY_MAX && ady_kv_hex(v, p->platform_key[p->nplatform++], 64);
}

static bool add_path(char (*paths)[ADY_VPOLICY_MAX_PATH], uint32_t *n, span v)
{
	if (*n >= ADY_VPOLICY_MAX_CA || v.n == 0 || v.n >= ADY_VPOLICY_MAX_PATH)
		return false;
	memcpy(paths[*n], v.s, v.n);
	paths[*n][v.n] = '\0';
	(*n)++;
	return true;
}

static bool add_ek_ca(ady_vpolicy *p, span v) { return add_path(p->tpm_ek_ca, &p->nek_ca, v); }
static bool add_ak_ca(ady_vpolicy *p, span v) { return add_path(p->tpm_ak_ca, &p->nak_ca, v); }

static bool add_pcr(ady_vpolicy *p, span v)
{
	span idx, val;
	uint16_t i;

	if (!split(v, &idx, &val) || !parse_u16(idx, 23, &i) || (p->pcr_mask >> i & 1u))
		return false;
	p->pcr_mask |= 1u << i;
	return ady_kv_hex(val, p->pcr[i], 32);
}

/* set NULL: a retired key, refused as ADY_ERR_UNSUPPORTED (adyton/vpolicy.h). */
static const struct {
	const char *name;
	bool repeatable;
	bool (*set)(ady_vpolicy *, span);
} keys[] = {
	{"mrenclave", true, add_mrenclave},     {"signer", true, add_signer},
	{"allow_debug", false, set_allow_debug}, {"allow_sim", false, set_allow_sim},
	{"platform_key", true, add_platform},   {"tpm_ek_ca", true, add_ek_ca},
	{"tpm_ak_ca", true, add_ak_ca},         {"pcr", true, add_pcr},
	{"tpm_ca", true, NULL},
};

/* One setting; a key that is not repeatable may come once. */
static ady_err parse_setting(span key, span val, ady_vpolicy *p, uint32_t *seen)
{
	for (uint32_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!ady_kv_is(key, keys[k].name))
			continue;
		if (!keys[k].set)
			return ADY_ERR_UNSUPPORTED;
		if (!keys[k].repeatable && (*seen & (1u << k)))
			return ADY_ERR_CONFIG;
		*seen |= 1u << k;
		return keys[k].set(p, val) ? ADY_OK : ADY_ERR_CONFIG;
	}
	return ADY_ERR_CONFIG;
}

/* see adyton/vpolicy.h */
ady_err ady_vpolicy_parse(const char *text, size_t len, ady_vpolicy *out, unsigned *line)
{
	static const ady_vpolicy zero;
	ady_vpolicy tmp = zero;
	uint8_t buf[LINE_MAX_CONTENT];
	uint32_t seen = 0;
	ady_kv kv;
	span key, val;
	ady_err err = ADY_OK;

	if (line)
		*line = 0;
	if (!out || (!text && len))
		return ADY_ERR_INVALID_ARG;
	ady_kv_init(&kv, text, len, buf, sizeof(buf));
	while (ady_kv_next(&kv, &key, &val)) {
		err = parse_setting(key, val, &tmp, &seen);
		if (err)
			break;
	}
	if (!err)
		err = ady_kv_err(&kv);
	/* A policy that names no enclave would accept nothing; say so now
	 * rather than refuse every quote later. */
	if (!err && tmp.nmrenclave == 0 && tmp.nsigner == 0)
		err = ADY_ERR_CONFIG;
	if (err) {
		if (line)
			*line = kv.line;
		return err;
	}
	*out = tmp;
	return ADY_OK;
}
