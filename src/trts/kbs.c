/*
 * kbs.c - ady_kbs_fetch (adyton/kbs.h): a resource from the key broker,
 * decrypted inside the enclave.  The application relays the messages
 * (adyton_kbs.edl); it is treated as the network: everything it hands
 * back is parsed with a bounded cursor and authenticated before use.
 */
#include <bearssl.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/enclave.h"
#include "adyton/kbs.h"
#include "adyton/keyquote.h"
#include "adyton/quote.h"

/* The OCALL stubs adyton-edl generates from apps/kbs/adyton_kbs.edl (in
 * the enclave that imports it). */
ady_err kbs_ocall_challenge(int *ady_retval, const char *name, uint8_t *nonce);
ady_err kbs_ocall_fetch(int *ady_retval, const char *name, const uint8_t *nonce, const uint8_t *pub,
			    const uint8_t *quote, size_t quote_len, uint8_t *release, size_t cap, uint32_t *release_len);

#define PUB 65u
#define NONCE 32u
#define IV 12u
#define TAG 16u
#define HKDF_INFO "adyton-kbs v1"
/* kind, broker key, iv, length, then ciphertext and tag (apps/kbs/msg.h RELEASE) */
#define RELEASE_OVERHEAD (1u + PUB + IV + 4u + TAG)

