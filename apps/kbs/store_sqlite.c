/*
 * store_sqlite.c - the broker's store on SQLite (store.h): one file, WAL,
 * every operation one transaction; a nonce is taken by one UPDATE of its
 * unused row (under the write lock), so two brokers on one file cannot
 * both use one.  Deferred (the broker), synchronous = NORMAL: a commit is
 * not flushed by itself; sq_sync flushes the WAL, which holds every commit
 * so far (kbs_store_sync, the broker's group commit).  The
 * per-release statements are prepared once.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

enum { ST_NONCE_ADD, ST_NONCE_GET, ST_NONCE_USE, ST_NONCE_FORGET, ST_GET, ST_N };

static const char *const stmt_sql[ST_N] = {
	[ST_NONCE_ADD] = "INSERT INTO nonces(nonce, name, expires, used) VALUES (?, ?, ?, 0)",
	[ST_NONCE_GET] = "SELECT name, expires, used FROM nonces WHERE nonce = ?",
	[ST_NONCE_USE] = "UPDATE nonces SET used = 1 WHERE nonce = ? AND name = ? AND used = 0 RETURNING expires",
	/* Nonces a day past their expiry are forgotten: presented again,
	 * they are refused as unknown instead of as expired or replayed. */
	[ST_NONCE_FORGET] = "DELETE FROM nonces WHERE expires < strftime('%s','now') - 86400",
	[ST_GET] = "SELECT kind, policy, data, revoked FROM resources WHERE name = ?",
};

typedef struct sq {
	kbs_store base;
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];      /* prepared on first use, reset after each */
	time_t forgotten;            /* when ST_NONCE_FORGET last ran */
	int wal_fd;                  /* the WAL file, for sq_sync */
} sq;

/* The prepared statement i, reset and unbound; NULL on error. */
static sqlite3_stmt *stmt(kbs_store *s, int i)
{
	sq *q = (sq *)s;

	if (!q->st[i] &&
	    sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL) != SQLITE_OK) {
		sqlite3_finalize(q->st[i]);
		q->st[i] = NULL;
	}
	return q->st[i];
}

/* Ends the use of a statement from stmt(). */
static void done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* Runs a statement without parameters or rows. */
static ady_err step(kbs_store *s, int i)
{
	sqlite3_stmt *st = stmt(s, i);
	ady_err err = st && sqlite3_step(st) == SQLITE_DONE ? ADY_OK : ADY_ERR_IO;

	done(st);
	return err;
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS resources ("
	" name TEXT PRIMARY KEY, kind INTEGER NOT NULL, policy TEXT NOT NULL,"
	" data BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS nonces ("
	" nonce BLOB PRIMARY KEY, name TEXT NOT NULL, expires INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0);";

static sqlite3 *db_of(kbs_store *s)
{
	return ((sq *)s)->db;
}

static ady_err exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? ADY_OK : ADY_ERR_IO;
}

static ady_err sq_put(kbs_store *s, const char *name, uint8_t kind, const char *policy, const uint8_t *data,
		      size_t len)
{
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_IO;

	if (sqlite3_prepare_v2(db_of(s),
			       "INSERT INTO resources(name, kind, policy, data, revoked) VALUES (?, ?, ?, ?, 0)"
			       " ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, policy = excluded.policy,"
			       " data = excluded.data, revoked = 0",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) || sqlite3_bind_int(st, 2, kind) ||
	    sqlite3_bind_text(st, 3, policy, -1, SQLITE_STATIC) ||
	    sqlite3_bind_blob(st, 4, len ? (const void *)data : "", (int)len, SQLITE_STATIC))
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE)
		err = ADY_OK;
out:
	sqlite3_finalize(st);
	return err;
}

static ady_err sq_get(kbs_store *s, const char *name, kbs_resource *out)
{
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_IO;
	kbs_resource r = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (strlen(name) >= sizeof(r.name))
		return ADY_ERR_RANGE;
	st = stmt(s, ST_GET);
	if (!st || sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC))
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		err = ADY_ERR_RANGE;
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto out;
	strcpy(r.name, name);
	r.kind = (uint8_t)sqlite3_column_int(st, 0);
	r.revoked = sqlite3_column_int(st, 3) != 0;
	{
		const unsigned char *pol = sqlite3_column_text(st, 1);
		const void *data = sqlite3_column_blob(st, 2);
		int dlen = sqlite3_column_bytes(st, 2);
		r.policy = strdup(pol ? (const char *)pol : "");
		r.data_len = dlen > 0 ? (size_t)dlen : 0;
		r.data = malloc(r.data_len ? r.data_len : 1);
		if (!r.policy || !r.data) {
			kbs_resource_fini(&r);
			err = ADY_ERR_NOMEM;
			goto out;
		}
		if (r.data_len)
			memcpy(r.data, data, r.data_len);
	}
	*out = r;
	err = ADY_OK;
out:
	done(st);
	return err;
}

static ady_err sq_revoke(kbs_store *s, const char *name)
{
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_IO;

	if (sqlite3_prepare_v2(db_of(s), "UPDATE resources SET revoked = 1 WHERE name = ?", -1, &st, NULL) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC))
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE)
		err = sqlite3_changes(db_of(s)) == 1 ? ADY_OK : ADY_ERR_RANGE;
