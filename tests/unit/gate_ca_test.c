/*
 * gate_ca_test - the gate's CA (apps/gate/ca.h) without an enclave: the
 * client certificate (chains to the CA, the identity extension reads back
 * as written and is not critical, the lifetime), the CRL (revoked by
 * serial and by host, expired ones left off), the nonces (once only), the
 * enclave key check, and the policies the enclave check refuses to load;
 * two gates on one state see each other's certificates and revocations.
 * On SQLite (a temporary file), or on PostgreSQL when $GATE_TEST_PG holds
 * a libpq connection string to a server where a database may be created
 * (tests/integration/gate_pg_test.sh).  The quote path itself runs end to
 * end in gate_nginx_test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "test_state.h"

typedef struct fixture {
	EVP_PKEY *ca_key;
	X509 *ca;
	char db_path[64];
	char where[512];             /* what gate_db_open was given */
	gate_db *db;
} fixture;

static X509 *make_ca(EVP_PKEY *k)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_get_subject_name(c);
	X509V3_CTX v3;
	X509_EXTENSION *e;

	assert_non_null(c);
	assert_int_equal(X509_set_version(c, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test gate CA", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_set_pubkey(c, k);
	X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(c, k, EVP_sha256()) > 0);
	return c;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	f->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->ca = make_ca(f->ca_key);
	assert_true(test_state_tmpfile(f->db_path, sizeof(f->db_path), "gate_ca_test"));
	if (!test_state_where("GATE_TEST_PG", "gate_ca_test", f->db_path, f->where, sizeof(f->where)))
		return -1;
	assert_int_equal(gate_db_open(f->where, &f->db), ADY_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	gate_db_close(f->db);
	unlink(f->db_path);
	X509_free(f->ca);
	EVP_PKEY_free(f->ca_key);
	free(f);
	return 0;
}

static EVP_PKEY *enclave_key(uint8_t pub[static GATE_PUB])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t n = 0;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, GATE_PUB, &n), 1);
	assert_int_equal(n, GATE_PUB);
	return k;
}

static void ident(gate_identity *id, const char *host)
{
	memset(id, 0, sizeof(*id));
	memset(id->mrenclave, 0xa1, 32);
	memset(id->mrsigner, 0xb2, 32);
	id->isvprodid = 22;
	id->isvsvn = 65535;
	if (host) {
		snprintf(id->host, sizeof(id->host), "%s", host);
		memset(id->pcr10, 0xc3, 32);
		id->have_pcr10 = true;
	}
}

static int verifies(X509 *ca, X509 *cert, X509_CRL *crl)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_add_cert(st, ca);
	if (crl) {
		X509_STORE_add_crl(st, crl);
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_set_purpose(st, X509_PURPOSE_SSL_CLIENT);
	X509_STORE_CTX_init(ctx, st, cert, NULL);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		fprintf(stderr, "verify: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

static void issue_and_read_back(void **state)
{
	fixture *f = *state;
	uint8_t pub[GATE_PUB];
	EVP_PKEY *k = enclave_key(pub), *kp = gate_pub_from_point(pub);
	gate_identity id, back;
	X509 *c = NULL;
	ASN1_OBJECT *obj = OBJ_txt2obj(GATE_IDENTITY_OID, 1);
	int i, day, sec;

	assert_non_null(kp);
	ident(&id, "host-7");
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, kp, &id, 3600, &c), ADY_OK);
	assert_true(verifies(f->ca, c, NULL));
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(c), k), 1);
	assert_int_equal(gate_cert_identity(c, &back), ADY_OK);
	assert_memory_equal(back.mrenclave, id.mrenclave, 32);
	assert_memory_equal(back.mrsigner, id.mrsigner, 32);
	assert_int_equal(back.isvprodid, 22);
	assert_int_equal(back.isvsvn, 65535);
	assert_string_equal(back.host, "host-7");
	assert_true(back.have_pcr10);
	assert_memory_equal(back.pcr10, id.pcr10, 32);
	i = X509_get_ext_by_OBJ(c, obj, -1);
	assert_true(i >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(c, i)), 0);
	assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(c), X509_get0_notAfter(c)), 1);
	assert_int_equal(day * 86400 + sec, 3600);
	assert_int_equal(X509_check_purpose(c, X509_PURPOSE_SSL_CLIENT, 0), 1);
	assert_int_equal(X509_check_ca(c), 0);
	X509_free(c);

	/* Without a host: no host fields. */
	ident(&id, NULL);
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, kp, &id, 60, &c), ADY_OK);
	assert_int_equal(gate_cert_identity(c, &back), ADY_OK);
	assert_string_equal(back.host, "");
	assert_false(back.have_pcr10);
	X509_free(c);
	ASN1_OBJECT_free(obj);
	EVP_PKEY_free(kp);
	EVP_PKEY_free(k);
}

