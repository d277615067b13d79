/*
 * store.c - backend-independent half of the broker's store (store.h).
 */
#include "store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"

/* see store.h */
ady_err kbs_store_open(const char *where, kbs_store **out)
{
	*out = NULL;
	if (!where || !*where)
		return ADY_ERR_INVALID_ARG;
	if (strncmp(where, "postgresql:", 11) == 0)
		return kbs_store_pg_open(where + 11, out);
	if (strncmp(where, "sqlite:", 7) == 0)
		where += 7;
	return kbs_store_sqlite_open(where, out);
}

void kbs_store_close(kbs_store *s)
{
	if (!s)
		return;
	ady_wipe(s->master, sizeof(s->master));
	s->ops->close(s);
}

#define AT_REST_AAD "adyton-kbs at rest v1"
#define AT_REST_VERSION 1u
#define AT_REST_IV 12u
#define AT_REST_TAG 16u
#define AT_REST_OVERHEAD (1u + AT_REST_IV + AT_REST_TAG)

static size_t aad_of(uint8_t kind, const char *name, uint8_t aad[static sizeof(AT_REST_AAD) + 1 + 160])
{
	size_t n = strnlen(name, 160);

	memcpy(aad, AT_REST_AAD, sizeof(AT_REST_AAD) - 1);
	aad[sizeof(AT_REST_AAD) - 1] = kind;
	memcpy(aad + sizeof(AT_REST_AAD), name, n);
	return sizeof(AT_REST_AAD) + n;
}

/* out: len + AT_REST_OVERHEAD bytes. */
static ady_err seal(const uint8_t key[static 32], uint8_t kind, const char *name, const uint8_t *pt, size_t len,
		    uint8_t *out)
{
	uint8_t aad[sizeof(AT_REST_AAD) + 1 + 160];
	size_t aad_len = aad_of(kind, name, aad);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	out[0] = AT_REST_VERSION;
	ok = c && len <= INT32_MAX && RAND_bytes(out + 1, AT_REST_IV) == 1 &&
	     EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out + 1) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
	     (len == 0 || EVP_EncryptUpdate(c, out + 1 + AT_REST_IV, &n, pt, (int)len) == 1) &&
	     EVP_EncryptFinal_ex(c, out + 1 + AT_REST_IV + len, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AT_REST_TAG, out + 1 + AT_REST_IV + len) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? ADY_OK : ADY_ERR_CRYPTO;
}

/* in: stored bytes; out: in_len - AT_REST_OVERHEAD bytes. */
static ady_err unseal(const uint8_t key[static 32], uint8_t kind, const char *name, const uint8_t *in, size_t in_len,
		      uint8_t *out)
{
	uint8_t aad[sizeof(AT_REST_AAD) + 1 + 160], tag[AT_REST_TAG];
	size_t aad_len = aad_of(kind, name, aad), len;
	EVP_CIPHER_CTX *c;
	int n = 0, ok;

	if (in_len < AT_REST_OVERHEAD || in[0] != AT_REST_VERSION || in_len > INT32_MAX)
		return ADY_ERR_CRYPTO;
	len = in_len - AT_REST_OVERHEAD;
	memcpy(tag, in + 1 + AT_REST_IV + len, AT_REST_TAG);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in + 1) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
	     (len == 0 || EVP_DecryptUpdate(c, out, &n, in + 1 + AT_REST_IV, (int)len) == 1) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, AT_REST_TAG, tag) == 1 &&
	     EVP_DecryptFinal_ex(c, out + len, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		ady_wipe(out, len);
	return ok ? ADY_OK : ADY_ERR_CRYPTO;
}

