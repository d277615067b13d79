/*
 * policy.c - Keylime runtime policies (gate.h): loaded with jansson,
 * excludes compiled with PCRE2, ima-sig signatures checked with OpenSSL.
 * Semantics follow Keylime's verifier (keylime/ima/ima.py).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pcre2.h>

#include "adyton/cursor.h"
#include "gate.h"

#define MAX_KEYS 64

/*
 * The digests index (the hot lookup, bench/gate): an open-addressing table
 * of 8-byte slots (2 MB for 100,000 paths) over records in one arena, each
 * record holding its path and binary digests together, so that a lookup
 * touches one slot and one record, both of which the round prefetches
 * (gate_policy_probe_*) while it hashes the entry.
 * Record, 8-aligned: u32 name length, u32 digest count, the name, then per
 * digest: u8 alg (ady_ima_alg of "alg:hex", 0 for bare hex), u8 length,
 * the bytes.
 */
typedef struct slot {
	uint32_t tag; /* high half of the path hash */
	uint32_t rec; /* record offset / 8 + 1; 0 = empty */
} slot;

#define ABSENT SIZE_MAX

typedef struct vkey {
	EVP_PKEY *pk;
	uint32_t keyid;
} vkey;

struct gate_policy {
	json_t *root;
	json_t *digests, *keyrings, *imabuf, *ignored; /* borrowed from root */
	bool ignore_all_keyrings;
	pcre2_code *ex; /* all excludes as one anchored alternation, JIT-compiled */
	size_t nex;
	pcre2_match_data *md;
	vkey keys[MAX_KEYS];
	size_t nkeys;
	size_t ndigests;
	/* digests indexed at load: path -> binary digests */
	slot *tab;
	size_t tabmask;
	uint8_t *arena;
};

static void say(gate_why *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(gate_why *why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;
	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
}

/* see gate.h */
void gate_policy_free(gate_policy *p)
{
	if (!p)
		return;
	pcre2_code_free(p->ex);
	pcre2_match_data_free(p->md);
	free(p->tab);
	free(p->arena);
	for (size_t i = 0; i < p->nkeys; i++)
		EVP_PKEY_free(p->keys[i].pk);
	json_decref(p->root);
	free(p);
}

/* see gate.h */
size_t gate_policy_ndigests(const gate_policy *p)
{
	return p->ndigests;
}

static bool valid_len(size_t n)
{
	return n == 32 || n == 40 || n == 64 || n == 96 || n == 128;
}

/* A digest string: "hex" or "alg:hex", hex of the algorithm's length (of
 * any known length without a prefix).  Stored back in lower case, so the
 * check compares strings. */
static int check_digest(json_t *s, const char *where, const char *name, gate_why *why)
{
	const char *v = json_string_value(s), *hex;
	size_t len = json_string_length(s), hlen;
	char buf[160];

	if (!v) {
		say(why, "%s[\"%s\"]: a digest is not a string", where, name);
		return 0;
	}
	hex = memchr(v, ':', len);
	if (hex) {
		ady_ima_alg a = ady_ima_alg_from_name(v, (size_t)(hex - v));

		hex++;
		hlen = len - (size_t)(hex - v);
		if (!a || hlen != 2 * ady_ima_alg_len(a)) {
			say(why, "%s[\"%s\"]: \"%.80s\" is not alg:hex of a known algorithm", where, name, v);
			return 0;
		}
	} else {
		hex = v;
		hlen = len;
		if (!valid_len(hlen)) {
			say(why, "%s[\"%s\"]: \"%.80s\" has no digest length", where, name, v);
			return 0;
		}
	}
	if (len >= sizeof(buf))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (&v[i] >= hex && !isxdigit(ch)) {
			say(why, "%s[\"%s\"]: \"%.80s\" is not hex", where, name, v);
			return 0;
		}
		buf[i] = (char)tolower(ch);
	}
	return json_string_setn(s, buf, len) == 0;
}

