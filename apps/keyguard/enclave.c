/*
 * The key guard enclave: holds one volume key and en/decrypts sectors
 * with it.  The password reaches it only as an envelope encrypted to its
 * ephemeral P-256 key (keyguard.h); the key is derived, unwrapped or
 * unsealed here and never leaves.  See apps/keyguard/README.md.
 */
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/luks1.h>

#include "ecall_in.h"
#include "kg_crypto.h"
#include "keyguard.h"

static const char verifier_label[] = "adyton-keyguard verifier/1";

static struct {
	int lock;                      /* control ECALLs: one at a time */
	int have_kp;
	uint8_t sk[32];
	size_t sk_len;
	uint8_t pub[KG_PUB_SIZE];
	int open;                      /* published with release after xts/sector_size */
	uint32_t sector_size;
	kg_xts xts;
} st;

static void take(void)
{
	while (__atomic_exchange_n(&st.lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void give(void) { __atomic_store_n(&st.lock, 0, __ATOMIC_RELEASE); }

static ady_err status(uint8_t *out, size_t out_cap, size_t *out_len, uint32_t st_code)
{
	ady_wr w;

	if (out_cap < 4)
		return ADY_ERR_SHORT_BUFFER;
	ady_wr_init(&w, out, 4);
	ady_wr_u32le(&w, st_code);
	*out_len = ady_wr_len(&w);
	return ady_wr_err(&w);
}

/* The ephemeral key pair, made on first use: it lives as long as this
 * enclave instance and never touches storage. */
static ady_err keypair(void)
{
	br_hmac_drbg_context drbg;
	br_ec_private_key sk;
	br_ec_public_key pk;
	uint8_t seed[48];
	ady_err err;

	if (st.have_kp)
		return ADY_OK;
	if (!kg_xts_supported())
		return ADY_ERR_UNSUPPORTED; /* the data path is AES-NI only */
	err = ady_random(seed, sizeof(seed));
	if (err)
		return err;
	br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof(seed));
	ady_wipe(seed, sizeof(seed));
	st.sk_len = br_ec_keygen(&drbg.vtable, &br_ec_p256_m31, &sk, st.sk, BR_EC_secp256r1);
	ady_wipe(&drbg, sizeof(drbg));
	if (st.sk_len == 0)
		return ADY_ERR_CRYPTO;
	if (br_ec_compute_pub(&br_ec_p256_m31, &pk, st.pub, &sk) != KG_PUB_SIZE)
		return ADY_ERR_CRYPTO;
	st.have_kp = 1;
	return ADY_OK;
}

/*
 * Opens an envelope (keyguard.h) into secret (KG_SECRET_MAX bytes):
 * KG_ST_OK with *len set, or KG_ST_BAD_ENVELOPE for anything that does
 * not authenticate.  The envelope is an enclave copy (ordinary ECALL).
 */
static uint32_t open_envelope(kg_span env_in, uint8_t purpose, uint8_t *secret, size_t *len)
{
	uint8_t point[KG_PUB_SIZE], key[32], iv[KG_NONCE_SIZE], p = purpose;
	br_sha256_context h;
	br_aes_gen_ctr_keys ak;
	const br_block_ctr_class *ctr = br_aes_x86ni_ctr_get_vtable();
	br_ghash gh = br_ghash_pclmul_get();
	br_gcm_context gcm;
	kg_envelope env;
	uint32_t ok;

	*len = 0;
	if (!st.have_kp || kg_envelope_decode(env_in, &env) != KG_ST_OK)
		return KG_ST_BAD_ENVELOPE;
	memcpy(point, env.tool_pub, KG_PUB_SIZE);
	/* mul() checks the point is on the curve; X lands in point[1..33]. */
	if (!br_ec_p256_m31.mul(point, sizeof(point), st.sk, st.sk_len, BR_EC_secp256r1))
		return KG_ST_BAD_ENVELOPE;
	br_sha256_init(&h);
	br_sha256_update(&h, KG_LABEL, sizeof(KG_LABEL) - 1);
	br_sha256_update(&h, point + 1, 32);
	br_sha256_update(&h, st.pub, KG_PUB_SIZE);
	br_sha256_update(&h, env.tool_pub, KG_PUB_SIZE);
	br_sha256_out(&h, key);
	ady_wipe(point, sizeof(point));

	if (!ctr)
		ctr = &br_aes_ct64_ctr_vtable;
	if (!gh)
		gh = br_ghash_ctmul64;
	ctr->init(&ak.vtable, key, sizeof(key));
	br_gcm_init(&gcm, &ak.vtable, gh);
	memcpy(iv, env.nonce, sizeof(iv));
	br_gcm_reset(&gcm, iv, sizeof(iv));
	br_gcm_aad_inject(&gcm, KG_LABEL, sizeof(KG_LABEL) - 1);
	br_gcm_aad_inject(&gcm, &p, 1);
	br_gcm_aad_inject(&gcm, st.pub, KG_PUB_SIZE);
	br_gcm_flip(&gcm);
	memcpy(secret, env.ct.p, env.ct.n);
	br_gcm_run(&gcm, 0, secret, env.ct.n);
	ok = br_gcm_check_tag(&gcm, env.tag);
	ady_wipe(&gcm, sizeof(gcm));
	ady_wipe(&ak, sizeof(ak));
	ady_wipe(key, sizeof(key));
	if (!ok) {
		ady_wipe(secret, env.ct.n);
		return KG_ST_BAD_ENVELOPE;
	}
	*len = env.ct.n;
	return KG_ST_OK;
}

static void verifier(const uint8_t vkey[static KG_XTS_KEY_SIZE], uint8_t out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, vkey, KG_XTS_KEY_SIZE);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, verifier_label, sizeof(verifier_label) - 1);
	br_hmac_out(&hc, out);
	ady_wipe(&kc, sizeof(kc));
	ady_wipe(&hc, sizeof(hc));
}

