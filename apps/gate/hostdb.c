/*
 * hostdb.c - the gate_hosts table (hosts.h) and the host admission issue
 * asks for (gate_host_admit).  The table lives where certdb.c's does: in
 * the SQLite file, or in the PostgreSQL database several gates share (a
 * libpq connection of its own).  Every operation is one statement and
 * nothing is cached here, so one gate's verdict or forget is what the
 * next read by any gate sees.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "hosts.h"
#include "statedb.h"

/* One of db and pg is set. */
struct gate_hosts {
	sqlite3 *db;
	PGconn *pg;
};

/* "offset" is quoted: a reserved word in PostgreSQL. */
static const char schema[] = "CREATE TABLE IF NOT EXISTS gate_hosts ("
			     " name TEXT PRIMARY KEY,"
			     " checked INTEGER NOT NULL,"
			     " ok INTEGER NOT NULL,"
			     " failed TEXT NOT NULL DEFAULT '',"
			     " reason TEXT NOT NULL DEFAULT '',"
			     " count INTEGER NOT NULL,"
			     " \"offset\" INTEGER NOT NULL,"
			     " pcr10 TEXT NOT NULL,"
			     " entries_checked INTEGER NOT NULL,"
			     " ahead INTEGER NOT NULL,"
			     " platform_key TEXT NOT NULL DEFAULT '',"
			     " coloc_key TEXT NOT NULL DEFAULT '',"
			     " reset_count INTEGER NOT NULL DEFAULT -1,"
			     " restart_count INTEGER NOT NULL DEFAULT -1);";

/* The same table on PostgreSQL, with 64-bit times and counts. */
static const char pg_schema[] = "CREATE TABLE IF NOT EXISTS gate_hosts ("
				" name TEXT PRIMARY KEY,"
				" checked BIGINT NOT NULL,"
				" ok INTEGER NOT NULL,"
				" failed TEXT NOT NULL DEFAULT '',"
				" reason TEXT NOT NULL DEFAULT '',"
				" count BIGINT NOT NULL,"
				" \"offset\" BIGINT NOT NULL,"
				" pcr10 TEXT NOT NULL,"
				" entries_checked BIGINT NOT NULL,"
				" ahead BIGINT NOT NULL,"
				" platform_key TEXT NOT NULL DEFAULT '',"
				" coloc_key TEXT NOT NULL DEFAULT '',"
				" reset_count BIGINT NOT NULL DEFAULT -1,"
				" restart_count BIGINT NOT NULL DEFAULT -1);";
/* A table from before the TPM boot columns (-1: no boot known; the next
 * good round stores it). */
static const char pg_migrate[] = "ALTER TABLE gate_hosts ADD COLUMN IF NOT EXISTS reset_count BIGINT NOT NULL DEFAULT -1;"
				 "ALTER TABLE gate_hosts ADD COLUMN IF NOT EXISTS restart_count BIGINT NOT NULL DEFAULT -1;";
static const char *const sqlite_migrate[2] = {
	"ALTER TABLE gate_hosts ADD COLUMN reset_count INTEGER NOT NULL DEFAULT -1",
	"ALTER TABLE gate_hosts ADD COLUMN restart_count INTEGER NOT NULL DEFAULT -1"};

#define NCOLS 14
#define COLS                                                                                                     \
	"name, checked, ok, failed, reason, count, \"offset\", pcr10, entries_checked, ahead, platform_key, "      \
	"coloc_key, reset_count, restart_count"

