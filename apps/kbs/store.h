/*
 * store.h - the key broker's state behind one small interface, so that
 * the backend can change without touching the broker: resources (name,
 * kind, policy text, data, revoked flag) and challenge nonces (issued,
 * consumed once).  store_sqlite.c implements it on SQLite, store_pg.c on
 * PostgreSQL (libpq), with the same schema (README.md).
 *
 * Every operation is atomic on its own (one transaction), so several
 * brokers sharing one database never release against one nonce twice:
 * kbs_store_nonce_take() is the single point where a nonce is used.
 * Each operation is durable when it returns, unless kbs_store_defer_sync()
 * was called: then kbs_store_sync() makes every earlier one durable (one
 * flush for many: the broker's group commit).
 */
#ifndef ADYTON_KBS_STORE_H
#define ADYTON_KBS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

typedef struct kbs_store kbs_store;

typedef struct kbs_resource {
	char name[129];
	uint8_t kind;
	bool revoked;
	char *policy;                /* NUL-terminated, malloc'd */
	uint8_t *data;               /* malloc'd; wiped by kbs_resource_fini */
	size_t data_len;
} kbs_resource;

typedef enum {
	KBS_NONCE_OK = 0,            /* was issued for this name, unused, unexpired: now used */
	KBS_NONCE_UNKNOWN = 1,       /* never issued (or for another name) */
	KBS_NONCE_USED = 2,          /* a replay */
	KBS_NONCE_EXPIRED = 3,
} kbs_nonce_state;

typedef struct kbs_store_ops {
	ady_err (*put)(kbs_store *s, const char *name, uint8_t kind, const char *policy, const uint8_t *data,
		       size_t len);
	ady_err (*get)(kbs_store *s, const char *name, kbs_resource *out);
	ady_err (*revoke)(kbs_store *s, const char *name);
	ady_err (*list)(kbs_store *s, int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked), void *ctx);
	ady_err (*nonce_add)(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t expires);
	ady_err (*nonce_take)(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t now,
			      kbs_nonce_state *state);
	ady_err (*sync)(kbs_store *s);
	ady_err (*defer)(kbs_store *s);
	void (*close)(kbs_store *s);
} kbs_store_ops;

struct kbs_store {
	const kbs_store_ops *ops;
	uint8_t master[32];          /* the key data is encrypted under at rest */
	bool keyed;                  /* kbs_store_set_master_key succeeded */
};

#define KBS_MASTER_KEY 32u

/*
 * Opens a store.  where: "sqlite:PATH" or a plain PATH (SQLite, created
 * with the schema if missing, mode 0600), or "postgresql:CONNINFO" (libpq;
 * the tables are created if missing).  ADY_ERR_IO when the database
 * cannot be opened or its schema created.
 */
ADY_MUST_CHECK ady_err kbs_store_open(const char *where, kbs_store **out);
void kbs_store_close(kbs_store *s);

/*
 * Resource data is stored encrypted: AES-256-GCM under the master key,
 * with a random 96-bit IV per write and AAD = "adyton-kbs at rest v1" ||
 * kind || name, so that a row moved to another name or kind does not
 * open.  Stored bytes: u8 version (1) || iv[12] || ciphertext || tag[16].
 * Policies and names stay in clear (they are not secret; get-policy
 * shows them).
 *
 * The first key set on a store leaves a check row (the reserved name
 * KBS_CHECK_NAME, which no resource can have: kbs_name_valid refuses
 * '#'): an encryption of nothing under the key.  Setting a key later
 * opens it: ADY_ERR_CRYPTO means the key is not this store's (a wrong
 * master key), ADY_ERR_IO the store failed.  put and get without a key
 * set: ADY_ERR_CONFIG.  get of a row that does not open (altered, or
 * moved): ADY_ERR_CRYPTO.
 */
#define KBS_CHECK_NAME "#master-key-check"
ADY_MUST_CHECK ady_err kbs_store_set_master_key(kbs_store *s, const uint8_t key[static KBS_MASTER_KEY]);

/* Creates or replaces a resource (and clears its revoked flag). */
ADY_MUST_CHECK ady_err kbs_store_put(kbs_store *s, const char *name, uint8_t kind, const char *policy,
				     const uint8_t *data, size_t len);
/* ADY_ERR_RANGE: no such resource.  out is filled and owned by the caller
 * (kbs_resource_fini). */
ADY_MUST_CHECK ady_err kbs_store_get(kbs_store *s, const char *name, kbs_resource *out);
/* ADY_ERR_RANGE: no such resource. */
ADY_MUST_CHECK ady_err kbs_store_revoke(kbs_store *s, const char *name);
/* Calls fn per resource in name order; fn returning non-zero stops. */
ADY_MUST_CHECK ady_err kbs_store_list(kbs_store *s, int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked),
				      void *ctx);
ADY_MUST_CHECK ady_err kbs_store_nonce_add(kbs_store *s, const uint8_t nonce[static 32], const char *name,
					   int64_t expires);
/* Marks the nonce used if it is KBS_NONCE_OK; *state says what it was. */
ADY_MUST_CHECK ady_err kbs_store_nonce_take(kbs_store *s, const uint8_t nonce[static 32], const char *name,
					    int64_t now, kbs_nonce_state *state);

/* Makes every operation done so far on this handle durable (SQLite: the
 * WAL flushed; PostgreSQL: a synchronous commit on a second connection,
 * which flushes the WAL before it).  May run in another thread beside the
 * other operations (not beside itself).  ADY_ERR_IO: they may not be (the
 * caller must not answer as if they were). */
ADY_MUST_CHECK ady_err kbs_store_sync(kbs_store *s);
/* From now on operations are not flushed as they commit (SQLite:
 * synchronous = NORMAL; PostgreSQL: synchronous_commit = off), only by
 * kbs_store_sync().  The broker does this; other users (apps/gate) keep
 * each operation durable. */
ADY_MUST_CHECK ady_err kbs_store_defer_sync(kbs_store *s);

void kbs_resource_fini(kbs_resource *r);

/* The backends: SQLite (store_sqlite.c), PostgreSQL (store_pg.c, a libpq
 * connection string such as "host=/run/postgresql dbname=kbs"). */
ADY_MUST_CHECK ady_err kbs_store_sqlite_open(const char *path, kbs_store **out);
ADY_MUST_CHECK ady_err kbs_store_pg_open(const char *conninfo, kbs_store **out);

#endif
