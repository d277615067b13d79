/*
 * derive.c - the platform side of EGETKEY and EREPORT (platform/derive.h):
 * HKDF-SHA256 and AES-128-CMAC through OpenSSL 3's EVP_KDF / EVP_MAC.
 *
 * The HKDF info is the derive.h encoding followed by the two masks of the
 * request, as SGX's EGETKEY does (SDM EGETKEY: the key dependencies carry
 * ATTRIBUTEMASK and MISCMASK besides the masked values).  Without them a
 * mask bit over an attribute the enclave does not have would change the
 * request but not the key, and a sealed blob could be altered in its key
 * request without unsealing failing.  Byte by byte, little-endian:
 *   0   keyname u16
 *   2   MRENCLAVE or zeros (32)
 *   34  MRSIGNER or zeros (32)
 *   66  ISVPRODID u16
 *   68  ISVSVN u16 (the request's)
 *   70  CPUSVN (16, the request's)
 *   86  ATTRIBUTES & (ATTRIBUTEMASK | INIT | DEBUG): flags u64, xfrm u64
 *   102 MISCSELECT & MISCMASK u32
 *   106 KEYID (32)
 *   138 CONFIGSVN u16
 *   140 ATTRIBUTEMASK as requested: flags u64, xfrm u64
 *   156 MISCMASK u32
 *   160 end
 * REPORT keys ignore the request except KEYID (as EGETKEY does): they bind
 * what a TARGETINFO carries, so that EREPORT can compute the target's key:
 * MRENCLAVE, the whole ATTRIBUTES and MISCSELECT, CONFIGSVN, the platform's
 * CPUSVN; MRSIGNER, ISVPRODID, ISVSVN zero and both masks all ones.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "adyton/cursor.h"
#include "adyton/sealed.h"
#include "platform/derive.h"

#define INFO_LEN 160
#define SALT "adyton egetkey v1"

/* What a key depends on, before encoding. */
typedef struct key_deps {
	uint16_t keyname;
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t cpusvn[16];
	ady_sgx_attributes attributes;     /* already masked */
	uint32_t miscselect;               /* already masked */
	uint8_t keyid[32];
	uint16_t configsvn;
	ady_sgx_attributes attributemask;  /* as requested */
	uint32_t miscmask;
} key_deps;

/* see platform/derive.h */
void ady_platform_sim(ady_platform *out)
{
	/* SHA-256("adyton sim platform root v1"): public on purpose. */
	static const uint8_t sim_root[32] = {
		0xb8, 0xb6, 0x06, 0xf7, 0xb7, 0x3e, 0x35, 0x62, 0x20, 0xe5, 0xcb, 0x72, 0x15, 0x96, 0x7b, 0x4c,
		0xf6, 0x52, 0x43, 0x3b, 0xa4, 0xb6, 0xec, 0xbd, 0x21, 0xe7, 0x0d, 0x45, 0x0d, 0xac, 0x2a, 0x0c,
	};

	memcpy(out->root, sim_root, sizeof(out->root));
	memset(out->cpusvn, 0, sizeof(out->cpusvn));
}

/* HKDF-SHA256 (RFC 5869), extract and expand, through EVP_KDF. */
static ady_err hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
			   const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[5];
	ady_err err = ADY_ERR_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		return ADY_ERR_CRYPTO;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		goto free_kdf;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
		err = ADY_OK;
	EVP_KDF_CTX_free(ctx);
free_kdf:
	EVP_KDF_free(kdf);
	return err;
}

/* see platform/derive.h */
ady_err ady_cmac_aes128(const uint8_t key[static 16], const void *msg, size_t len, uint8_t mac[static 16])
{
	EVP_MAC *m;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t n = 0;
	ady_err err = ADY_ERR_CRYPTO;

	if (!key || (!msg && len) || !mac)
		return ADY_ERR_INVALID_ARG;
	m = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
	if (!m)
		return ADY_ERR_CRYPTO;
	ctx = EVP_MAC_CTX_new(m);
	if (!ctx)
		goto free_mac;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, 16, params) == 1 && EVP_MAC_update(ctx, msg, len) == 1 &&
	    EVP_MAC_final(ctx, mac, &n, 16) == 1 && n == 16)
		err = ADY_OK;
	EVP_MAC_CTX_free(ctx);
