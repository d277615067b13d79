/*
 * libFuzzer target: the key guard enclave's ECALL input decoders
 * (apps/keyguard/ecall_in.c), every one on the same bytes, as the enclave
 * gets them from the application.  What a decoder accepts must lie inside
 * the input, in the layout keyguard.h gives: spans within the input and
 * ending where the next part begins, the envelope last, the native
 * header's sealed blob exactly sealed_len bytes, the LUKS1 key material
 * exactly the slot's size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/enclave.h"
#include "ecall_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(kg_span s, const uint8_t *data, size_t size)
{
	if (s.p < data || s.n > size || (size_t)(s.p - data) > size - s.n)
		abort();
}

/* The envelope is the rest of the input. */
static void last(kg_span s, const uint8_t *data, size_t size)
{
	inside(s, data, size);
	if (s.p + s.n != data + size)
		abort();
}

static void envelope(kg_span env)
{
	kg_envelope e;

	if (kg_envelope_decode(env, &e) != KG_ST_OK)
		return;
	if (e.tool_pub != env.p || e.nonce != env.p + KG_PUB_SIZE || e.ct.p != env.p + KG_PUB_SIZE + KG_NONCE_SIZE ||
	    e.ct.n > KG_SECRET_MAX || e.ct.n + KG_ENV_OVERHEAD != env.n || e.tag != e.ct.p + e.ct.n)
		abort();
}

/* A refusal is one of the two statuses decoders give. */
static void refused(uint32_t st)
{
	if (st != KG_ST_BAD_HEADER && st != KG_ST_UNSUPPORTED)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kg_luks1_in l;
	kg_create_in c;
	kg_native_in n;
	kg_plain_in p;
	kg_crypt_ctl ctl;
	uint32_t st;

	st = kg_create_in_decode(data, size, &c);
	if (st == KG_ST_OK) {
		if ((c.sector != 512 && c.sector != 4096) || c.iter < KG_MIN_ITERATIONS || c.size == 0 ||
		    c.size % c.sector || c.env.p != data + 16)
			abort();
		last(c.env, data, size);
		envelope(c.env);
	} else {
		refused(st);
	}

	st = kg_native_in_decode(data, size, &n);
	if (st == KG_ST_OK) {
		if (n.aad.p != data + 4 || n.aad.n != KG_HDR_AAD || n.sealed.p != data + 4 + KG_HDR_FIXED ||
		    n.policy != ADY_SEAL_MRENCLAVE || n.sealed.n > KG_HDR_MAX - KG_HDR_FIXED ||
		    n.env.p != n.sealed.p + n.sealed.n)
			abort();
		inside(n.sealed, data, size);
		last(n.env, data, size);
		envelope(n.env);
	} else {
		refused(st);
	}

	st = kg_luks1_in_decode(data, size, &l);
	if (st == KG_ST_OK) {
		if (l.slot >= ADY_LUKS1_SLOTS || l.hdr.slot[l.slot].active != ADY_LUKS1_SLOT_ENABLED ||
		    l.material.p != data + 4 + ADY_LUKS1_PHDR_SIZE ||
		    l.material.n != ady_luks1_material_size(&l.hdr, &l.hdr.slot[l.slot]) ||
		    l.env.p != l.material.p + l.material.n)
			abort();
		last(l.env, data, size);
	} else {
		refused(st);
	}

	st = kg_plain_in_decode(data, size, &p);
	if (st == KG_ST_OK) {
		if ((p.sector != 512 && p.sector != 4096) || p.env.p != data + 4)
			abort();
		last(p.env, data, size);
		envelope(p.env);
	} else {
		refused(st);
	}

	/* the bulk control block: the last KG_CTL_SIZE bytes, as the enclave
	 * entry cuts it from the input */
	if (size >= KG_CTL_SIZE) {
		const uint8_t *b = data + size - KG_CTL_SIZE;
		if (kg_crypt_ctl_decode(b, &ctl) == ADY_OK) {
			if ((b[12] | b[13] | b[14] | b[15]) || ctl.op != ((uint32_t)b[8] | (uint32_t)b[9] << 8 |
									 (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24))
				abort();
		} else if (!(b[12] | b[13] | b[14] | b[15])) {
			abort();
		}
	}
	return 0;
}
