/*
 * adytond's attestation key and quotes (docs/attestation.md).
 *
 * The attestation key (ECDSA P-256) is created at first start and kept in
 * state_dir/attest.key, sealed with the platform root key (layout:
 * adyton/keyfile.h): AES-256-GCM of the PKCS#8 DER under
 * K = HMAC-SHA256(root, "adyton attestation key v1"), the header bytes
 * [0,8) as AAD.  Without the root key (another platform, or a TPM
 * that will not unseal it) the file is useless.  The file is written as the
 * root key is (0600, temp file, fsync, link, fsync of the directory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "adyton/keyfile.h"
#include "adyton/policy.h"
#include "adyton/quote.h"
#include "daemon/internal.h"
#include "platform/sign.h"

static int wrap_key(const uint8_t root[static 32], uint8_t k[static 32])
{
	static const char label[] = "adyton attestation key v1";
	unsigned int n = 0;

	return HMAC(EVP_sha256(), root, 32, (const unsigned char *)label, sizeof(label) - 1, k, &n) && n == 32 ? 0
													     : -1;
}

/* AES-256-GCM; enc: in -> out with tag written, else checked. */
static int gcm(int enc, const uint8_t key[static 32], const uint8_t iv[static 12], const uint8_t *aad, size_t aad_len,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[static 16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1 && EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + n, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static ady_err load_file(const char *dir, const uint8_t root[static 32], EVP_PKEY **out)
{
	uint8_t buf[ADY_AKFILE_MAX], der[ADY_AKFILE_MAX_DER], k[32];
	const unsigned char *p = der;
	ady_akfile f;
	size_t got;
	ady_err err;

	err = ady_state_read(dir, "attest.key", buf, sizeof(buf), &got);
	if (err)
		return err;
	err = ady_akfile_decode(buf, got, &f);
	if (err)
		return err;
	err = ADY_ERR_CRYPTO;
	if (wrap_key(root, k) == 0 &&
	    gcm(0, k, buf + f.iv_off, buf, ADY_AKFILE_HEAD, buf + f.ct_off, f.ct_len, der, buf + f.tag_off) == 0) {
		*out = d2i_AutoPrivateKey(NULL, &p, (long)f.ct_len);
		err = *out && EVP_PKEY_is_a(*out, "EC") ? ADY_OK : ADY_ERR_MALFORMED;
		if (err) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
	}
	OPENSSL_cleanse(der, sizeof(der));
	OPENSSL_cleanse(k, sizeof(k));
	return err;
}

static ady_err create_file(const char *dir, const uint8_t root[static 32], EVP_PKEY **out)
{
	uint8_t buf[ADY_AKFILE_MAX], k[32];
	unsigned char *der = NULL;
	EVP_PKEY *key;
	ady_akfile f;
	int n;
	size_t total;
	ady_err err = ADY_ERR_CRYPTO;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key)
		return ADY_ERR_CRYPTO;
	n = i2d_PrivateKey(key, &der);
	if (n <= 0 || (unsigned)n > ADY_AKFILE_MAX_DER ||
	    ady_akfile_encode((uint32_t)n, buf, sizeof(buf), &total, &f) != ADY_OK || wrap_key(root, k) ||
	    RAND_bytes(buf + f.iv_off, ADY_AKFILE_IV) != 1)
		goto free_key;
	if (gcm(1, k, buf + f.iv_off, buf, ADY_AKFILE_HEAD, der, (size_t)n, buf + f.ct_off, buf + f.tag_off))
		goto free_key;
	err = ady_state_write(dir, "attest.key", buf, total, 0);
free_key:
	if (der)
		OPENSSL_clear_free(der, (size_t)(n > 0 ? n : 0));
	OPENSSL_cleanse(k, sizeof(k));
	if (err) {
		EVP_PKEY_free(key);
		return err;
	}
	*out = key;
	return ADY_OK;
}

/* see internal.h */
ady_err ady_attest_load(const char *state_dir, const uint8_t root[static 32], ady_attest *a)
{
	EVP_PKEY *key = NULL;
	ady_err err = ADY_ERR_IO;

	memset(a, 0, sizeof(*a));
	for (int attempt = 0; attempt < 2; attempt++) {
		err = load_file(state_dir, root, &key);
		if (err != ADY_ERR_STATE)
			break;
		/* First start: a new key; the one that wins a race is read back. */
		err = create_file(state_dir, root, &key);
		if (err != ADY_ERR_STATE)
			break;
	}
	if (err)
		return err;
	if (ady_p256_pub(key, a->pub)) {
		EVP_PKEY_free(key);
		return ADY_ERR_CRYPTO;
	}
	a->key = key;
	a->cert_type = ADY_QUOTE_CERT_ENROLLED;
	return ADY_OK;
}

/* see internal.h */
void ady_attest_free(ady_attest *a)
{
	if (!a)
		return;
	EVP_PKEY_free(a->key);
	free(a->cert);
	memset(a, 0, sizeof(*a));
}
