/*
 * BearSSL's SSL engine seeds its DRBG from br_prng_seeder_system(), whose
 * Debian build (sysrng.o) reads /dev/urandom through open/read/close: an
 * enclave has neither, and the host's randomness is not to be trusted
 * anyway.  This definition seeds from the enclave's own RNG (ady_random).
 *
 * Every enclave link names the symbol undefined before the runtime archive
 * (-Wl,-u,br_prng_seeder_system in cmake/AdytonEnclave.cmake), so this
 * member, not libbearssl.a's, is the one linked, whichever code brings the
 * engine in (the RA-TLS server, a TLS client such as apps/gate-demo's).
 */
#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "adyton/cursor.h"
#include "adyton/enclave.h"
#include "adyton/error.h"

static int seed_from_enclave(const br_prng_class **ctx)
{
	uint8_t seed[32];

	if (ady_random(seed, sizeof(seed)) != ADY_OK)
		return 0;
	(*ctx)->update(ctx, seed, sizeof(seed));
	ady_wipe(seed, sizeof(seed));
	return 1;
}

br_prng_seeder br_prng_seeder_system(const char **name)
{
	if (name)
		*name = "adyton";
	return seed_from_enclave;
}
