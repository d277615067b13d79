/*
 * adyton/measure.h - MRENCLAVE exactly as SGX computes it: SHA-256 over
 * the 64-byte ECREATE, EADD and EEXTEND records (SDM 38.7.2 / 40.3, as the
 * Linux SGX selftests and the SGX SDK signer compute it).
 *
 *   ECREATE = "ECREATE\0" | u32 SSAFRAMESIZE | u64 SIZE | 44 zero bytes
 *   EADD    = "EADD\0\0\0\0" | u64 page offset | u64 SECINFO.FLAGS | 40 zero bytes
 *   EEXTEND = "EEXTEND\0" | u64 chunk offset | 48 zero bytes, then the 256 data bytes
 *
 * The hash itself is supplied by the caller (OpenSSL on the host, BearSSL
 * in an enclave) so this module stays freestanding and dependency-free.
 */
#ifndef ADYTON_MEASURE_H
#define ADYTON_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_MEASURE_RECORD 64u
#define ADY_MEASURE_CHUNK 256u

typedef struct ady_hash_sink {
	void *ctx;
	void (*update)(void *ctx, const void *data, size_t len);
} ady_hash_sink;

void ady_measure_ecreate(uint8_t rec[static 64], uint32_t ssaframesize, uint64_t size);
void ady_measure_eadd(uint8_t rec[static 64], uint64_t offset, uint64_t secinfo_flags);
void ady_measure_eextend(uint8_t rec[static 64], uint64_t offset);

/* Called once per added page, in measurement order. */
typedef void (*ady_page_fn)(void *user, uint64_t offset, uint64_t secinfo, bool extended);

/* Visits every added page of the layout in measurement order. */
void ady_layout_pages(const ady_layout *layout, ady_page_fn fn, void *user);

/*
 * Feeds every record of the enclave to sink: ECREATE, then for each added
 * page its EADD and, if extended, 16 EEXTEND records each followed by its
 * 256 bytes from mem.  mem is the initial memory image (ady_layout_fill);
 * mem_size < layout->size: ADY_ERR_RANGE.  The caller finalizes the hash.
 */
ADY_MUST_CHECK ady_err ady_measure_enclave(const ady_layout *layout, const uint8_t *mem,
					   uint64_t mem_size, const ady_hash_sink *sink);

#ifdef __cplusplus
}
#endif
#endif
