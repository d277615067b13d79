/*
 * store_pg.c - the broker's store on PostgreSQL (store.h), so that
 * several brokers share one state.  The same two tables as SQLite; every
 * operation is one statement or one transaction, and a nonce is taken
 * by one UPDATE of its unused row, so two brokers cannot both use it.  One
 * connection per store handle (a broker serves one request at a time).
 * Deferred (the broker), the session commits with synchronous_commit =
 * off; pg_sync commits one
 * small write synchronously on a second connection, which flushes the
 * server's WAL up to it and so every commit the session made before
 * (kbs_store_sync, the group commit).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

typedef struct pg {
	kbs_store base;
	PGconn *conn;
	PGconn *sync_conn;           /* pg_sync's own: it runs beside the requests */
	time_t forgotten;            /* when old nonces were last deleted */
} pg;

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS resources ("
	" name TEXT PRIMARY KEY, kind INTEGER NOT NULL, policy TEXT NOT NULL,"
	" data BYTEA NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS nonces ("
	" nonce BYTEA PRIMARY KEY, name TEXT NOT NULL, expires BIGINT NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS kbs_sync (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);";

static PGconn *conn_of(kbs_store *s)
{
	return ((pg *)s)->conn;
}

/* Runs sql with n parameters (text, except those flagged binary);
 * returns the result if its status is want, else NULL. */
static PGresult *run(kbs_store *s, ExecStatusType want, const char *sql, int n, const char *const *vals,
		     const int *lens, const int *fmts)
{
	PGresult *r = PQexecParams(conn_of(s), sql, n, NULL, vals, lens, fmts, 0);

	if (r && PQresultStatus(r) == want)
		return r;
	PQclear(r);
	return NULL;
}

/* Statements without parameters (PQexec: several may follow each other). */
static ady_err simple(kbs_store *s, const char *sql)
{
	PGresult *r = PQexec(conn_of(s), sql);
	ady_err err = r && PQresultStatus(r) == PGRES_COMMAND_OK ? ADY_OK : ADY_ERR_IO;

	PQclear(r);
	return err;
}

static ady_err pg_put(kbs_store *s, const char *name, uint8_t kind, const char *policy, const uint8_t *data,
		      size_t len)
{
	char k[8];
	const char *vals[4] = {name, k, policy, len ? (const char *)data : ""};
	int lens[4] = {0, 0, 0, (int)len}, fmts[4] = {0, 0, 0, 1};
	PGresult *r;

	snprintf(k, sizeof(k), "%u", kind);
	r = run(s, PGRES_COMMAND_OK,
		"INSERT INTO resources(name, kind, policy, data, revoked) VALUES ($1, $2, $3, $4, 0)"
		" ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, policy = excluded.policy,"
		" data = excluded.data, revoked = 0",
		4, vals, lens, fmts);
	if (!r)
		return ADY_ERR_IO;
	PQclear(r);
	return ADY_OK;
}

static ady_err pg_get(kbs_store *s, const char *name, kbs_resource *out)
{
	const char *vals[1] = {name};
	kbs_resource res = {0};
	unsigned char *data;
	size_t dlen = 0;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	if (strlen(name) >= sizeof(res.name))
		return ADY_ERR_RANGE;
	r = run(s, PGRES_TUPLES_OK, "SELECT kind, policy, data, revoked FROM resources WHERE name = $1", 1, vals, NULL,
		NULL);
	if (!r)
		return ADY_ERR_IO;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return ADY_ERR_RANGE;
	}
	strcpy(res.name, name);
	res.kind = (uint8_t)atoi(PQgetvalue(r, 0, 0));
	res.revoked = atoi(PQgetvalue(r, 0, 3)) != 0;
	res.policy = strdup(PQgetvalue(r, 0, 1));
	data = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 2), &dlen);
	PQclear(r);
	if (!res.policy || !data) {
		PQfreemem(data);
		kbs_resource_fini(&res);
		return ADY_ERR_NOMEM;
	}
	res.data = malloc(dlen ? dlen : 1);
	if (!res.data) {
		PQfreemem(data);
		kbs_resource_fini(&res);
		return ADY_ERR_NOMEM;
	}
	memcpy(res.data, data, dlen);
	res.data_len = dlen;
	memset(data, 0, dlen);
	PQfreemem(data);
	*out = res;
	return ADY_OK;
}

static ady_err pg_revoke(kbs_store *s, const char *name)
{
	const char *vals[1] = {name};
	PGresult *r = run(s, PGRES_COMMAND_OK, "UPDATE resources SET revoked = 1 WHERE name = $1", 1, vals, NULL, NULL);
	ady_err err;

	if (!r)
		return ADY_ERR_IO;
	err = strcmp(PQcmdTuples(r), "1") == 0 ? ADY_OK : ADY_ERR_RANGE;
	PQclear(r);
	return err;
}

static ady_err pg_list(kbs_store *s, int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked), void *ctx)
{
	PGresult *r = run(s, PGRES_TUPLES_OK, "SELECT name, kind, revoked FROM resources ORDER BY name COLLATE \"C\"", 0,
			  NULL, NULL, NULL);

	if (!r)
		return ADY_ERR_IO;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(ctx, PQgetvalue(r, i, 0), (uint8_t)atoi(PQgetvalue(r, i, 1)), atoi(PQgetvalue(r, i, 2)) != 0))
			break;
	PQclear(r);
	return ADY_OK;
}

