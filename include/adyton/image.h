/*
 * adyton/image.h - a signed enclave image on the host side: read it,
 * measure it, check its SIGSTRUCT (OpenSSL), and know its identity.
 *
 * Used by the host library (backends load what this module measured), the
 * daemon and the `adyton` CLI.  Everything untrusted about the file is
 * parsed by src/format (elf, meta, layout); this module adds the file I/O,
 * SHA-256 and RSA-3072.
 */
#ifndef ADYTON_IMAGE_H
#define ADYTON_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/config.h"
#include "adyton/elf.h"
#include "adyton/error.h"
#include "adyton/file.h"
#include "adyton/layout.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_IMAGE_MAX_FILE (256u << 20)

typedef struct ady_image {
	uint8_t *file;                 /* owned copy of the file */
	size_t file_len;
	ady_elf elf;
	ady_config config;             /* from the meta note */
	ady_sgx_sigstruct sigstruct;   /* from the meta note */
	ady_layout layout;
	uint8_t mrenclave[32];         /* recomputed from the pages */
	uint8_t mrsigner[32];          /* SHA-256 of SIGSTRUCT.MODULUS as stored */
} ady_image;

/*
 * Decodes a signed image held in file[0, len) (copied; the caller keeps
 * its buffer), lays it out, recomputes MRENCLAVE and checks the SIGSTRUCT:
 * ENCLAVEHASH == MRENCLAVE (else ADY_ERR_MEASUREMENT), the RSA-3072
 * PKCS#1 v1.5 SHA-256 signature over the two signed ranges and q1/q2
 * (else ADY_ERR_SIGNATURE).  Errors of the format layer pass through
 * (ADY_ERR_ELF_*, ADY_ERR_UNSIGNED, ...).  On failure *out = NULL.
 */
ADY_MUST_CHECK ady_err ady_image_new(const uint8_t *file, size_t len, ady_image **out);

/* ady_image_new on the contents of a file (at most ADY_IMAGE_MAX_FILE). */
ADY_MUST_CHECK ady_err ady_image_open(const char *path, ady_image **out);

/* Frees; NULL is fine. */
void ady_image_free(ady_image *img);

/*
 * Writes the initial memory image into mem[0, mem_size) (zero-filled by
 * the caller, mem_size >= img->layout.size): what a backend maps.
 */
ADY_MUST_CHECK ady_err ady_image_fill(const ady_image *img, uint8_t *mem, uint64_t mem_size);

/*
 * Measures an image that need not be signed yet: MRENCLAVE of the file
 * laid out under cfg.  Used by the signer and by `adyton inspect` of an
 * unsigned image.
 */
ADY_MUST_CHECK ady_err ady_image_measure(const uint8_t *file, size_t len, const ady_config *cfg,
					 uint8_t mrenclave[static 32]);

#ifdef __cplusplus
}
#endif
#endif