/* name -> [digest, ...] */
static int check_map(json_t *m, const char *where, size_t *count, gate_why *why)
{
	const char *name;
	json_t *arr;

	if (!json_is_object(m)) {
		say(why, "%s is not an object", where);
		return 0;
	}
	json_object_foreach(m, name, arr) {
		size_t i;
		json_t *d;

		if (!json_is_array(arr)) {
			say(why, "%s[\"%s\"] is not an array", where, name);
			return 0;
		}
		json_array_foreach(arr, i, d) {
			if (!check_digest(d, where, name, why))
				return 0;
		}
		*count += json_array_size(arr);
	}
	return 1;
}

static int compile_excludes(gate_policy *p, json_t *ex, gate_why *why)
{
	size_t i, total = 1;
	json_t *v;
	char *all, *w;
	int code;
	PCRE2_SIZE at;

	if (!json_is_array(ex)) {
		say(why, "excludes is not an array");
		return 0;
	}
	json_array_foreach(ex, i, v) {
		pcre2_code *one;

		if (!json_is_string(v)) {
			say(why, "excludes[%zu] is not a string", i);
			return 0;
		}
		/* Each alone first, so an error names its pattern.  No flags:
		 * bytes, like a path. */
		one = pcre2_compile((PCRE2_SPTR)json_string_value(v), json_string_length(v), 0, &code, &at, NULL);
		if (!one) {
			PCRE2_UCHAR msg[120];

			pcre2_get_error_message(code, msg, sizeof(msg));
			say(why, "excludes[%zu] \"%.100s\": %s at offset %zu", i, json_string_value(v), (const char *)msg,
			    (size_t)at);
			return 0;
		}
		pcre2_code_free(one);
		total += json_string_length(v) + 5;
	}
	p->nex = json_array_size(ex);
	p->md = pcre2_match_data_create(1, NULL);
	if (!p->md)
		return 0;
	if (!p->nex)
		return 1;
	/* Keylime compiles "|".join(excludes) and calls .match(path): one
	 * alternation, anchored at the start only.  Anchored at compile time
	 * so that the JIT applies (it ignores match-time PCRE2_ANCHORED). */
	all = w = malloc(total);
	if (!all)
		return 0;
	json_array_foreach(ex, i, v) {
		w += sprintf(w, "%s(?:", i ? "|" : "");
		memcpy(w, json_string_value(v), json_string_length(v));
		w += json_string_length(v);
		*w++ = ')';
	}
	p->ex = pcre2_compile((PCRE2_SPTR)all, (size_t)(w - all), PCRE2_ANCHORED, &code, &at, NULL);
	free(all);
	if (!p->ex) {
		say(why, "excludes do not compile as one alternation (a pattern closes a group it did not open?)");
		return 0;
	}
	(void)pcre2_jit_compile(p->ex, PCRE2_JIT_COMPLETE); /* without a JIT, the interpreter */
	return 1;
}

/* Keylime keyid v2: the last 4 bytes of SHA-1 over the public key bits
 * (the X.509 subjectKeyIdentifier method 1, what evmctl puts in the
 * signature header). */
static int keyid_of(EVP_PKEY *pk, uint32_t *id)
{
	X509_PUBKEY *xp = NULL;
	const unsigned char *bits;
	int blen;
	uint8_t h[20];
	unsigned int hl = 0;
	int ok = 0;

	if (X509_PUBKEY_set(&xp, pk) != 1)
		return 0;
	if (X509_PUBKEY_get0_param(NULL, &bits, &blen, NULL, xp) == 1 && blen > 0 &&
	    EVP_Digest(bits, (size_t)blen, h, &hl, EVP_sha1(), NULL) == 1) {
		*id = (uint32_t)h[16] << 24 | (uint32_t)h[17] << 16 | (uint32_t)h[18] << 8 | h[19];
		ok = 1;
	}
	X509_PUBKEY_free(xp);
	return ok;
}

