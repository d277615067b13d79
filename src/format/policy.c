/*
 * policy.c - adytond's launch and provisioning policy (adyton/policy.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/policy.h"
#include "adyton/sgx.h"
#include "internal.h"

#define POLICY_DEFAULT_MAX_ENCLAVES 64u
/* Enclave memory a user may hold (and lock: memfd_secret) unless the policy
 * says otherwise: 0 used to mean unlimited (issue 11 item 9). */
#define POLICY_DEFAULT_MAX_MEMORY (1ull << 30)

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
	out->max_memory = POLICY_DEFAULT_MAX_MEMORY;
}

static void policy_defaults(ady_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_enclaves = POLICY_DEFAULT_MAX_ENCLAVES;
	p->max_memory = POLICY_DEFAULT_MAX_MEMORY;
}

typedef ady_kv_span span;

static bool set_allow_debug(ady_policy *p, span v) { return ady_kv_bool(v, &p->allow_debug); }

static bool add_signer(ady_policy *p, span v)
{
	uint8_t h[32];

	if (ady_kv_is(v, "any")) {
		/* "any" beside hashes would make the hashes meaningless and
		 * is most likely a mistake; a second "any" likewise. */
		if (p->any_signer || p->nsigners)
			return false;
		p->any_signer = true;
		return true;
	}
	if (p->any_signer || p->nsigners >= ADY_POLICY_MAX_SIGNERS || !ady_kv_hex(v, h, 32))
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
		if (!ady_kv_number(prod, false, UINT16_MAX, &id))
			return false;
	}
	if (p->nprovision >= ADY_POLICY_MAX_SIGNERS || !ady_kv_hex(hash, e.mrsigner, 32))
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

	if (!ady_kv_number(v, false, UINT32_MAX, &x))
		return false;
	p->max_enclaves = (uint32_t)x;
	return true;
}

static bool set_max_memory(ady_policy *p, span v)
{
	return ady_kv_number(v, true, UINT64_MAX, &p->max_memory);
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

/* One setting; a key that is not repeatable may come once. */
static bool parse_setting(span key, span val, ady_policy *p, uint32_t *seen)
{
	for (uint32_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!ady_kv_is(key, keys[k].name))
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
	uint8_t buf[LINE_MAX_CONTENT];
	ady_policy tmp;
	ady_kv kv;
	span key, val;
	uint32_t seen = 0;

	if (line)
		*line = 0;
	if (!out || (!text && len))
		return ADY_ERR_INVALID_ARG;
	policy_defaults(&tmp);
	ady_kv_init(&kv, text, len, buf, sizeof(buf));
	while (ady_kv_next(&kv, &key, &val)) {
		if (!parse_setting(key, val, &tmp, &seen))
			ady_kv_fail(&kv);
	}
	if (ady_kv_err(&kv)) {
		if (line)
			*line = kv.line;
		return ADY_ERR_CONFIG;
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
