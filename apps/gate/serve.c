/*
 * serve.c - adyton-gate serve | hosts | fetch (README.md, "serve, hosts,
 * the agent"): the continuous host check through each host's agent.
 *
 *   adyton-gate serve --config FILE [--once]
 *   adyton-gate hosts --state DB [--json | --forget NAME]
 *   adyton-gate fetch --config FILE --host NAME --nonce HEX --out DIR [--offset N]
 *
 * Each round, per host: a fresh nonce to the agent; its answer judged by
 * gate_host_check (quote, incremental replay from the kept state, log
 * ahead tolerated, boot_aggregate, the host's Keylime policy) with the AK
 * from the agent's AK certificate, which must chain to a tpm_ak_ca; the
 * agent's certification of adytond's attestation key (a TPM2_Quote by the
 * same AK over SHA-256 of that key) must verify too, and the key is kept
 * for co-location.  A host that fails: its certificates revoked, the CRL
 * rewritten (temporary file + rename), the reload command run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "adyton/cursor.h"
#include "adyton/verify.h"
#include "ca.h"
#include "cli.h"
#include "gate.h"
#include "hosts.h"
#include "wire.h"

#define MAX_HOSTS 256
#define MAX_AK_CA 4

typedef struct host_cfg {
	const char *name, *agent, *policy_path, *coloc;
	gate_policy *policy;
} host_cfg;

typedef struct serve_cfg {
	json_t *root;
	const char *state, *ca_key, *ca_cert, *crl, *tls_cert, *tls_key;
	const char *ak_ca[MAX_AK_CA];
	size_t nak_ca;
	long interval, crl_ttl, timeout;
	char **reload;                  /* argv, NULL-terminated; NULL: none */
	host_cfg hosts[MAX_HOSTS];
	size_t nhosts;
} serve_cfg;

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_msg(const char *fmt, ...)
{
	va_list ap;
	char ts[32];
	time_t t = time(NULL);

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(stderr, "%s adyton-gate: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void cfg_free(serve_cfg *c)
{
	for (size_t i = 0; i < c->nhosts; i++)
		gate_policy_free(c->hosts[i].policy);
	free(c->reload);
	json_decref(c->root);
}

static const char *cstr(json_t *o, const char *k, int required, const char *where)
{
	json_t *v = json_object_get(o, k);

	if ((v && !json_is_string(v)) || (!v && required)) {
		fprintf(stderr, "adyton-gate: %s: \"%s\" %s\n", where, k, required ? "is required (a string)" : "must be a string");
		return NULL;
	}
	return json_string_value(v);
}

static int cnum(json_t *o, const char *k, long def, long min, long max, long *out, const char *where)
{
	json_t *v = json_object_get(o, k);

	*out = def;
	if (!v)
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		fprintf(stderr, "adyton-gate: %s: \"%s\": an integer from %ld to %ld\n", where, k, min, max);
		return 0;
	}
	*out = (long)json_integer_value(v);
	return 1;
}

static int only_keys(json_t *o, const char *const *known, size_t n, const char *where)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i;
		for (i = 0; i < n && strcmp(k, known[i]); i++)
			;
		if (i == n) {
			fprintf(stderr, "adyton-gate: %s: unknown key \"%s\"\n", where, k);
			return 0;
		}
	}
	return 1;
}

/* The serve config (JSON; dist/gate.json.example).  Every host's runtime
 * policy is loaded here, so a bad one stops the start, not a round. */
