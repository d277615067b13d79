/*
 * certdb.c - the gate's state (ca.h): challenge nonces through the key
 * broker's store layer (apps/kbs/store.h: issued, used once, expiring),
 * and the issued certificates in a table beside them, from which the CRL
 * is written.  The table lives where the store does: in the SQLite file
 * (default), or in the PostgreSQL database ("postgresql:CONNINFO", libpq)
 * that several gates share, so that one gate's CRL lists what another
 * revoked.  Every operation is one statement; nothing is cached here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "adyton/cursor.h"
#include "ca.h"
#include "statedb.h"
#include "store.h"

/* One of db and pg is set.  On PostgreSQL the store has a connection of
 * its own (store.h does not lend it), so a gate holds two. */
struct gate_db {
	kbs_store *st;
	sqlite3 *db;
	PGconn *pg;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS gate_certs ("
	" serial TEXT PRIMARY KEY,"          /* hex, as openssl x509 -serial prints it */
	" issued INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" mrenclave TEXT NOT NULL,"
	" mrsigner TEXT NOT NULL,"
	" host TEXT NOT NULL DEFAULT '',"
	" revoked INTEGER NOT NULL DEFAULT 0,"  /* 0, or when (Unix time) */
	" pem TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS gate_certs_host ON gate_certs(host);";

/* The same table on PostgreSQL: 64-bit times, and seq for the issue order
 * that SQLite's rowid gives. */
static const char pg_schema[] =
	"CREATE TABLE IF NOT EXISTS gate_certs ("
	" seq BIGSERIAL UNIQUE,"
	" serial TEXT PRIMARY KEY,"
	" issued BIGINT NOT NULL,"
	" not_after BIGINT NOT NULL,"
	" mrenclave TEXT NOT NULL,"
	" mrsigner TEXT NOT NULL,"
	" host TEXT NOT NULL DEFAULT '',"
	" revoked BIGINT NOT NULL DEFAULT 0,"
	" pem TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS gate_certs_host ON gate_certs(host);";

static const gate_table certs = {
	.sqlite_schema = schema,
	.sqlite_flags = SQLITE_OPEN_READWRITE, /* the store has created the file */
	.sqlite_busy_ms = 5000,
	.pg_schema = pg_schema,
	.pg_lock = 16017,
};

/* see ca.h */
ady_err gate_db_open(const char *where, gate_db **out)
{
	gate_db *d;
	ady_err err = ADY_ERR_IO;

	*out = NULL;
	if (!*gate_state_path(where))
		return ADY_ERR_INVALID_ARG;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ADY_ERR_NOMEM;
	if (kbs_store_open(where, &d->st) != ADY_OK || (err = gate_state_open(where, &certs, &d->db, &d->pg)))
		goto fail;
	*out = d;
	return ADY_OK;
fail:
	gate_db_close(d);
	return err;
}

/* see ca.h */
void gate_db_close(gate_db *d)
{
	if (!d)
		return;
	sqlite3_close(d->db);
	PQfinish(d->pg);
	kbs_store_close(d->st);
	free(d);
}

/* see ca.h */
ady_err gate_db_nonce_new(gate_db *d, unsigned ttl, uint8_t nonce[static GATE_NONCE])
{
	if (RAND_bytes(nonce, GATE_NONCE) != 1)
		return ADY_ERR_CRYPTO;
	return kbs_store_nonce_add(d->st, nonce, GATE_NONCE_NAME, (int64_t)time(NULL) + ttl);
}

/* see ca.h */
ady_err gate_db_nonce_take(gate_db *d, const uint8_t nonce[static GATE_NONCE], const char **why)
{
	static const char *names[] = {NULL, "nonce unknown", "nonce replayed", "nonce expired"};
	kbs_nonce_state ns;
	ady_err err = kbs_store_nonce_take(d->st, nonce, GATE_NONCE_NAME, (int64_t)time(NULL), &ns);

	if (err)
		return err;
	*why = (unsigned)ns < 4 ? names[ns] : "nonce unknown";
	return ADY_OK;
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static ady_err record_sqlite(gate_db *d, const char *const v[7])
{
	sqlite3_stmt *st = NULL;
	int ok;

	ok = sqlite3_prepare_v2(d->db,
				"INSERT INTO gate_certs(serial, issued, not_after, mrenclave, mrsigner, host, pem) "
				"VALUES (?, ?, ?, ?, ?, ?, ?)",
				-1, &st, NULL) == SQLITE_OK;
	for (int i = 0; ok && i < 7; i++)
		ok = (i == 1 || i == 2 ? sqlite3_bind_int64(st, i + 1, strtoll(v[i], NULL, 10))
				       : sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC)) == SQLITE_OK;
	ok = ok && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok ? ADY_OK : ADY_ERR_IO;
}

static ady_err record_pg(gate_db *d, const char *const v[7])
{
	PGresult *r = gate_pg_run(d->pg, PGRES_COMMAND_OK,
			          "INSERT INTO gate_certs(serial, issued, not_after, mrenclave, mrsigner, host, pem) "
			          "VALUES ($1, $2, $3, $4, $5, $6, $7)",
			          7, v);

	PQclear(r);
	return r ? ADY_OK : ADY_ERR_IO;
}

/* see ca.h */
ady_err gate_db_record(gate_db *d, X509 *cert, const gate_identity *id)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *serial = bn ? BN_bn2hex(bn) : NULL, mre[65], mrs[65], issued[24], not_after[24], *pem = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	ady_err err = ADY_ERR_NOMEM;

	/* A NUL at the end of the PEM: bound as text. */
	if (!serial || !b || PEM_write_bio_X509(b, cert) != 1 || BIO_write(b, "", 1) != 1 ||
	    BIO_get_mem_data(b, &pem) <= 0)
		goto out;
	ady_hex_encode(id->mrenclave, 32, mre);
	ady_hex_encode(id->mrsigner, 32, mrs);
	snprintf(issued, sizeof(issued), "%" PRId64, asn1_time_unix(X509_get0_notBefore(cert)));
	snprintf(not_after, sizeof(not_after), "%" PRId64, asn1_time_unix(X509_get0_notAfter(cert)));
	{
		const char *const v[7] = {serial, issued, not_after, mre, mrs, id->host, pem};
		err = d->pg ? record_pg(d, v) : record_sqlite(d, v);
	}
out:
	BIO_free(b);
	OPENSSL_free(serial);
	BN_free(bn);
	return err;
}

/* UPDATE gate_certs SET revoked = now WHERE <col> = key AND revoked = 0;
 * *n rows changed. */
static ady_err revoke_rows(gate_db *d, int by_serial, const char *key, unsigned *n)
{
	static const char *const sq[2] = {"UPDATE gate_certs SET revoked = ? WHERE host = ? AND revoked = 0",
					  "UPDATE gate_certs SET revoked = ? WHERE serial = ? AND revoked = 0"};
	static const char *const pq[2] = {"UPDATE gate_certs SET revoked = $1 WHERE host = $2 AND revoked = 0",
					  "UPDATE gate_certs SET revoked = $1 WHERE serial = $2 AND revoked = 0"};
	int64_t now = (int64_t)time(NULL);

	if (d->pg) {
		char t[24];
		const char *v[2] = {t, key};
		PGresult *r;
		snprintf(t, sizeof(t), "%" PRId64, now);
		r = gate_pg_run(d->pg, PGRES_COMMAND_OK, pq[by_serial], 2, v);
		if (!r)
			return ADY_ERR_IO;
		*n = (unsigned)strtoul(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		return ADY_OK;
	}
	{
		sqlite3_stmt *st = NULL;
		int ok = sqlite3_prepare_v2(d->db, sq[by_serial], -1, &st, NULL) == SQLITE_OK &&
			 sqlite3_bind_int64(st, 1, now) == SQLITE_OK &&
			 sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
		if (!ok)
			return ADY_ERR_IO;
		*n = (unsigned)sqlite3_changes(d->db);
		return ADY_OK;
	}
}

/* see ca.h */
ady_err gate_db_revoke(gate_db *d, const char *serial, const char *host, unsigned *n)
{
	BIGNUM *bn = NULL;
	char *norm = NULL;
	ady_err err = ADY_ERR_INVALID_ARG;

	*n = 0;
	if (serial) {
		/* Normalise (case, leading zeros) as the record was written. */
		size_t len = strlen(serial);
		if (len == 0 || len > 64 || strspn(serial, "0123456789abcdefABCDEF") != len ||
		    BN_hex2bn(&bn, serial) != (int)len || !(norm = BN_bn2hex(bn)))
			goto out;
	} else if (!host || !host[0]) {
		goto out;
	}
	err = revoke_rows(d, serial != NULL, serial ? norm : host, n);
out:
	OPENSSL_free(norm);
	BN_free(bn);
	return err;
}

/* Calls fn(serial, revoked) per revoked, unexpired certificate, in serial
 * order; fn returning 0 stops with ADY_ERR_CRYPTO. */
static ady_err revoked_rows(gate_db *d, int64_t now, int (*fn)(void *ctx, const char *serial, int64_t revoked),
			    void *ctx)
{
	if (d->pg) {
		char t[24];
		const char *v[1] = {t};
		PGresult *r;
		ady_err err = ADY_OK;
		snprintf(t, sizeof(t), "%" PRId64, now);
		r = gate_pg_run(d->pg, PGRES_TUPLES_OK,
			        "SELECT serial, revoked FROM gate_certs WHERE revoked != 0 AND not_after > $1 "
			        "ORDER BY serial COLLATE \"C\"",
			        1, v);
		if (!r)
			return ADY_ERR_IO;
		for (int i = 0; i < PQntuples(r) && !err; i++)
			if (!fn(ctx, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10)))
				err = ADY_ERR_CRYPTO;
		PQclear(r);
		return err;
	}
	{
		sqlite3_stmt *st = NULL;
		int rc;
		if (sqlite3_prepare_v2(d->db,
				       "SELECT serial, revoked FROM gate_certs WHERE revoked != 0 AND not_after > ? "
				       "ORDER BY serial",
				       -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 1, now) != SQLITE_OK) {
			sqlite3_finalize(st);
			return ADY_ERR_IO;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (!fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1))) {
				sqlite3_finalize(st);
				return ADY_ERR_CRYPTO;
			}
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? ADY_OK : ADY_ERR_IO;
	}
}