/* Installs the volume key and publishes the open state. */
static void install(const uint8_t vkey[static KG_XTS_KEY_SIZE], uint32_t sector_size)
{
	kg_xts_init(&st.xts, vkey);
	st.sector_size = sector_size;
	__atomic_store_n(&st.open, 1, __ATOMIC_RELEASE);
}

/* A quote over the unlock key, for the verifier's nonce: whoever checks it
 * knows that key was made inside this enclave (keyguard.h). */
static ady_err e_quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t rd[64] = {0};
	br_sha256_context h;
	ady_err err;

	if (in_len != 32)
		return ADY_ERR_INVALID_ARG;
	take();
	err = keypair();
	if (!err) {
		br_sha256_init(&h);
		br_sha256_update(&h, KG_QUOTE_LABEL, sizeof(KG_QUOTE_LABEL) - 1);
		br_sha256_update(&h, st.pub, KG_PUB_SIZE);
		br_sha256_out(&h, rd);
	}
	give();
	if (!err)
		err = ady_get_quote(rd, in, out, out_cap, out_len);
	return err;
}

static ady_err e_pubkey(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	ady_err err;

	(void)in, (void)in_len;
	if (out_cap < KG_PUB_SIZE)
		return ADY_ERR_SHORT_BUFFER;
	take();
	err = keypair();
	if (!err) {
		memcpy(out, st.pub, KG_PUB_SIZE);
		*out_len = KG_PUB_SIZE;
	}
	give();
	return err;
}

static ady_err e_create(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t pw[KG_SECRET_MAX], vkey[KG_XTS_KEY_SIZE], text[KG_SALT_SIZE + 32];
	uint8_t *h, *sealed_len;
	uint32_t code;
	size_t pw_len = 0, blob_len = 0;
	kg_create_in a;
	ady_wr w;
	ady_err err;

	code = kg_create_in_decode(in, in_len, &a);
	if (code)
		return status(out, out_cap, out_len, code);
	if (out_cap < 4 + KG_HDR_FIXED + ADY_SEALED_HEADER + KG_HDR_AAD + sizeof(text))
		return ADY_ERR_SHORT_BUFFER;
	take();
	code = open_envelope(a.env, KG_PURPOSE_PASSWORD, pw, &pw_len);
	give();
	if (code)
		return status(out, out_cap, out_len, code);
	err = ady_random(text, KG_SALT_SIZE);
	if (err)
		goto out;
	kg_pbkdf2_sha256(pw, pw_len, text, KG_SALT_SIZE, a.iter, vkey, sizeof(vkey));
	verifier(vkey, text + KG_SALT_SIZE);

	/* status, then the native header (keyguard.h); the sealed blob's
	 * length is known once it is sealed. */
	ady_wr_init(&w, out, out_cap);
	ady_wr_u32le(&w, KG_ST_OK);
	ady_wr_bytes(&w, KG_HDR_MAGIC, 8);
	ady_wr_u32le(&w, 1);
	ady_wr_u32le(&w, a.sector);
	ady_wr_u32le(&w, a.iter);
	ady_wr_u32le(&w, ADY_SEAL_MRENCLAVE);
	ady_wr_u64le(&w, a.size);
	sealed_len = ady_wr_reserve(&w, 4);
	ady_wr_zero(&w, 28);
	h = ady_wr_at(&w, 4, KG_HDR_FIXED);
	if (ady_wr_err(&w) || !h || !sealed_len) {
		err = ADY_ERR_SHORT_BUFFER;
		goto out;
	}
	err = ady_seal(ADY_SEAL_MRENCLAVE, h, KG_HDR_AAD, text, sizeof(text), h + KG_HDR_FIXED,
		       out_cap - 4 - KG_HDR_FIXED, &blob_len);
	if (err)
		goto out;
	ady_put_u32le(sealed_len, (uint32_t)blob_len);
	*out_len = 4 + KG_HDR_FIXED + blob_len;
out:
	ady_wipe(pw, sizeof(pw));
	ady_wipe(vkey, sizeof(vkey));
	ady_wipe(text, sizeof(text));
	return err;
}