static int cfg_load(const char *path, serve_cfg *c, int need_ca)
{
	static const char *const top[] = {"state", "ca_key", "ca_cert", "crl", "crl_ttl", "tls_cert", "tls_key",
					  "tpm_ak_ca", "interval", "timeout", "reload", "hosts"};
	static const char *const hk[] = {"name", "agent", "policy", "colocation"};
	json_error_t je;
	json_t *v, *h;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!c->root || !json_is_object(c->root)) {
		fprintf(stderr, "adyton-gate: %s: line %d: %s\n", path, je.line, c->root ? "not an object" : je.text);
		return 0;
	}
	if (!only_keys(c->root, top, sizeof(top) / sizeof(top[0]), path))
		return 0;
	if (!(c->state = cstr(c->root, "state", 1, path)) || !(c->tls_cert = cstr(c->root, "tls_cert", 1, path)) ||
	    !(c->tls_key = cstr(c->root, "tls_key", 1, path)) || !(c->ca_cert = cstr(c->root, "ca_cert", 1, path)))
		return 0;
	c->ca_key = cstr(c->root, "ca_key", need_ca, path);
	c->crl = cstr(c->root, "crl", need_ca, path);
	if ((!c->ca_key && (need_ca || json_object_get(c->root, "ca_key"))) ||
	    (!c->crl && (need_ca || json_object_get(c->root, "crl"))))
		return 0;
	if (!cnum(c->root, "interval", 60, 1, 86400, &c->interval, path) ||
	    !cnum(c->root, "crl_ttl", 86400, 60, 365L * 86400, &c->crl_ttl, path) ||
	    !cnum(c->root, "timeout", 30, 1, 600, &c->timeout, path))
		return 0;
	v = json_object_get(c->root, "tpm_ak_ca");
	json_array_foreach(v, i, h) {
		if (!json_is_string(h) || c->nak_ca == MAX_AK_CA)
			break;
		c->ak_ca[c->nak_ca++] = json_string_value(h);
	}
	if (!json_is_array(v) || c->nak_ca == 0 || c->nak_ca != json_array_size(v)) {
		fprintf(stderr, "adyton-gate: %s: \"tpm_ak_ca\": 1 to %d files (the enrollment CA of adytond --enroll-ca)\n",
			path, MAX_AK_CA);
		return 0;
	}
	v = json_object_get(c->root, "reload");
	if (v) {
		size_t n = json_array_size(v);
		if (!json_is_array(v) || n == 0 || !(c->reload = calloc(n + 1, sizeof(char *)))) {
			fprintf(stderr, "adyton-gate: %s: \"reload\": a command as an array of strings\n", path);
			return 0;
		}
		json_array_foreach(v, i, h) {
			if (!json_is_string(h)) {
				fprintf(stderr, "adyton-gate: %s: \"reload\": a command as an array of strings\n", path);
				return 0;
			}
			c->reload[i] = (char *)json_string_value(h);
		}
	}
	v = json_object_get(c->root, "hosts");
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_HOSTS) {
		fprintf(stderr, "adyton-gate: %s: \"hosts\": 1 to %d hosts\n", path, MAX_HOSTS);
		return 0;
	}
	json_array_foreach(v, i, h) {
		host_cfg *hc = &c->hosts[c->nhosts];
		char where[300];
		uint8_t *pol;
		size_t plen;
		gate_why why = {{0}};

		snprintf(where, sizeof(where), "%s: hosts[%zu]", path, i);
		if (!json_is_object(h) || !only_keys(h, hk, sizeof(hk) / sizeof(hk[0]), where) ||
		    !(hc->name = cstr(h, "name", 1, where)) || !(hc->agent = cstr(h, "agent", 1, where)) ||
		    !(hc->policy_path = cstr(h, "policy", 1, where)))
			return 0;
		hc->coloc = cstr(h, "colocation", 0, where);
		if (!hc->coloc && json_object_get(h, "colocation"))
			return 0;
		if (!hc->coloc)
			hc->coloc = "tpm";
		if (strcmp(hc->coloc, "tpm") && strcmp(hc->coloc, "hmac")) {
			fprintf(stderr, "adyton-gate: %s: \"colocation\": \"tpm\" (default) or \"hmac\"\n", where);
			return 0;
		}
		if (!*hc->name || strlen(hc->name) > 128) {
			fprintf(stderr, "adyton-gate: %s: \"name\": 1 to 128 bytes\n", where);
			return 0;
		}
		for (size_t j = 0; j < c->nhosts; j++)
			if (!strcmp(c->hosts[j].name, hc->name)) {
				fprintf(stderr, "adyton-gate: %s: host \"%s\" twice\n", where, hc->name);
				return 0;
			}
		if (!(pol = gate_slurp(hc->policy_path, &plen))) {
			fprintf(stderr, "adyton-gate: %s: cannot read %s\n", where, hc->policy_path);
			return 0;
		}
		if (gate_policy_load((const char *)pol, plen, &hc->policy, &why) != ADY_OK) {
			fprintf(stderr, "adyton-gate: %s: policy %s: %s\n", where, hc->policy_path, why.text);
			free(pol);
			return 0;
		}
		free(pol);
		c->nhosts++;
	}
	return 1;
}