static void identity_malformed(void **state)
{
	fixture *f = *state;
	gate_identity back;
	X509 *c = X509_new();

	(void)f;
	/* No extension at all. */
	assert_int_equal(gate_cert_identity(c, &back), ADY_ERR_MALFORMED);
	X509_free(c);
}

static void point_checked(void **state)
{
	uint8_t pub[GATE_PUB];
	EVP_PKEY *k = enclave_key(pub), *kp;

	(void)state;
	pub[64] ^= 1;  /* off the curve */
	assert_null(gate_pub_from_point(pub));
	pub[64] ^= 1;
	pub[0] = 0x02;
	assert_null(gate_pub_from_point(pub));
	pub[0] = 0x04;
	kp = gate_pub_from_point(pub);
	assert_non_null(kp);
	EVP_PKEY_free(kp);
	EVP_PKEY_free(k);
}

static void nonces_once(void **state)
{
	fixture *f = *state;
	uint8_t n[GATE_NONCE], other[GATE_NONCE] = {0};
	const char *why = "x";

	assert_int_equal(gate_db_nonce_new(f->db, 300, n), ADY_OK);
	assert_int_equal(gate_db_nonce_take(f->db, n, &why), ADY_OK);
	assert_null(why);
	assert_int_equal(gate_db_nonce_take(f->db, n, &why), ADY_OK);
	assert_string_equal(why, "nonce replayed");
	assert_int_equal(gate_db_nonce_take(f->db, other, &why), ADY_OK);
	assert_string_equal(why, "nonce unknown");
}

static int on_crl(X509_CRL *crl, X509 *c)
{
	X509_REVOKED *r = NULL;
	return X509_CRL_get0_by_serial(crl, &r, X509_get0_serialNumber(c)) == 1;
}

