#include <adyton/enclave.h>

/* Adds two little-endian u32s. */
static ady_err add(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint32_t a = 0, b = 0, s;

	if (in_len != 8 || out_cap < 4)
		return ADY_ERR_INVALID_ARG;
	for (int i = 0; i < 4; i++) {
		a |= (uint32_t)in[i] << (8 * i);
		b |= (uint32_t)in[4 + i] << (8 * i);
	}
	s = a + b;
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(s >> (8 * i));
	*out_len = 4;
	return ADY_OK;
}

ADY_ECALLS(add);
