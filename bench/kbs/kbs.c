/*
 * bench/kbs: key broker releases per second on one core (quote
 * verification included), against ady_verify_quote()'s raw rate on the
 * same quotes in the same run (README.md).
 *
 * The broker's request path runs in this process (apps/kbs/broker.c,
 * kbs_broker_serve: the same code adyton-kbs serve runs per request,
 * without the socket; -c N: N threads at once, as N connections are): per release one CHALLENGE (a nonce into the
 * store) and one FETCH (the nonce taken in one transaction, the resource
 * read and decrypted, the policy parsed, the quote verified, ECDH + HKDF
 * + AES-GCM to the enclave key, the audit line written; the audit log and
 * the store flushed before the answer, one flush for the requests waiting
 * together).
 * What an enclave does between the two (its key, its quote: adytond's
 * signing path, bench/quote) is made here untimed, with the platform key
 * of an ENROLLED quote, as bench/quote does.
 *
 * usage: kbs [--db sqlite:PATH | postgresql:CONNINFO] [--audit PATH] [-n N] [-c THREADS]
 *   default: a SQLite file and the audit log in a new directory /tmp/kbs-bench.XXXXXX.
 */
#define _GNU_SOURCE
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/verify.h"
#include "adyton/vpolicy.h"
#include "broker.h"
#include "msg.h"
#include "platform/sign.h"
#include "store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: on a shared machine the rates per CPU-second
 * are the steadier figure (the PostgreSQL server's own CPU is not in it). */
static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "kbs bench: %s\n", what);
	return 1;
}

typedef struct req {
	uint8_t nonce[KBS_NONCE], pub[KBS_PUB];
	uint8_t quote[ADY_QUOTE_MAX];
	size_t quote_len;
	uint8_t *fetch;
	size_t fetch_len;
} req;

/* The timed phases: n requests over c threads. */
static kbs_broker b = {.audit_fd = -1, .nonce_ttl = 3600};
static req *reqs;
static long n = 2000;
static atomic_long next;
static atomic_int failed;
static int phase; /* 0: challenges, 1: fetches */

static void *worker(void *arg)
{
	(void)arg;
	for (long i; (i = atomic_fetch_add(&next, 1)) < n;) {
		kbs_msg m = {.type = KBS_CHALLENGE}, r;
		uint8_t *frame = NULL, *resp = NULL;
		size_t flen = 0, rlen = 0;
		int close_after;
		if (phase == 0) {
			m.name.p = (const uint8_t *)"bench";
			m.name.len = 5;
			if (kbs_msg_encode(&m, &frame, &flen) ||
			    kbs_broker_serve(&b, frame, flen, "bench", &resp, &rlen, &close_after) ||
			    kbs_msg_decode(resp, rlen, &r) || r.type != KBS_NONCE_MSG) {
				atomic_store(&failed, 1);
			} else {
				memcpy(reqs[i].nonce, r.nonce, KBS_NONCE);
			}
			free(frame);
		} else if (kbs_broker_serve(&b, reqs[i].fetch, reqs[i].fetch_len, "bench", &resp, &rlen,
					    &close_after) ||
			   kbs_msg_decode(resp, rlen, &r) || r.type != KBS_RELEASE) {
			if (resp && r.type == KBS_ERROR)
				fprintf(stderr, "refused: %.*s\n", (int)r.reason.len, (const char *)r.reason.p);
			atomic_store(&failed, 1);
		}
		free(resp);
	}
	return NULL;
}