static void revoke_and_crl(void **state)
{
	fixture *f = *state;
	uint8_t pub[GATE_PUB];
	EVP_PKEY *k = enclave_key(pub);
	gate_identity a, b;
	X509 *ca_ = NULL, *cb = NULL, *cc = NULL;
	X509_CRL *crl = NULL;
	BIGNUM *bn;
	char *serial, lower[80];
	unsigned n = 9;

	ident(&a, "host-a");
	ident(&b, "host-b");
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, k, &a, 3600, &ca_), ADY_OK);
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, k, &b, 3600, &cb), ADY_OK);
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, k, &b, 3600, &cc), ADY_OK);
	assert_int_equal(gate_db_record(f->db, ca_, &a), ADY_OK);
	assert_int_equal(gate_db_record(f->db, cb, &b), ADY_OK);
	assert_int_equal(gate_db_record(f->db, cc, &b), ADY_OK);

	assert_int_equal(gate_crl_make(f->db, f->ca_key, f->ca, 3600, &crl), ADY_OK);
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);  /* none (NULL list: -1) */
	assert_true(verifies(f->ca, ca_, crl));
	X509_CRL_free(crl);

	/* By serial, written in lower case with a leading zero. */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca_), NULL);
	serial = BN_bn2hex(bn);
	snprintf(lower, sizeof(lower), "0%s", serial);
	for (char *p = lower; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	assert_int_equal(gate_db_revoke(f->db, lower, NULL, &n), ADY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(gate_db_revoke(f->db, serial, NULL, &n), ADY_OK);
	assert_int_equal(n, 0);  /* already revoked */
	assert_int_equal(gate_db_revoke(f->db, "12zz", NULL, &n), ADY_ERR_INVALID_ARG);
	assert_int_equal(gate_crl_make(f->db, f->ca_key, f->ca, 3600, &crl), ADY_OK);
	assert_true(on_crl(crl, ca_));
	assert_false(on_crl(crl, cb));
	assert_int_equal(X509_CRL_verify(crl, f->ca_key), 1);
	assert_false(verifies(f->ca, ca_, crl));
	assert_true(verifies(f->ca, cb, crl));
	X509_CRL_free(crl);

	/* By host: both of host-b's. */
	assert_int_equal(gate_db_revoke(f->db, NULL, "host-b", &n), ADY_OK);
	assert_int_equal(n, 2);
	assert_int_equal(gate_crl_make(f->db, f->ca_key, f->ca, 3600, &crl), ADY_OK);
	assert_true(on_crl(crl, cb) && on_crl(crl, cc) && on_crl(crl, ca_));
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	X509_CRL_free(crl);

	OPENSSL_free(serial);
	BN_free(bn);
	X509_free(ca_);
	X509_free(cb);
	X509_free(cc);
	EVP_PKEY_free(k);
}

typedef struct rows {
	int n, revoked;
	char serial[4][80];
	char host[4][32];
} rows;

static void row(void *ctx, const char *serial, int64_t issued, int64_t not_after, const char *mrenclave,
		const char *host, int64_t revoked)
{
	rows *r = ctx;

	assert_true(not_after > issued);
	assert_int_equal(strlen(mrenclave), 64);
	if (r->n < 4) {
		snprintf(r->serial[r->n], sizeof(r->serial[0]), "%s", serial);
		snprintf(r->host[r->n], sizeof(r->host[0]), "%s", host);
	}
	r->n++;
	r->revoked += revoked != 0;
}

static char *serial_of(X509 *c)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
	char *s = BN_bn2hex(bn);

	BN_free(bn);
	assert_non_null(s);
	return s;
}

/* Two gates on one state (the same file, or the same PostgreSQL
 * database): what one issues the other lists and may revoke, the CRL that
 * one writes holds what the other revoked, and a nonce one gave is taken
 * once, by either. */
static void two_gates_share(void **state)
{
	fixture *f = *state;
	gate_db *g2 = NULL;
	uint8_t pub[GATE_PUB], n[GATE_NONCE];
	EVP_PKEY *k = enclave_key(pub);
	gate_identity a, b;
	X509 *c1 = NULL, *c2 = NULL;
	X509_CRL *crl = NULL;
	rows r1 = {0}, r2 = {0};
	char *s1, *s2;
	const char *why = "x";
	unsigned cnt = 9;

	assert_int_equal(gate_db_open(f->where, &g2), ADY_OK);
	ident(&a, "host-a");
	ident(&b, "host-b");
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, k, &a, 3600, &c1), ADY_OK);
	assert_int_equal(gate_cert_issue(f->ca_key, f->ca, k, &b, 3600, &c2), ADY_OK);
	s1 = serial_of(c1);
	s2 = serial_of(c2);
	assert_int_equal(gate_db_record(f->db, c1, &a), ADY_OK);
	assert_int_equal(gate_db_record(g2, c2, &b), ADY_OK);
	/* The same serial twice is refused (a primary key), on either. */
	assert_int_equal(gate_db_record(g2, c1, &a), ADY_ERR_IO);

	/* Each lists both, in issue order. */
	assert_int_equal(gate_db_list(f->db, row, &r1), ADY_OK);
	assert_int_equal(gate_db_list(g2, row, &r2), ADY_OK);
	assert_int_equal(r1.n, 2);
	assert_int_equal(r2.n, 2);
	assert_string_equal(r1.serial[0], s1);
	assert_string_equal(r1.serial[1], s2);
	assert_string_equal(r2.host[0], "host-a");
	assert_string_equal(r2.host[1], "host-b");
	assert_int_equal(r1.revoked, 0);

	/* The second gate revokes the first one's certificate (by serial) and
	 * its own (by host); the first gate's CRL lists both. */
	assert_int_equal(gate_db_revoke(g2, s1, NULL, &cnt), ADY_OK);
	assert_int_equal(cnt, 1);
	assert_int_equal(gate_db_revoke(f->db, s1, NULL, &cnt), ADY_OK);
	assert_int_equal(cnt, 0);  /* already revoked, by the other */
	assert_int_equal(gate_crl_make(f->db, f->ca_key, f->ca, 3600, &crl), ADY_OK);
	assert_true(on_crl(crl, c1));
	assert_false(on_crl(crl, c2));
	X509_CRL_free(crl);
	assert_int_equal(gate_db_revoke(g2, NULL, "host-b", &cnt), ADY_OK);
	assert_int_equal(cnt, 1);
	assert_int_equal(gate_crl_make(f->db, f->ca_key, f->ca, 3600, &crl), ADY_OK);
	assert_true(on_crl(crl, c1) && on_crl(crl, c2));
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_false(verifies(f->ca, c2, crl));
	X509_CRL_free(crl);
	memset(&r1, 0, sizeof(r1));
	assert_int_equal(gate_db_list(f->db, row, &r1), ADY_OK);
	assert_int_equal(r1.revoked, 2);

	/* A nonce from one gate, taken at the other, then replayed at the first. */
	assert_int_equal(gate_db_nonce_new(f->db, 300, n), ADY_OK);
	assert_int_equal(gate_db_nonce_take(g2, n, &why), ADY_OK);
	assert_null(why);
	assert_int_equal(gate_db_nonce_take(f->db, n, &why), ADY_OK);
	assert_string_equal(why, "nonce replayed");

	OPENSSL_free(s1);
	OPENSSL_free(s2);
	X509_free(c1);
	X509_free(c2);
	EVP_PKEY_free(k);
	gate_db_close(g2);
}

