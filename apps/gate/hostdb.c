/*
 * hostdb.c - the gate_hosts table (hosts.h) and the host admission issue
 * asks for (gate_host_admit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "hosts.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS gate_hosts ("
			     " name TEXT PRIMARY KEY,"
			     " checked INTEGER NOT NULL,"
			     " ok INTEGER NOT NULL,"
			     " failed TEXT NOT NULL DEFAULT '',"
			     " reason TEXT NOT NULL DEFAULT '',"
			     " count INTEGER NOT NULL,"
			     " offset INTEGER NOT NULL,"
			     " pcr10 TEXT NOT NULL,"
			     " entries_checked INTEGER NOT NULL,"
			     " ahead INTEGER NOT NULL,"
			     " platform_key TEXT NOT NULL DEFAULT '',"
			     " coloc_key TEXT NOT NULL DEFAULT '');";

/* see hosts.h */
ady_err gate_hosts_open(const char *where, sqlite3 **out)
{
	const char *path = strncmp(where, "sqlite:", 7) == 0 ? where + 7 : where;
	sqlite3 *db = NULL;

	*out = NULL;
	if (strncmp(where, "postgresql:", 11) == 0)
		return ADY_ERR_UNSUPPORTED;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 10000) != SQLITE_OK || sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return ADY_ERR_IO;
	}
	*out = db;
	return ADY_OK;
}

static int hex_col(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	return s && strlen(s) == 2 * n && ady_hex_decode(s, 2 * n, out, n);
}

static void row_from(sqlite3_stmt *st, gate_host_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", (const char *)sqlite3_column_text(st, 0));
	r->checked = sqlite3_column_int64(st, 1);
	r->ok = sqlite3_column_int(st, 2) != 0;
	snprintf(r->failed, sizeof(r->failed), "%s", (const char *)sqlite3_column_text(st, 3));
	snprintf(r->reason, sizeof(r->reason), "%s", (const char *)sqlite3_column_text(st, 4));
	gate_pcr10_init(&r->verified);
	r->verified.count = (uint64_t)sqlite3_column_int64(st, 5);
	r->verified.offset = (uint64_t)sqlite3_column_int64(st, 6);
	if (!hex_col(st, 7, r->verified.sha256, 32))
		memset(r->verified.sha256, 0, 32);
	r->entries_checked = (uint64_t)sqlite3_column_int64(st, 8);
	r->ahead = (uint64_t)sqlite3_column_int64(st, 9);
	r->have_platform_key = hex_col(st, 10, r->platform_key, 64);
	r->have_coloc_key = hex_col(st, 11, r->coloc_key, 64);
}

#define COLS "name, checked, ok, failed, reason, count, offset, pcr10, entries_checked, ahead, platform_key, coloc_key"

/* see hosts.h */
ady_err gate_hosts_get(sqlite3 *db, const char *name, gate_host_row *out)
{
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_IO;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT " COLS " FROM gate_hosts WHERE name = ?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_from(st, out);
		err = ADY_OK;
	} else if (rc == SQLITE_DONE) {
		err = ADY_ERR_STATE;
	}
out:
	sqlite3_finalize(st);
	return err;
}

/* see hosts.h */
ady_err gate_hosts_put(sqlite3 *db, const gate_host_row *r)
{
	static const char sql[] = "INSERT OR REPLACE INTO gate_hosts (" COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
	char pcr[65], pk[129] = "", ck[129] = "";
	sqlite3_stmt *st = NULL;
	int ok;

	ady_hex_encode(r->verified.sha256, 32, pcr);
	if (r->have_platform_key)
		ady_hex_encode(r->platform_key, 64, pk);
	if (r->have_coloc_key)
		ady_hex_encode(r->coloc_key, 64, ck);
	ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	     sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_bind_int64(st, 2, r->checked) == SQLITE_OK && sqlite3_bind_int(st, 3, r->ok) == SQLITE_OK &&
	     sqlite3_bind_text(st, 4, r->failed, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_bind_text(st, 5, r->reason, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_bind_int64(st, 6, (sqlite3_int64)r->verified.count) == SQLITE_OK &&
	     sqlite3_bind_int64(st, 7, (sqlite3_int64)r->verified.offset) == SQLITE_OK &&
	     sqlite3_bind_text(st, 8, pcr, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_bind_int64(st, 9, (sqlite3_int64)r->entries_checked) == SQLITE_OK &&
	     sqlite3_bind_int64(st, 10, (sqlite3_int64)r->ahead) == SQLITE_OK &&
	     sqlite3_bind_text(st, 11, pk, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_bind_text(st, 12, ck, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	OPENSSL_cleanse(ck, sizeof(ck));
	return ok ? ADY_OK : ADY_ERR_IO;
}

/* see hosts.h */
ady_err gate_hosts_forget(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int ok = sqlite3_prepare_v2(db, "DELETE FROM gate_hosts WHERE name = ?", -1, &st, NULL) == SQLITE_OK &&
		 sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;

	sqlite3_finalize(st);
	if (!ok)
		return ADY_ERR_IO;
	return sqlite3_changes(db) ? ADY_OK : ADY_ERR_STATE;
}

/* see hosts.h */
ady_err gate_hosts_each(sqlite3 *db, void (*fn)(void *ctx, const gate_host_row *row), void *ctx)
{
	sqlite3_stmt *st = NULL;
	gate_host_row r;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT " COLS " FROM gate_hosts ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		return ADY_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_from(st, &r);
		fn(ctx, &r);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ADY_OK : ADY_ERR_IO;
}

/* see hosts.h */
int gate_host_admit(const char *state, const char *host, long max_age, const char *coloc, const char *hmac_hex,
		    const uint8_t *quote, size_t qlen, const uint8_t nonce[static 32], gate_host_row *row,
		    const char **failed, char *reason, size_t cap)
{
	sqlite3 *db = NULL;
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
	sqlite3_close(db);
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