/* The answer of a successful open: status, then the given words. */
static ady_err opened(uint8_t *out, size_t out_cap, size_t *out_len, uint32_t code, uint32_t a, const uint64_t *b)
{
	ady_wr w;

	ady_wr_init(&w, out, out_cap);
	ady_wr_u32le(&w, code);
	if (!code) {
		ady_wr_u32le(&w, a);
		if (b)
			ady_wr_u64le(&w, *b);
	}
	*out_len = ady_wr_len(&w);
	return ady_wr_err(&w);
}

static ady_err e_open_native(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t pw[KG_SECRET_MAX], vkey[KG_XTS_KEY_SIZE], text[KG_SALT_SIZE + 32], aad[KG_HDR_AAD], v[32];
	uint32_t code;
	size_t pw_len = 0, text_len = 0, aad_len = 0;
	kg_native_in a;

	if (out_cap < 16)
		return ADY_ERR_SHORT_BUFFER;
	code = kg_native_in_decode(in, in_len, &a);
	if (code)
		return status(out, out_cap, out_len, code);
	/* The sealed text binds the header's parameters (AAD): a changed
	 * iteration count or sector size does not unseal. */
	if (ady_unseal(a.sealed.p, a.sealed.n, aad, sizeof(aad), &aad_len, text, sizeof(text), &text_len) ||
	    aad_len != KG_HDR_AAD || text_len != sizeof(text) || memcmp(aad, a.aad.p, KG_HDR_AAD) != 0) {
		ady_wipe(text, sizeof(text));
		return status(out, out_cap, out_len, KG_ST_SEAL);
	}
	take();
	if (__atomic_load_n(&st.open, __ATOMIC_ACQUIRE)) {
		code = KG_ST_ALREADY;
		goto out;
	}
	code = open_envelope(a.env, KG_PURPOSE_PASSWORD, pw, &pw_len);
	if (code)
		goto out;
	kg_pbkdf2_sha256(pw, pw_len, text, KG_SALT_SIZE, a.iter, vkey, sizeof(vkey));
	verifier(vkey, v);
	if (!ady_memeq_ct(v, text + KG_SALT_SIZE, 32)) {
		code = KG_ST_WRONG_PASSWORD;
		goto out;
	}
	install(vkey, a.sector);
out:
	give();
	ady_wipe(pw, sizeof(pw));
	ady_wipe(vkey, sizeof(vkey));
	ady_wipe(text, sizeof(text));
	ady_wipe(v, sizeof(v));
	return opened(out, out_cap, out_len, code, a.sector, &a.size);
}