/* ---- one exchange with an agent ---------------------------------------- */

static json_t *agent_call(const serve_cfg *c, SSL_CTX *ctx, const host_cfg *h, json_t *req, char *err, size_t cap)
{
	int fd = gate_tcp_connect(h->agent, (int)c->timeout);
	SSL *ssl = NULL;
	json_t *ans = NULL;

	if (fd < 0) {
		snprintf(err, cap, "agent %s: cannot connect: %s", h->agent, strerror(errno));
		return NULL;
	}
	/* The agent's certificate must be the gate CA's, for this host. */
	if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, h->name) != 1 ||
	    SSL_connect(ssl) != 1) {
		long vr = ssl ? SSL_get_verify_result(ssl) : 0;
		snprintf(err, cap, "agent %s: TLS refused: %s", h->agent,
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "handshake failed");
		ERR_clear_error();
		goto out;
	}
	if (!gate_wire_send(ssl, req)) {
		snprintf(err, cap, "agent %s: cannot send", h->agent);
		goto out;
	}
	if (!(ans = gate_wire_recv(ssl, err, cap)))
		goto out;
	if (json_object_get(ans, "error")) {
		snprintf(err, cap, "agent %s: %s", h->agent, json_string_value(json_object_get(ans, "error")));
		json_decref(ans);
		ans = NULL;
	}
out:
	SSL_free(ssl);
	close(fd);
	return ans;
}

/* The AK certificate (DER) in its role: chains to a tpm_ak_ca, carries
 * the TCG AIK extended key usage 2.23.133.8.3 and digitalSignature, is
 * not a CA (as libadyton-verify's tpm_ak_binding check; docs/attestation.md,
 * "Certificate roles").  Its key as PEM into pem (cap bytes). */
static int ak_check(const serve_cfg *c, const uint8_t *der, size_t len, const uint8_t *chain, size_t chain_len,
		    char *pem, size_t cap, char *why, size_t wcap)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = NULL;
	ASN1_OBJECT *aik = OBJ_txt2obj("2.23.133.8.3", 1);
	EXTENDED_KEY_USAGE *eku = NULL;
	BIO *bio = NULL;
	int ok = 0, has_aik = 0;
	long n;
	char *data;

	if (!x || p != der + len) {
		snprintf(why, wcap, "the AK certificate is not one DER certificate");
		goto out;
	}
	if (!store || !sc || !aik)
		goto out;
	for (size_t i = 0; i < c->nak_ca; i++)
		if (X509_STORE_load_file(store, c->ak_ca[i]) != 1) {
			snprintf(why, wcap, "tpm_ak_ca %s: unreadable", c->ak_ca[i]);
			goto out;
		}
	if (chain_len) {
		const unsigned char *q = chain;
		untrusted = sk_X509_new_null();
		while (untrusted && q < chain + chain_len) {
			X509 *y = d2i_X509(NULL, &q, (long)(chain + chain_len - q));
			if (!y || !sk_X509_push(untrusted, y)) {
				X509_free(y);
				snprintf(why, wcap, "the AK chain is not DER certificates");
				goto out;
			}
		}
	}
	if (X509_STORE_CTX_init(sc, store, x, untrusted) != 1)
		goto out;
	if (X509_verify_cert(sc) != 1) {
		snprintf(why, wcap, "the AK certificate does not chain to a tpm_ak_ca: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc)));
		goto out;
	}
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++)
		has_aik |= OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), aik) == 0;
	if (!has_aik || !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) || X509_check_ca(x)) {
		snprintf(why, wcap, "the AK certificate is not an AK certificate (TCG AIK EKU 2.23.133.8.3, "
				    "digitalSignature, not a CA)");
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_PUBKEY(bio, X509_get0_pubkey(x)) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (size_t)n >= cap)
		goto out;
	memcpy(pem, data, (size_t)n);
	pem[n] = 0;
	ok = 1;
