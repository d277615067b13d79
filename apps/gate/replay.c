/*
 * replay.c - IMA log replay into PCR 10 (gate.h), the kernel's rules
 * (security/integrity/ima/ima_queue.c, ima_api.c, ima_crypto.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gate.h"

struct gate_replay {
	unsigned banks;
	EVP_MD *sha1, *sha256;
	EVP_MD_CTX *ctx;
};

/* see gate.h */
void gate_pcr10_init(gate_pcr10 *s)
{
	memset(s, 0, sizeof(*s));
}

/* see gate.h */
void gate_replay_free(gate_replay *r)
{
	if (!r)
		return;
	EVP_MD_CTX_free(r->ctx);
	EVP_MD_free(r->sha1);
	EVP_MD_free(r->sha256);
	free(r);
}

/* see gate.h */
ady_err gate_replay_new(unsigned banks, gate_replay **out)
{
	gate_replay *r;

	*out = NULL;
	if (!banks || (banks & ~(unsigned)(GATE_BANK_SHA1 | GATE_BANK_SHA256)))
		return ADY_ERR_INVALID_ARG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ADY_ERR_NOMEM;
	r->banks = banks;
	r->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	r->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	r->ctx = EVP_MD_CTX_new();
	if (!r->sha1 || !r->sha256 || !r->ctx) {
		gate_replay_free(r);
		return ADY_ERR_CRYPTO;
	}
	*out = r;
	return ADY_OK;
}

/* Hashes the template data as ima_calc_field_array_hash_tfm does: the
 * fields with their lengths (which is the logged template data), except
 * for template "ima": digest then the name zero-padded to 256 bytes. */
static int template_hash(gate_replay *r, const EVP_MD *md, const ady_ima_entry *e, uint8_t *out)
{
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(r->ctx, md, NULL) != 1)
		return 0;
	if (e->tmpl == ADY_IMA_TEMPLATE_IMA) {
		uint8_t name[ADY_IMA_EVENT_NAME_MAX + 1] = {0};

		memcpy(name, e->name, e->name_len);
		if (EVP_DigestUpdate(r->ctx, e->digest, 20) != 1 || EVP_DigestUpdate(r->ctx, name, sizeof(name)) != 1)
			return 0;
	} else if (EVP_DigestUpdate(r->ctx, e->data, e->data_len) != 1) {
		return 0;
	}
	return EVP_DigestFinal_ex(r->ctx, out, &n) == 1;
}

/* pcr = H(pcr || v), n <= 32: one update of the 2n bytes (per-call
 * overhead is a good part of hashing 64 bytes). */
static int extend(gate_replay *r, const EVP_MD *md, uint8_t *pcr, const uint8_t *v, size_t n)
{
	uint8_t both[64];
	unsigned int len = 0;

	memcpy(both, pcr, n);
	memcpy(both + n, v, n);
	return EVP_DigestInit_ex2(r->ctx, md, NULL) == 1 && EVP_DigestUpdate(r->ctx, both, 2 * n) == 1 &&
	       EVP_DigestFinal_ex(r->ctx, pcr, &len) == 1;
}

/* see gate.h */
ady_err gate_template_sha256(gate_replay *r, const ady_ima_entry *e, uint8_t out[static 32])
{
	return template_hash(r, r->sha256, e, out) ? ADY_OK : ADY_ERR_CRYPTO;
}

/* see gate.h */
ady_err gate_replay_entry(gate_replay *r, gate_pcr10 *s, const ady_ima_entry *e, uint64_t base, gate_why *why)
{
	static const uint8_t ones[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	gate_pcr10 n = *s;
	uint8_t h[32];

	if (e->pcr != GATE_IMA_PCR) {
		snprintf(why->text, sizeof(why->text), "entry %llu (%.*s) is for PCR %u, not %u",
			 (unsigned long long)s->count, (int)e->name_len, e->name, e->pcr, GATE_IMA_PCR);
		return ADY_ERR_MALFORMED;
	}
	if (r->banks & GATE_BANK_SHA1) {
		/* The logged SHA-1 template hash is what the kernel extended
		 * into the SHA-1 bank; it must be the hash of the data beside
		 * it, or the data was edited in the log. */
		if (e->violation) {
			memcpy(h, ones, 20);
		} else {
			if (!template_hash(r, r->sha1, e, h))
				return ADY_ERR_CRYPTO;
			if (memcmp(h, e->template_hash, 20) != 0) {
				snprintf(why->text, sizeof(why->text),
					 "entry %llu (%.*s): template hash does not match its data",
					 (unsigned long long)s->count, (int)e->name_len, e->name);
				return ADY_ERR_MALFORMED;
			}
		}
		if (!extend(r, r->sha1, n.sha1, h, 20))
			return ADY_ERR_CRYPTO;
	}
	if (r->banks & GATE_BANK_SHA256) {
		/* ima_calc_field_array_hash: each bank's digest of the data;
		 * violations extend all ones (ima_add_violation sets
		 * digests to 0xff before the extend). */
		if (e->violation)
			memcpy(h, ones, 32);
		else if (!template_hash(r, r->sha256, e, h))
			return ADY_ERR_CRYPTO;
		if (!extend(r, r->sha256, n.sha256, h, 32))
			return ADY_ERR_CRYPTO;
	}
	n.count++;
	n.offset = base + e->end;
	*s = n;
	return ADY_OK;
}
