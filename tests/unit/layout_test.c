/* Unit tests of the enclave layout (src/format/layout.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/layout.h"
#include "elf_builder.h"

#define PAGE ADY_PAGE_SIZE
#define RW (ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_W)

static uint8_t img[TB_SIZE];
static ady_elf elf;
static ady_layout lay; /* large: keep it off the stack */

static int setup(void **state)
{
	(void)state;
	tb_build(img);
	return ady_elf_decode(img, sizeof(img), &elf) == ADY_OK ? 0 : -1;
}

static void small_config(ady_config *cfg, uint32_t threads)
{
	ady_config_defaults(cfg);
	cfg->heap_size = 64u << 10;
	cfg->stack_size = 16u << 10;
	cfg->threads = threads;
	cfg->msbuf_size = 8u << 10;
	cfg->flags = ADY_CONFIG_DEBUG;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24); }

static void test_regions(void **state)
{
	ady_config cfg;
	const ady_region *r;
	uint64_t pos;

	(void)state;
	small_config(&cfg, 3);
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_OK);
	assert_int_equal(lay.nregions, 4 + 2 + 4 * 3);
	r = lay.region;
	/* ELF pages, whole pages around each segment */
	assert_true(r[0].offset == 0 && r[0].size == PAGE && r[0].secinfo == (ADY_SECINFO_PT_REG | ADY_SECINFO_R));
	assert_true(r[1].offset == 0x1000 && r[1].size == PAGE &&
		    r[1].secinfo == (ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_X));
	assert_true(r[2].offset == 0x2000 && r[2].size == PAGE);
	assert_true(r[3].offset == 0x3000 && r[3].size == 2 * PAGE && r[3].secinfo == RW);
	for (int i = 0; i < 4; i++)
		assert_true(r[i].extend && r[i].kind == ADY_REGION_ELF);
	/* layout page right after the image */
	assert_true(r[4].kind == ADY_REGION_LAYOUT && r[4].offset == TB_IMAGE_END && r[4].size == PAGE);
	assert_true(r[4].secinfo == (ADY_SECINFO_PT_REG | ADY_SECINFO_R) && r[4].extend);
	assert_true(lay.layout_page == TB_IMAGE_END);
	/* guard, heap (not extended) */
	assert_true(r[5].kind == ADY_REGION_HEAP && r[5].offset == TB_IMAGE_END + 2 * PAGE);
	assert_true(r[5].size == cfg.heap_size && r[5].secinfo == RW && !r[5].extend);
	assert_true(lay.heap_offset == r[5].offset && lay.heap_size == cfg.heap_size);
	pos = r[5].offset + r[5].size;
	for (uint32_t t = 0; t < 3; t++) {
		const ady_region *s = &r[6 + 4 * t];
		const ady_layout_thread *th = &lay.thread[t];

		assert_true(s[0].kind == ADY_REGION_STACK && s[0].thread == t);
		assert_true(s[0].offset == pos + PAGE && s[0].size == cfg.stack_size);
		assert_true(s[0].secinfo == RW && !s[0].extend);
		assert_true(th->stack_lo == s[0].offset && th->stack_hi == s[0].offset + cfg.stack_size);
		/* TCS: no permission bits, measured */
		assert_true(s[1].kind == ADY_REGION_TCS && s[1].offset == th->stack_hi + PAGE && s[1].size == PAGE);
		assert_true(s[1].secinfo == ADY_SECINFO_PT_TCS && s[1].extend && th->tcs == s[1].offset);
		assert_true(s[2].kind == ADY_REGION_SSA && s[2].offset == th->tcs + PAGE);
		assert_true(s[2].size == ADY_LAYOUT_NSSA * ADY_LAYOUT_SSAFRAMESIZE * PAGE && s[2].secinfo == RW);
		assert_true(s[2].extend && th->ssa == s[2].offset);
		assert_true(s[3].kind == ADY_REGION_THREAD && s[3].offset == s[2].offset + s[2].size);
		assert_true(s[3].size == PAGE && s[3].secinfo == RW && s[3].extend && th->td == s[3].offset);
		pos = s[3].offset + PAGE;
	}
	/* final guard, then the power of two */
	assert_true(lay.size >= pos + PAGE);
	assert_true(lay.size == 0x40000);
	assert_int_equal(lay.threads, 3);
	assert_int_equal(lay.ssaframesize, ADY_LAYOUT_SSAFRAMESIZE);
	assert_true(lay.entry == TB_ENTRY);
	assert_true(lay.msbuf_size == cfg.msbuf_size);
	assert_true(lay.stack_size == cfg.stack_size);
	assert_int_equal(lay.flags, ADY_CONFIG_DEBUG);
	for (uint32_t i = 1; i < lay.nregions; i++)
		assert_true(r[i].offset >= r[i - 1].offset + r[i - 1].size);
}

