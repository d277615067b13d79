#ifndef ADY_TRTS_PRNG_H
#define ADY_TRTS_PRNG_H

#include <bearssl.h>

#include "adyton/error.h"

/*
 * A br_prng_class that draws from ady_random, for BearSSL functions that
 * take a PRNG (br_ec_keygen).  generate() cannot return a failure, so the
 * first one is kept in err and the output is zeros: the caller checks err
 * after use and throws away whatever was made from it.
 *
 *   struct ady_trts_prng r = {&ady_trts_prng_class, ADY_OK};
 *   br_ec_keygen(&r.vtable, ...);
 *   if (r.err) ...
 */
struct ady_trts_prng {
	const br_prng_class *vtable;
	ady_err err;
};

#pragma GCC visibility push(hidden)
extern const br_prng_class ady_trts_prng_class;
#pragma GCC visibility pop

#endif
