/*
 * adyton/config.h - the enclave configuration: what the signer embeds and
 * the loader lays out.  Freestanding-safe, no allocation.
 *
 * Text form (enclave.conf), one "key = value" per line, '#' comments, blank
 * lines allowed, keys case-sensitive, each at most once:
 *
 *   heap      = 1M      # bytes, suffix K/M/G allowed; multiple of 4096
 *   stack     = 64K     # per thread; multiple of 4096
 *   threads   = 2       # 1..ADY_MAX_THREADS
 *   msbuf     = 64K     # marshalling buffer slot per thread; multiple of 4096
 *   isvprodid = 1       # 0..65535
 *   isvsvn    = 1       # 0..65535
 *   debug     = 0       # 0 or 1
 *
 * Unknown keys, duplicates, missing '=', trailing garbage, values out of
 * range or not page multiples are errors (ADY_ERR_CONFIG) that report the
 * 1-based line number.  Keys left out take the defaults below.
 */
#ifndef ADYTON_CONFIG_H
#define ADYTON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_MAX_THREADS 64u
#define ADY_CONFIG_MAX_HEAP (1ull << 34)
#define ADY_CONFIG_MAX_STACK (1ull << 30)
#define ADY_CONFIG_MAX_MSBUF (1ull << 28)

#define ADY_CONFIG_DEFAULT_HEAP (1ull << 20)
#define ADY_CONFIG_DEFAULT_STACK (64ull << 10)
#define ADY_CONFIG_DEFAULT_THREADS 1u
#define ADY_CONFIG_DEFAULT_MSBUF (64ull << 10)

#define ADY_CONFIG_DEBUG 0x1u

typedef struct ady_config {
	uint64_t heap_size;
	uint64_t stack_size;
	uint64_t msbuf_size;
	uint32_t threads;
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint32_t flags;       /* ADY_CONFIG_DEBUG */
} ady_config;

/* Fills *cfg with the defaults (debug off, isvprodid = isvsvn = 0). */
void ady_config_defaults(ady_config *cfg);

/* Checks ranges and page multiples of a config from any source. */
ADY_MUST_CHECK ady_err ady_config_validate(const ady_config *cfg);

/*
 * Parses the text form.  text need not be NUL-terminated.  On error returns
 * ADY_ERR_CONFIG and, when line is not NULL, *line = the offending line
 * (0 when the error is not tied to one line).  *cfg is valid only on ADY_OK.
 */
ADY_MUST_CHECK ady_err ady_config_parse(const char *text, size_t len, ady_config *cfg, unsigned *line);

#ifdef __cplusplus
}
#endif
#endif
