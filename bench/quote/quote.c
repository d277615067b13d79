/*
 * bench/quote: quotes generated per second (adytond's signing path:
 * REPORTBODY + ECDSA P-256, src/platform/sign.c) and verified per second
 * (ady_verify_quote, ENROLLED certification), single core.  The enclave
 * exit and the daemon round trip are not included (bench/ecall measures
 * those).
 *
 * usage: quote                                     the two rates above
 *        quote --verify QUOTE --policy FILE [--nonce HEX]
 *                                                  verifications per second of
 *                                                  a given quote (e.g. a TPM-
 *                                                  certified one), which must
 *                                                  be accepted
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adyton/verify.h"
#include "platform/sign.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads a whole file of at most cap bytes into buf; -1 on failure. */
static long slurp(const char *path, void *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, cap, f);
	if (ferror(f) || !feof(f))
		n = cap + 1;
	fclose(f);
	return n > cap ? -1 : (long)n;
}

/* --verify: the rate of ady_verify_quote on one given quote. */
static int verify_given(int argc, char **argv)
{
	static ady_verify_report rep;
	static ady_vpolicy pol;
	static uint8_t q[ADY_QUOTE_MAX];
	static char text[1 << 16];
	const char *quote = NULL, *policy = NULL, *nonce_hex = NULL;
	uint8_t nonce[32];
	unsigned line = 0;
	long qlen, tlen;
	int n = 0;
	double t0, t;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--verify") == 0)
			quote = argv[i + 1];
		else if (strcmp(argv[i], "--policy") == 0)
			policy = argv[i + 1];
		else if (strcmp(argv[i], "--nonce") == 0)
			nonce_hex = argv[i + 1];
		else
			return 2;
	}
	if (!quote || !policy || (nonce_hex && strlen(nonce_hex) != 64))
		return 2;
	for (int i = 0; nonce_hex && i < 32; i++) {
		unsigned v;

		if (sscanf(nonce_hex + 2 * i, "%2x", &v) != 1)
			return 2;
		nonce[i] = (uint8_t)v;
	}
	qlen = slurp(quote, q, sizeof(q));
	tlen = slurp(policy, text, sizeof(text));
	if (qlen < 0 || tlen < 0 || ady_vpolicy_parse(text, (size_t)tlen, &pol, &line) != ADY_OK) {
		fprintf(stderr, "quote: cannot read %s or the policy %s (line %u)\n", quote, policy, line);
		return 1;
	}
	if (ady_verify_quote(q, (size_t)qlen, &pol, nonce_hex ? nonce : NULL, &rep) != ADY_OK) {
		fprintf(stderr, "quote: %s is refused (failed check: %s)\n", quote, rep.failed ? rep.failed : "?");
		return 1;
	}
	t0 = now();
	do {
		for (int i = 0; i < 10; i++, n++)
			if (ady_verify_quote(q, (size_t)qlen, &pol, nonce_hex ? nonce : NULL, &rep) != ADY_OK)
				return 1;
		t = now() - t0;
	} while (t < 2.0);
	printf("verified:  %.0f quotes/s (%d in %.2f s, %s certification, %u checks)\n", n / t, n, t,
	       rep.quote.cert_type == ADY_QUOTE_CERT_TPM ? "TPM" : "other", rep.nchecks);
	return 0;
}

/* Generation and verification rates of an ENROLLED quote. */
static int rates(void)
{
	static ady_quote scratch;
	static ady_verify_report rep;
	static ady_vpolicy pol;
	static uint8_t q[ADY_QUOTE_MAX];
	static const uint8_t cpusvn[16], nonce[32];
	uint8_t mre[32] = {1}, mrs[32] = {2}, rd[64] = {3};
	ady_sgx_attributes attr = {.flags = 0x5, .xfrm = 3};
	ady_sgx_report_body body;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t len = 0;
	int n = 0;
	double t0, t;

	if (!k)
		return 1;
	ady_quote_body(&body, mre, mrs, 1, 1, &attr, 0, cpusvn, rd);
	t0 = now();
	do {
		for (int i = 0; i < 100; i++, n++)
			if (ady_quote_make(k, &body, nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, q, sizeof(q), &len))
				return 1;
		t = now() - t0;
	} while (t < 2.0);
	printf("generated: %.0f quotes/s (%d in %.2f s)\n", n / t, n, t);
	memcpy(pol.mrenclave[0], mre, 32);
	pol.nmrenclave = 1;
	if (ady_p256_pub(k, pol.platform_key[0]))
		return 1;
	pol.nplatform = 1;
	n = 0;
	t0 = now();
	do {
		for (int i = 0; i < 100; i++, n++)
			if (ady_verify_quote(q, len, &pol, nonce, &rep) != ADY_OK)
				return 1;
		t = now() - t0;
	} while (t < 2.0);
	printf("verified:  %.0f quotes/s (%d in %.2f s)\n", n / t, n, t);
	EVP_PKEY_free(k);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int rc = verify_given(argc, argv);

		if (rc == 2)
			fprintf(stderr, "usage: quote [--verify QUOTE --policy FILE [--nonce HEX]]\n");
		return rc;
	}
	return rates();
}