out:
	if (!ok && !*why)
		snprintf(why, wcap, "the AK certificate: OpenSSL error");
	BIO_free(bio);
	EXTENDED_KEY_USAGE_free(eku);
	ASN1_OBJECT_free(aik);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_CTX_free(sc);
	X509_STORE_free(store);
	X509_free(x);
	return ok;
}

/* One round for host h: the row is updated (verdict, state, keys). */
static void round_host(const serve_cfg *c, SSL_CTX *ctx, const host_cfg *h, gate_host_row *row)
{
	uint8_t nonce[GATE_AGENT_NONCE], qual[32];
	char nhex[65], why[512] = "";
	const char *failed = NULL;
	json_t *req = NULL, *ans = NULL;
	gate_host_result res;
	gate_host_evidence hev;
	ady_tpm_quote_check qc;
	gate_answer e = {0};
	gate_pcr10 prev = row->verified;
	int first = row->checked == 0 || row->verified.count == 0;
	/* over: the replay starts over from the log's first entry because the
	 * TPM booted again (the kept state belongs to an earlier boot) */
	int over = 0;
	char over_why[128] = "";
	gate_boot boot;
	gate_why bwhy;

again:
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		failed = "gate", snprintf(why, sizeof(why), "no randomness");
		goto done;
	}
	ady_hex_encode(nonce, sizeof(nonce), nhex);
	req = json_pack("{s:s, s:s, s:I}", "type", "attest", "nonce", nhex, "offset", (json_int_t)prev.offset);
	if (!req || !(ans = agent_call(c, ctx, h, req, why, sizeof(why)))) {
		/* After a reboot the log is shorter than the kept offset: ask
		 * again from its start; the quote must then show a new boot. */
		if (req && !first && strstr(why, "shorter than offset")) {
			snprintf(over_why, sizeof(over_why), "the IMA log is shorter than the kept offset %llu",
				 (unsigned long long)prev.offset);
			goto start_over;
		}
		failed = "agent";
		goto done;
	}
	if (!gate_answer_decode(ans, prev.offset, &e, why, sizeof(why))) {
		failed = "agent";
		goto done;
	}
	if (!ak_check(c, e.ak, e.ak_len, e.chain, e.chain_len, e.ak_pem, sizeof(e.ak_pem), why, sizeof(why))) {
		failed = "ak_cert";
		goto done;
	}
	/* A quote of another boot than the kept state's: the log started
	 * over, ask for all of it (what the quote says is only believed
	 * after its check below: here it only costs a full replay). */
	if (!first && row->boot.known && gate_quote_boot(e.attest, e.attest_len, &boot) == ADY_OK &&
	    (boot.reset_count != row->boot.reset_count || boot.restart_count != row->boot.restart_count)) {
		snprintf(over_why, sizeof(over_why), "the quote's resetCount %u restartCount %u (kept: %u %u)",
			 boot.reset_count, boot.restart_count, row->boot.reset_count, row->boot.restart_count);
		goto start_over;
	}
	memset(&hev, 0, sizeof(hev));
	hev.attest = e.attest, hev.attest_len = e.attest_len, hev.sig = e.sig, hev.sig_len = e.sig_len;
	hev.ak_pem = e.ak_pem, hev.pcr = (const uint8_t(*)[32])e.pcr, hev.npcr = e.npcr;
	hev.log = e.log, hev.log_len = e.log_len, hev.log_base = prev.offset;
	if (gate_host_check(&hev, nonce, sizeof(nonce), first ? NULL : &prev, h->policy, &res) != ADY_OK) {
		failed = "quote_signature", snprintf(why, sizeof(why), "the quote or the AK key does not decode");
		goto done;
	}
	if (res.failed) {
		failed = res.failed;
		snprintf(why, sizeof(why), "%s", res.why.text);
		goto done;
	}
	/* The verified quote's boot against the kept one. */
	if (gate_quote_boot(e.attest, e.attest_len, &boot) != ADY_OK) {
		failed = "quote_signature", snprintf(why, sizeof(why), "the quote does not decode");
		goto done;
	}
	bwhy.text[0] = '\0';
	switch (gate_boot_compare(&row->boot, &boot, &bwhy)) {
	case GATE_BOOT_OLDER:
		failed = "boot", snprintf(why, sizeof(why), "%s", bwhy.text);
		goto done;
	case GATE_BOOT_SAME:
		if (over && row->boot.known) {
			failed = "log_shorter";
			snprintf(why, sizeof(why), "%s, but the TPM did not boot again (resetCount %u restartCount %u)",
				 over_why, boot.reset_count, boot.restart_count);
			goto done;
		}
		break;
	case GATE_BOOT_NEW:
		if (over)
			log_msg("host %s: booted again (%s): replayed its IMA log from the start", h->name, over_why);
		break;
	}
	/* adytond's attestation key, certified by the same AK over the same
	 * boot's PCRs 0-7: the key enclave quotes on this host must carry. */
	EVP_Digest(e.pkey, 64, qual, NULL, EVP_sha256(), NULL);
	if (ady_verify_tpm_quote(e.patt, e.patt_len, e.psig, e.psig_len, e.ak_pem, qual, 32,
				 (const uint8_t(*)[32])e.pcr, e.npcr, &qc) != ADY_OK ||
	    qc.failed || qc.pcr_mask != 0xffu) {
		failed = "platform_cert";
		snprintf(why, sizeof(why), "the certification of adytond's attestation key: %s",
			 qc.failed ? qc.detail : "not a quote by the AK over PCRs 0-7");
		goto done;
	}
	row->verified = res.verified;
	row->boot = boot;
	row->entries_checked = res.checked;
	row->ahead = res.ahead;
	row->have_platform_key = true;
	memcpy(row->platform_key, e.pkey, 64);

	/* The seed's volume flow: K and n1 to the agent over the mutual TLS
	 * channel (encrypted to the agent's certified key), the answer
	 * HMAC-SHA512(K, n1).  Once per good host; a failure clears K. */
	if (!strcmp(h->coloc, "hmac") && !row->have_coloc_key) {
		uint8_t k[GATE_COLOC_KEY], n1[GATE_AGENT_NONCE], mac[64], got[64];
		unsigned int mlen = 0;
		char *kb = NULL, n1hex[65];
		const char *ghex;

		json_decref(req);
		json_decref(ans);
		ans = NULL;
		req = NULL;
		if (RAND_bytes(k, sizeof(k)) != 1 || RAND_bytes(n1, sizeof(n1)) != 1 || !(kb = gate_b64(k, sizeof(k)))) {
			failed = "gate", snprintf(why, sizeof(why), "no randomness");
			goto done;
		}
		ady_hex_encode(n1, sizeof(n1), n1hex);
		req = json_pack("{s:s, s:s, s:s}", "type", "colocate", "key", kb, "n1", n1hex);
		OPENSSL_cleanse(kb, strlen(kb));
		free(kb);
		if (!req || !(ans = agent_call(c, ctx, h, req, why, sizeof(why)))) {
			failed = "colocation_hmac";
			OPENSSL_cleanse(k, sizeof(k));
			goto done;
		}
		HMAC(EVP_sha512(), k, sizeof(k), n1, sizeof(n1), mac, &mlen);
		ghex = json_string_value(json_object_get(ans, "hmac"));
		if (!ghex || strlen(ghex) != 128 || !ady_hex_decode(ghex, 128, got, 64) || !ady_memeq_ct(mac, got, 64)) {
			failed = "colocation_hmac";
			snprintf(why, sizeof(why), "the agent's HMAC-SHA512(K, n1) is wrong");
			OPENSSL_cleanse(k, sizeof(k));
			goto done;
		}
		memcpy(row->coloc_key, k, 64);
		row->have_coloc_key = true;
		OPENSSL_cleanse(k, sizeof(k));
	}
