/*
 * The attestation test enclave (tests/attest.cmake): ECALL 0 takes
 * nonce (32) || report_data (64) and returns ady_get_quote()'s quote.
 * Built twice: attest_prod (not DEBUG) and attest_dbg (DEBUG, other ISVSVN).
 */
#include <string.h>

#include <adyton/enclave.h>

static ady_err quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t nonce[32], rd[64];

	if (in_len != 96)
		return ADY_ERR_INVALID_ARG;
	memcpy(nonce, in, 32);
	memcpy(rd, in + 32, 64);
	return ady_get_quote(rd, nonce, out, out_cap, out_len);
}

ADY_ECALLS(quote);