static void test_power_of_two(void **state)
{
	ady_config cfg;

	(void)state;
	for (uint32_t threads = 1; threads <= ADY_MAX_THREADS; threads += 7) {
		for (uint64_t heap = PAGE; heap <= (64u << 20); heap *= 5) {
			const ady_region *last;
			uint64_t end;

			small_config(&cfg, threads);
			cfg.heap_size = heap / PAGE * PAGE;
			assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_OK);
			last = &lay.region[lay.nregions - 1];
			end = last->offset + last->size + PAGE;
			assert_true((lay.size & (lay.size - 1)) == 0);
			assert_true(lay.size >= end && lay.size / 2 < end);
		}
	}
}

static void test_too_big(void **state)
{
	ady_config cfg;

	(void)state;
	ady_config_defaults(&cfg);
	cfg.heap_size = ADY_CONFIG_MAX_HEAP;
	cfg.stack_size = ADY_CONFIG_MAX_STACK;
	cfg.threads = ADY_MAX_THREADS;
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_ERR_LAYOUT);
	assert_int_equal(lay.nregions, 0);
	/* just fits: 2^34 heap + 32 threads of 1 GiB stacks < 2^36 */
	cfg.threads = 32;
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_OK);
	assert_true(lay.size == ADY_ELF_MAX_VADDR);
	cfg.threads = 0;
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_ERR_LAYOUT);
	assert_int_equal(ady_layout_build(NULL, &cfg, &lay), ADY_ERR_INVALID_ARG);
}

static void test_fill(void **state)
{
	ady_config cfg;
	uint8_t *mem;
	const uint8_t *d;

	(void)state;
	small_config(&cfg, 2);
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_OK);
	mem = calloc(1, lay.size);
	assert_non_null(mem);
	assert_int_equal(ady_layout_fill(&lay, &elf, img, sizeof(img), mem, lay.size - 1), ADY_ERR_RANGE);
	assert_int_equal(ady_layout_fill(&lay, &elf, img, sizeof(img), mem, lay.size), ADY_OK);

	/* ELF bytes */
	assert_memory_equal(mem + TB_TEXT, img + TB_TEXT, TB_TEXT_SIZE);
	assert_memory_equal(mem + TB_DATA_VADDR, img + TB_DATA_OFF, TB_DATA_FILESZ);

	/* layout descriptor */
	d = mem + lay.layout_page;
	assert_memory_equal(d, "ADYLAYT1", 8);
	assert_int_equal(rd32(d + 8), 1);
	assert_int_equal(rd32(d + 12), 2);
	assert_true(rd64(d + 16) == lay.size);
	assert_true(rd64(d + 24) == lay.heap_offset);
	assert_true(rd64(d + 32) == cfg.heap_size);
	assert_true(rd64(d + 40) == cfg.msbuf_size);
	assert_true(rd64(d + 48) == cfg.stack_size);
	assert_int_equal(rd32(d + 56), ADY_LAYOUT_SSAFRAMESIZE);
	assert_int_equal(rd32(d + 60), ADY_LAYOUT_NSSA);
	assert_int_equal(rd32(d + 64), ADY_CONFIG_DEBUG);
	for (uint32_t t = 0; t < 2; t++) {
		const uint8_t *e = d + 80 + 40 * t;

		assert_true(rd64(e) == lay.thread[t].tcs);
		assert_true(rd64(e + 8) == lay.thread[t].ssa);
		assert_true(rd64(e + 16) == lay.thread[t].td);
		assert_true(rd64(e + 24) == lay.thread[t].stack_lo);
		assert_true(rd64(e + 32) == lay.thread[t].stack_hi);
	}
	for (size_t i = 80 + 40 * 2; i < PAGE; i++)
		assert_int_equal(d[i], 0);

	for (uint32_t t = 0; t < 2; t++) {
		const uint8_t *tcs = mem + lay.thread[t].tcs;
		const uint8_t *td = mem + lay.thread[t].td;
		uint8_t expect[PAGE];

		memset(expect, 0, sizeof(expect));
		ady_put_u64le(expect + 16, lay.thread[t].ssa);
		ady_put_u32le(expect + 28, ADY_LAYOUT_NSSA);
		ady_put_u64le(expect + 32, TB_ENTRY);
		ady_put_u64le(expect + 48, lay.thread[t].td);
		ady_put_u64le(expect + 56, lay.thread[t].td);
		ady_put_u32le(expect + 64, 0xfff);
		ady_put_u32le(expect + 68, 0xfff);
		assert_memory_equal(tcs, expect, PAGE);

		memset(expect, 0, sizeof(expect));
		ady_put_u32le(expect + 0x24, t);
		ady_put_u64le(expect + 0x30, lay.thread[t].stack_hi);
		assert_memory_equal(td, expect, PAGE);
	}
	/* nothing else written: heap, stacks and SSA stay zero */
	for (uint64_t i = lay.heap_offset; i < lay.thread[0].tcs; i++)
		assert_int_equal(mem[i], 0);
	for (uint64_t i = lay.thread[0].ssa; i < lay.thread[0].td; i++)
		assert_int_equal(mem[i], 0);
	free(mem);
}

