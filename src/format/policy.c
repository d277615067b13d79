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

/* Longer than any meaningful line (a tenant with 16 uids and 16 gids of 10
 * digits is about 520 bytes); comments are not stored. */
#define LINE_MAX_CONTENT 1024u

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

static bool set_epc(ady_policy *p, span v)
{
	uint64_t x;

	if (!ady_kv_number(v, true, UINT64_MAX, &x) || x == 0 || x % 4096)
		return false;
	p->epc = x;
	return true;
}

static bool is_namech(uint8_t ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'; }

static bool id_listed(const uint32_t *ids, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* One "name:value" item of a tenant line. */
static bool tenant_item(ady_policy *p, ady_policy_tenant *t, span item, uint32_t *seen)
{
	const uint8_t *colon = memchr(item.s, ':', item.n);
	span name, val;
	uint64_t x;

	if (!colon)
		return false;
	name = (span){ item.s, (size_t)(colon - item.s) };
	val = (span){ colon + 1, item.n - name.n - 1 };
	if (ady_kv_is(name, "uid") || ady_kv_is(name, "gid")) {
		bool uid = ady_kv_is(name, "uid");
		uint32_t *ids = uid ? t->uids : t->gids, *n = uid ? &t->nuids : &t->ngids;

		if (!ady_kv_number(val, false, UINT32_MAX - 1, &x) || *n >= ADY_POLICY_MAX_TENANT_IDS ||
		    id_listed(ids, *n, (uint32_t)x))
			return false;
		/* one tenant per uid (per gid): otherwise who pays is a guess */
		for (uint32_t i = 0; i < p->ntenants; i++) {
			const ady_policy_tenant *o = &p->tenants[i];
			if (uid ? id_listed(o->uids, o->nuids, (uint32_t)x) : id_listed(o->gids, o->ngids, (uint32_t)x))
				return false;
		}
		ids[(*n)++] = (uint32_t)x;
		return true;
	}
	if (ady_kv_is(name, "memory")) {
		if ((*seen & 1) || !ady_kv_number(val, true, UINT64_MAX, &x) || x == 0 || x % 4096)
			return false;
		*seen |= 1;
		t->max_memory = x;
		return true;
	}
	if (ady_kv_is(name, "enclaves")) {
		if ((*seen & 2) || !ady_kv_number(val, false, UINT32_MAX, &x) || x == 0)
			return false;
		*seen |= 2;
		t->max_enclaves = (uint32_t)x;
		return true;
	}
	return false;
}

/* "tenant NAME = item,item,..." */
static bool add_tenant(ady_policy *p, span name, span v)
{
	ady_policy_tenant t;
	uint32_t seen = 0;
	size_t i = 0;

	if (name.n == 0 || name.n >= ADY_POLICY_TENANT_NAME || p->ntenants >= ADY_POLICY_MAX_TENANTS)
		return false;
	for (size_t k = 0; k < name.n; k++)
		if (!is_namech(name.s[k]))
			return false;
	for (uint32_t k = 0; k < p->ntenants; k++)
		if (ady_kv_is(name, p->tenants[k].name))
			return false;
	memset(&t, 0, sizeof(t));
	memcpy(t.name, name.s, name.n);
	while (i <= v.n) {
		const uint8_t *comma = i < v.n ? memchr(v.s + i, ',', v.n - i) : NULL;
		size_t end = comma ? (size_t)(comma - v.s) : v.n;

		if (!tenant_item(p, &t, (span){ v.s + i, end - i }, &seen))
			return false;
		i = end + 1;
	}
	if (t.nuids + t.ngids == 0)
		return false;
	p->tenants[p->ntenants++] = t;
	return true;
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
	{ "epc", false, set_epc },
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
	kv.qualified = true;
	while (ady_kv_next(&kv, &key, &val)) {
		bool ok = ady_kv_is(key, "tenant") ? add_tenant(&tmp, kv.qual, val)
						   : kv.qual.n == 0 && parse_setting(key, val, &tmp, &seen);
		if (!ok)
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
const ady_policy_tenant *ady_policy_tenant_of(const ady_policy *p, uint32_t uid, uint32_t gid)
{
	if (!p)
		return NULL;
	for (uint32_t i = 0; i < p->ntenants && i < ADY_POLICY_MAX_TENANTS; i++)
		if (id_listed(p->tenants[i].uids, p->tenants[i].nuids, uid))
			return &p->tenants[i];
	for (uint32_t i = 0; i < p->ntenants && i < ADY_POLICY_MAX_TENANTS; i++)
		if (id_listed(p->tenants[i].gids, p->tenants[i].ngids, gid))
			return &p->tenants[i];
	return NULL;
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