/* verification-keys: "" or Keylime's ImaKeyrings as a JSON string:
 * {"meta": {...}, "keyrings": {"<name>": {"pubkeys": [base64 DER], ...}}} */
static int load_keys(gate_policy *p, json_t *vk, gate_why *why)
{
	json_t *o, *rings, *ring;
	json_error_t jerr;
	const char *name;

	if (!json_is_string(vk)) {
		say(why, "verification-keys is not a string");
		return 0;
	}
	if (json_string_length(vk) == 0)
		return 1;
	o = json_loadb(json_string_value(vk), json_string_length(vk), JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o) || !json_is_object(rings = json_object_get(o, "keyrings"))) {
		say(why, "verification-keys is not ImaKeyrings JSON (%s)", o ? "no keyrings object" : jerr.text);
		json_decref(o);
		return 0;
	}
	json_object_foreach(rings, name, ring) {
		json_t *keys = json_object_get(ring, "pubkeys"), *k;
		size_t i;

		if (!json_is_array(keys)) {
			say(why, "verification-keys keyring \"%s\" has no pubkeys array", name);
			json_decref(o);
			return 0;
		}
		json_array_foreach(keys, i, k) {
			const char *b64 = json_string_value(k);
			size_t blen = json_string_length(k);
			unsigned char *der = NULL;
			const unsigned char *q;
			int n;
			EVP_PKEY *pk = NULL;

			if (!b64 || blen == 0 || blen > 16384 || p->nkeys >= MAX_KEYS)
				goto bad;
			der = malloc(blen);
			if (!der)
				goto bad;
			n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)blen);
			/* EVP_DecodeBlock counts the padding as zero bytes. */
			if (n > 0 && b64[blen - 1] == '=')
				n -= (blen > 1 && b64[blen - 2] == '=') ? 2 : 1;
			q = der;
			if (n > 0)
				pk = d2i_PUBKEY(NULL, &q, n);
			if (pk && q != der + n) { /* trailing bytes */
				EVP_PKEY_free(pk);
				pk = NULL;
			}
			free(der);
			if (!pk || (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA && EVP_PKEY_base_id(pk) != EVP_PKEY_EC) ||
			    !keyid_of(pk, &p->keys[p->nkeys].keyid)) {
				EVP_PKEY_free(pk);
				goto bad;
			}
			p->keys[p->nkeys++].pk = pk;
			continue;
		bad:
			say(why, "verification-keys keyring \"%s\" pubkeys[%zu] is not a base64 DER RSA/EC public key "
				 "(or more than %d keys)", name, i, MAX_KEYS);
			json_decref(o);
			return 0;
		}
	}
	json_decref(o);
	return 1;
}

static int check_ima(gate_policy *p, json_t *ima, gate_why *why)
{
	json_t *alg = json_object_get(ima, "log_hash_alg"), *dm = json_object_get(ima, "dm_policy"), *v;
	size_t i;

	if (!json_is_object(ima)) {
		say(why, "ima is not an object");
		return 0;
	}
	p->ignored = json_object_get(ima, "ignored_keyrings");
	if (p->ignored && !json_is_array(p->ignored)) {
		say(why, "ima.ignored_keyrings is not an array");
		return 0;
	}
	json_array_foreach(p->ignored, i, v) {
		if (!json_is_string(v)) {
			say(why, "ima.ignored_keyrings[%zu] is not a string", i);
			return 0;
		}
		if (!strcmp(json_string_value(v), "*"))
			p->ignore_all_keyrings = true;
	}
	if (alg && (!json_is_string(alg) || strcmp(json_string_value(alg), "sha1") != 0)) {
		say(why, "ima.log_hash_alg %s: only sha1 (the template hash of binary_runtime_measurements)",
		    json_is_string(alg) ? json_string_value(alg) : "is not a string");
		return -1;
	}
	if (dm && !json_is_null(dm)) {
		say(why, "ima.dm_policy: device-mapper policies are not supported");
		return -1;
	}
	return 1;
}

