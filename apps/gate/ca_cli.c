/*
 * ca_cli.c - adyton-gate challenge | issue | revoke | crl | certs
 * (README.md, "Enclave check and certificates").
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "adyton/cursor.h"
#include "ca.h"
#include "cli.h"
#include "hosts.h"

#define MAX_LIFETIME (30L * 24 * 3600)

static long num_arg(const char *name, const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max) {
		fprintf(stderr, "adyton-gate: %s: a number from %ld to %ld\n", name, min, max);
		return -1;
	}
	return v;
}

static int open_db(const char *state, gate_db **db)
{
	ady_err err;

	if (!state) {
		fprintf(stderr, "adyton-gate: --state DB is required\n");
		return 0;
	}
	err = gate_db_open(state, db);
	if (err) {
		fprintf(stderr, "adyton-gate: --state %s: %s\n", state, ady_strerror(err));
		return 0;
	}
	return 1;
}

/* see cli.h */
int gate_load_ca(const char *keyf, const char *certf, EVP_PKEY **key, X509 **cert)
{
	FILE *f;

	*key = NULL;
	*cert = NULL;
	if (!keyf || !certf) {
		fprintf(stderr, "adyton-gate: --ca-key and --ca-cert are required\n");
		return 0;
	}
	if ((f = fopen(keyf, "r"))) {
		*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if ((f = fopen(certf, "r"))) {
		*cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!*key || !*cert || X509_check_private_key(*cert, *key) != 1) {
		fprintf(stderr, "adyton-gate: --ca-key %s / --ca-cert %s: unreadable, or not a pair\n", keyf, certf);
		EVP_PKEY_free(*key);
		X509_free(*cert);
		return 0;
	}
	return 1;
}

/* see cli.h */
int gate_write_crl(gate_db *db, EVP_PKEY *key, X509 *cert, long ttl, const char *path)
{
	X509_CRL *crl = NULL;
	char tmp[4096];
	FILE *f;
	ady_err err = gate_crl_make(db, key, cert, ttl, &crl);
	int ok;

	if (err) {
		fprintf(stderr, "adyton-gate: CRL: %s\n", ady_strerror(err));
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ok = f && PEM_write_X509_CRL(f, crl) == 1;
	if (f && fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "adyton-gate: --crl %s: cannot write\n", path);
		unlink(tmp);
	}
	X509_CRL_free(crl);
	return ok;
}

/* see cli.h */
int gate_cli_challenge(int argc, char **argv)
{
	static const struct option opts[] = {{"state", required_argument, NULL, 's'},
					     {"ttl", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *state = NULL;
	long ttl = 300;
	uint8_t nonce[GATE_NONCE];
	char hex[2 * GATE_NONCE + 1];
	gate_db *db = NULL;
	ady_err err;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 't':
			if ((ttl = num_arg("--ttl", optarg, 1, 86400)) < 0)
				return 2;
			break;
		default:
			fprintf(stderr, "usage: adyton-gate challenge --state DB [--ttl SECONDS]\n");
			return 2;
		}
	}
	if (optind != argc || !open_db(state, &db))
		return 2;
	err = gate_db_nonce_new(db, (unsigned)ttl, nonce);
	gate_db_close(db);
	if (err) {
		fprintf(stderr, "adyton-gate: challenge: %s\n", ady_strerror(err));
		return 2;
	}
	ady_hex_encode(nonce, sizeof(nonce), hex);
	printf("%s\n", hex);
	return 0;
}

/* The enclave's key as the point it hashed (a SubjectPublicKeyInfo PEM). */
static int load_pub(const char *path, uint8_t pub[static GATE_PUB])
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	size_t n = 0;
	int ok;

	if (f)
		fclose(f);
	ok = k && EVP_PKEY_is_a(k, "EC") &&
	     EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, GATE_PUB, &n) == 1 &&
	     n == GATE_PUB && pub[0] == 0x04;
	if (ok) {
		char group[32];
		ok = EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
		     !strcmp(group, "prime256v1");
	}
	EVP_PKEY_free(k);
	if (!ok)
		fprintf(stderr, "adyton-gate: --pubkey %s: not a P-256 public key (PEM)\n", path);
	return ok;
}

