/*
 * store.c - backend-independent half of the broker's store (store.h).
 */
#include "store.h"

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
	if (s)
		s->ops->close(s);
}

ady_err kbs_store_put(kbs_store *s, const char *name, uint8_t kind, const char *policy, const uint8_t *data,
		      size_t len)
{
	return s->ops->put(s, name, kind, policy, data, len);
}

ady_err kbs_store_get(kbs_store *s, const char *name, kbs_resource *out)
{
	return s->ops->get(s, name, out);
}

ady_err kbs_store_revoke(kbs_store *s, const char *name)
{
	return s->ops->revoke(s, name);
}

ady_err kbs_store_list(kbs_store *s, int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked), void *ctx)
{
	return s->ops->list(s, fn, ctx);
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
