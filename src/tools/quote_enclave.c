/*
 * The quote enclave behind `adyton quote` (src/tools/quote.c): ECALL 0
 * takes nonce (32) || report_data (64) and returns ady_get_quote()'s quote
 * of this enclave, nothing else.  It exists so that an operator or a
 * relying party can get a platform quote over data of their choosing
 * without writing an enclave.  Whoever can launch it chooses that data:
 * a quote from it proves which platform signed it (and, for TPM quotes,
 * what booted), never that the data came from any particular program.
 * docs/attestation.md says how to use it.
 */
#include <string.h>

#include <adyton/enclave.h>

static ady_err quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t nonce[32], rd[64];

	if (in_len != sizeof(nonce) + sizeof(rd))
		return ADY_ERR_INVALID_ARG;
	/* copy first: in lies in the marshalling buffer the host can rewrite */
	memcpy(nonce, in, sizeof(nonce));
	memcpy(rd, in + sizeof(nonce), sizeof(rd));
	return ady_get_quote(rd, nonce, out, out_cap, out_len);
}

ADY_ECALLS(quote);