/* Paths are hashed 8 bytes at a time (a multiply-xorshift per word, the
 * murmur3 finalizer at the end): a few ns for a typical path.  The
 * table is built from the trusted policy; a host can only choose which
 * probe sequences it walks, each no longer than the policy's clusters. */
static uint64_t path_hash(const char *k, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; k += 8, n -= 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, k, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static const uint8_t *rec_at(const gate_policy *p, const slot *s)
{
	return p->arena + 8 * (size_t)(s->rec - 1);
}

static uint32_t rd32(const uint8_t *q)
{
	uint32_t v;

	memcpy(&v, q, 4);
	return v;
}

/* The record of path name (hash h), or NULL. */
static const uint8_t *find(const gate_policy *p, uint64_t h, const char *name, size_t nlen)
{
	uint32_t tag = (uint32_t)(h >> 32);

	for (size_t i = h & p->tabmask;; i = (i + 1) & p->tabmask) {
		const slot *s = &p->tab[i];
		const uint8_t *r;

		if (!s->rec)
			return NULL;
		if (s->tag != tag)
			continue;
		r = rec_at(p, s);
		if (rd32(r) == nlen && !memcmp(r + 8, name, nlen))
			return r;
	}
}

/* Indexes digests (already checked by check_map). */
static int index_digests(gate_policy *p)
{
	size_t nkeys = json_object_size(p->digests), cap = 16, size = 0, at = 0;
	const char *name;
	json_t *arr;

	while (cap < 2 * nkeys)
		cap *= 2;
	json_object_foreach(p->digests, name, arr) {
		size_t i, need = 8 + strlen(name);
		json_t *d;

		json_array_foreach(arr, i, d) {
			const char *v = json_string_value(d), *colon = strchr(v, ':');

			need += 2 + strlen(colon ? colon + 1 : v) / 2;
		}
		size += (need + 7) & ~(size_t)7;
	}
	if (size / 8 >= UINT32_MAX)
		return 0;
	p->tab = calloc(cap, sizeof(*p->tab));
	p->arena = malloc(size ? size : 1);
	if (!p->tab || !p->arena)
		return 0;
	p->tabmask = cap - 1;
	json_object_foreach(p->digests, name, arr) {
		size_t nlen = strlen(name), i, w;
		uint64_t h = path_hash(name, nlen);
		uint8_t *r = p->arena + at;
		uint32_t v;
		json_t *d;

		for (i = h & p->tabmask; p->tab[i].rec; i = (i + 1) & p->tabmask)
			;
		p->tab[i].tag = (uint32_t)(h >> 32);
		p->tab[i].rec = (uint32_t)(at / 8 + 1);
		v = (uint32_t)nlen;
		memcpy(r, &v, 4);
		v = (uint32_t)json_array_size(arr);
		memcpy(r + 4, &v, 4);
		memcpy(r + 8, name, nlen);
		w = 8 + nlen;
		json_array_foreach(arr, i, d) {
			const char *s = json_string_value(d), *colon = strchr(s, ':');
			const char *hex = colon ? colon + 1 : s;
			size_t hl = strlen(hex);

			r[w++] = colon ? (uint8_t)ady_ima_alg_from_name(s, (size_t)(colon - s)) : 0;
			r[w++] = (uint8_t)(hl / 2);
			if (!ady_hex_decode(hex, hl, r + w, hl / 2))
				return 0;
			w += hl / 2;
		}
		while (w & 7)
			r[w++] = 0;
		at += w;
	}
	return 1;
}

/* see gate.h */
ady_err gate_policy_load(const char *json, size_t len, gate_policy **out, gate_why *why)
{
	static const char *const known[] = {"meta", "release", "digests", "excludes", "keyrings",
					    "ima", "ima-buf", "verification-keys", "timestamp"};
	gate_policy *p;
	json_error_t jerr;
	json_t *meta, *v;
	const char *key;
	ady_err err = ADY_ERR_MALFORMED;
	int r;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ADY_ERR_NOMEM;
	p->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!p->root) {
		say(why, "policy is not JSON: line %d: %s", jerr.line, jerr.text);
		goto fail;
	}
	if (!json_is_object(p->root)) {
		say(why, "policy is not a JSON object");
		goto fail;
	}
	json_object_foreach(p->root, key, v) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			say(why, "unknown policy key \"%.60s\"", key);
			goto fail;
		}
	}
	meta = json_object_get(p->root, "meta");
	if (!json_is_object(meta) || !json_is_integer(json_object_get(meta, "version")) ||
	    json_integer_value(json_object_get(meta, "version")) != 1) {
		say(why, "meta.version is not 1 (Keylime runtime policy version 1)");
		goto fail;
	}
	p->digests = json_object_get(p->root, "digests");
	p->keyrings = json_object_get(p->root, "keyrings");
	p->imabuf = json_object_get(p->root, "ima-buf");
	if (!p->digests) {
		say(why, "no digests");
		goto fail;
	}
	if (!check_map(p->digests, "digests", &p->ndigests, why) ||
	    (p->keyrings && !check_map(p->keyrings, "keyrings", &p->ndigests, why)) ||
	    (p->imabuf && !check_map(p->imabuf, "ima-buf", &p->ndigests, why)))
		goto fail;
	if (p->ndigests > UINT32_MAX || !index_digests(p)) {
		err = ADY_ERR_NOMEM;
		goto fail;
	}
	if ((v = json_object_get(p->root, "excludes")) && !compile_excludes(p, v, why))
		goto fail;
	if (!p->md) { /* no excludes: the match data still exists */
		json_t *none = json_array();
		int ok = none && compile_excludes(p, none, why);

		json_decref(none);
		if (!ok)
			goto fail;
	}
	if ((v = json_object_get(p->root, "ima"))) {
		r = check_ima(p, v, why);
		if (r <= 0) {
			err = r < 0 ? ADY_ERR_UNSUPPORTED : ADY_ERR_MALFORMED;
			goto fail;
		}
	}
	if ((v = json_object_get(p->root, "verification-keys")) && !load_keys(p, v, why))
		goto fail;
	*out = p;
	return ADY_OK;