/* Where a platform exit's io struct may lie: writable REG pages only. */
static void test_writable(void **state)
{
	const ady_layout_thread *t;
	ady_config cfg;

	(void)state;
	small_config(&cfg, 2);
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_OK);
	t = &lay.thread[0];
	/* heap, stack, SSA, thread data, the writable ELF segment */
	assert_true(ady_layout_writable(&lay, lay.heap_offset, 532));
	assert_true(ady_layout_writable(&lay, lay.heap_offset, lay.heap_size));
	assert_true(ady_layout_writable(&lay, t->stack_lo, t->stack_hi - t->stack_lo));
	assert_true(ady_layout_writable(&lay, t->ssa, PAGE));
	assert_true(ady_layout_writable(&lay, t->td, PAGE));
	assert_true(ady_layout_writable(&lay, 0x3000, 2 * PAGE));
	/* across adjacent writable regions: SSA into thread data */
	assert_true(ady_layout_writable(&lay, t->td - 16, 32));
	/* code, read-only data, the layout page, the TCS */
	assert_false(ady_layout_writable(&lay, 0x1000, 16));
	assert_false(ady_layout_writable(&lay, 0, 16));
	assert_false(ady_layout_writable(&lay, lay.layout_page, 16));
	assert_false(ady_layout_writable(&lay, t->tcs, 16));
	assert_false(ady_layout_writable(&lay, t->tcs + PAGE - 1, 1));
	/* into the TCS from the stack's guard side, or from the SSA back into it */
	assert_false(ady_layout_writable(&lay, t->ssa - 8, 16));
	/* guards: past the heap, below a stack, past the last thread */
	assert_false(ady_layout_writable(&lay, lay.heap_offset + lay.heap_size - 16, 32));
	assert_false(ady_layout_writable(&lay, lay.heap_offset + lay.heap_size, 1));
	assert_false(ady_layout_writable(&lay, t->stack_lo - 1, 2));
	assert_false(ady_layout_writable(&lay, lay.thread[1].td + PAGE, 1));
	/* past the end, overflow, empty, no layout */
	assert_false(ady_layout_writable(&lay, lay.size, 1));
	assert_false(ady_layout_writable(&lay, lay.size - 1, 2));
	assert_false(ady_layout_writable(&lay, lay.heap_offset, UINT64_MAX));
	assert_false(ady_layout_writable(&lay, UINT64_MAX, 2));
	assert_false(ady_layout_writable(&lay, lay.heap_offset, 0));
	assert_false(ady_layout_writable(NULL, lay.heap_offset, 1));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_regions), T(test_power_of_two), T(test_too_big), T(test_fill), T(test_writable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