/* A state that cannot be opened is an error, not a silent fallback. */
static void state_unreachable(void **state)
{
	gate_db *d = (gate_db *)1;

	(void)state;
	assert_int_equal(gate_db_open("postgresql:host=/nonexistent/gate-test dbname=x connect_timeout=2", &d), ADY_ERR_IO);
	assert_null(d);
	d = (gate_db *)1;
	assert_int_equal(gate_db_open("/nonexistent/dir/gate.db", &d), ADY_ERR_IO);
	assert_null(d);
	d = (gate_db *)1;
	assert_int_equal(gate_db_open("sqlite:", &d), ADY_ERR_INVALID_ARG);
	assert_null(d);
}

static void policies_refused(void **state)
{
	static const char dbg[] = "mrenclave = "
				  "0000000000000000000000000000000000000000000000000000000000000000\nallow_debug = yes\n";
	static const char none[] = "allow_sim = no\n";
	uint8_t nonce[GATE_NONCE] = {0}, pub[GATE_PUB] = {4}, q[16] = {0};
	gate_enclave_result r;

	(void)state;
	assert_int_equal(gate_enclave_check(q, sizeof(q), dbg, strlen(dbg), nonce, pub, &r), ADY_ERR_CONFIG);
	assert_non_null(strstr(r.reason, "DEBUG"));
	assert_int_equal(gate_enclave_check(q, sizeof(q), none, strlen(none), nonce, pub, &r), ADY_ERR_CONFIG);
	assert_int_equal(gate_enclave_check(q, sizeof(q), "bogus line\n", 11, nonce, pub, &r), ADY_ERR_CONFIG);
	assert_non_null(strstr(r.reason, "line 1"));
}

static void quote_garbage_refused(void **state)
{
	static const char pol[] = "mrenclave = "
				  "0000000000000000000000000000000000000000000000000000000000000000\n";
	uint8_t nonce[GATE_NONCE] = {0}, pub[GATE_PUB] = {4}, q[16] = {0};
	gate_enclave_result r;

	(void)state;
	assert_int_equal(gate_enclave_check(q, sizeof(q), pol, strlen(pol), nonce, pub, &r), ADY_OK);
	assert_non_null(r.failed);
	assert_string_equal(r.failed, "format");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(issue_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(identity_malformed, setup, teardown),
		cmocka_unit_test(point_checked),
		cmocka_unit_test_setup_teardown(nonces_once, setup, teardown),
		cmocka_unit_test_setup_teardown(revoke_and_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(two_gates_share, setup, teardown),
		cmocka_unit_test(state_unreachable),
		cmocka_unit_test(policies_refused),
		cmocka_unit_test(quote_garbage_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