fail:
	gate_policy_free(p);
	return err;
}

static bool excluded(const gate_policy *p, const ady_ima_entry *e)
{
	return p->ex && pcre2_match(p->ex, (PCRE2_SPTR)e->name, e->name_len, 0, 0, p->md, NULL) >= 0;
}

/* 1 if the entry's digest is in map[name] ("hex" or "alg:hex" forms). */
static int listed(json_t *map, const ady_ima_entry *e, json_t **list)
{
	char hex[2 * ADY_IMA_MAX_DIGEST + 1];
	size_t i, al = strlen(e->alg_name);
	json_t *d;

	*list = NULL;
	if (!map)
		return 0;
	*list = json_object_getn(map, e->name, e->name_len);
	if (!*list)
		return 0;
	ady_hex_encode(e->digest, e->digest_len, hex);
	json_array_foreach(*list, i, d) {
		const char *s = json_string_value(d);
		size_t n = json_string_length(d);

		if (n == 2 * e->digest_len && !memcmp(s, hex, n))
			return 1;
		if (n == al + 1 + 2 * e->digest_len && !memcmp(s, e->alg_name, al) && s[al] == ':' &&
		    !memcmp(s + al + 1, hex, 2 * e->digest_len))
			return 1;
	}
	return 0;
}

/* 1 if the entry's digest is one the policy's digests list for its path
 * (hash h); *n = how many it lists (ABSENT: the path is not there). */