static ady_err pg_nonce_add(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t expires)
{
	char e[24];
	const char *vals[3] = {(const char *)nonce, name, e};
	int lens[3] = {32, 0, 0}, fmts[3] = {1, 0, 0};
	PGresult *r;

	pg *p = (pg *)s;
	time_t t = time(NULL);

	/* As store_sqlite.c: a day past expiry, a nonce is forgotten (looked
	 * for once a minute: the DELETE scans the table). */
	if (t - p->forgotten >= 60 || t < p->forgotten) {
		if (simple(s, "DELETE FROM nonces WHERE expires < extract(epoch from now())::bigint - 86400"))
			return ADY_ERR_IO;
		p->forgotten = t;
	}
	snprintf(e, sizeof(e), "%lld", (long long)expires);
	r = run(s, PGRES_COMMAND_OK, "INSERT INTO nonces(nonce, name, expires, used) VALUES ($1, $2, $3, 0)", 3, vals,
		lens, fmts);
	if (!r)
		return ADY_ERR_IO;
	PQclear(r);
	return ADY_OK;
}

static ady_err pg_nonce_take(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t now,
			     kbs_nonce_state *state)
{
	const char *vals[2] = {(const char *)nonce, name};
	int lens[2] = {32, 0}, fmts[2] = {1, 0};
	PGresult *r;

	/* One statement: the nonce is spent if it was issued for this name and
	 * unused (a second broker's UPDATE waits on the row, then finds it
	 * used).  Expired or not: a nonce presented once is spent. */
	r = run(s, PGRES_TUPLES_OK,
		"UPDATE nonces SET used = 1 WHERE nonce = $1 AND name = $2 AND used = 0 RETURNING expires", 2, vals,
		lens, fmts);
	if (!r)
		return ADY_ERR_IO;
	if (PQntuples(r) == 1) {
		*state = strtoll(PQgetvalue(r, 0, 0), NULL, 10) < now ? KBS_NONCE_EXPIRED : KBS_NONCE_OK;
		PQclear(r);
		return ADY_OK;
	}
	PQclear(r);
	/* Refused: say why (unknown, or already used). */
	r = run(s, PGRES_TUPLES_OK, "SELECT name, used FROM nonces WHERE nonce = $1", 1, vals, lens, fmts);
	if (!r)
		return ADY_ERR_IO;
	*state = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), name) == 0 && atoi(PQgetvalue(r, 0, 1))
			 ? KBS_NONCE_USED
			 : KBS_NONCE_UNKNOWN;
	PQclear(r);
	return ADY_OK;
}

static ady_err pg_sync(kbs_store *s)
{
	PGconn *c = ((pg *)s)->sync_conn;
	/* A commit that wrote nothing would not wait for the flush. */
	PGresult *r = PQexec(c, "INSERT INTO kbs_sync VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = kbs_sync.n + 1");
	ady_err err = r && PQresultStatus(r) == PGRES_COMMAND_OK ? ADY_OK : ADY_ERR_IO;

	PQclear(r);
	return err;
}

static ady_err pg_defer(kbs_store *s)
{
	return simple(s, "SET synchronous_commit = off");
}

static void pg_close(kbs_store *s)
{
	pg *p = (pg *)s;

	PQfinish(p->conn);
	PQfinish(p->sync_conn);
	free(p);
}

static const kbs_store_ops pg_ops = {pg_put, pg_get, pg_revoke, pg_list, pg_nonce_add, pg_nonce_take, pg_sync, pg_defer,
				     pg_close};

/* see store.h */
ady_err kbs_store_pg_open(const char *conninfo, kbs_store **out)
{
	pg *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ADY_ERR_NOMEM;
	p->base.ops = &pg_ops;
	p->conn = PQconnectdb(conninfo);
	/* Quiet: no "relation already exists, skipping" notices on stderr. */
	if (PQstatus(p->conn) != CONNECTION_OK || simple(&p->base, "SET client_min_messages = warning"))
		goto fail;
	/* Two brokers starting at once both run the CREATEs: serialize them
	 * on a transaction-scoped advisory lock. */
	{
		PGresult *r;
		if (simple(&p->base, "BEGIN"))
			goto fail;
		r = run(&p->base, PGRES_TUPLES_OK, "SELECT pg_advisory_xact_lock(16016)", 0, NULL, NULL, NULL);
		if (!r)
			goto fail;
		PQclear(r);
		if (simple(&p->base, schema) || simple(&p->base, "COMMIT"))
			goto fail;
	}
	/* The flushes' connection commits synchronously (the default;
	 * stated, in case the server's is off). */
	p->sync_conn = PQconnectdb(conninfo);
	if (PQstatus(p->sync_conn) != CONNECTION_OK) {
		PQfinish(p->sync_conn);
		p->sync_conn = NULL;
		goto fail;
	}
	{
		PGresult *r = PQexec(p->sync_conn, "SET synchronous_commit = on");
		ady_err e = r && PQresultStatus(r) == PGRES_COMMAND_OK ? ADY_OK : ADY_ERR_IO;
		PQclear(r);
		if (e) {
			PQfinish(p->sync_conn);
			p->sync_conn = NULL;
			goto fail;
		}
	}
	*out = &p->base;
	return ADY_OK;
fail:
	if (PQstatus(p->conn) == CONNECTION_OK)
		(void)simple(&p->base, "ROLLBACK");
	PQfinish(p->conn);
	free(p);
	return ADY_ERR_IO;
}
