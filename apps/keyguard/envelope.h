/* Host side of the unlock envelope (keyguard.h), on OpenSSL. */
#ifndef ADYTON_KG_ENVELOPE_H
#define ADYTON_KG_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "keyguard.h"

/*
 * Encrypts secret (len <= KG_SECRET_MAX) to the enclave key enclave_pub
 * for purpose (KG_PURPOSE_*) into env (KG_ENV_MAX bytes); *env_len gets
 * KG_ENV_OVERHEAD + len.  ADY_ERR_CRYPTO if enclave_pub is not a P-256
 * point.  Nothing secret stays behind in the caller's or OpenSSL's heap
 * that OpenSSL does not cleanse itself (EVP contexts are freed with
 * cleansing).
 */
ADY_MUST_CHECK ady_err kg_envelope_seal(const uint8_t enclave_pub[static KG_PUB_SIZE], uint8_t purpose,
					const uint8_t *secret, size_t len, uint8_t *env, size_t *env_len);

#endif
