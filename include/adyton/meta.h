/*
 * adyton/meta.h - the signature note of an enclave image.
 *
 * The image reserves a non-loadable ELF note (see adyton/elf.h) whose
 * descriptor holds ADY_META_SIZE bytes; the trusted runtime's entry object
 * provides it zero-filled and `adyton sign` fills it in.  Because the note
 * is not in any PT_LOAD segment, signing never changes the measured bytes.
 *
 * Descriptor layout (little-endian, packed):
 *   0   magic "ADYMETA1"          8
 *   8   version (1)               u32
 *   12  reserved, zero            u32
 *   16  heap_size                 u64
 *   24  stack_size                u64
 *   32  msbuf_size                u64
 *   40  threads                   u32
 *   44  isvprodid                 u16
 *   46  isvsvn                    u16
 *   48  flags (ADY_CONFIG_*)      u32
 *   52  reserved, zero            12
 *   64  SIGSTRUCT                 1808
 *   1872 reserved, zero up to ADY_META_SIZE
 */
#ifndef ADYTON_META_H
#define ADYTON_META_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/config.h"
#include "adyton/error.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_META_SIZE 2048u
#define ADY_META_SIGSTRUCT_OFFSET 64u
#define ADY_META_VERSION 1u

/* Writes the descriptor into buf[0, ADY_META_SIZE).  cap < ADY_META_SIZE:
 * ADY_ERR_SHORT_BUFFER.  The config is validated first. */
ADY_MUST_CHECK ady_err ady_meta_encode(const ady_config *cfg, const ady_sgx_sigstruct *ss,
				       uint8_t *buf, size_t cap);

/*
 * Decodes and validates a descriptor.  All-zero (never signed):
 * ADY_ERR_UNSIGNED.  Wrong magic/version, non-zero reserved bytes:
 * ADY_ERR_MALFORMED.  Invalid config: ADY_ERR_CONFIG.  Malformed
 * SIGSTRUCT: ADY_ERR_SIGSTRUCT.  Config identity (isvprodid, isvsvn, debug)
 * different from the SIGSTRUCT's: ADY_ERR_META.  Either output may be NULL.
 */
ADY_MUST_CHECK ady_err ady_meta_decode(const uint8_t *buf, size_t len, ady_config *cfg,
				       ady_sgx_sigstruct *ss);

#ifdef __cplusplus
}
#endif
#endif
