/*
 * Sealing (adyton/enclave.h): the SGX SDK's sgx_sealed_data_t
 * (adyton/sealed.h) under AES-128-GCM with BearSSL, AES-NI and PCLMUL when
 * the CPU has them, else the constant-time ct64/ctmul64 code.
 *
 * The key request is the SDK's default (sgx_tseal.h): ATTRIBUTEMASK flags
 * 0xFF0000000000000B (TSEAL_DEFAULT_FLAGSMASK: INIT, DEBUG, bit 3 and the
 * top reserved byte; MODE64BIT and PROVISIONKEY stay out), XFRM mask 0, MISCMASK 0xF0000000, this enclave's ISVSVN and the
 * platform's CPUSVN (both learnt from a report for ourselves), and a fresh
 * random KEYID, so that the zero IV never meets the same key twice.
 */
#include <bearssl.h>
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/sealed.h"
#include "adyton/sgx.h"
#include "internal.h"

_Static_assert(ADY_SEALED_HEADER == ADY_SEALED_HDR_SIZE, "enclave.h and sealed.h agree");

#define SEAL_FLAGSMASK 0xFF0000000000000Bull
#define SEAL_XFRMMASK 0ull
#define SEAL_MISCMASK 0xF0000000u
#define AUTH_CHUNK 256u

/* ISVSVN and CPUSVN do not change while the enclave lives. */
static struct {
	uint16_t isvsvn;
	uint8_t cpusvn[16];
	int ready;
} me;

typedef struct gcm {
	br_aes_gen_ctr_keys ks;
	br_gcm_context gc;
} gcm;

static ady_err self_svn(uint16_t *isvsvn, uint8_t cpusvn[static 16])
{
	static const uint8_t zero_target[512], no_data[64];
	ady_sgx_report r;
	ady_err err;

	if (!__atomic_load_n(&me.ready, __ATOMIC_ACQUIRE)) {
		/* Any target will do: only the body, our identity, is used. */
		err = ady_create_report(zero_target, no_data, (uint8_t *)&r);
		if (err)
			return err;
		me.isvsvn = r.body.isvsvn;
		memcpy(me.cpusvn, r.body.cpusvn, 16);
		__atomic_store_n(&me.ready, 1, __ATOMIC_RELEASE);
	}
	*isvsvn = me.isvsvn;
	memcpy(cpusvn, me.cpusvn, 16);
	return ADY_OK;
}

static void gcm_start(gcm *g, const uint8_t key[static 16], const uint8_t *aad, size_t aad_len)
{
	static const uint8_t iv[12]; /* zero, as the SDK: the key is fresh per blob */
	const br_block_ctr_class *vt = br_aes_x86ni_ctr_get_vtable();
	br_ghash gh = br_ghash_pclmul_get();

	if (!vt)
		vt = &br_aes_ct64_ctr_vtable;
	if (!gh)
		gh = br_ghash_ctmul64;
	vt->init(&g->ks.vtable, key, 16);
	br_gcm_init(&g->gc, &g->ks.vtable, gh);
	br_gcm_reset(&g->gc, iv, sizeof(iv));
	br_gcm_aad_inject(&g->gc, aad, aad_len);
	br_gcm_flip(&g->gc);
}

/* see adyton/enclave.h */
size_t ady_sealed_size(size_t aad_len, size_t text_len)
{
	size_t total;

	return ady_sealed_total(aad_len, text_len, &total) ? 0 : total;
}