static int in_digests(const gate_policy *p, uint64_t h, const ady_ima_entry *e, size_t *n)
{
	const uint8_t *r = find(p, h, e->name, e->name_len);
	size_t w;
	uint32_t count;

	*n = ABSENT;
	if (!r)
		return 0;
	count = rd32(r + 4);
	*n = count;
	w = 8 + e->name_len;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t alg = r[w], len = r[w + 1];

		if (len == e->digest_len && (!alg || alg == e->alg) && !memcmp(r + w + 2, e->digest, len))
			return 1;
		w += 2 + (size_t)len;
	}
	return 0;
}

static int check_map_entry(json_t *map, const char *what, const ady_ima_entry *e,
			   gate_why *why)
{
	char hex[2 * ADY_IMA_MAX_DIGEST + 1];
	json_t *list;
	size_t n;

	if (listed(map, e, &list))
		return 1;
	n = list ? json_array_size(list) : ABSENT;
	ady_hex_encode(e->digest, e->digest_len, hex);
	if (n == ABSENT)
		say(why, "%.*s: not in the policy's %s (%s:%s)", (int)e->name_len, e->name, what, e->alg_name, hex);
	else
		say(why, "%.*s: digest %s:%s is not one of the %zu the policy's %s allow", (int)e->name_len, e->name,
		    e->alg_name, hex, n, what);
	return 0;
}

/* Keylime (_validate_ima_ng): an excluded path passes whatever its digest,
 * else the digest must be listed for it.  Both passing ways give the same
 * answer, so the listed digest (the common case, one probe) is looked up
 * first and the excludes (a regular expression) only run for an entry
 * that would otherwise fail. */
static int check_digests(const gate_policy *p, uint64_t h, const ady_ima_entry *e, gate_why *why)
{
	char hex[2 * ADY_IMA_MAX_DIGEST + 1];
	size_t n;

	if (in_digests(p, h, e, &n) || excluded(p, e))
		return 1;
	ady_hex_encode(e->digest, e->digest_len, hex);
	if (n == ABSENT)
		say(why, "%.*s: not in the policy's digests (%s:%s)", (int)e->name_len, e->name, e->alg_name, hex);
	else
		say(why, "%.*s: digest %s:%s is not one of the %zu the policy's digests allow", (int)e->name_len,
		    e->name, e->alg_name, hex, n);
	return 0;
}

/* security.ima v2 over the file digest: RSA PKCS#1 v1.5 with the digest's
 * DigestInfo, or ECDSA (DER); the header's keyid picks the keys. */
