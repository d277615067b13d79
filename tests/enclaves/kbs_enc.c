/*
 * The key broker test enclave: ady_kbs_fetch() (adyton/kbs.h), answering
 * only with the resource's SHA-256, so that the plaintext never has a
 * reason to leave the enclave (the test looks for it in what the
 * application relayed).
 */
#include <bearssl.h>
#include <stdlib.h>
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/kbs.h>

#include "kbs_enc_t.h"

int ecall_kbs_fetch(const char *name, uint32_t cap, uint8_t *digest, uint32_t *len, uint32_t *kind)
{
	br_sha256_context h;
	uint8_t *buf, k = 0;
	size_t n = 0;
	ady_err err;

	if (cap > ADY_KBS_MAX_DATA)
		return ADY_ERR_INVALID_ARG;
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return ADY_ERR_NOMEM;
	err = ady_kbs_fetch(name, buf, cap, &n, &k);
	*len = (uint32_t)n;
	if (!err) {
		br_sha256_init(&h);
		br_sha256_update(&h, buf, n);
		br_sha256_out(&h, digest);
		*kind = k;
	}
	ady_wipe(buf, cap);
	free(buf);
	return (int)err;
}