static int name_valid(const char *name, size_t *len)
{
	size_t n = strnlen(name, ADY_KBS_MAX_NAME + 1);

	if (n == 0 || n > ADY_KBS_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	*len = n;
	return 1;
}

static ady_err ocall_result(ady_err call, int ret)
{
	if (call)
		return call;
	if (ret == 0)
		return ADY_OK;
	return (ret > 0 && ret < ADY_ERR_MAX_) ? (ady_err)ret : ADY_ERR_PROTOCOL;
}

/* Decrypts the RELEASE body rel[0, rel_len) in place; on success the
 * plaintext is at *pt, *pt_len bytes. */
static ady_err open_release(const br_ec_private_key *sk, const uint8_t pub[static PUB], const uint8_t nonce[static NONCE],
			    const char *name, size_t nlen, uint8_t *rel, size_t rel_len, uint8_t *kind, uint8_t **pt,
			    size_t *pt_len)
{
	uint8_t bpub[PUB], iv[IV], shared[PUB], key[32], info[sizeof(HKDF_INFO) - 1 + ADY_KBS_MAX_NAME];
	uint8_t aad[1 + NONCE + 2 * PUB + ADY_KBS_MAX_NAME];
	const br_block_ctr_class *vt = br_aes_x86ni_ctr_get_vtable();
	br_ghash gh = br_ghash_pclmul_get();
	br_aes_gen_ctr_keys ks;
	br_gcm_context gc;
	br_hkdf_context hc;
	ady_cur c;
	uint32_t ct_len;
	uint8_t k;
	size_t off;
	ady_err err = ADY_ERR_CRYPTO;

	ady_cur_init(&c, rel, rel_len);
	if (ady_cur_u8(&c, &k) || ady_cur_bytes(&c, bpub, PUB) || ady_cur_bytes(&c, iv, IV) ||
	    ady_cur_u32le(&c, &ct_len))
		return ady_cur_err(&c);
	if ((k != ADY_KBS_KIND_SECRET && k != ADY_KBS_KIND_CONFIG) || ct_len < TAG || ct_len != ady_cur_left(&c) ||
	    bpub[0] != 0x04)
		return ADY_ERR_MALFORMED;
	off = c.off;
	/* ECDH: mul() refuses a point that is not on the curve. */
	memcpy(shared, bpub, PUB);
	if (br_ec_p256_m31.mul(shared, PUB, sk->x, sk->xlen, BR_EC_secp256r1) != 1)
		return ADY_ERR_CRYPTO;
	memcpy(info, HKDF_INFO, sizeof(HKDF_INFO) - 1);
	memcpy(info + sizeof(HKDF_INFO) - 1, name, nlen);
	br_hkdf_init(&hc, &br_sha256_vtable, nonce, NONCE);
	br_hkdf_inject(&hc, shared + 1, 32);
	br_hkdf_flip(&hc);
	br_hkdf_produce(&hc, info, sizeof(HKDF_INFO) - 1 + nlen, key, sizeof(key));
	aad[0] = k;
	memcpy(aad + 1, nonce, NONCE);
	memcpy(aad + 1 + NONCE, pub, PUB);
	memcpy(aad + 1 + NONCE + PUB, bpub, PUB);
	memcpy(aad + 1 + NONCE + 2 * PUB, name, nlen);
	if (!vt)
		vt = &br_aes_ct64_ctr_vtable;
	if (!gh)
		gh = br_ghash_ctmul64;
	vt->init(&ks.vtable, key, sizeof(key));
	br_gcm_init(&gc, &ks.vtable, gh);
	br_gcm_reset(&gc, iv, IV);
	br_gcm_aad_inject(&gc, aad, 1 + NONCE + 2 * PUB + nlen);
	br_gcm_flip(&gc);
	br_gcm_run(&gc, 0, rel + off, ct_len - TAG);
	if (br_gcm_check_tag(&gc, rel + off + ct_len - TAG) == 1) {
		*kind = k;
		*pt = rel + off;
		*pt_len = ct_len - TAG;
		err = ADY_OK;
	} else {
		ady_wipe(rel + off, ct_len - TAG);
	}
	ady_wipe(shared, sizeof(shared));
	ady_wipe(key, sizeof(key));
	ady_wipe(&ks, sizeof(ks));
	ady_wipe(&gc, sizeof(gc));
	ady_wipe(&hc, sizeof(hc));
	return err;
}

/* see adyton/kbs.h */
ady_err ady_kbs_fetch(const char *name, void *out, size_t cap, size_t *len, uint8_t *kind)
{
	ady_keyquote kq;
	uint8_t nonce[NONCE];
	uint8_t *quote = NULL, *rel = NULL, *pt = NULL, k = 0;
	size_t nlen = 0, qlen = 0, pt_len = 0;
	uint32_t rel_len = 0;
	size_t rel_cap = 0;
	int ret = -1;
	ady_err err;

	if (!name || !len || (!out && cap) || !name_valid(name, &nlen))
		return ADY_ERR_INVALID_ARG;
	err = kbs_ocall_challenge(&ret, name, nonce);
	err = ocall_result(err, ret);
	if (err)
		return err;
	memset(&kq, 0, sizeof(kq));
	/* Room for what the caller can take, so that the marshalling slot
	 * need not hold more. */
	rel_cap = RELEASE_OVERHEAD + (cap < ADY_KBS_MAX_DATA ? cap : ADY_KBS_MAX_DATA);
	quote = malloc(ADY_QUOTE_MAX);
	rel = malloc(rel_cap);
	if (!quote || !rel) {
		err = ADY_ERR_NOMEM;
		goto out;
	}
	/* A key for this request only: a release cannot be opened later by
	 * whoever learns an older key. */
	err = ady_keyquote_new(nonce, &kq, quote, ADY_QUOTE_MAX, &qlen);
	if (err)
		goto out;
	ret = -1;
	err = kbs_ocall_fetch(&ret, name, nonce, kq.pub, quote, qlen, rel, rel_cap, &rel_len);
	err = ocall_result(err, ret);
	if (err == ADY_ERR_SHORT_BUFFER) {
		/* The relay's word for the size: a hint, nothing more. */
		*len = rel_len > RELEASE_OVERHEAD ? rel_len - RELEASE_OVERHEAD : 0;
		goto out;
	}
	if (err)
		goto out;
	if (rel_len > rel_cap) {
		err = ADY_ERR_PROTOCOL;
		goto out;
	}
	err = open_release(&kq.sk, kq.pub, nonce, name, nlen, rel, rel_len, &k, &pt, &pt_len);
	if (err)
		goto out;
	if (pt_len > cap) {
		*len = pt_len;
		err = ADY_ERR_SHORT_BUFFER;
		goto out;
	}
	if (pt_len)
		memcpy(out, pt, pt_len);
	*len = pt_len;
	if (kind)
		*kind = k;
out:
	ady_keyquote_fini(&kq);
	if (rel) {
		ady_wipe(rel, rel_cap);
		free(rel);
	}
	free(quote);
	return err;
}

/* see adyton/kbs.h */
ady_err ady_kbs_config_fetch(const char *name, ady_kbs_config *cfg)
{
	uint8_t *buf, kind = 0;
	size_t n = 0;
	ady_err err;

	memset(cfg, 0, sizeof(*cfg));
	buf = malloc(ADY_KBS_MAX_DATA);
	if (!buf)
		return ADY_ERR_NOMEM;
	err = ady_kbs_fetch(name, buf, ADY_KBS_MAX_DATA, &n, &kind);
	if (!err && kind != ADY_KBS_KIND_CONFIG)
		err = ADY_ERR_CONFIG;
	if (!err)
		err = ady_kbs_config_parse(buf, n, cfg);
	ady_wipe(buf, ADY_KBS_MAX_DATA);
	free(buf);
	return err;
}

/* see adyton/kbs.h */
ady_err ady_kbs_run_main(const char *name, uint8_t *out, size_t out_cap, size_t *out_len, ady_kbs_main_fn main_fn)
{
	ady_kbs_config cfg;
	ady_err err;

	if (!main_fn || !name || !out_len)
		return ADY_ERR_INVALID_ARG;
	err = ady_kbs_config_fetch(name, &cfg);
	if (err)
		return err;
	err = main_fn(&cfg, out, out_cap, out_len);
	ady_kbs_config_free(&cfg);
	return err;
}
