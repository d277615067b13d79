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

/* One pass of the configuration parser: counts (fill = 0), or fills cfg
 * from the copy of the blob at base (fill = 1). */
static ady_err config_walk(const uint8_t *p, size_t len, ady_kbs_config *cfg, char *strings, size_t *str_bytes,
			   int fill)
{
	size_t argc = 0, envc = 0, nfiles = 0, sb = 0;
	ady_cur c;

	ady_cur_init(&c, p, len);
	while (ady_cur_left(&c)) {
		const uint8_t *s;
		uint8_t tag;
		uint16_t n;
		uint32_t flen = 0;
		const uint8_t *content = NULL;
		const uint8_t *eq;

		if (ady_cur_u8(&c, &tag) || ady_cur_u16le(&c, &n))
			return ady_cur_err(&c);
		if (tag < 1 || tag > 3 || n == 0)
			return ADY_ERR_MALFORMED;
		s = c.p + c.off;
		if (ady_cur_skip(&c, n))
			return ady_cur_err(&c);
		eq = memchr(s, '=', n);
		if (memchr(s, 0, n) || (tag == 2 && (!eq || eq == s)))
			return ADY_ERR_MALFORMED;
		if (tag == 3) {
			if (ady_cur_u32le(&c, &flen))
				return ady_cur_err(&c);
			content = c.p + c.off;
			if (ady_cur_skip(&c, flen))
				return ady_cur_err(&c);
		}
		if (fill) {
			char *str = strings + sb;
			memcpy(str, s, n);
			str[n] = '\0';
			if (tag == 1)
				cfg->argv[argc] = str;
			else if (tag == 2)
				cfg->envp[envc] = str;
			else {
				cfg->files[nfiles].path = str;
				cfg->files[nfiles].data = content;
				cfg->files[nfiles].len = flen;
			}
		}
		argc += tag == 1;
		envc += tag == 2;
		nfiles += tag == 3;
		sb += (size_t)n + 1;
	}
	if (ady_cur_err(&c))
		return ady_cur_err(&c);
	cfg->argc = argc;
	cfg->envc = envc;
	cfg->nfiles = nfiles;
	*str_bytes = sb;
	return ADY_OK;
}

/* see adyton/kbs.h */
ady_err ady_kbs_config_parse(const void *p, size_t len, ady_kbs_config *cfg)
{
	ady_kbs_config counted = {0};
	size_t sb = 0, ptrs, total;
	uint8_t *mem, *blob;
	ady_err err;

	memset(cfg, 0, sizeof(*cfg));
	if (len > ADY_KBS_MAX_DATA)
		return ADY_ERR_TOO_LARGE;
	if (len && !p)
		return ADY_ERR_INVALID_ARG;
	err = config_walk(p, len, &counted, NULL, &sb, 0);
	if (err)
		return err;
	/* len <= 64 KiB bounds every count: no sum below can overflow. */
	ptrs = (counted.argc + 1 + counted.envc + 1) * sizeof(char *);
	total = ptrs + counted.nfiles * sizeof(ady_kbs_file) + sb + len;
	mem = calloc(1, total ? total : 1);
	if (!mem)
		return ADY_ERR_NOMEM;
	cfg->argv = (char **)(void *)mem;
	cfg->envp = cfg->argv + counted.argc + 1;
	cfg->files = (ady_kbs_file *)(void *)(mem + ptrs);
	blob = mem + ptrs + counted.nfiles * sizeof(ady_kbs_file) + sb;
	if (len)
		memcpy(blob, p, len);
	/* The second pass reads the enclave's own copy: what it checked is
	 * what it keeps. */
	err = config_walk(blob, len, cfg, (char *)(mem + ptrs + counted.nfiles * sizeof(ady_kbs_file)), &sb, 1);
	if (err) {
		ady_wipe(mem, total);
		free(mem);
		memset(cfg, 0, sizeof(*cfg));
		return err;
	}
	cfg->argv[cfg->argc] = NULL;
	cfg->envp[cfg->envc] = NULL;
	cfg->mem_ = mem;
	cfg->mem_len_ = total;
	return ADY_OK;
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
const char *ady_kbs_config_getenv(const ady_kbs_config *cfg, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < cfg->envc; i++)
		if (!strncmp(cfg->envp[i], key, kl) && cfg->envp[i][kl] == '=')
			return cfg->envp[i] + kl + 1;
	return NULL;
}

/* see adyton/kbs.h */
const ady_kbs_file *ady_kbs_config_file(const ady_kbs_config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->nfiles; i++)
		if (!strcmp(cfg->files[i].path, path))
			return &cfg->files[i];
	return NULL;
}

/* see adyton/kbs.h */
void ady_kbs_config_free(ady_kbs_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->mem_) {
		ady_wipe(cfg->mem_, cfg->mem_len_);
		free(cfg->mem_);
	}
	memset(cfg, 0, sizeof(*cfg));
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