free_mac:
	EVP_MAC_free(m);
	return err;
}

static void encode_info(const key_deps *d, uint8_t info[static INFO_LEN])
{
	uint8_t *q = info;

	ady_put_u16le(q, d->keyname), q += 2;
	memcpy(q, d->mrenclave, 32), q += 32;
	memcpy(q, d->mrsigner, 32), q += 32;
	ady_put_u16le(q, d->isvprodid), q += 2;
	ady_put_u16le(q, d->isvsvn), q += 2;
	memcpy(q, d->cpusvn, 16), q += 16;
	ady_put_u64le(q, d->attributes.flags), q += 8;
	ady_put_u64le(q, d->attributes.xfrm), q += 8;
	ady_put_u32le(q, d->miscselect), q += 4;
	memcpy(q, d->keyid, 32), q += 32;
	ady_put_u16le(q, d->configsvn), q += 2;
	ady_put_u64le(q, d->attributemask.flags), q += 8;
	ady_put_u64le(q, d->attributemask.xfrm), q += 8;
	ady_put_u32le(q, d->miscmask);
}

static ady_err derive(const ady_platform *p, const key_deps *d, uint8_t key[static 16])
{
	uint8_t info[INFO_LEN];
	ady_err err;

	encode_info(d, info);
	err = hkdf_sha256(p->root, sizeof(p->root), (const uint8_t *)SALT, sizeof(SALT) - 1, info, sizeof(info),
			  key, 16);
	OPENSSL_cleanse(info, sizeof(info));
	return err;
}

/* The report key of the enclave a TARGETINFO (or an identity) describes. */
static ady_err report_key(const ady_platform *p, const uint8_t mrenclave[static 32], const ady_sgx_attributes *attr,
			  uint32_t miscselect, uint16_t configsvn, const uint8_t keyid[static 32], uint8_t key[static 16])
{
	key_deps d;
	ady_err err;

	memset(&d, 0, sizeof(d));
	d.keyname = ADY_KEYNAME_REPORT;
	memcpy(d.mrenclave, mrenclave, 32);
	memcpy(d.cpusvn, p->cpusvn, 16);
	d.attributes = *attr;
	d.miscselect = miscselect;
	memcpy(d.keyid, keyid, 32);
	d.configsvn = configsvn;
	d.attributemask.flags = ~0ull;
	d.attributemask.xfrm = ~0ull;
	d.miscmask = ~0u;
	err = derive(p, &d, key);
	OPENSSL_cleanse(&d, sizeof(d));
	return err;
}

/* CPUSVN is a vector of component SVNs (SDM 38.18.1); each of its 16
 * bytes is one component here, and none may exceed the platform's. */
static bool cpusvn_above(const uint8_t req[static 16], const uint8_t plat[static 16])
{
	for (int i = 0; i < 16; i++)
		if (req[i] > plat[i])
			return true;
	return false;
}

