/*
 * The key guard's ECALL inputs, read through the public cursor (ecall_in.h).
 */
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>

#include "ecall_in.h"

static int sector_ok(uint32_t s) { return s == 512 || s == 4096; }

/* Zeroes the answer and opens a cursor over the input. */
static void open_in(ady_cur *c, const uint8_t *in, size_t len, void *out, size_t size)
{
	memset(out, 0, size);
	ady_cur_init(c, in, len);
}

/* The rest of the input, from the read position on. */
static kg_span rest(const ady_cur *c)
{
	kg_span s = {c->p + c->off, ady_cur_left(c)};

	return s;
}

/* see ecall_in.h */
uint32_t kg_create_in_decode(const uint8_t *in, size_t len, kg_create_in *out)
{
	ady_cur c;

	open_in(&c, in, len, out, sizeof(*out));
	if (ady_cur_u32le(&c, &out->sector) || ady_cur_u32le(&c, &out->iter) || ady_cur_u64le(&c, &out->size) ||
	    !sector_ok(out->sector) || out->iter < KG_MIN_ITERATIONS || out->size == 0 || out->size % out->sector) {
		uint32_t st = ady_cur_err(&c) ? KG_ST_BAD_HEADER : KG_ST_UNSUPPORTED;
		memset(out, 0, sizeof(*out));
		return st;
	}
	out->env = rest(&c);
	return KG_ST_OK;
}

/* see ecall_in.h */
uint32_t kg_native_in_decode(const uint8_t *in, size_t len, kg_native_in *out)
{
	uint8_t magic[8];
	uint32_t hdr_len, version, sealed_len;
	kg_native_in t;
	ady_cur c, h;

	memset(&t, 0, sizeof(t));
	open_in(&c, in, len, out, sizeof(*out));
	if (ady_cur_u32le(&c, &hdr_len) || hdr_len < KG_HDR_FIXED || hdr_len > KG_HDR_MAX ||
	    ady_cur_sub(&c, 4, hdr_len, &h) || ady_cur_skip(&c, hdr_len))
		return KG_ST_BAD_HEADER;
	/* The header (keyguard.h), then the sealed blob that fills it. */
	if (ady_cur_bytes(&h, magic, 8) || ady_cur_u32le(&h, &version) || ady_cur_u32le(&h, &t.sector) ||
	    ady_cur_u32le(&h, &t.iter) || ady_cur_u32le(&h, &t.policy) || ady_cur_u64le(&h, &t.size) ||
	    ady_cur_u32le(&h, &sealed_len) || ady_cur_zeros(&h, 28))
		return KG_ST_BAD_HEADER;
	if (memcmp(magic, KG_HDR_MAGIC, 8) != 0 || version != 1 || sealed_len != ady_cur_left(&h))
		return KG_ST_BAD_HEADER;
	if (!sector_ok(t.sector) || t.iter < KG_MIN_ITERATIONS || t.policy != ADY_SEAL_MRENCLAVE)
		return KG_ST_UNSUPPORTED;
	t.aad.p = h.p;
	t.aad.n = KG_HDR_AAD;
	t.sealed = rest(&h);
	t.env = rest(&c);
	*out = t;
	return KG_ST_OK;
}

/* see ecall_in.h */
uint32_t kg_luks1_in_decode(const uint8_t *in, size_t len, kg_luks1_in *out)
{
	ady_cur c, phdr, mat;
	uint64_t msize;
	ady_err err;

	open_in(&c, in, len, out, sizeof(*out));
	if (ady_cur_u32le(&c, &out->slot) || ady_cur_sub(&c, 4, ADY_LUKS1_PHDR_SIZE, &phdr) ||
	    ady_cur_skip(&c, ADY_LUKS1_PHDR_SIZE)) {
		memset(out, 0, sizeof(*out));
		return KG_ST_BAD_HEADER;
	}
	err = ady_luks1_decode(phdr.p, ADY_LUKS1_PHDR_SIZE, &out->hdr);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err == ADY_ERR_UNSUPPORTED ? KG_ST_UNSUPPORTED : KG_ST_BAD_HEADER;
	}
	if (out->slot >= ADY_LUKS1_SLOTS || out->hdr.slot[out->slot].active != ADY_LUKS1_SLOT_ENABLED) {
		memset(out, 0, sizeof(*out));
		return KG_ST_BAD_HEADER;
	}
	msize = ady_luks1_material_size(&out->hdr, &out->hdr.slot[out->slot]);
	if (ady_cur_sub(&c, c.off, msize, &mat) || ady_cur_skip(&c, (size_t)msize)) {
		memset(out, 0, sizeof(*out));
		return KG_ST_BAD_HEADER;
	}
	out->material = rest(&mat);
	out->env = rest(&c);
	return KG_ST_OK;
}

/* see ecall_in.h */
uint32_t kg_plain_in_decode(const uint8_t *in, size_t len, kg_plain_in *out)
{
	ady_cur c;

	open_in(&c, in, len, out, sizeof(*out));
	if (ady_cur_u32le(&c, &out->sector) || !sector_ok(out->sector)) {
		uint32_t st = ady_cur_err(&c) ? KG_ST_BAD_HEADER : KG_ST_UNSUPPORTED;
		memset(out, 0, sizeof(*out));
		return st;
	}
	out->env = rest(&c);
	return KG_ST_OK;
}

/* see ecall_in.h */
uint32_t kg_envelope_decode(kg_span env, kg_envelope *out)
{
	ady_cur c, ct;
	kg_envelope t;

	memset(out, 0, sizeof(*out));
	if (env.n < KG_ENV_OVERHEAD || env.n > KG_ENV_MAX)
		return KG_ST_BAD_ENVELOPE;
	ady_cur_init(&c, env.p, env.n);
	t.tool_pub = c.p + c.off;
	if (ady_cur_skip(&c, KG_PUB_SIZE))
		return KG_ST_BAD_ENVELOPE;
	t.nonce = c.p + c.off;
	if (ady_cur_skip(&c, KG_NONCE_SIZE) || ady_cur_sub(&c, c.off, ady_cur_left(&c) - KG_TAG_SIZE, &ct) ||
	    ady_cur_skip(&c, ady_cur_left(&c) - KG_TAG_SIZE))
		return KG_ST_BAD_ENVELOPE;
	t.ct = rest(&ct);
	t.tag = c.p + c.off;
	if (ady_cur_skip(&c, KG_TAG_SIZE) || ady_cur_left(&c) != 0)
		return KG_ST_BAD_ENVELOPE;
	*out = t;
	return KG_ST_OK;
}

/* see ecall_in.h */
ady_err kg_crypt_ctl_decode(const uint8_t ctl[static KG_CTL_SIZE], kg_crypt_ctl *out)
{
	ady_cur c;

	open_in(&c, ctl, KG_CTL_SIZE, out, sizeof(*out));
	if (ady_cur_u64le(&c, &out->sector) || ady_cur_u32le(&c, &out->op) || ady_cur_zeros(&c, 4)) {
		memset(out, 0, sizeof(*out));
		return ADY_ERR_MALFORMED;
	}
	return ADY_OK;
}
