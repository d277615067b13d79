/*
 * src/host/image_internal.h - the pieces of adyton/image.h's checks that
 * the signer and `adyton inspect`/`verify` need one at a time, so that an
 * image whose verification fails can still be described.  Not installed.
 */
#ifndef ADYTON_HOST_IMAGE_INTERNAL_H
#define ADYTON_HOST_IMAGE_INTERNAL_H

#include <stdint.h>

#include "adyton/error.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Checks a decoded SIGSTRUCT's RSA-3072 PKCS#1 v1.5 SHA-256 signature over
 * its two signed ranges with (MODULUS, EXPONENT = 3), and that Q1/Q2 are
 * floor(s^2/n) and floor(s*(s^2 mod n)/n).  ADY_ERR_SIGSTRUCT when the
 * exponent is not 3, ADY_ERR_SIGNATURE when the signature or q1/q2 do not
 * verify (including a modulus that is not 3072 bits), ADY_ERR_NOMEM or
 * ADY_ERR_CRYPTO when OpenSSL fails.
 */
ADY_MUST_CHECK ady_err ady_image_check_sigstruct(const ady_sgx_sigstruct *ss);

/* MRSIGNER: SHA-256 of the 384 modulus bytes as stored (little-endian). */
ADY_MUST_CHECK ady_err ady_image_mrsigner(const ady_sgx_sigstruct *ss, uint8_t out[static 32]);

#ifdef __cplusplus
}
#endif
#endif