static void print_refusal(const char *failed, const char *reason)
{
	json_t *o = json_pack("{s:b, s:s, s:s}", "issued", 0, "failed", failed, "reason", reason);
	if (o)
		json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

/* see cli.h */
int gate_cli_issue(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quote", required_argument, NULL, 'q'},    {"pubkey", required_argument, NULL, 'p'},
		{"nonce", required_argument, NULL, 'n'},    {"policy", required_argument, NULL, 'P'},
		{"ca-key", required_argument, NULL, 'k'},   {"ca-cert", required_argument, NULL, 'c'},
		{"state", required_argument, NULL, 's'},    {"out", required_argument, NULL, 'o'},
		{"lifetime", required_argument, NULL, 'l'}, {"host", required_argument, NULL, 'H'},
		{"max-age", required_argument, NULL, 'M'},
		{"colocation", required_argument, NULL, 'L'}, {"hmac", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	const char *qf = NULL, *pf = NULL, *nhex = NULL, *polf = NULL, *keyf = NULL, *certf = NULL, *state = NULL,
		   *outf = NULL, *host = NULL, *why = NULL, *coloc = "tpm", *hmac = NULL;
	long lifetime = 3600, max_age = 300;
	uint8_t *quote = NULL, *policy = NULL, pub[GATE_PUB], nonce[GATE_NONCE];
	size_t qlen = 0, plen = 0;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca_cert = NULL, *cert = NULL;
	gate_db *db = NULL;
	gate_enclave_result *res = NULL;
	BIGNUM *bn = NULL;
	char *serial = NULL, mre[65], mrs[65];
	json_t *o = NULL;
	ady_err err;
	int opt, rc = 2;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': qf = optarg; break;
		case 'p': pf = optarg; break;
		case 'n': nhex = optarg; break;
		case 'P': polf = optarg; break;
		case 'k': keyf = optarg; break;
		case 'c': certf = optarg; break;
		case 's': state = optarg; break;
		case 'o': outf = optarg; break;
		case 'H': host = optarg; break;
		case 'L': coloc = optarg; break;
		case 'm': hmac = optarg; break;
		case 'M':
			if ((max_age = num_arg("--max-age", optarg, 1, 86400)) < 0)
				return 2;
			break;
		case 'l':
			if ((lifetime = num_arg("--lifetime", optarg, 1, MAX_LIFETIME)) < 0)
				return 2;
			break;
		default:
			goto usage;
		}
	}
	if (!qf || !pf || !nhex || !polf || !outf || optind != argc ||
	    (strcmp(coloc, "tpm") && strcmp(coloc, "hmac")) || (hmac && strcmp(coloc, "hmac")))
		goto usage;
	if (strlen(nhex) != 2 * GATE_NONCE || !ady_hex_decode(nhex, strlen(nhex), nonce, GATE_NONCE)) {
		fprintf(stderr, "adyton-gate: --nonce: 64 hex digits (adyton-gate challenge)\n");
		return 2;
	}
	if (host && (strlen(host) == 0 || strlen(host) >= sizeof(res->id.host))) {
		fprintf(stderr, "adyton-gate: --host: 1 to %zu bytes\n", sizeof(res->id.host) - 1);
		return 2;
	}
	res = calloc(1, sizeof(*res));
	if (!res || !(quote = gate_slurp(qf, &qlen)) || !(policy = gate_slurp(polf, &plen))) {
		fprintf(stderr, "adyton-gate: cannot read %s\n", !res ? "(memory)" : !quote ? qf : polf);
		goto out;
	}
	if (!load_pub(pf, pub) || !gate_load_ca(keyf, certf, &ca_key, &ca_cert) || !open_db(state, &db))
		goto out;
	/* The nonce is used up first, whatever the quote says: one challenge,
	 * one attempt. */
	err = gate_db_nonce_take(db, nonce, &why);
	if (err) {
		fprintf(stderr, "adyton-gate: --state: %s\n", ady_strerror(err));
		goto out;
	}
	if (why) {
		print_refusal("nonce", why);
		rc = 1;
		goto out;
	}
	err = gate_enclave_check(quote, qlen, (const char *)policy, plen, nonce, pub, res);
	if (err) {
		fprintf(stderr, "adyton-gate: --policy %s: %s\n", polf, res->reason[0] ? res->reason : ady_strerror(err));
		goto out;
	}
	if (res->failed) {
		print_refusal(res->failed, res->reason);
		rc = 1;
		goto out;
	}
	if (host) {
		/* The host's latest round (adyton-gate serve) must have passed
		 * and be recent, and the enclave must run on it. */
		gate_host_row row;
		const char *hf = NULL;
		char reason[768];
		int a = gate_host_admit(state, host, max_age, coloc, hmac, quote, qlen, nonce, &row, &hf, reason,
					sizeof(reason));

		if (a < 0) {
			fprintf(stderr, "adyton-gate: %s\n", reason);
			goto out;
		}
		if (a == 0) {
			print_refusal(hf, reason);
			rc = 1;
			goto out;
		}
		snprintf(res->id.host, sizeof(res->id.host), "%s", host);
		res->id.have_pcr10 = true;
		memcpy(res->id.pcr10, row.verified.sha256, 32);
	}
	key = gate_pub_from_point(pub);
	if (!key || gate_cert_issue(ca_key, ca_cert, key, &res->id, lifetime, &cert) != ADY_OK) {
		fprintf(stderr, "adyton-gate: cannot make the certificate\n");
		goto out;
	}
	{
		FILE *f = fopen(outf, "w");
		int ok = f && PEM_write_X509(f, cert) == 1;
		if (f && fclose(f) != 0)
			ok = 0;
		if (!ok) {
			fprintf(stderr, "adyton-gate: --out %s: cannot write\n", outf);
			goto out;
		}
	}
	err = gate_db_record(db, cert, &res->id);
	if (err) {
		fprintf(stderr, "adyton-gate: --state: cannot record: %s\n", ady_strerror(err));
		unlink(outf);
		goto out;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	serial = bn ? BN_bn2hex(bn) : NULL;
	ady_hex_encode(res->id.mrenclave, 32, mre);
	ady_hex_encode(res->id.mrsigner, 32, mrs);
	o = json_pack("{s:b, s:s?, s:I, s:s, s:s, s:i, s:i, s:s?}", "issued", 1, "serial", serial, "lifetime",
		      (json_int_t)lifetime, "mrenclave", mre, "mrsigner", mrs, "isvprodid", res->id.isvprodid, "isvsvn",
		      res->id.isvsvn, "host", host);
	if (o)
		json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	rc = 0;
out:
	json_decref(o);
	OPENSSL_free(serial);
	BN_free(bn);
	X509_free(cert);
	EVP_PKEY_free(key);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	gate_db_close(db);
	free(res);
	free(quote);
	free(policy);
	return rc;
usage:
	fprintf(stderr, "usage: adyton-gate issue --quote Q --pubkey PEM --nonce HEX --policy POL --ca-key K --ca-cert C\n"
			"                         --state DB --out CERT [--lifetime SECONDS]\n"
			"                         [--host ID [--max-age S] [--colocation tpm|hmac [--hmac HEX]]]\n");
	return 2;
}

static int crl_common(int argc, char **argv, int revoke)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},  {"ca-key", required_argument, NULL, 'k'},
		{"ca-cert", required_argument, NULL, 'c'}, {"crl", required_argument, NULL, 'C'},
		{"crl-ttl", required_argument, NULL, 't'}, {"host", required_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	const char *state = NULL, *keyf = NULL, *certf = NULL, *crlf = NULL, *host = NULL, *serial = NULL;
	long ttl = 86400;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	gate_db *db = NULL;
	unsigned n = 0;
	ady_err err;
	int opt, rc = 2;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'k': keyf = optarg; break;
		case 'c': certf = optarg; break;
		case 'C': crlf = optarg; break;
		case 'H':
			if (!revoke)
				goto usage;
			host = optarg;
			break;
		case 't':
			if ((ttl = num_arg("--crl-ttl", optarg, 60, 365L * 86400)) < 0)
				return 2;
			break;
		default:
			goto usage;
		}
	}
	if (revoke && optind + 1 == argc)
		serial = argv[optind++];
	if (optind != argc || !crlf || (revoke && !serial == !host))
		goto usage;
	if (!gate_load_ca(keyf, certf, &key, &cert) || !open_db(state, &db))
		goto out;
	if (revoke) {
		err = gate_db_revoke(db, serial, host, &n);
		if (err == ADY_ERR_INVALID_ARG) {
			fprintf(stderr, "adyton-gate: revoke: %s is not a serial (hex)\n", serial);
			goto out;
		}
		if (err) {
			fprintf(stderr, "adyton-gate: --state: %s\n", ady_strerror(err));
			goto out;
		}
	}
	if (!gate_write_crl(db, key, cert, ttl, crlf))
		goto out;
	if (revoke) {
		printf("{\"revoked\":%u}\n", n);
		/* Nothing matched: say so, so that a typo is not taken for a revocation. */
		rc = n ? 0 : 1;
	} else {
		rc = 0;
	}
