/*
 * bench/gate: one host-integrity round of the gate (apps/gate/gate.h) on
 * a synthetic 10,000-entry ima-ng log against a 100,000-digest Keylime
 * runtime policy, and an incremental round of 100 new entries; each as a
 * ratio to the floor, SHA-256 over the same template data in the same run
 * (the SHA-256 bank has to hash every entry's data at least once).
 *
 * The round is gate_host_check itself: quote signature (ECDSA P-256 over
 * a TPMS_ATTEST built here, as a TPM would marshal it), PCR digest,
 * boot_aggregate, replay to the quoted PCR 10, the policy per entry.
 * Usage: gate [entries=10000] [policy digests=100000] [new entries=100]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "gate.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->cap + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put32(buf *b, uint32_t v)
{
	uint8_t x[4];

	ady_put_u32le(x, v);
	put(b, x, 4);
}

static void put_be(buf *b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		uint8_t x = (uint8_t)(v >> (8 * i));
		put(b, &x, 1);
	}
}

static void sha(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned int l;

	if (EVP_Digest(p, n, out, &l, md, NULL) != 1)
		abort();
}

/* An ima-ng entry as the kernel writes it. */
static void entry(buf *log, const char *path, const uint8_t dig[32])
{
	uint8_t d[600], th[20];
	size_t n = 0, pl = strlen(path) + 1;

	ady_put_u32le(d, 40);
	memcpy(d + 4, "sha256:", 8);
	memcpy(d + 12, dig, 32);
	n = 44;
	ady_put_u32le(d + n, (uint32_t)pl);
	memcpy(d + n + 4, path, pl);
	n += 4 + pl;
	sha(EVP_sha1(), d, n, th);
	put32(log, 10);
	put(log, th, 20);
	put32(log, 6);
	put(log, "ima-ng", 6);
	put32(log, (uint32_t)n);
	put(log, d, n);
}

static void path_of(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "/usr/lib/x86_64-linux-gnu/bench-%u/lib%u.so.%u", i % 97, i, i % 7);
}

/* TPMS_ATTEST of a TPM2_Quote over SHA-256 PCRs 0-10 and its ECDSA
 * TPMT_SIGNATURE by key. */
static void quote(EVP_PKEY *key, const uint8_t nonce[16], const uint8_t (*pcr)[32], buf *attest, buf *sig)
{
	uint8_t cat[11 * 32], dg[32], name[34] = {0, 0x0b}, der[80];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t dl = sizeof(der);
	const unsigned char *q = der;
	ECDSA_SIG *s;
	const BIGNUM *r, *sv;
	uint8_t rb[32], sb[32];

	for (int i = 0; i < 11; i++)
		memcpy(cat + 32 * i, pcr[i], 32);
	sha(EVP_sha256(), cat, sizeof(cat), dg);
	attest->n = 0;
	put_be(attest, 0xff544347, 4); /* TPM_GENERATED_VALUE */
	put_be(attest, 0x8018, 2);     /* TPM_ST_ATTEST_QUOTE */
	put_be(attest, 34, 2);
	put(attest, name, 34);
	put_be(attest, 16, 2);
	put(attest, nonce, 16);
	put_be(attest, 1000, 8), put_be(attest, 1, 4), put_be(attest, 0, 4), put_be(attest, 1, 1);
	put_be(attest, 0x2019102300163636ull, 8);
	put_be(attest, 1, 4), put_be(attest, 0x000b, 2), put_be(attest, 3, 1);
	put_be(attest, 0xff, 1), put_be(attest, 0x07, 1), put_be(attest, 0, 1);
	put_be(attest, 32, 2);
	put(attest, dg, 32);
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &dl, attest->p, attest->n) != 1)
		abort();
	s = d2i_ECDSA_SIG(NULL, &q, (long)dl);
	ECDSA_SIG_get0(s, &r, &sv);
	BN_bn2binpad(r, rb, 32);
	BN_bn2binpad(sv, sb, 32);
	sig->n = 0;
	put_be(sig, 0x0018, 2), put_be(sig, 0x000b, 2);
	put_be(sig, 32, 2), put(sig, rb, 32), put_be(sig, 32, 2), put(sig, sb, 32);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(ctx);
}

