/*
 * bench/quote: quotes generated per second (adytond's signing path:
 * REPORTBODY + ECDSA P-256, src/verify/sign.h) and verified per second
 * (ady_verify_quote, ENROLLED certification), single core.  The enclave
 * exit and the daemon round trip are not included (bench/ecall measures
 * those).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adyton/verify.h"
#include "verify/sign.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
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