done:
	row->checked = (int64_t)time(NULL);
	row->ok = failed == NULL;
	snprintf(row->failed, sizeof(row->failed), "%s", failed ? failed : "");
	snprintf(row->reason, sizeof(row->reason), "%s", failed ? why : "");
	if (failed) {
		/* The host is not trusted until it passes again: no key for
		 * co-location, no certified platform key. */
		row->have_coloc_key = false;
		row->have_platform_key = false;
		OPENSSL_cleanse(row->coloc_key, sizeof(row->coloc_key));
	}
	json_decref(req);
	json_decref(ans);
	gate_answer_free(&e);
	return;
start_over:
	/* once per round: the second request starts at the log's first entry */
	json_decref(req);
	json_decref(ans);
	req = ans = NULL;
	gate_answer_free(&e);
	memset(&e, 0, sizeof(e));
	why[0] = '\0';
	gate_pcr10_init(&prev);
	first = 1, over = 1;
	goto again;
}

static void run_reload(char **argv)
{
	pid_t pid;
	int st;

	if (!argv)
		return;
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		log_msg("reload command %s failed", argv[0]);
	else
		log_msg("reloaded (%s)", argv[0]);
}

static int refresh_crl(const serve_cfg *c, gate_db *db)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int ok = gate_load_ca(c->ca_key, c->ca_cert, &key, &cert) && gate_write_crl(db, key, cert, c->crl_ttl, c->crl);

	EVP_PKEY_free(key);
	X509_free(cert);
	return ok;
}

