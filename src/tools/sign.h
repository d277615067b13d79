/*
 * src/tools/sign.h - the enclave signer behind `adyton keygen` and
 * `adyton sign` (library adyton-sign, internal: not installed).
 *
 * Signing fills the image's .note.adyton descriptor with the config and a
 * SIGSTRUCT over MRENCLAVE.  The note is outside every PT_LOAD segment, so
 * signing (and re-signing) changes no measured byte and no byte outside
 * the descriptor.
 */
#ifndef ADYTON_TOOLS_SIGN_H
#define ADYTON_TOOLS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "adyton/config.h"
#include "adyton/error.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Generates an RSA-3072 key with public exponent 3 (what SGX requires).
 * On failure *out = NULL. */
ADY_MUST_CHECK ady_err ady_sign_keygen(EVP_PKEY **out);

/* ADY_OK when key is an RSA private key of exactly 3072 bits with e = 3,
 * else ADY_ERR_KEY. */
ADY_MUST_CHECK ady_err ady_sign_check_key(const EVP_PKEY *key);

/* The key as an unencrypted PKCS#8 PEM in a malloc'd buffer (wiped and
 * freed by the caller).  On failure *out = NULL. */
ADY_MUST_CHECK ady_err ady_sign_key_pem(EVP_PKEY *key, char **out, size_t *out_len);

/* Parses a PEM private key (PKCS#8 or traditional RSA, unencrypted) and
 * checks it with ady_sign_check_key.  ADY_ERR_KEY when it does not parse
 * or does not fit.  On failure *out = NULL. */
ADY_MUST_CHECK ady_err ady_sign_key_parse(const char *pem, size_t len, EVP_PKEY **out);

/* "YYYYMMDD" (a real calendar date, years 1970..9999) to the SIGSTRUCT's
 * BCD 0xYYYYMMDD.  ADY_ERR_INVALID_ARG otherwise. */
ADY_MUST_CHECK ady_err ady_sign_date_parse(const char *text, uint32_t *bcd);

/* The BCD date of a Unix time (UTC). */
ADY_MUST_CHECK ady_err ady_sign_date_from_time(int64_t t, uint32_t *bcd);

/*
 * Builds and signs the SIGSTRUCT of an enclave with the given MRENCLAVE
 * and config: SGX header constants, TYPE bit 31 and ATTRIBUTES.DEBUG when
 * cfg is debug, VENDOR 0, DATE, MODULUS (LE), EXPONENT 3, MISCSELECT 0,
 * MISCMASK ~0, ATTRIBUTES = MODE64BIT (| DEBUG) with legacy XFRM,
 * ATTRIBUTEMASK.FLAGS = ~0, .XFRM = 0, ENCLAVEHASH, ISVPRODID, ISVSVN,
 * then SIGNATURE (LE) and Q1/Q2.  The result is checked with
 * ady_image_check_sigstruct before it is returned.
 */
ADY_MUST_CHECK ady_err ady_sign_sigstruct(EVP_PKEY *key, const uint8_t mrenclave[static 32],
					  const ady_config *cfg, uint32_t date, ady_sgx_sigstruct *out);

/*
 * Signs an enclave image (unsigned, or signed before: the note is not
 * measured) held in file[0, len): validates the ELF and the config,
 * measures it under cfg, and returns a malloc'd copy whose note descriptor
 * holds the config and the SIGSTRUCT; every other byte is unchanged.
 * On failure *out = NULL, *out_len = 0.
 */
ADY_MUST_CHECK ady_err ady_sign_image(const uint8_t *file, size_t len, const ady_config *cfg,
				      EVP_PKEY *key, uint32_t date, uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