out:
	gate_db_close(db);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
usage:
	fprintf(stderr, revoke ? "usage: adyton-gate revoke SERIAL|--host ID --state DB --ca-key K --ca-cert C --crl OUT "
				 "[--crl-ttl SECONDS]\n"
			       : "usage: adyton-gate crl --state DB --ca-key K --ca-cert C --crl OUT [--crl-ttl SECONDS]\n");
	return 2;
}

/* see cli.h */
int gate_cli_revoke(int argc, char **argv)
{
	return crl_common(argc, argv, 1);
}

/* see cli.h */
int gate_cli_crl(int argc, char **argv)
{
	return crl_common(argc, argv, 0);
}

static void print_cert(void *ctx, const char *serial, int64_t issued, int64_t not_after, const char *mrenclave,
		       const char *host, int64_t revoked)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I}", "serial", serial, "issued", (json_int_t)issued,
			      "not_after", (json_int_t)not_after, "mrenclave", mrenclave, "host", host, "revoked",
			      (json_int_t)revoked);

	(void)ctx;
	if (o)
		json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

/* see cli.h */
int gate_cli_certs(int argc, char **argv)
{
	gate_db *db = NULL;
	ady_err err;

	if (argc != 3 || strcmp(argv[1], "--state")) {
		fprintf(stderr, "usage: adyton-gate certs --state DB\n");
		return 2;
	}
	if (!open_db(argv[2], &db))
		return 2;
	err = gate_db_list(db, print_cert, NULL);
	gate_db_close(db);
	if (err) {
		fprintf(stderr, "adyton-gate: --state: %s\n", ady_strerror(err));
		return 2;
	}
	return 0;
}