/* see adyton/enclave.h */
ady_err ady_seal(uint16_t policy, const void *aad, size_t aad_len, const void *text, size_t text_len, uint8_t *blob,
		 size_t blob_cap, size_t *blob_len)
{
	ady_sealed_hdr h;
	uint8_t key[16];
	uint8_t *payload;
	uint16_t isvsvn;
	size_t total;
	gcm g;
	ady_err err;

	if (!blob_len)
		return ADY_ERR_INVALID_ARG;
	*blob_len = 0;
	if ((aad_len && !aad) || (text_len && !text))
		return ADY_ERR_INVALID_ARG;
	/* MRENCLAVE, MRSIGNER or both: a key bound to neither would be shared
	 * by every enclave with our ISVPRODID, whoever signed it. */
	if (policy == 0 || (policy & ~(ADY_SEAL_MRENCLAVE | ADY_SEAL_MRSIGNER)))
		return ADY_ERR_INVALID_ARG;
	err = ady_sealed_total(aad_len, text_len, &total);
	if (err)
		return err;
	if (blob_cap < total) {
		*blob_len = total;
		return ADY_ERR_SHORT_BUFFER;
	}
	if (!blob)
		return ADY_ERR_INVALID_ARG;

	memset(&h, 0, sizeof(h));
	h.key_request.keyname = ADY_KEYNAME_SEAL;
	h.key_request.keypolicy = policy;
	err = self_svn(&isvsvn, h.key_request.cpusvn);
	if (err)
		return err;
	h.key_request.isvsvn = isvsvn;
	h.key_request.attributemask.flags = SEAL_FLAGSMASK;
	h.key_request.attributemask.xfrm = SEAL_XFRMMASK;
	h.key_request.miscmask = SEAL_MISCMASK;
	err = ady_random(h.key_request.keyid, sizeof(h.key_request.keyid));
	if (err)
		return err;
	err = ady_get_key(&h.key_request, key);
	if (err)
		return err;

	h.plain_text_offset = (uint32_t)text_len; /* ady_sealed_total: both fit */
	h.payload_size = (uint32_t)(text_len + aad_len);
	payload = blob + ADY_SEALED_HDR_SIZE;
	if (text_len)
		memmove(payload, text, text_len);
	if (aad_len)
		memmove(payload + text_len, aad, aad_len);
	gcm_start(&g, key, payload + text_len, aad_len);
	br_gcm_run(&g.gc, 1, payload, text_len);
	br_gcm_get_tag(&g.gc, h.tag);
	ady_sealed_encode(&h, blob);

	ady_wipe(&g, sizeof(g));
	ady_wipe(key, sizeof(key));
	*blob_len = total;
	return ADY_OK;
}

/* Authenticates without writing anywhere but a stack buffer that is
 * wiped: a forged blob must not leave its decryption in the caller's
 * buffers, not even briefly. */
static bool authentic(const uint8_t key[static 16], const uint8_t *payload, size_t text_len, size_t aad_len,
		      const uint8_t tag[static 16])
{
	uint8_t chunk[AUTH_CHUNK];
	bool ok;
	gcm g;

	gcm_start(&g, key, payload + text_len, aad_len);
	for (size_t off = 0; off < text_len; off += AUTH_CHUNK) {
		size_t n = text_len - off < AUTH_CHUNK ? text_len - off : AUTH_CHUNK;
		memcpy(chunk, payload + off, n);
		br_gcm_run(&g.gc, 0, chunk, n);
	}
	ok = br_gcm_check_tag(&g.gc, tag) == 1;
	ady_wipe(chunk, sizeof(chunk));
	ady_wipe(&g, sizeof(g));
	return ok;
}

/* see adyton/enclave.h */
ady_err ady_unseal(const uint8_t *blob, size_t blob_len, void *aad, size_t aad_cap, size_t *aad_len, void *text,
		   size_t text_cap, size_t *text_len)
{
	const uint8_t *payload, *aad_src;
	ady_sealed_hdr h;
	size_t tl, al;
	uint8_t key[16];
	gcm g;
	bool ok;
	ady_err err;

	if (!text_len)
		return ADY_ERR_INVALID_ARG;
	*text_len = 0;
	if (aad_len)
		*aad_len = 0;
	if (aad && !aad_len)
		return ADY_ERR_INVALID_ARG;
	err = ady_sealed_decode(blob, blob_len, &h);
	if (err)
		return err;
	tl = h.plain_text_offset;
	al = h.payload_size - h.plain_text_offset; /* decode: offset <= size */
	if (text_cap < tl || (aad && aad_cap < al)) {
		*text_len = tl;
		if (aad_len)
			*aad_len = al;
		return ADY_ERR_SHORT_BUFFER;
	}
	if (tl && !text)
		return ADY_ERR_INVALID_ARG;
	err = ady_get_key(&h.key_request, key);
	if (err)
		return err;
	payload = blob + ADY_SEALED_HDR_SIZE;
	if (!authentic(key, payload, tl, al, h.tag)) {
		err = ADY_ERR_CRYPTO;
		goto wipe_key;
	}
	/* Decrypt the copy that is authenticated again: the blob may have
	 * changed since the first pass if it is not private memory. */
	aad_src = payload + tl;
	if (aad && al) {
		memcpy(aad, payload + tl, al);
		aad_src = aad;
	}
	if (tl)
		memcpy(text, payload, tl);
	gcm_start(&g, key, aad_src, al);
	br_gcm_run(&g.gc, 0, text, tl);
	ok = br_gcm_check_tag(&g.gc, h.tag) == 1;
	ady_wipe(&g, sizeof(g));
	if (!ok) {
		ady_wipe(text, tl);
		if (aad)
			ady_wipe(aad, al);
		err = ADY_ERR_CRYPTO;
		goto wipe_key;
	}
	*text_len = tl;
	if (aad_len)
		*aad_len = al;
wipe_key:
	ady_wipe(key, sizeof(key));
	ady_wipe(&h, sizeof(h));
	return err;
}
