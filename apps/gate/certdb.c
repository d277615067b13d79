/*
 * certdb.c - the gate's state (ca.h): challenge nonces through the key
 * broker's store layer (apps/kbs/store.h: issued, used once, expiring),
 * and the issued certificates in a SQLite table in the same file, from
 * which the CRL is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "adyton/cursor.h"
#include "ca.h"
#include "store.h"

struct gate_db {
	kbs_store *st;
	sqlite3 *db;
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

/* see ca.h */
ady_err gate_db_open(const char *where, gate_db **out)
{
	const char *path = strncmp(where, "sqlite:", 7) == 0 ? where + 7 : where;
	gate_db *d;

	*out = NULL;
	/* The certificate table is SQLite only: the store layer's PostgreSQL
	 * backend would need the same table there (README.md, "Not built"). */
	if (strncmp(where, "postgresql:", 11) == 0)
		return ADY_ERR_UNSUPPORTED;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ADY_ERR_NOMEM;
	if (kbs_store_open(path, &d->st) != ADY_OK || sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(d->db, 5000) != SQLITE_OK || sqlite3_exec(d->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		gate_db_close(d);
		return ADY_ERR_IO;
	}
	*out = d;
	return ADY_OK;
}

/* see ca.h */
void gate_db_close(gate_db *d)
{
	if (!d)
		return;
	sqlite3_close(d->db);
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

/* see ca.h */
ady_err gate_db_record(gate_db *d, X509 *cert, const gate_identity *id)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *serial = bn ? BN_bn2hex(bn) : NULL, mre[65], mrs[65], *pem = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	sqlite3_stmt *st = NULL;
	long plen;
	ady_err err = ADY_ERR_NOMEM;

	if (!serial || !b || PEM_write_bio_X509(b, cert) != 1 || (plen = BIO_get_mem_data(b, &pem)) <= 0)
		goto out;
	ady_hex_encode(id->mrenclave, 32, mre);
	ady_hex_encode(id->mrsigner, 32, mrs);
	err = ADY_ERR_IO;
	if (sqlite3_prepare_v2(d->db,
			       "INSERT INTO gate_certs(serial, issued, not_after, mrenclave, mrsigner, host, pem) "
			       "VALUES (?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, asn1_time_unix(X509_get0_notBefore(cert))) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, asn1_time_unix(X509_get0_notAfter(cert))) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, mre, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 5, mrs, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 6, id->host, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 7, pem, (int)plen, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		goto out;
	err = ADY_OK;
out:
	sqlite3_finalize(st);
	BIO_free(b);
	OPENSSL_free(serial);
	BN_free(bn);
	return err;
}

/* see ca.h */
ady_err gate_db_revoke(gate_db *d, const char *serial, const char *host, unsigned *n)
{
	BIGNUM *bn = NULL;
	char *norm = NULL;
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_INVALID_ARG;
	int ok;

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
	err = ADY_ERR_IO;
	ok = sqlite3_prepare_v2(d->db,
				serial ? "UPDATE gate_certs SET revoked = ? WHERE serial = ? AND revoked = 0"
				       : "UPDATE gate_certs SET revoked = ? WHERE host = ? AND revoked = 0",
				-1, &st, NULL) == SQLITE_OK &&
	     sqlite3_bind_int64(st, 1, (int64_t)time(NULL)) == SQLITE_OK &&
	     sqlite3_bind_text(st, 2, serial ? norm : host, -1, SQLITE_STATIC) == SQLITE_OK &&
	     sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		goto out;
	*n = (unsigned)sqlite3_changes(d->db);
	err = ADY_OK;
out:
	sqlite3_finalize(st);
	OPENSSL_free(norm);
	BN_free(bn);
	return err;
}

/* see ca.h */
ady_err gate_crl_make(gate_db *d, EVP_PKEY *ca_key, X509 *ca_cert, long ttl, X509_CRL **out)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();
	sqlite3_stmt *st = NULL;
	ady_err err = ADY_ERR_CRYPTO;
	int rc;

	*out = NULL;
	if (!crl || !now || !next || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) != 1 || !X509_gmtime_adj(now, 0) ||
	    !X509_gmtime_adj(next, ttl) || X509_CRL_set1_lastUpdate(crl, now) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1)
		goto out;
	/* Expired certificates are refused by their dates: leave them off. */
	if (sqlite3_prepare_v2(d->db,
			       "SELECT serial, revoked FROM gate_certs WHERE revoked != 0 AND not_after > ? "
			       "ORDER BY serial",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (int64_t)time(NULL)) != SQLITE_OK) {
		err = ADY_ERR_IO;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_TIME *when = ASN1_TIME_new();
		BIGNUM *bn = NULL;
		ASN1_INTEGER *sn = NULL;
		int ok = r && when && BN_hex2bn(&bn, (const char *)sqlite3_column_text(st, 0)) > 0 &&
			 (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_REVOKED_set_serialNumber(r, sn) == 1 &&
			 ASN1_TIME_set(when, (time_t)sqlite3_column_int64(st, 1)) != NULL &&
			 X509_REVOKED_set_revocationDate(r, when) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
		ASN1_INTEGER_free(sn);
		BN_free(bn);
		ASN1_TIME_free(when);
		if (!ok) {
			X509_REVOKED_free(r);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		err = ADY_ERR_IO;
		goto out;
	}
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
	sqlite3_finalize(st);
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
