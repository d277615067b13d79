/*
 * adyton/layout.h - where everything lives inside an enclave, and the
 * initial contents of the pages adyton itself defines.  Freestanding-safe.
 *
 * Enclave offsets, in increasing order (each region page-aligned):
 *
 *   [0, image_end)  ELF PT_LOAD pages, perms from p_flags, EADD + EEXTEND
 *                   (gaps between segments are not added)
 *   layout page     1 page, REG R, EADD + EEXTEND: ady_layout_desc
 *   guard           1 page, not added
 *   heap            heap_size, REG RW, EADD only (contents not measured)
 *   per thread i = 0 .. threads-1:
 *     guard         1 page, not added
 *     stack         stack_size, REG RW, EADD only
 *     guard         1 page, not added
 *     TCS           1 page, TCS, EADD + EEXTEND: ady_sgx_tcs
 *     SSA           ADY_LAYOUT_NSSA * ADY_LAYOUT_SSAFRAMESIZE pages, REG RW, EADD + EEXTEND (zeros)
 *     thread data   1 page, REG RW, EADD + EEXTEND: ady_thread_data
 *   guard           1 page, not added
 *   size            next power of two >= the end above (SGX: SECS.SIZE is a power of two)
 *
 * Pages are measured in increasing offset order.  The layout page and
 * thread data hold offsets, never addresses, so MRENCLAVE does not depend
 * on where the enclave is mapped.
 */
#ifndef ADYTON_LAYOUT_H
#define ADYTON_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/config.h"
#include "adyton/elf.h"
#include "adyton/error.h"
#include "adyton/sgx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_LAYOUT_NSSA 2u
#define ADY_LAYOUT_SSAFRAMESIZE 1u /* pages, SECS.SSAFRAMESIZE */
#define ADY_LAYOUT_MAX_REGIONS (ADY_ELF_MAX_SEGMENTS + 2u + 5u * ADY_MAX_THREADS)

typedef enum ady_region_kind {
	ADY_REGION_ELF = 1,
	ADY_REGION_LAYOUT,
	ADY_REGION_HEAP,
	ADY_REGION_STACK,
	ADY_REGION_TCS,
	ADY_REGION_SSA,
	ADY_REGION_THREAD,
} ady_region_kind;

/* One contiguous run of added pages (guards are simply absent). */
typedef struct ady_region {
	uint64_t offset;        /* page aligned */
	uint64_t size;          /* page multiple, > 0 */
	uint64_t secinfo;       /* SECINFO.FLAGS: page type | perms */
	bool extend;            /* EEXTEND each page */
	ady_region_kind kind;
	uint32_t thread;        /* thread index for per-thread regions, else 0 */
} ady_region;

typedef struct ady_layout_thread {
	uint64_t tcs;           /* offsets within the enclave */
	uint64_t ssa;
	uint64_t td;
	uint64_t stack_lo;      /* lowest stack byte */
	uint64_t stack_hi;      /* one past the highest: initial stack pointer */
} ady_layout_thread;

typedef struct ady_layout {
	uint64_t size;          /* power of two: SECS.SIZE */
	uint32_t ssaframesize;  /* pages: SECS.SSAFRAMESIZE */
	uint64_t layout_page;   /* offset of the ady_layout_desc page */
	uint64_t heap_offset;
	uint64_t heap_size;
	uint64_t stack_size;    /* per thread (cfg->stack_size) */
	uint64_t msbuf_size;
	uint64_t entry;         /* e_entry */
	uint32_t threads;
	uint32_t flags;         /* cfg->flags (ADY_CONFIG_*), for ady_layout_desc */
	ady_layout_thread thread[ADY_MAX_THREADS];
	uint32_t nregions;
	ady_region region[ADY_LAYOUT_MAX_REGIONS]; /* increasing offsets */
} ady_layout;

/* The measured layout page, read by the trusted runtime.  Offsets only. */
#define ADY_LAYOUT_MAGIC "ADYLAYT1"
typedef struct __attribute__((packed)) ady_layout_desc {
	uint8_t magic[8];
	uint32_t version;       /* 1 */
	uint32_t threads;
	uint64_t size;
	uint64_t heap_offset;
	uint64_t heap_size;
	uint64_t msbuf_size;
	uint64_t stack_size;
	uint32_t ssaframesize;
	uint32_t nssa;
	uint32_t flags;         /* ADY_CONFIG_* */
	uint8_t reserved[12];
	ady_layout_thread thread[ADY_MAX_THREADS];
} ady_layout_desc;
_Static_assert(sizeof(ady_layout_desc) <= ADY_PAGE_SIZE, "layout desc fits a page");

