/*
 * The unlock envelope, host side: an ephemeral P-256 key of our own, ECDH
 * with the enclave's, SHA-256 into an AES-256-GCM key (keyguard.h).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "envelope.h"

static EVP_PKEY *peer_key(const uint8_t pub[static KG_PUB_SIZE])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	char group[] = "P-256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, KG_PUB_SIZE),
		OSSL_PARAM_construct_end(),
	};

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* see envelope.h */
ady_err kg_envelope_seal(const uint8_t enclave_pub[static KG_PUB_SIZE], uint8_t purpose, const uint8_t *secret,
			 size_t len, uint8_t *env, size_t *env_len)
{
	EVP_PKEY *mine = NULL, *peer = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	EVP_CIPHER_CTX *c = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t shared[32], key[32], mypub[KG_PUB_SIZE];
	size_t shared_len = sizeof(shared), pub_len = 0;
	int outl = 0;
	ady_err err = ADY_ERR_CRYPTO;

	*env_len = 0;
	if (len > KG_SECRET_MAX)
		return ADY_ERR_TOO_LARGE;
	peer = peer_key(enclave_pub);
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!peer || !mine)
		goto out;
	if (EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, mypub, sizeof(mypub),
					    &pub_len) != 1 ||
	    pub_len != KG_PUB_SIZE)
		goto out;
	dctx = EVP_PKEY_CTX_new(mine, NULL);
	if (!dctx || EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, peer) != 1 ||
	    EVP_PKEY_derive(dctx, shared, &shared_len) != 1 || shared_len != sizeof(shared))
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, KG_LABEL, sizeof(KG_LABEL) - 1) != 1 ||
	    EVP_DigestUpdate(md, shared, sizeof(shared)) != 1 ||
	    EVP_DigestUpdate(md, enclave_pub, KG_PUB_SIZE) != 1 || EVP_DigestUpdate(md, mypub, KG_PUB_SIZE) != 1 ||
	    EVP_DigestFinal_ex(md, key, NULL) != 1)
		goto out;

	memcpy(env, mypub, KG_PUB_SIZE);
	if (RAND_bytes(env + KG_PUB_SIZE, KG_NONCE_SIZE) != 1)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, env + KG_PUB_SIZE) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, (const uint8_t *)KG_LABEL, (int)sizeof(KG_LABEL) - 1) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, &purpose, 1) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, enclave_pub, KG_PUB_SIZE) != 1 ||
	    EVP_EncryptUpdate(c, env + KG_PUB_SIZE + KG_NONCE_SIZE, &outl, secret, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, env + KG_PUB_SIZE + KG_NONCE_SIZE + outl, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KG_TAG_SIZE, env + KG_PUB_SIZE + KG_NONCE_SIZE + len) != 1)
		goto out;
	*env_len = KG_ENV_OVERHEAD + len;
	err = ADY_OK;
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(c);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(peer);
	return err;
}