static int sig_ok(const gate_policy *p, const ady_ima_entry *e)
{
	ady_ima_sigv2 s;
	const EVP_MD *md;

	if (ady_ima_sigv2_decode(e->extra, e->extra_len, &s) != ADY_OK)
		return 0;
	switch (s.hash_algo) { /* include/uapi/linux/hash_info.h */
	case 2:
		md = EVP_sha1();
		break;
	case 4:
		md = EVP_sha256();
		break;
	case 5:
		md = EVP_sha384();
		break;
	case 6:
		md = EVP_sha512();
		break;
	default:
		return 0;
	}
	if ((size_t)EVP_MD_get_size(md) != e->digest_len)
		return 0;
	for (size_t i = 0; i < p->nkeys; i++) {
		EVP_PKEY_CTX *ctx;
		int ok;

		if (p->keys[i].keyid != s.keyid)
			continue;
		ctx = EVP_PKEY_CTX_new(p->keys[i].pk, NULL);
		ok = ctx && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
		     (EVP_PKEY_base_id(p->keys[i].pk) != EVP_PKEY_RSA ||
		      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
		     EVP_PKEY_verify(ctx, s.sig, s.sig_len, e->digest, e->digest_len) == 1;
		EVP_PKEY_CTX_free(ctx);
		if (ok)
			return 1;
	}
	return 0;
}

static bool is_key(const ady_ima_entry *e)
{
	const unsigned char *q = e->extra;
	X509 *x = e->extra_len ? d2i_X509(NULL, &q, e->extra_len) : NULL;
	EVP_PKEY *pk = NULL;

	if (!x) {
		q = e->extra;
		pk = e->extra_len ? d2i_PUBKEY(NULL, &q, e->extra_len) : NULL;
	}
	X509_free(x);
	EVP_PKEY_free(pk);
	return x || pk;
}

static bool keyring_ignored(const gate_policy *p, const ady_ima_entry *e)
{
	size_t i;
	json_t *v;

	if (p->ignore_all_keyrings)
		return true;
	json_array_foreach(p->ignored, i, v) {
		if (json_string_length(v) == e->name_len && !memcmp(json_string_value(v), e->name, e->name_len))
			return true;
	}
	return false;
}

/* see gate.h */
void gate_policy_probe_start(const gate_policy *p, const ady_ima_entry *e, gate_policy_probe *pr)
{
	pr->h = path_hash(e->name, e->name_len);
	__builtin_prefetch(&p->tab[pr->h & p->tabmask]);
}

/* see gate.h */
void gate_policy_probe_fetch(const gate_policy *p, const ady_ima_entry *e, const gate_policy_probe *pr)
{
	uint32_t tag = (uint32_t)(pr->h >> 32);

	/* The first slot of the right tag: almost always the path's record
	 * (a tag collision only costs a miss later, not a wrong answer). */
	for (size_t i = pr->h & p->tabmask; p->tab[i].rec; i = (i + 1) & p->tabmask) {
		if (p->tab[i].tag == tag) {
			const uint8_t *r = rec_at(p, &p->tab[i]);
			size_t len = 8 + e->name_len + 2 + e->digest_len;

			for (size_t o = 0; o < len; o += 64)
				__builtin_prefetch(r + o);
			__builtin_prefetch(r + len - 1);
			return;
		}
	}
}

/* see gate.h */
int gate_policy_check_probed(const gate_policy *p, const ady_ima_entry *e, const gate_policy_probe *pr,
			     gate_why *why)
{
	switch (e->tmpl) {
	case ADY_IMA_TEMPLATE_BUF:
		if (is_key(e) && keyring_ignored(p, e))
			return 1;
		if (excluded(p, e))
			return 1;
		if (is_key(e))
			return check_map_entry(p->keyrings, "keyrings", e, why);
		return check_map_entry(p->imabuf, "ima-buf", e, why);
	case ADY_IMA_TEMPLATE_SIG:
		if (e->extra_len && p->nkeys) {
			char hex[2 * ADY_IMA_MAX_DIGEST + 1];
			size_t n;

			if (excluded(p, e))
				return 1;
			/* Keylime: a signature that does not verify fails even
			 * if the digest is listed; a valid one suffices unless
			 * the path is also listed, then the digest must be. */
			if (!sig_ok(p, e)) {
				ady_hex_encode(e->digest, e->digest_len, hex);
				say(why, "%.*s: security.ima signature over %s:%s does not verify with verification-keys",
				    (int)e->name_len, e->name, e->alg_name, hex);
				return 0;
			}
			if (!in_digests(p, pr->h, e, &n) && n != ABSENT)
				return check_digests(p, pr->h, e, why);
			return 1;
		}
		return check_digests(p, pr->h, e, why);
	case ADY_IMA_TEMPLATE_NG:
	case ADY_IMA_TEMPLATE_IMA:
		return check_digests(p, pr->h, e, why);
	default:
		say(why, "unknown template");
		return 0;
	}
}

/* see gate.h */
int gate_policy_check(const gate_policy *p, const ady_ima_entry *e, gate_why *why)
{
	gate_policy_probe pr;

	gate_policy_probe_start(p, e, &pr);
	return gate_policy_check_probed(p, e, &pr, why);
}
