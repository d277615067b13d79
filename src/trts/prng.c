/* The enclave's BearSSL PRNG class over ady_random (see prng.h). */
#include <string.h>

#include "adyton/enclave.h"
#include "prng.h"

static void prng_init(const br_prng_class **ctx, const void *params, const void *seed, size_t len)
{
	(void)ctx;
	(void)params;
	(void)seed;
	(void)len;
}

static void prng_generate(const br_prng_class **ctx, void *out, size_t len)
{
	struct ady_trts_prng *r = (struct ady_trts_prng *)(void *)ctx;
	ady_err err = ady_random(out, len);

	if (err) {
		memset(out, 0, len);
		if (!r->err)
			r->err = err;
	}
}

static void prng_update(const br_prng_class **ctx, const void *seed, size_t len)
{
	(void)ctx;
	(void)seed;
	(void)len;
}

const br_prng_class ady_trts_prng_class = {sizeof(struct ady_trts_prng), prng_init, prng_generate, prng_update};