out:
	sqlite3_finalize(st);
	return err;
}

static ady_err sq_list(kbs_store *s, int (*fn)(void *ctx, const char *name, uint8_t kind, bool revoked), void *ctx)
{
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_IO;
	int rc;

	if (sqlite3_prepare_v2(db_of(s), "SELECT name, kind, revoked FROM resources ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(st, 0);
		if (fn(ctx, n ? (const char *)n : "", (uint8_t)sqlite3_column_int(st, 1),
		       sqlite3_column_int(st, 2) != 0)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc == SQLITE_DONE)
		err = ADY_OK;
out:
	sqlite3_finalize(st);
	return err;
}

static ady_err sq_nonce_add(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t expires)
{
	sq *q = (sq *)s;
	sqlite3_stmt *st;
	time_t now = time(NULL);
	ady_err err = ADY_ERR_IO;

	/* The old nonces go once a minute, not per challenge. */
	if (now - q->forgotten >= 60 || now < q->forgotten) {
		if (step(s, ST_NONCE_FORGET))
			return ADY_ERR_IO;
		q->forgotten = now;
	}
	st = stmt(s, ST_NONCE_ADD);
	if (!st || sqlite3_bind_blob(st, 1, nonce, 32, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) || sqlite3_bind_int64(st, 3, expires))
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE)
		err = ADY_OK;
out:
	done(st);
	return err;
}

static ady_err sq_nonce_take(kbs_store *s, const uint8_t nonce[static 32], const char *name, int64_t now,
			     kbs_nonce_state *state)
{
	sqlite3_stmt *st = stmt(s, ST_NONCE_USE);
	ady_err err = ADY_ERR_IO;
	int rc;

	/* One statement (one transaction, under the database's write lock):
	 * the nonce is spent if it was issued for this name and unused.
	 * Expired or not: a nonce presented once is spent. */
	if (!st || sqlite3_bind_blob(st, 1, nonce, 32, SQLITE_STATIC) || sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC))
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*state = sqlite3_column_int64(st, 0) < now ? KBS_NONCE_EXPIRED : KBS_NONCE_OK;
		rc = sqlite3_step(st);
	} else {
		*state = KBS_NONCE_UNKNOWN;
	}
	if (rc != SQLITE_DONE)
		goto out;
	done(st);
	if (*state == KBS_NONCE_UNKNOWN) {
		/* Refused: say why (unknown, or already used). */
		st = stmt(s, ST_NONCE_GET);
		if (!st || sqlite3_bind_blob(st, 1, nonce, 32, SQLITE_STATIC))
			goto out;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *n = sqlite3_column_text(st, 0);
			if (n && strcmp((const char *)n, name) == 0 && sqlite3_column_int(st, 2))
				*state = KBS_NONCE_USED;
		} else if (rc != SQLITE_DONE) {
			goto out;
		}
	}
	err = ADY_OK;
out:
	done(st);
	return err;
}

/* Flushes the WAL: every commit so far is in it (or, checkpointed, already
 * flushed into the database by the checkpoint).  Its own descriptor:
 * callable while the connection serves others (fsync is per file). */
static ady_err sq_sync(kbs_store *s)
{
	return fdatasync(((sq *)s)->wal_fd) == 0 ? ADY_OK : ADY_ERR_IO;
}

static ady_err sq_defer(kbs_store *s)
{
	return exec(db_of(s), "PRAGMA synchronous = NORMAL");
}

static void sq_close(kbs_store *s)
{
	sq *q = (sq *)s;

	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	close(q->wal_fd);
	free(q);
}

static const kbs_store_ops sqlite_ops = {sq_put, sq_get, sq_revoke, sq_list, sq_nonce_add,
					sq_nonce_take, sq_sync, sq_defer, sq_close};

/* The WAL file (it exists once the connection has read in WAL mode, and
 * stays while the connection is open), and its directory entry flushed. */
static ady_err open_wal(sq *q, const char *path)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(q->db, "main"));
	char *dir = strdup(path), *slash;
	int dfd;

	if (!dir)
		return ADY_ERR_NOMEM;
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	q->wal_fd = wal ? open(wal, O_RDONLY | O_CLOEXEC) : -1;
	if (q->wal_fd < 0 || dfd < 0 || fsync(dfd) != 0) {
		if (dfd >= 0)
			close(dfd);
		if (q->wal_fd >= 0)
			close(q->wal_fd);
		return ADY_ERR_IO;
	}
	close(dfd);
	return ADY_OK;
}

/* see store.h */
ady_err kbs_store_sqlite_open(const char *path, kbs_store **out)
{
	sq *q;
	int fd;

	*out = NULL;
	/* Created 0600 before SQLite opens it: it holds the secrets. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ADY_ERR_IO;
	close(fd);
	q = calloc(1, sizeof(*q));
	if (!q)
		return ADY_ERR_NOMEM;
	q->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(q->db, 10000) != SQLITE_OK || exec(q->db, "PRAGMA journal_mode = WAL") ||
	    exec(q->db, "PRAGMA secure_delete = ON") || exec(q->db, schema) || open_wal(q, path)) {
		sqlite3_close(q->db);
		free(q);
		return ADY_ERR_IO;
	}
	*out = &q->base;
	return ADY_OK;
}