static int add_revoked(void *ctx, const char *serial, int64_t revoked)
{
	X509_CRL *crl = ctx;
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_TIME *when = ASN1_TIME_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;
	int ok = r && when && serial && BN_hex2bn(&bn, serial) > 0 && (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
		 X509_REVOKED_set_serialNumber(r, sn) == 1 && ASN1_TIME_set(when, (time_t)revoked) != NULL &&
		 X509_REVOKED_set_revocationDate(r, when) == 1 && X509_CRL_add0_revoked(crl, r) == 1;

	ASN1_INTEGER_free(sn);
	BN_free(bn);
	ASN1_TIME_free(when);
	if (!ok)
		X509_REVOKED_free(r);
	return ok;
}

/* see ca.h */
ady_err gate_crl_make(gate_db *d, EVP_PKEY *ca_key, X509 *ca_cert, long ttl, X509_CRL **out)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();
	ady_err err = ADY_ERR_CRYPTO;

	*out = NULL;
	if (!crl || !now || !next || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) != 1 || !X509_gmtime_adj(now, 0) ||
	    !X509_gmtime_adj(next, ttl) || X509_CRL_set1_lastUpdate(crl, now) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1)
		goto out;
	/* Expired certificates are refused by their dates: leave them off. */
	err = revoked_rows(d, (int64_t)time(NULL), add_revoked, crl);
	if (err)
		goto out;
	err = ADY_ERR_CRYPTO;
	{
		X509V3_CTX v3;
		X509_EXTENSION *ext;
		X509V3_set_ctx(&v3, ca_cert, NULL, NULL, crl, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
		if (!ext || X509_CRL_add_ext(crl, ext, -1) != 1) {
			X509_EXTENSION_free(ext);
			goto out;
		}
		X509_EXTENSION_free(ext);
	}
	if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca_key, EVP_sha256()) <= 0)
		goto out;
	*out = crl;
	crl = NULL;
	err = ADY_OK;
out:
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return err;
}

/* see ca.h */
ady_err gate_db_list(gate_db *d,
		     void (*fn)(void *ctx, const char *serial, int64_t issued, int64_t not_after, const char *mrenclave,
				const char *host, int64_t revoked),
		     void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (d->pg) {
		PGresult *r = gate_pg_run(d->pg, PGRES_TUPLES_OK,
				          "SELECT serial, issued, not_after, mrenclave, host, revoked FROM gate_certs "
				          "ORDER BY issued, seq",
				          0, NULL);
		if (!r)
			return ADY_ERR_IO;
		for (int i = 0; i < PQntuples(r); i++)
			fn(ctx, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10),
			   strtoll(PQgetvalue(r, i, 2), NULL, 10), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
			   strtoll(PQgetvalue(r, i, 5), NULL, 10));
		PQclear(r);
		return ADY_OK;
	}
	if (sqlite3_prepare_v2(d->db,
			       "SELECT serial, issued, not_after, mrenclave, host, revoked FROM gate_certs "
			       "ORDER BY issued, rowid",
			       -1, &st, NULL) != SQLITE_OK)
		return ADY_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		   (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4),
		   sqlite3_column_int64(st, 5));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ADY_OK : ADY_ERR_IO;
}