static int run_phase(int p, int threads)
{
	pthread_t t[64];
	int made = 0;

	phase = p;
	atomic_store(&next, 0);
	for (; made < threads; made++)
		if (pthread_create(&t[made], NULL, worker, NULL))
			break;
	for (int i = 0; i < made; i++)
		pthread_join(t[i], NULL);
	return made == threads && !atomic_load(&failed) ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const uint8_t cpusvn[16];
	static ady_quote scratch;
	static ady_verify_report rep;
	static ady_vpolicy pol;
	const char *db = NULL, *audit = NULL;
	char dir[] = "/tmp/kbs-bench.XXXXXX", dbpath[600], auditpath[600], policy[512], hex[129];
	uint8_t mre[32] = {0x6b, 1}, mrs[32] = {0x6b, 2}, master[KBS_MASTER_KEY] = {7}, secret[64];
	ady_sgx_attributes attr = {.flags = 0x5, .xfrm = 3};
	EVP_PKEY *platform;
	unsigned line = 0;
	int threads = 1;
	double t0, c0, t_chal, t_fetch, t_verify, c_chal, c_fetch, c_verify;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--audit") && i + 1 < argc)
			audit = argv[++i];
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			threads = (int)strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: kbs [--db sqlite:PATH | postgresql:CONNINFO] [--audit PATH] [-n N] [-c THREADS]\n");
			return 2;
		}
	}
	if (n < 10 || n > 1000000)
		return die("-n: 10 .. 1000000");
	if (threads < 1 || threads > 64)
		return die("-c: 1 .. 64");
	if (!db || !audit) {
		if (!mkdtemp(dir))
			return die("mkdtemp");
		snprintf(dbpath, sizeof(dbpath), "sqlite:%s/kbs.db", dir);
		snprintf(auditpath, sizeof(auditpath), "%s/audit.log", dir);
		if (!db)
			db = dbpath;
		if (!audit)
			audit = auditpath;
	}
	b.audit_fd = open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (b.audit_fd < 0 || kbs_broker_init(&b))
		return die("audit log");
	if (kbs_store_open(db, &b.store) || kbs_store_set_master_key(b.store, master) || kbs_store_defer_sync(b.store))
		return die("store (or its master key: use a fresh database)");
	platform = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!platform)
		return die("platform key");
	{
		uint8_t pk[64];
		char mhex[65];
		if (ady_p256_pub(platform, pk))
			return die("platform key");
		ady_hex_encode(pk, 64, hex);
		ady_hex_encode(mre, 32, mhex);
		snprintf(policy, sizeof(policy), "mrenclave = %s\nplatform_key = %s\n", mhex, hex);
	}
	memset(secret, 0x5a, sizeof(secret));
	if (kbs_store_put(b.store, "bench", KBS_KIND_SECRET, policy, secret, sizeof(secret)))
		return die("put");
	if (ady_vpolicy_parse(policy, strlen(policy), &pol, &line))
		return die("policy");

	reqs = calloc((size_t)n, sizeof(*reqs));
	if (!reqs)
		return die("memory");
	/* Challenges (timed), then the enclave's part (untimed). */
	t0 = now();
	c0 = cpu();
	if (run_phase(0, threads))
		return die("challenge refused");
	t_chal = now() - t0;
	c_chal = cpu() - c0;
	for (long i = 0; i < n; i++) {
		req *q = &reqs[i];
		EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		uint8_t rd[64] = {0}, cat[KBS_NONCE + KBS_PUB];
		ady_sgx_report_body body;
		kbs_msg m = {.type = KBS_FETCH, .nonce = q->nonce, .pub = q->pub};
		size_t pl = 0;
		if (!eph || EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, q->pub, KBS_PUB, &pl) != 1 ||
		    pl != KBS_PUB)
			return die("enclave key");
		EVP_PKEY_free(eph);
		memcpy(cat, q->nonce, KBS_NONCE);
		memcpy(cat + KBS_NONCE, q->pub, KBS_PUB);
		SHA256(cat, sizeof(cat), rd);
		ady_quote_body(&body, mre, mrs, 1, 1, &attr, 0, cpusvn, rd);
		if (ady_quote_make(platform, &body, q->nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, q->quote,
				   sizeof(q->quote), &q->quote_len))
			return die("quote");
		m.name.p = (const uint8_t *)"bench";
		m.name.len = 5;
		m.quote.p = q->quote;
		m.quote.len = q->quote_len;
		if (kbs_msg_encode(&m, &q->fetch, &q->fetch_len))
			return die("encode");
	}
	/* The raw verifier on the same quotes (policy parsed once, binding
	 * checked as the broker checks it). */
	t0 = now();
	c0 = cpu();
	for (long i = 0; i < n; i++) {
		ady_verify_bind_key(&pol, reqs[i].nonce, reqs[i].pub, KBS_PUB);
		if (ady_verify_quote(reqs[i].quote, reqs[i].quote_len, &pol, reqs[i].nonce, &rep) != ADY_OK)
			return die("raw verification refused a quote");
	}
	t_verify = now() - t0;
	c_verify = cpu() - c0;
	/* The releases. */
	t0 = now();
	c0 = cpu();
	if (run_phase(1, threads))
		return die("fetch refused");
	t_fetch = now() - t0;
	c_fetch = cpu() - c0;
	printf("store: %s, %ld releases, %d thread%s\n", db, n, threads, threads > 1 ? "s" : "");
	printf("                        per second   per CPU-second (this process)\n");
	printf("raw verification:       %10.0f   %10.0f   (ady_verify_quote on the same quotes)\n", n / t_verify,
	       n / c_verify);
	printf("releases:               %10.0f   %10.0f   (challenge + fetch)\n", n / (t_chal + t_fetch),
	       n / (c_chal + c_fetch));
	printf("  challenges:           %10.0f   %10.0f\n", n / t_chal, n / c_chal);
	printf("  fetches:              %10.0f   %10.0f\n", n / t_fetch, n / c_fetch);
	printf("releases / raw verify:  %10.2f   %10.2f\n", t_verify / (t_chal + t_fetch), c_verify / (c_chal + c_fetch));
	for (long i = 0; i < n; i++)
		free(reqs[i].fetch);
	free(reqs);
	EVP_PKEY_free(platform);
	kbs_store_close(b.store);
	close(b.audit_fd);
	kbs_broker_fini(&b);
	return 0;
}