/* see hosts.h */
int gate_cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, '1'},
					     {NULL, 0, NULL, 0}};
	struct sigaction sa = {.sa_handler = on_term};
	const char *cfgf = NULL;
	int once = 0, opt, rc = 2;
	serve_cfg c;
	SSL_CTX *ctx = NULL;
	gate_hosts *hdb = NULL;
	gate_db *db = NULL;
	time_t crl_at = 0;
	ady_err err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfgf = optarg; break;
		case '1': once = 1; break;
		default: goto usage;
		}
	}
	if (!cfgf || optind != argc)
		goto usage;
	if (!cfg_load(cfgf, &c, 1))
		goto out;
	if (!(ctx = gate_tls_ctx(0, c.tls_cert, c.tls_key, c.ca_cert)))
		goto out;
	if ((err = gate_db_open(c.state, &db)) || (err = gate_hosts_open(c.state, &hdb))) {
		fprintf(stderr, "adyton-gate: state %s: %s\n", c.state, ady_strerror(err));
		goto out;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = 0;
	while (!stop) {
		time_t start = time(NULL);
		int revoked_any = 0;

		for (size_t i = 0; i < c.nhosts && !stop; i++) {
			const host_cfg *h = &c.hosts[i];
			gate_host_row row;
			unsigned n = 0;

			if ((err = gate_hosts_get(hdb, h->name, &row)) == ADY_ERR_STATE) {
				memset(&row, 0, sizeof(row));
				snprintf(row.name, sizeof(row.name), "%s", h->name);
				gate_pcr10_init(&row.verified);
			} else if (err) {
				log_msg("host %s: state: %s", h->name, ady_strerror(err));
				continue;
			}
			round_host(&c, ctx, h, &row);
			if ((err = gate_hosts_put(hdb, &row)) == ADY_ERR_STATE)
				log_msg("host %s: forgotten during the round: not recorded", h->name);
			else if (err)
				log_msg("host %s: cannot record: %s", h->name, ady_strerror(err));
			OPENSSL_cleanse(row.coloc_key, sizeof(row.coloc_key));
			if (row.ok) {
				log_msg("host %s: ok (%llu entries verified, %llu checked now, %llu ahead)", h->name,
					(unsigned long long)row.verified.count, (unsigned long long)row.entries_checked,
					(unsigned long long)row.ahead);
				continue;
			}
			log_msg("host %s: FAILED %s: %s", h->name, row.failed, row.reason);
			if ((err = gate_db_revoke(db, NULL, h->name, &n)))
				log_msg("host %s: cannot revoke: %s", h->name, ady_strerror(err));
			else if (n)
				log_msg("host %s: %u certificate(s) revoked", h->name, n);
			revoked_any |= n != 0;
		}
		/* The CRL after revocations, and well before it expires (an
		 * expired CRL makes nginx refuse every client). */
		if (revoked_any || time(NULL) - crl_at >= c.crl_ttl / 4) {
			if (refresh_crl(&c, db)) {
				crl_at = time(NULL);
				run_reload(c.reload);
			} else {
				log_msg("cannot write the CRL %s", c.crl);
			}
		}
		if (once)
			break;
		while (!stop && time(NULL) - start < c.interval)
			sleep(1);
	}
out:
	gate_hosts_close(hdb);
	gate_db_close(db);
	SSL_CTX_free(ctx);
	cfg_free(&c);
	return rc;
usage:
	fprintf(stderr, "usage: adyton-gate serve --config FILE [--once]   (dist/gate.json.example)\n");
	return 2;
}