/* A SQLite file written before the TPM boot columns: add them. */
static int sqlite_columns(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int have = 0;

	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('gate_hosts') WHERE name = 'reset_count'", -1,
			       &st, NULL) != SQLITE_OK)
		return 0;
	have = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (have)
		return 1;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_exec(db, sqlite_migrate[0], NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, sqlite_migrate[1], NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 1;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	/* another gate may have added them meanwhile */
	have = sqlite3_prepare_v2(db, "SELECT reset_count FROM gate_hosts LIMIT 0", -1, &st, NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	return have;
}

/* 16016 is the store's lock, 16017 certdb's. */
static const gate_table hosts = {
	.sqlite_schema = schema,
	.sqlite_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	.sqlite_busy_ms = 10000,
	.sqlite_upgrade = sqlite_columns,
	.pg_schema = pg_schema,
	.pg_upgrade = pg_migrate,
	.pg_lock = 16018,
};

/* see hosts.h */
ady_err gate_hosts_open(const char *where, gate_hosts **out)
{
	gate_hosts *h;
	ady_err err;

	*out = NULL;
	if (!*gate_state_path(where))
		return ADY_ERR_INVALID_ARG;
	if (!(h = calloc(1, sizeof(*h))))
		return ADY_ERR_NOMEM;
	if ((err = gate_state_open(where, &hosts, &h->db, &h->pg)))
		goto fail;
	*out = h;
	return ADY_OK;
fail:
	gate_hosts_close(h);
	return err;
}

/* see hosts.h */
void gate_hosts_close(gate_hosts *h)
{
	if (!h)
		return;
	sqlite3_close(h->db);
	PQfinish(h->pg);
	free(h);
}

static int hex_col(const char *s, uint8_t *out, size_t n)
{
	return strlen(s) == 2 * n && ady_hex_decode(s, 2 * n, out, n);
}

/* A row from its columns as text (COLS order), as both backends give them. */
static void row_from(const char *const v[NCOLS], gate_host_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", v[0]);
	r->checked = strtoll(v[1], NULL, 10);
	r->ok = strtoll(v[2], NULL, 10) != 0;
	snprintf(r->failed, sizeof(r->failed), "%s", v[3]);
	snprintf(r->reason, sizeof(r->reason), "%s", v[4]);
	gate_pcr10_init(&r->verified);
	r->verified.count = (uint64_t)strtoll(v[5], NULL, 10);
	r->verified.offset = (uint64_t)strtoll(v[6], NULL, 10);
	if (!hex_col(v[7], r->verified.sha256, 32))
		memset(r->verified.sha256, 0, 32);
	r->entries_checked = (uint64_t)strtoll(v[8], NULL, 10);
	r->ahead = (uint64_t)strtoll(v[9], NULL, 10);
	r->have_platform_key = hex_col(v[10], r->platform_key, 64);
	r->have_coloc_key = hex_col(v[11], r->coloc_key, 64);
	if (strtoll(v[12], NULL, 10) >= 0 && strtoll(v[13], NULL, 10) >= 0) {
		r->boot.known = true;
		r->boot.reset_count = (uint32_t)strtoll(v[12], NULL, 10);
		r->boot.restart_count = (uint32_t)strtoll(v[13], NULL, 10);
	}
	r->stored = true;
}

static void row_sqlite(sqlite3_stmt *st, gate_host_row *r)
{
	const char *v[NCOLS];

	for (int i = 0; i < NCOLS; i++) {
		v[i] = (const char *)sqlite3_column_text(st, i);
		if (!v[i])
			v[i] = "";
	}
	row_from(v, r);
}

static void row_pg(PGresult *res, int i, gate_host_row *r)
{
	const char *v[NCOLS];

	for (int j = 0; j < NCOLS; j++)
		v[j] = PQgetvalue(res, i, j);
	row_from(v, r);
}

/* see hosts.h */
ady_err gate_hosts_get(gate_hosts *h, const char *name, gate_host_row *out)
{
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_IO;
	int rc;

	if (h->pg) {
		const char *v[1] = {name};
		PGresult *r = gate_pg_run(h->pg, PGRES_TUPLES_OK, "SELECT " COLS " FROM gate_hosts WHERE name = $1", 1, v);

		if (!r)
			return ADY_ERR_IO;
		err = ADY_ERR_STATE;
		if (PQntuples(r) == 1) {
			row_pg(r, 0, out);
			err = ADY_OK;
		}
		PQclear(r);
		return err;
	}
	if (sqlite3_prepare_v2(h->db, "SELECT " COLS " FROM gate_hosts WHERE name = ?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_sqlite(st, out);
		err = ADY_OK;
	} else if (rc == SQLITE_DONE) {
		err = ADY_ERR_STATE;
	}
out:
	sqlite3_finalize(st);
	return err;
}

#define SET_SQ                                                                                                   \
	"checked = ?2, ok = ?3, failed = ?4, reason = ?5, count = ?6, \"offset\" = ?7, pcr10 = ?8, "               \
	"entries_checked = ?9, ahead = ?10, platform_key = ?11, coloc_key = ?12, reset_count = ?13, "                \
	"restart_count = ?14"
#define SET_PQ                                                                                                   \
	"checked = $2, ok = $3, failed = $4, reason = $5, count = $6, \"offset\" = $7, pcr10 = $8, "               \
	"entries_checked = $9, ahead = $10, platform_key = $11, coloc_key = $12, reset_count = $13, "                \
	"restart_count = $14"

/* see hosts.h */
ady_err gate_hosts_put(gate_hosts *h, const gate_host_row *r)
{
	/* A row read from the table is updated only while it is still there:
	 * a forget by another gate during the round is not undone by it.  A
	 * new row replaces one another gate wrote meanwhile (last writer
	 * wins).  Either way one statement, the row written whole. */
	static const char *const sq[2] = {
		"INSERT OR REPLACE INTO gate_hosts (" COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
		"UPDATE gate_hosts SET " SET_SQ " WHERE name = ?1"};
	static const char *const pq[2] = {
		"INSERT INTO gate_hosts (" COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) "
		"ON CONFLICT (name) DO UPDATE SET " SET_PQ,
		"UPDATE gate_hosts SET " SET_PQ " WHERE name = $1"};
	char checked[24], count[24], offset[24], entries[24], ahead[24], pcr[65], pk[129] = "", ck[129] = "";
	char reset[24] = "-1", restart[24] = "-1";
	const char *v[NCOLS] = {r->name, checked, r->ok ? "1" : "0", r->failed, r->reason, count, offset, pcr,
				entries, ahead, pk, ck, reset, restart};
	unsigned long n = 0;
	int ok = 1;

	/* 64-bit signed in both backends, as the row is read back. */
	snprintf(checked, sizeof(checked), "%" PRId64, r->checked);
	snprintf(count, sizeof(count), "%" PRId64, (int64_t)r->verified.count);
	snprintf(offset, sizeof(offset), "%" PRId64, (int64_t)r->verified.offset);
	snprintf(entries, sizeof(entries), "%" PRId64, (int64_t)r->entries_checked);
	snprintf(ahead, sizeof(ahead), "%" PRId64, (int64_t)r->ahead);
	ady_hex_encode(r->verified.sha256, 32, pcr);
	if (r->boot.known) {
		snprintf(reset, sizeof(reset), "%" PRIu32, r->boot.reset_count);
		snprintf(restart, sizeof(restart), "%" PRIu32, r->boot.restart_count);
	}
	if (r->have_platform_key)
		ady_hex_encode(r->platform_key, 64, pk);
	if (r->have_coloc_key)
		ady_hex_encode(r->coloc_key, 64, ck);
	if (h->pg) {
		PGresult *res = gate_pg_run(h->pg, PGRES_COMMAND_OK, pq[r->stored], NCOLS, v);

		ok = res != NULL;
		if (ok)
			n = strtoul(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	} else {
		sqlite3_stmt *st = NULL;

		/* Text binds: the INTEGER columns' affinity stores the numbers
		 * as integers. */
		ok = sqlite3_prepare_v2(h->db, sq[r->stored], -1, &st, NULL) == SQLITE_OK;
		for (int i = 0; ok && i < NCOLS; i++)
			ok = sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC) == SQLITE_OK;
		ok = ok && sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
		if (ok)
			n = (unsigned long)sqlite3_changes(h->db);
	}
	OPENSSL_cleanse(ck, sizeof(ck));
	if (!ok)
		return ADY_ERR_IO;
	return n ? ADY_OK : ADY_ERR_STATE;
}

/* see hosts.h */
ady_err gate_hosts_forget(gate_hosts *h, const char *name)
{
	sqlite3_stmt *st = NULL;
	int ok;

	if (h->pg) {
		const char *v[1] = {name};
		PGresult *r = gate_pg_run(h->pg, PGRES_COMMAND_OK, "DELETE FROM gate_hosts WHERE name = $1", 1, v);
		unsigned long n;

		if (!r)
			return ADY_ERR_IO;
		n = strtoul(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		return n ? ADY_OK : ADY_ERR_STATE;
	}
	ok = sqlite3_prepare_v2(h->db, "DELETE FROM gate_hosts WHERE name = ?", -1, &st, NULL) == SQLITE_OK &&
	     sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok)
		return ADY_ERR_IO;
	return sqlite3_changes(h->db) ? ADY_OK : ADY_ERR_STATE;
}

/* see hosts.h */
ady_err gate_hosts_each(gate_hosts *h, void (*fn)(void *ctx, const gate_host_row *row), void *ctx)
{
	sqlite3_stmt *st = NULL;
	gate_host_row r;
	int rc;

	if (h->pg) {
		/* COLLATE "C": byte order, as SQLite's. */
		PGresult *res = gate_pg_run(h->pg, PGRES_TUPLES_OK,
				            "SELECT " COLS " FROM gate_hosts ORDER BY name COLLATE \"C\"", 0, NULL);

		if (!res)
			return ADY_ERR_IO;
		for (int i = 0; i < PQntuples(res); i++) {
			row_pg(res, i, &r);
			fn(ctx, &r);
		}
		PQclear(res);
		OPENSSL_cleanse(r.coloc_key, sizeof(r.coloc_key));
		return ADY_OK;
	}
	if (sqlite3_prepare_v2(h->db, "SELECT " COLS " FROM gate_hosts ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		return ADY_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_sqlite(st, &r);
		fn(ctx, &r);
	}
	sqlite3_finalize(st);
	OPENSSL_cleanse(r.coloc_key, sizeof(r.coloc_key));
	return rc == SQLITE_DONE ? ADY_OK : ADY_ERR_IO;
}

/* see hosts.h */
int gate_host_admit(const char *state, const char *host, long max_age, const char *coloc, const char *hmac_hex,
		    const uint8_t *quote, size_t qlen, const uint8_t nonce[static 32], gate_host_row *row,
		    const char **failed, char *reason, size_t cap)
{
	gate_hosts *db = NULL;
	ady_quote *q = NULL;
	int64_t now = (int64_t)time(NULL);
	ady_err err;
	int rc = -1;

	*failed = NULL;
	if ((err = gate_hosts_open(state, &db))) {
		snprintf(reason, cap, "--state %s: %s", state, ady_strerror(err));
		return -1;
	}
	err = gate_hosts_get(db, host, row);
	gate_hosts_close(db);
	*failed = "host";
	rc = 0;
	if (err == ADY_ERR_STATE) {
		snprintf(reason, cap, "host %s was never checked (adyton-gate serve)", host);
		return 0;
	}
	if (err) {
		snprintf(reason, cap, "--state %s: %s", state, ady_strerror(err));
		return -1;
	}
	if (!row->ok) {
		snprintf(reason, cap, "host %s failed its last check (%s): %s", host, row->failed, row->reason);
		return 0;
	}
	if (row->checked > now || now - row->checked > max_age) {
		snprintf(reason, cap, "host %s was last checked %lld s ago (at most %ld allowed)", host,
			 (long long)(now - row->checked), max_age);
		return 0;
	}
	*failed = "colocation";
	if (!strcmp(coloc, "tpm")) {
		/* The enclave quote's signature was verified under its policy
		 * (gate_enclave_check); here its key must be the one this
		 * host's TPM certified in the host's last round. */
		if (!(q = malloc(sizeof(*q))) || ady_quote_decode(quote, qlen, q) != ADY_OK) {
			snprintf(reason, cap, "the enclave quote does not decode");
			goto out;
		}
		if (!row->have_platform_key) {
			snprintf(reason, cap, "host %s has no TPM-certified attestation key", host);
			goto out;
		}
		if (memcmp(q->attest_pub, row->platform_key, 64) != 0) {
			char got[129], want[129];

			ady_hex_encode(q->attest_pub, 64, got);
			ady_hex_encode(row->platform_key, 64, want);
			snprintf(reason, cap,
				 "the enclave quote is signed by attestation key %.16s..., not by %.16s... that host %s's "
				 "TPM certified: the enclave runs on another platform",
				 got, want, host);
			goto out;
		}
	} else if (!strcmp(coloc, "hmac")) {
		uint8_t mac[64], got[64];
		unsigned int mlen = 0;

		if (!row->have_coloc_key) {
			snprintf(reason, cap, "host %s's agent holds no co-location key (serve with \"colocation\": \"hmac\")",
				 host);
			goto out;
		}
		if (!hmac_hex || strlen(hmac_hex) != 128 || !ady_hex_decode(hmac_hex, 128, got, 64)) {
			snprintf(reason, cap, "--hmac: want HMAC-SHA512(K, nonce), 128 hex digits");
			goto out;
		}
		HMAC(EVP_sha512(), row->coloc_key, 64, nonce, 32, mac, &mlen);
		if (!ady_memeq_ct(mac, got, 64)) {
			snprintf(reason, cap, "HMAC-SHA512(K, nonce) does not match the key given to host %s's agent", host);
			goto out;
		}
	} else {
		snprintf(reason, cap, "--colocation: tpm or hmac");
		rc = -1;
		goto out;
	}
	*failed = NULL;
	rc = 1;
out:
	OPENSSL_cleanse(row->coloc_key, sizeof(row->coloc_key));
	free(q);
	return rc;
}