static double floor_sha256(const uint8_t *log, size_t len, int reps)
{
	double best = 1e9;

	for (int k = 0; k < reps; k++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
		double t0 = now();
		ady_cur c;
		uint8_t h[32];
		unsigned int l;

		ady_cur_init(&c, log, len);
		while (ady_cur_left(&c)) {
			ady_ima_entry e;

			if (ady_ima_decode(&c, &e) || EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
			    EVP_DigestUpdate(ctx, e.data, e.data_len) != 1 || EVP_DigestFinal_ex(ctx, h, &l) != 1)
				abort();
		}
		if (now() - t0 < best)
			best = now() - t0;
		EVP_MD_free(md);
		EVP_MD_CTX_free(ctx);
	}
	return best;
}

static double round_time(const gate_host_evidence *ev, const uint8_t nonce[16], const gate_pcr10 *prev,
			 const gate_policy *pol, int reps, gate_host_result *res)
{
	double best = 1e9;

	for (int k = 0; k < reps; k++) {
		double t0 = now(), t;

		if (gate_host_check(ev, nonce, 16, prev, pol, res) != ADY_OK || res->failed) {
			fprintf(stderr, "bench: round failed: %s: %s\n", res->failed ? res->failed : "error", res->why.text);
			exit(1);
		}
		t = now() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

/* Before timing: the decisions the fast paths must not change (the
 * digest looked up before the excludes, the probe steps), both ways. */
static int decisions_ok(const gate_policy *pol, const uint8_t listed[32])
{
	static const struct {
		const char *path;
		int fill; /* -1: the listed digest */
		int want;
		const char *why;
	} cases[] = {
		{"/tmp/listed", -1, 1, ""},
		{"/tmp/listed", 0x22, 1, ""}, /* Keylime: excluded wins over a listed wrong digest */
		{"/usr/bin/listed", -1, 1, ""},
		{"/usr/bin/listed", 0x22, 0, "is not one of the 1 the policy's digests allow"},
		{"/usr/bin/nowhere", 0x22, 0, "not in the policy's digests"},
		{"/var/log/x", 0x22, 1, ""},
	};
	buf b = {0};
	int ok = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t d[32];
		ady_cur c;
		ady_ima_entry e;
		gate_policy_probe pr;
		gate_why w1 = {{0}}, w2 = {{0}};
		int r1, r2;

		if (cases[i].fill < 0)
			memcpy(d, listed, 32);
		else
			memset(d, cases[i].fill, 32);
		b.n = 0;
		entry(&b, cases[i].path, d);
		ady_cur_init(&c, b.p, b.n);
		if (ady_ima_decode(&c, &e))
			abort();
		r1 = gate_policy_check(pol, &e, &w1);
		gate_policy_probe_start(pol, &e, &pr);
		gate_policy_probe_fetch(pol, &e, &pr);
		r2 = gate_policy_check_probed(pol, &e, &pr, &w2);
		if (r1 != cases[i].want || r2 != r1 || strcmp(w1.text, w2.text) != 0 || !strstr(w1.text, cases[i].why)) {
			fprintf(stderr, "bench: %s (fill %d): check %d / probed %d, want %d: \"%s\" / \"%s\"\n",
				cases[i].path, cases[i].fill, r1, r2, cases[i].want, w1.text, w2.text);
			ok = 0;
		}
	}
	free(b.p);
	return ok;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The machine is shared: floor and round are timed back to back, pair by
 * pair, and the median of the per-pair ratios is reported (a quiet moment
 * helps or hurts both alike). */
static double paired_ratio(const gate_host_evidence *ev, const uint8_t nonce[16], const gate_pcr10 *prev,
			   const gate_policy *pol, const uint8_t *log, size_t len, int pairs)
{
	double r[64];
	gate_host_result res;

	if (pairs > 64)
		pairs = 64;
	for (int k = 0; k < pairs; k++)
		r[k] = round_time(ev, nonce, prev, pol, 1, &res) / floor_sha256(log, len, 1);
	qsort(r, (size_t)pairs, sizeof(r[0]), cmp_d);
	return r[pairs / 2];
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000, npol = argc > 2 ? (unsigned)atoi(argv[2]) : 100000,
		 nnew = argc > 3 ? (unsigned)atoi(argv[3]) : 100;
	buf log = {0}, attest = {0}, sig = {0};
	uint8_t pcr[11][32] = {{0}}, dig[32], nonce[16], zero[320] = {0}, listed[32];
	json_t *pol_json, *digests;
	gate_policy *pol;
	gate_why why;
	gate_replay *rp;
	gate_pcr10 s, s_all = {0};
	gate_host_evidence ev;
	gate_host_result res, res2, res3;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem, *text, path[128], hex[65];
	long pemlen;
	size_t full_len;
	double t0, tload, tfull, tinc, ffull, finc, tzero, pfull, pinc;

	if (n < 2 || npol < n + 2 || !key || !bio)
		return 2;
	memset(listed, 0x11, 32);
	/* the log: boot_aggregate over zero PCRs 0-9, then n + nnew files */
	sha(EVP_sha256(), zero, sizeof(zero), dig);
	entry(&log, "boot_aggregate", dig);
	for (unsigned i = 1; i < n + nnew; i++) {
		if (RAND_bytes(dig, 32) != 1)
			return 1;
		path_of(path, sizeof(path), i);
		entry(&log, path, dig);
	}
	/* the policy: every file of the log, then unrelated ones up to npol */
	pol_json = json_pack("{s:{s:i}, s:{}, s:[s, s], s:{s:[], s:s}}", "meta", "version", 1, "digests", "excludes",
			     "^/tmp/.*", "/var/log/.*", "ima", "ignored_keyrings", "log_hash_alg", "sha1");
	digests = json_object_get(pol_json, "digests");
	{
		ady_cur c;
		unsigned i = 0;

		ady_cur_init(&c, log.p, log.n);
		while (ady_cur_left(&c)) {
			ady_ima_entry e;

			if (ady_ima_decode(&c, &e))
				return 1;
			if (i++ == 0)
				continue;
			ady_hex_encode(e.digest, 32, hex);
			json_object_set_new(digests, e.name, json_pack("[s]", hex));
		}
		/* two paths for decisions_ok, one of them also excluded */
		ady_hex_encode(listed, 32, hex);
		json_object_set_new(digests, "/tmp/listed", json_pack("[s]", hex));
		json_object_set_new(digests, "/usr/bin/listed", json_pack("[s]", hex));
		for (unsigned k = n + nnew; json_object_size(digests) < npol; k++) {
			if (RAND_bytes(dig, 32) != 1)
				return 1;
			ady_hex_encode(dig, 32, hex);
			path_of(path, sizeof(path), k);
			json_object_set_new(digests, path, json_pack("[s]", hex));
		}
	}
	text = json_dumps(pol_json, JSON_COMPACT);
	json_decref(pol_json);
	t0 = now();
	if (gate_policy_load(text, strlen(text), &pol, &why) != ADY_OK) {
		fprintf(stderr, "bench: policy: %s\n", why.text);
		return 1;
	}
	tload = now() - t0;
	if (!decisions_ok(pol, listed))
		return 1;

	/* the PCR 10 after n entries (the quoted state of round 1) and after
	 * all (round 2) */
	if (gate_replay_new(GATE_BANK_SHA256, &rp))
		return 1;
	gate_pcr10_init(&s);
	{
		ady_cur c;

		ady_cur_init(&c, log.p, log.n);
		while (ady_cur_left(&c)) {
			ady_ima_entry e;

			if (ady_ima_decode(&c, &e) || gate_replay_entry(rp, &s, &e, 0, &why))
				return 1;
			if (s.count == n)
				s_all = s;
		}
	}
	full_len = s_all.offset;
	gate_replay_free(rp);
	if (PEM_write_bio_PUBKEY(bio, key) != 1)
		return 1;
	pemlen = BIO_get_mem_data(bio, &pem);
	pem = strndup(pem, (size_t)pemlen);

	/* round 1: from reset, n entries (the log holds nnew more, ahead of
	 * the quote: they must not be checked) */
	RAND_bytes(nonce, 16);
	memcpy(pcr[10], s_all.sha256, 32);
	quote(key, nonce, (const uint8_t(*)[32])pcr, &attest, &sig);
	memset(&ev, 0, sizeof(ev));
	ev.attest = attest.p, ev.attest_len = attest.n, ev.sig = sig.p, ev.sig_len = sig.n, ev.ak_pem = pem;
	ev.pcr = (const uint8_t(*)[32])pcr, ev.npcr = 11;
	ev.log = log.p, ev.log_len = full_len, ev.log_base = 0;
	tfull = round_time(&ev, nonce, NULL, pol, 15, &res);
	if (res.checked != n - 1 || res.verified.count != n)
		return 1;
	ffull = floor_sha256(log.p, full_len, 15);
	pfull = paired_ratio(&ev, nonce, NULL, pol, log.p, full_len, 31);

	/* round 2: the nnew entries after the kept state */
	RAND_bytes(nonce, 16);
	memcpy(pcr[10], s.sha256, 32);
	quote(key, nonce, (const uint8_t(*)[32])pcr, &attest, &sig);
	ev.attest = attest.p, ev.attest_len = attest.n, ev.sig = sig.p, ev.sig_len = sig.n;
	ev.log = log.p + res.verified.offset, ev.log_len = log.n - res.verified.offset;
	ev.log_base = res.verified.offset;
	tinc = round_time(&ev, nonce, &res.verified, pol, 200, &res2);
	if (res2.checked != nnew || res2.verified.count != n + nnew)
		return 1;
	finc = floor_sha256(log.p + res.verified.offset, log.n - res.verified.offset, 200);
	pinc = paired_ratio(&ev, nonce, &res.verified, pol, log.p + res.verified.offset, log.n - res.verified.offset,
			    63);
	/* the constant part of a round: the same quote, nothing new */
	ev.log = log.p + res2.verified.offset, ev.log_len = 0, ev.log_base = res2.verified.offset;
	tzero = round_time(&ev, nonce, &res2.verified, pol, 200, &res3);
	if (res3.checked != 0)
		return 1;

	printf("bench/gate: %u-entry ima-ng log, %zu-digest Keylime policy (loaded in %.1f ms, not in the rounds)\n", n,
	       gate_policy_ndigests(pol), tload * 1e3);
	printf("  full round        %8.3f ms   floor (SHA-256 of the template data) %8.3f ms   ratio %.2fx"
	       " (median of paired runs %.2fx)\n",
	       tfull * 1e3, ffull * 1e3, tfull / ffull, pfull);
	printf("  incremental (%u) %8.3f ms   floor %8.3f ms   ratio %.2fx (median of paired runs %.2fx)\n", nnew,
	       tinc * 1e3, finc * 1e3, tinc / finc, pinc);
	/* where the full round's time goes */
	{
		double tr = 1e9, tp = 1e9;

		for (int k = 0; k < 5; k++) {
			ady_cur c;
			gate_pcr10 st;
			double t1;

			if (gate_replay_new(GATE_BANK_SHA256, &rp))
				return 1;
			gate_pcr10_init(&st);
			t1 = now();
			ady_cur_init(&c, log.p, full_len);
			while (ady_cur_left(&c)) {
				ady_ima_entry e;

				if (ady_ima_decode(&c, &e) || gate_replay_entry(rp, &st, &e, 0, &why))
					return 1;
			}
			if (now() - t1 < tr)
				tr = now() - t1;
			gate_replay_free(rp);
			t1 = now();
			ady_cur_init(&c, log.p, full_len);
			while (ady_cur_left(&c)) {
				ady_ima_entry e;

				if (ady_ima_decode(&c, &e))
					return 1;
				(void)gate_policy_check(pol, &e, &why);
			}
			if (now() - t1 < tp)
				tp = now() - t1;
		}
		printf("  of which: decode+replay (SHA-256 of the data + extend) %.3f ms = %.2fx floor, decode+policy %.3f ms "
		       "= %.2fx floor (alone; in the round its memory reads overlap the hashing)\n",
		       tr * 1e3, tr / ffull, tp * 1e3, tp / ffull);
	}
	printf("  constant per round (quote signature, PCR digest, setup; 0 new entries) %.3f ms: the %u new entries "
	       "cost %.3f ms = %.2fx their floor\n",
	       tzero * 1e3, nnew, (tinc - tzero) * 1e3, (tinc - tzero) / finc);
	gate_policy_free(pol);
	free(text);
	free(pem);
	free(log.p), free(attest.p), free(sig.p);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return 0;
}
