/*
 * The hello enclave: two ECALLs and one OCALL, declared in hello.edl.
 * Copy this directory to start an enclave of your own.  The generated
 * stubs hand these functions private copies of their inputs and zeroed
 * output buffers; they never see application memory.
 */
#include <bearssl.h>
#include <string.h>

#include <adyton/enclave.h>

#include "hello_t.h"

int ecall_greet(const char *name, char *greeting, size_t cap)
{
	int n;

	if (strlen(name ? name : "") > 64)
		return -1;
	n = ady_snprintf(greeting, cap, "Hello, %s, from inside the enclave!", name ? name : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	/* Out through the application's print OCALL ... */
	if (ocall_print(greeting) != ADY_OK)
		return -1;
	/* ... and back as the ECALL's [out] buffer. */
	return n;
}

void ecall_sha256(const uint8_t *data, size_t len, uint8_t *digest)
{
	br_sha256_context ctx;

	br_sha256_init(&ctx);
	br_sha256_update(&ctx, data, len);
	br_sha256_out(&ctx, digest);
}