/*
 * The per-thread data page: the runtime's thread block.  The entry stub
 * (src/trts/entry.S) uses the ADY_TD_* offsets; %fs:0x28 is the stack
 * protector's slot when the backend points FS here.  The loader fills
 * only index and stack_top; the rest starts zero.
 */
typedef struct __attribute__((aligned(64))) ady_thread_data { /* naturally aligned: no padding, see the asserts */
	uint64_t self;          /* 0x00: runtime-owned */
	uint64_t host_rsp;      /* 0x08: stack pointer of the host at entry */
	uint64_t enclave_rsp;   /* 0x10: enclave stack pointer during an exit */
	uint64_t exit_fn;       /* 0x18: host exit function, 0 = port I/O */
	uint32_t state;         /* 0x20: ADY_TD_IDLE / ADY_TD_BUSY */
	uint32_t index;         /* 0x24: thread index (loader) */
	uint64_t stack_guard;   /* 0x28: %fs:0x28 */
	uint64_t stack_top;     /* 0x30: enclave offset of the initial stack pointer (loader) */
	uint64_t ms;            /* 0x38: marshalling slot of the current call */
	uint64_t flags;         /* 0x40: runtime-owned */
} ady_thread_data;
#define ADY_TD_HOST_RSP 0x08
#define ADY_TD_ENCLAVE_RSP 0x10
#define ADY_TD_EXIT_FN 0x18
#define ADY_TD_STATE 0x20
#define ADY_TD_STACK_TOP 0x30
#define ADY_TD_IDLE 0u
#define ADY_TD_BUSY 1u
ADY_CHECK_LAYOUT(ady_thread_data, host_rsp, ADY_TD_HOST_RSP);
ADY_CHECK_LAYOUT(ady_thread_data, enclave_rsp, ADY_TD_ENCLAVE_RSP);
ADY_CHECK_LAYOUT(ady_thread_data, exit_fn, ADY_TD_EXIT_FN);
ADY_CHECK_LAYOUT(ady_thread_data, state, ADY_TD_STATE);
ADY_CHECK_LAYOUT(ady_thread_data, stack_guard, 0x28);
ADY_CHECK_LAYOUT(ady_thread_data, stack_top, ADY_TD_STACK_TOP);

/*
 * Computes the layout of an image under a config.  ADY_ERR_LAYOUT when it
 * does not fit below ADY_ELF_MAX_VADDR or the config is invalid.
 * *out is fully written (zeroed first).
 */
ADY_MUST_CHECK ady_err ady_layout_build(const ady_elf *elf, const ady_config *cfg, ady_layout *out);

/*
 * Writes the initial memory image into mem[0, size), which the caller
 * provides zero-filled (a fresh anonymous mapping: untouched pages cost
 * nothing): the ELF pages (ady_elf_load), the layout page, each TCS and
 * each thread data page; nothing else is written.  mem_size must be >=
 * layout->size, else ADY_ERR_RANGE.
 * TCS fields: OSSA, NSSA = ADY_LAYOUT_NSSA, OENTRY = e_entry, OFSBASE =
 * OGSBASE = thread data offset, FSLIMIT = GSLIMIT = 0xfff; the rest zero.
 */
ADY_MUST_CHECK ady_err ady_layout_fill(const ady_layout *layout, const ady_elf *elf,
				       const uint8_t *file, size_t len, uint8_t *mem, uint64_t mem_size);

/*
 * True when [off, off+len) of the enclave lies wholly in pages the enclave
 * itself may write: its measured REG pages with W (heap, stacks, SSA,
 * thread data, writable ELF segments), possibly across adjacent ones;
 * never in a TCS, code, read-only data, the layout page, a guard or past
 * the end (the marshalling slots and a backend's own pages are never
 * enclave offsets).  Overflow-safe; false for len 0 or a NULL layout.
 * Where the platform may write the answer of a platform exit (adyton/msbuf.h).
 */
bool ady_layout_writable(const ady_layout *layout, uint64_t off, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif
