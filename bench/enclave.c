/*
 * The bench enclave: an ECALL that does nothing, so that what bench/ecall
 * measures is the call path alone, and one that echoes, for copy costs.
 */
#include <string.h>

#include <adyton/enclave.h>

#include "bench.h"

static ady_err empty(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len, (void)out, (void)out_cap;
	*out_len = 0;
	return ADY_OK;
}

static ady_err echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (in_len > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	if (in_len)
		memcpy(out, in, in_len);
	*out_len = in_len;
	return ADY_OK;
}

/* Index order must match bench.h. */
ADY_ECALLS(empty, echo);