static ady_err e_open_luks1(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t pw[KG_SECRET_MAX], skey[KG_XTS_KEY_SIZE], mkey[KG_XTS_KEY_SIZE], dg[ADY_LUKS1_DIGEST_SIZE];
	uint8_t *mat = NULL;
	uint32_t code, payload = 0;
	size_t pw_len = 0, msize = 0;
	const ady_luks1_slot *ks;
	kg_luks1_in a;
	kg_xts x;

	if (out_cap < 8)
		return ADY_ERR_SHORT_BUFFER;
	code = kg_luks1_in_decode(in, in_len, &a);
	if (code)
		return status(out, out_cap, out_len, code);
	ks = &a.hdr.slot[a.slot];
	msize = a.material.n;
	take();
	if (__atomic_load_n(&st.open, __ATOMIC_ACQUIRE)) {
		code = KG_ST_ALREADY;
		goto out;
	}
	code = open_envelope(a.env, KG_PURPOSE_PASSWORD, pw, &pw_len);
	if (code)
		goto out;
	mat = malloc(msize);
	if (!mat) {
		code = KG_ST_UNSUPPORTED;
		goto out;
	}
	/* Key slot: PBKDF2 -> key that decrypts the split key material
	 * (aes-xts-plain64, 512-byte sectors from 0) -> AFmerge -> volume key,
	 * accepted only if its PBKDF2 digest matches mk_digest. */
	kg_pbkdf2_sha256(pw, pw_len, ks->salt, ADY_LUKS1_SALT_SIZE, ks->iterations, skey, sizeof(skey));
	kg_xts_init(&x, skey);
	kg_xts_decrypt(&x, 0, ADY_LUKS1_SECTOR, mat, a.material.p, msize);
	kg_xts_wipe(&x);
	kg_af_merge(mat, a.hdr.key_bytes, ks->stripes, mkey);
	kg_pbkdf2_sha256(mkey, a.hdr.key_bytes, a.hdr.mk_digest_salt, ADY_LUKS1_SALT_SIZE, a.hdr.mk_digest_iter, dg,
			 sizeof(dg));
	if (!ady_memeq_ct(dg, a.hdr.mk_digest, sizeof(dg))) {
		code = KG_ST_WRONG_PASSWORD;
		goto out;
	}
	install(mkey, ADY_LUKS1_SECTOR);
	payload = a.hdr.payload_offset;
out:
	give();
	if (mat) {
		ady_wipe(mat, msize);
		free(mat);
	}
	ady_wipe(pw, sizeof(pw));
	ady_wipe(skey, sizeof(skey));
	ady_wipe(mkey, sizeof(mkey));
	return opened(out, out_cap, out_len, code, payload, NULL);
}

static ady_err e_open_plain(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t key[KG_SECRET_MAX];
	uint32_t code;
	size_t key_len = 0;
	kg_plain_in a;

	code = kg_plain_in_decode(in, in_len, &a);
	if (code)
		return status(out, out_cap, out_len, code);
	take();
	if (__atomic_load_n(&st.open, __ATOMIC_ACQUIRE)) {
		code = KG_ST_ALREADY;
		goto out;
	}
	code = open_envelope(a.env, KG_PURPOSE_RAWKEY, key, &key_len);
	if (code)
		goto out;
	if (key_len != KG_XTS_KEY_SIZE) {
		code = KG_ST_UNSUPPORTED;
		goto out;
	}
	install(key, a.sector);
out:
	give();
	ady_wipe(key, sizeof(key));
	return status(out, out_cap, out_len, code);
}

static ady_err e_lock(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len;
	take();
	__atomic_store_n(&st.open, 0, __ATOMIC_RELEASE);
	kg_xts_wipe(&st.xts);
	st.sector_size = 0;
	give();
	return status(out, out_cap, out_len, KG_ST_OK);
}

/*
 * Bulk (adyton/enclave.h): io is the application's slot.  Lengths and the
 * sector come from ctl (private) and io_len; each 16-byte block of io is
 * loaded once and its result stored once; nothing but the en/decrypted
 * data is written there.
 */
static ady_err e_crypt(const uint8_t *ctl, uint8_t *io, size_t io_len, size_t out_cap, size_t *out_len)
{
	kg_crypt_ctl c;
	uint32_t ss;

	if (kg_crypt_ctl_decode(ctl, &c))
		return ADY_ERR_MALFORMED;
	if (!__atomic_load_n(&st.open, __ATOMIC_ACQUIRE))
		return ADY_ERR_STATE;
	ss = st.sector_size;
	if (io_len % ss || out_cap < io_len)
		return ADY_ERR_INVALID_ARG;
	if (c.op == KG_OP_ENCRYPT)
		kg_xts_encrypt(&st.xts, c.sector, ss, io, io, io_len);
	else if (c.op == KG_OP_DECRYPT)
		kg_xts_decrypt(&st.xts, c.sector, ss, io, io, io_len);
	else
		return ADY_ERR_MALFORMED;
	*out_len = io_len;
	return ADY_OK;
}

static ady_err e_unused(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	return ADY_ERR_ECALL_INDEX;
}

/* Index order: keyguard.h.  KG_E_CRYPT is bulk; its ordinary slot refuses. */
ADY_ECALLS(e_pubkey, e_create, e_open_native, e_open_luks1, e_open_plain, e_lock, e_unused, e_quote);
ADY_BULK_ECALLS({KG_E_CRYPT, KG_CTL_SIZE, e_crypt});