/* see store.h */
ady_err kbs_store_set_master_key(kbs_store *s, const uint8_t key[static KBS_MASTER_KEY])
{
	uint8_t check[AT_REST_OVERHEAD];
	kbs_resource r = {0};
	ady_err err = s->ops->get(s, KBS_CHECK_NAME, &r);

	if (err == ADY_ERR_RANGE) {
		err = seal(key, 0, KBS_CHECK_NAME, NULL, 0, check);
		if (!err)
			err = s->ops->put(s, KBS_CHECK_NAME, 0, "", check, sizeof(check));
		if (!err)
			err = s->ops->get(s, KBS_CHECK_NAME, &r);
	}
	if (!err)
		err = r.data_len == AT_REST_OVERHEAD ? unseal(key, 0, KBS_CHECK_NAME, r.data, r.data_len, check)
						     : ADY_ERR_CRYPTO;
	kbs_resource_fini(&r);
	if (err)
		return err == ADY_ERR_CRYPTO ? ADY_ERR_CRYPTO : ADY_ERR_IO;
	memcpy(s->master, key, KBS_MASTER_KEY);
	s->keyed = true;
	return ADY_OK;
}

ady_err kbs_store_put(kbs_store *s, const char *name, uint8_t kind, const char *policy, const uint8_t *data,
		      size_t len)
{
	uint8_t *sealed;
	ady_err err;

	if (!s->keyed)
		return ADY_ERR_CONFIG;
	if (!strcmp(name, KBS_CHECK_NAME) || len > SIZE_MAX - AT_REST_OVERHEAD)
		return ADY_ERR_INVALID_ARG;
	sealed = malloc(len + AT_REST_OVERHEAD);
	if (!sealed)
		return ADY_ERR_NOMEM;
	err = seal(s->master, kind, name, data, len, sealed);
	if (!err)
		err = s->ops->put(s, name, kind, policy, sealed, len + AT_REST_OVERHEAD);
	free(sealed);
	return err;
}

ady_err kbs_store_get(kbs_store *s, const char *name, kbs_resource *out)
{
	uint8_t *plain;
	size_t len;
	ady_err err;

	memset(out, 0, sizeof(*out));
	if (!s->keyed)
		return ADY_ERR_CONFIG;
	if (!strcmp(name, KBS_CHECK_NAME))
		return ADY_ERR_RANGE;
	err = s->ops->get(s, name, out);
	if (err)
		return err;
	if (out->data_len < AT_REST_OVERHEAD) {
		kbs_resource_fini(out);
		return ADY_ERR_CRYPTO;
	}
	len = out->data_len - AT_REST_OVERHEAD;
	plain = malloc(len ? len : 1);
	if (!plain) {
		kbs_resource_fini(out);
		return ADY_ERR_NOMEM;
	}
	err = unseal(s->master, out->kind, name, out->data, out->data_len, plain);
	if (err) {
		free(plain);
		kbs_resource_fini(out);
		return err;
	}
	free(out->data);  /* ciphertext: nothing to wipe */
	out->data = plain;
	out->data_len = len;
	return ADY_OK;
}

ady_err kbs_store_revoke(kbs_store *s, const char *name)
{
	if (!strcmp(name, KBS_CHECK_NAME))
		return ADY_ERR_RANGE;
	return s->ops->revoke(s, name);
}

struct list_ctx {
	int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked);
	void *ctx;
};

static int list_skip_check(void *ctx, const char *name, uint8_t kind, bool revoked)
{
	struct list_ctx *l = ctx;

	return strcmp(name, KBS_CHECK_NAME) ? l->fn(l->ctx, name, kind, revoked) : 0;
}

ady_err kbs_store_list(kbs_store *s, int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked), void *ctx)
{
	struct list_ctx l = {fn, ctx};

	return s->ops->list(s, list_skip_check, &l);
}

ady_err kbs_store_nonce_add(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t expires)
{
	return s->ops->nonce_add(s, nonce, name, expires);
}

ady_err kbs_store_nonce_take(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t now,
			     kbs_nonce_state *state)
{
	return s->ops->nonce_take(s, nonce, name, now, state);
}

ady_err kbs_store_sync(kbs_store *s)
{
	return s->ops->sync(s);
}

ady_err kbs_store_defer_sync(kbs_store *s)
{
	return s->ops->defer(s);
}

void kbs_resource_fini(kbs_resource *r)
{
	if (!r)
		return;
	if (r->data) {
		ady_wipe(r->data, r->data_len);
		free(r->data);
	}
	free(r->policy);
	memset(r, 0, sizeof(*r));
}
