/*
 * src/format/internal.h - helpers shared by the format modules.  Not
 * installed; freestanding-safe.
 */
#ifndef ADYTON_FORMAT_INTERNAL_H
#define ADYTON_FORMAT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/cursor.h"
#include "adyton/sgx.h"

/* The packed ABI structs in adyton/sgx.h and adyton/layout.h mirror
 * little-endian bytes; adyton targets x86-64 only. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "adyton formats assume a little-endian host");

#define ADY_PAGE_MASK ((uint64_t)ADY_PAGE_SIZE - 1)

static inline uint64_t page_down(uint64_t v) { return v & ~ADY_PAGE_MASK; }

/* Callers guarantee v <= UINT64_MAX - ADY_PAGE_MASK (values below 2^36). */
static inline uint64_t page_up(uint64_t v) { return (v + ADY_PAGE_MASK) & ~ADY_PAGE_MASK; }

static inline bool page_aligned(uint64_t v) { return (v & ADY_PAGE_MASK) == 0; }

/*
 * Value-returning reads for runs of fields checked once at the end with
 * ady_cur_err(): the cursor's error is sticky, and gcc does not let a
 * (void) cast discard a warn_unused_result value.  0 after an error.
 */
static inline uint8_t get_u8(ady_cur *c) { uint8_t v; return ady_cur_u8(c, &v) ? 0 : v; }
static inline uint16_t get_u16(ady_cur *c) { uint16_t v; return ady_cur_u16le(c, &v) ? 0 : v; }
static inline uint32_t get_u32(ady_cur *c) { uint32_t v; return ady_cur_u32le(c, &v) ? 0 : v; }
static inline uint64_t get_u64(ady_cur *c) { uint64_t v; return ady_cur_u64le(c, &v) ? 0 : v; }
static inline void get_bytes(ady_cur *c, void *out, size_t n) { if (ady_cur_bytes(c, out, n)) return; }
static inline void get_skip(ady_cur *c, size_t n) { if (ady_cur_skip(c, n)) return; }

/* Shared by config.c and meta.c: the range rules of adyton/config.h. */
bool ady_config_heap_ok(uint64_t v);
bool ady_config_stack_ok(uint64_t v);
bool ady_config_msbuf_ok(uint64_t v);
bool ady_config_threads_ok(uint64_t v);

#endif
