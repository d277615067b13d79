/*
 * The hello enclave: two ECALLs and one OCALL.  Copy this directory to
 * start an enclave of your own.  Handlers get private copies of their
 * input and a zeroed output buffer; they never see application memory.
 */
#include <bearssl.h>
#include <string.h>

#include <adyton/enclave.h>

#include "hello.h"

static ady_err greet(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	char msg[256];
	int n;

	if (in_len > 64)
		return ADY_ERR_INVALID_ARG;
	n = ady_snprintf(msg, sizeof(msg), "Hello, %.*s, from inside the enclave!", (int)in_len,
			 in ? (const char *)in : "");
	if (n < 0 || (size_t)n >= sizeof(msg))
		return ADY_ERR_OVERFLOW;
	/* Out through the application's print OCALL ... */
	ady_err err = ady_ocall(HELLO_OCALL_PRINT, msg, (size_t)n, NULL, 0, NULL);
	if (err)
		return err;
	/* ... and back as the ECALL's output. */
	if ((size_t)n > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	memcpy(out, msg, (size_t)n);
	*out_len = (size_t)n;
	return ADY_OK;
}

static ady_err sha256(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	br_sha256_context ctx;

	if (out_cap < br_sha256_SIZE)
		return ADY_ERR_SHORT_BUFFER;
	br_sha256_init(&ctx);
	br_sha256_update(&ctx, in, in_len);
	br_sha256_out(&ctx, out);
	*out_len = br_sha256_SIZE;
	return ADY_OK;
}

/* Index order must match hello.h. */
ADY_ECALLS(greet, sha256);