/* see platform/derive.h */
ady_err ady_derive_key(const ady_platform *p, const ady_identity *self, const uint8_t keyrequest[static 512],
		       bool provision_allowed, uint8_t key[static 16])
{
	ady_sgx_keyrequest kr;
	key_deps d;
	ady_err err;

	if (!key)
		return ADY_ERR_INVALID_ARG;
	memset(key, 0, 16);
	if (!p || !self || !keyrequest)
		return ADY_ERR_INVALID_ARG;
	if (ady_keyrequest_decode(keyrequest, sizeof(kr), &kr) != ADY_OK)
		return ADY_ERR_INVALID_ARG;

	switch (kr.keyname) {
	case ADY_KEYNAME_REPORT:
		err = report_key(p, self->mrenclave, &self->attributes, self->miscselect, 0, kr.keyid, key);
		goto out;
	case ADY_KEYNAME_PROVISION:
	case ADY_KEYNAME_PROVISION_SEAL:
		if (!(self->attributes.flags & ADY_SGX_FLAGS_PROVISIONKEY) || !provision_allowed) {
			err = ADY_ERR_PERMISSION;
			goto out;
		}
		break;
	case ADY_KEYNAME_SEAL:
		break;
	case ADY_KEYNAME_EINITTOKEN: /* there is no launch enclave: nobody gets it */
	default:
		err = ADY_ERR_PERMISSION;
		goto out;
	}
	/* An enclave may derive the keys of its past versions, never of a
	 * future one: that is what lets a patched enclave lock out the old. */
	if (kr.isvsvn > self->isvsvn || cpusvn_above(kr.cpusvn, p->cpusvn) || kr.configsvn > 0 /* no KSS */) {
		err = ADY_ERR_PERMISSION;
		goto out;
	}
	memset(&d, 0, sizeof(d));
	d.keyname = kr.keyname;
	if (kr.keypolicy & ADY_KEYPOLICY_MRENCLAVE)
		memcpy(d.mrenclave, self->mrenclave, 32);
	if (kr.keypolicy & ADY_KEYPOLICY_MRSIGNER)
		memcpy(d.mrsigner, self->mrsigner, 32);
	d.isvprodid = self->isvprodid;
	d.isvsvn = kr.isvsvn;
	memcpy(d.cpusvn, kr.cpusvn, 16);
	/* SDM EGETKEY: INIT and DEBUG always enter the derivation, so a debug
	 * enclave never shares a key with a production one. */
	d.attributes.flags = self->attributes.flags &
			     (kr.attributemask.flags | ADY_SGX_FLAGS_INIT | ADY_SGX_FLAGS_DEBUG);
	d.attributes.xfrm = self->attributes.xfrm & kr.attributemask.xfrm;
	/* The mask as requested: every bit of the request counts. */
	d.attributemask = kr.attributemask;
	d.miscmask = kr.miscmask;
	d.miscselect = self->miscselect & kr.miscmask;
	memcpy(d.keyid, kr.keyid, 32);
	d.configsvn = kr.configsvn;
	err = derive(p, &d, key);
	OPENSSL_cleanse(&d, sizeof(d));
out:
	OPENSSL_cleanse(&kr, sizeof(kr));
	if (err)
		memset(key, 0, 16);
	return err;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

/* see platform/derive.h */
ady_err ady_derive_report(const ady_platform *p, const ady_identity *self, const uint8_t targetinfo[static 512],
			  const uint8_t reportdata[static 64], uint8_t report[static 432])
{
	ady_sgx_targetinfo ti;
	ady_sgx_report r;
	uint8_t key[16];
	ady_err err;

	if (!report)
		return ADY_ERR_INVALID_ARG;
	memset(report, 0, sizeof(r));
	if (!p || !self || !targetinfo || !reportdata)
		return ADY_ERR_INVALID_ARG;
	/* Copy once (the enclave may change its memory meanwhile), then check. */
	memcpy(&ti, targetinfo, sizeof(ti));
	if (!all_zero(ti.reserved1, sizeof(ti.reserved1)) || !all_zero(ti.reserved2, sizeof(ti.reserved2)) ||
	    !all_zero(ti.reserved3, sizeof(ti.reserved3)))
		return ADY_ERR_INVALID_ARG;

	memset(&r, 0, sizeof(r));
	memcpy(r.body.cpusvn, p->cpusvn, 16);
	r.body.miscselect = self->miscselect;
	r.body.attributes = self->attributes;
	memcpy(r.body.mrenclave, self->mrenclave, 32);
	memcpy(r.body.mrsigner, self->mrsigner, 32);
	r.body.isvprodid = self->isvprodid;
	r.body.isvsvn = self->isvsvn;
	memcpy(r.body.reportdata, reportdata, 64);
	if (RAND_bytes(r.keyid, sizeof(r.keyid)) != 1)
		return ADY_ERR_CRYPTO;
	err = report_key(p, ti.mrenclave, &ti.attributes, ti.miscselect, ti.configsvn, r.keyid, key);
	if (!err)
		err = ady_cmac_aes128(key, &r.body, sizeof(r.body), r.mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (err)
		return err;
	/* The packed struct is the little-endian wire image. */
	memcpy(report, &r, sizeof(r));
	return ADY_OK;
}