static void print_host(void *ctx, const gate_host_row *r)
{
	int js = *(int *)ctx;
	char pcr[65], pk[129] = "";

	ady_hex_encode(r->verified.sha256, 32, pcr);
	if (r->have_platform_key)
		ady_hex_encode(r->platform_key, 64, pk);
	if (js) {
		json_t *o = json_pack("{s:s, s:I, s:b, s:s?, s:s?, s:I, s:I, s:s, s:I, s:I, s:s?, s:b}", "host", r->name,
				      "checked", (json_int_t)r->checked, "ok", r->ok, "failed",
				      r->ok ? NULL : r->failed, "reason", r->ok ? NULL : r->reason, "entries",
				      (json_int_t)r->verified.count, "offset", (json_int_t)r->verified.offset,
				      "pcr10_sha256", pcr, "entries_checked", (json_int_t)r->entries_checked,
				      "entries_ahead", (json_int_t)r->ahead, "platform_key", pk[0] ? pk : NULL,
				      "colocation_key", r->have_coloc_key);
		if (o && r->boot.known) {
			json_object_set_new(o, "tpm_reset_count", json_integer(r->boot.reset_count));
			json_object_set_new(o, "tpm_restart_count", json_integer(r->boot.restart_count));
		}
		if (o)
			json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	} else {
		char when[32] = "never";
		time_t t = (time_t)r->checked;

		if (r->checked)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		printf("%-20s %-4s %-20s entries %-8llu pcr10 %.16s...%s%s%s\n", r->name, r->ok ? "ok" : "FAIL", when,
		       (unsigned long long)r->verified.count, pcr, r->ok ? "" : " ", r->ok ? "" : r->failed,
		       r->ok ? "" : (r->reason[0] ? ": " : ""));
		if (!r->ok && r->reason[0])
			printf("    %s\n", r->reason);
	}
}

/* see hosts.h */
int gate_cli_hosts(int argc, char **argv)
{
	static const struct option opts[] = {{"state", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
					     {"forget", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	const char *state = NULL, *forget = NULL;
	int js = 0, opt;
	gate_hosts *db = NULL;
	ady_err err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'j': js = 1; break;
		case 'f': forget = optarg; break;
		default: goto usage;
		}
	}
	if (!state || optind != argc)
		goto usage;
	if (forget) {
		if ((err = gate_hosts_open(state, &db)) == ADY_OK)
			err = gate_hosts_forget(db, forget);
		gate_hosts_close(db);
		if (err == ADY_ERR_STATE) {
			fprintf(stderr, "adyton-gate: no host %s in %s\n", forget, state);
			return 1;
		}
		if (err) {
			fprintf(stderr, "adyton-gate: --state %s: %s\n", state, ady_strerror(err));
			return 2;
		}
		return 0;
	}
	if ((err = gate_hosts_open(state, &db)) || (err = gate_hosts_each(db, print_host, &js))) {
		fprintf(stderr, "adyton-gate: --state %s: %s\n", state, ady_strerror(err));
		gate_hosts_close(db);
		return 2;
	}
	gate_hosts_close(db);
	return 0;
usage:
	fprintf(stderr, "usage: adyton-gate hosts --state DB [--json | --forget NAME]\n");
	return 2;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	ok = f && fwrite(p, 1, n, f) == n;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "adyton-gate: cannot write %s\n", path);
	return ok;
}

/* see hosts.h: the agent's evidence for one nonce as the files check-host
 * reads (quote.msg, quote.sig, pcrs.bin, log.bin, ak.pem); for
 * inspection and to show that a quote does not pass for another nonce. */
int gate_cli_fetch(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {"host", required_argument, NULL, 'H'},
					     {"nonce", required_argument, NULL, 'n'},  {"out", required_argument, NULL, 'o'},
					     {"offset", required_argument, NULL, 'O'}, {NULL, 0, NULL, 0}};
	const char *cfgf = NULL, *host = NULL, *nhex = NULL, *out = NULL;
	unsigned long long offset = 0;
	uint8_t nonce[GATE_AGENT_NONCE];
	char why[512] = "";
	const host_cfg *h = NULL;
	json_t *req = NULL, *ans = NULL;
	SSL_CTX *ctx = NULL;
	gate_answer e = {0};
	serve_cfg c;
	int opt, rc = 2;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfgf = optarg; break;
		case 'H': host = optarg; break;
		case 'n': nhex = optarg; break;
		case 'o': out = optarg; break;
		case 'O': offset = strtoull(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (!cfgf || !host || !nhex || !out || optind != argc)
		goto usage;
	if (strlen(nhex) != 64 || !ady_hex_decode(nhex, 64, nonce, sizeof(nonce))) {
		fprintf(stderr, "adyton-gate: --nonce: 64 hex digits\n");
		return 2;
	}
	if (!cfg_load(cfgf, &c, 0))
		goto done;
	for (size_t i = 0; i < c.nhosts; i++)
		if (!strcmp(c.hosts[i].name, host))
			h = &c.hosts[i];
	if (!h) {
		fprintf(stderr, "adyton-gate: no host %s in %s\n", host, cfgf);
		goto done;
	}
	if (!(ctx = gate_tls_ctx(0, c.tls_cert, c.tls_key, c.ca_cert)))
		goto done;
	req = json_pack("{s:s, s:s, s:I}", "type", "attest", "nonce", nhex, "offset", (json_int_t)offset);
	if (!req || !(ans = agent_call(&c, ctx, h, req, why, sizeof(why))) || !gate_answer_decode(ans, offset, &e, why, sizeof(why)) ||
	    !ak_check(&c, e.ak, e.ak_len, e.chain, e.chain_len, e.ak_pem, sizeof(e.ak_pem), why, sizeof(why))) {
		fprintf(stderr, "adyton-gate: %s\n", why);
		rc = 1;
		goto done;
	}
	mkdir(out, 0700);
	if (write_file(out, "quote.msg", e.attest, e.attest_len) && write_file(out, "quote.sig", e.sig, e.sig_len) &&
	    write_file(out, "pcrs.bin", e.pcr, 11 * 32) && write_file(out, "log.bin", e.log, e.log_len) &&
	    write_file(out, "ak.pem", e.ak_pem, strlen(e.ak_pem)))
		rc = 0;
done:
	gate_answer_free(&e);
	json_decref(req);
	json_decref(ans);
	SSL_CTX_free(ctx);
	cfg_free(&c);
	return rc;
usage:
	fprintf(stderr, "usage: adyton-gate fetch --config FILE --host NAME --nonce HEX --out DIR [--offset N]\n");
	return 2;
}
