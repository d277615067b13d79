/*
 * layout.c - enclave layout and its initial pages (adyton/layout.h).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/layout.h"
#include "internal.h"

#define SSA_PAGES ((uint64_t)ADY_LAYOUT_NSSA * ADY_LAYOUT_SSAFRAMESIZE)
/* SDM 38.8: FS/GS limits are 32-bit and checked against the segment
 * size; one page is the thread data page. */
#define TCS_SEGMENT_LIMIT 0xfffu

/* Adds size bytes at *pos, failing past the enclave's addressable range. */
static bool advance(uint64_t *pos, uint64_t size)
{
	return !__builtin_add_overflow(*pos, size, pos) && *pos <= ADY_ELF_MAX_VADDR;
}

static void add_region(ady_layout *l, uint64_t offset, uint64_t size, uint64_t secinfo, bool extend,
		       ady_region_kind kind, uint32_t thread)
{
	ady_region *r = &l->region[l->nregions++];

	r->offset = offset;
	r->size = size;
	r->secinfo = secinfo;
	r->extend = extend;
	r->kind = kind;
	r->thread = thread;
}

/* see adyton/layout.h */
ady_err ady_layout_build(const ady_elf *elf, const ady_config *cfg, ady_layout *out)
{
	ady_layout *l = out;
	uint64_t pos, size;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!elf || !cfg)
		return ADY_ERR_INVALID_ARG;
	if (ady_config_validate(cfg))
		return ADY_ERR_LAYOUT;
	/* *elf normally comes from ady_elf_decode; recheck what the layout
	 * relies on so a hand-made one cannot produce overlapping regions. */
	if (elf->nseg == 0 || elf->nseg > ADY_ELF_MAX_SEGMENTS || !page_aligned(elf->image_end) ||
	    elf->image_end > ADY_ELF_MAX_VADDR)
		return ADY_ERR_INVALID_ARG;
	pos = 0;
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];
		uint64_t end;

		if (s->memsz == 0 || (s->perms & ~ADY_SECINFO_PERMS) || __builtin_add_overflow(s->vaddr, s->memsz, &end) ||
		    end > elf->image_end || page_down(s->vaddr) < pos)
			return ADY_ERR_INVALID_ARG;
		add_region(l, page_down(s->vaddr), page_up(end) - page_down(s->vaddr), ADY_SECINFO_PT_REG | s->perms,
			   true, ADY_REGION_ELF, 0);
		pos = page_up(end);
	}

	pos = elf->image_end;
	l->layout_page = pos;
	add_region(l, pos, ADY_PAGE_SIZE, ADY_SECINFO_PT_REG | ADY_SECINFO_R, true, ADY_REGION_LAYOUT, 0);
	if (!advance(&pos, ADY_PAGE_SIZE) || !advance(&pos, ADY_PAGE_SIZE))
		goto too_big;
	l->heap_offset = pos;
	if (!advance(&pos, cfg->heap_size))
		goto too_big;
	add_region(l, l->heap_offset, cfg->heap_size, ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_W, false,
		   ADY_REGION_HEAP, 0);

	for (uint32_t i = 0; i < cfg->threads; i++) {
		ady_layout_thread *t = &l->thread[i];

		/* Guards on both sides of the stack turn an overflow into a
		 * fault instead of a write into the heap or the TCS. */
		if (!advance(&pos, ADY_PAGE_SIZE))
			goto too_big;
		t->stack_lo = pos;
		if (!advance(&pos, cfg->stack_size))
			goto too_big;
		t->stack_hi = pos;
		if (!advance(&pos, ADY_PAGE_SIZE))
			goto too_big;
		t->tcs = pos;
		if (!advance(&pos, ADY_PAGE_SIZE))
			goto too_big;
		t->ssa = pos;
		if (!advance(&pos, SSA_PAGES * ADY_PAGE_SIZE))
			goto too_big;
		t->td = pos;
		if (!advance(&pos, ADY_PAGE_SIZE))
			goto too_big;
		add_region(l, t->stack_lo, cfg->stack_size, ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_W, false,
			   ADY_REGION_STACK, i);
		/* SDM 38.11.1: TCS pages carry no R/W/X bits. */
		add_region(l, t->tcs, ADY_PAGE_SIZE, ADY_SECINFO_PT_TCS, true, ADY_REGION_TCS, i);
		add_region(l, t->ssa, SSA_PAGES * ADY_PAGE_SIZE, ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_W, true,
			   ADY_REGION_SSA, i);
		add_region(l, t->td, ADY_PAGE_SIZE, ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_W, true,
			   ADY_REGION_THREAD, i);
	}
	if (!advance(&pos, ADY_PAGE_SIZE))
		goto too_big;

	/* SGX: SECS.SIZE is a power of two >= 2 pages.  pos <= 2^36 here, so
	 * the doubling stops at 2^36 at the latest. */
	for (size = 2 * ADY_PAGE_SIZE; size < pos; size <<= 1)
		;
	l->size = size;
	l->ssaframesize = ADY_LAYOUT_SSAFRAMESIZE;
	l->heap_size = cfg->heap_size;
	l->stack_size = cfg->stack_size;
	l->msbuf_size = cfg->msbuf_size;
	l->entry = elf->entry;
	l->threads = cfg->threads;
	l->flags = cfg->flags;
	return ADY_OK;

too_big:
	memset(out, 0, sizeof(*out));
	return ADY_ERR_LAYOUT;
}

/* True if [off, off+len) lies inside [0, size). */
static bool inside(uint64_t off, uint64_t len, uint64_t size)
{
	uint64_t end;

	return !__builtin_add_overflow(off, len, &end) && end <= size;
}

static void put_desc(const ady_layout *l, uint8_t *page)
{
	memset(page, 0, ADY_PAGE_SIZE);
	memcpy(page + offsetof(ady_layout_desc, magic), ADY_LAYOUT_MAGIC, 8);
	ady_put_u32le(page + offsetof(ady_layout_desc, version), 1);
	ady_put_u32le(page + offsetof(ady_layout_desc, threads), l->threads);
	ady_put_u64le(page + offsetof(ady_layout_desc, size), l->size);
	ady_put_u64le(page + offsetof(ady_layout_desc, heap_offset), l->heap_offset);
	ady_put_u64le(page + offsetof(ady_layout_desc, heap_size), l->heap_size);
	ady_put_u64le(page + offsetof(ady_layout_desc, msbuf_size), l->msbuf_size);
	ady_put_u64le(page + offsetof(ady_layout_desc, stack_size), l->stack_size);
	ady_put_u32le(page + offsetof(ady_layout_desc, ssaframesize), l->ssaframesize);
	ady_put_u32le(page + offsetof(ady_layout_desc, nssa), ADY_LAYOUT_NSSA);
	ady_put_u32le(page + offsetof(ady_layout_desc, flags), l->flags);
	for (uint32_t i = 0; i < l->threads; i++) {
		uint8_t *t = page + offsetof(ady_layout_desc, thread) + i * sizeof(ady_layout_thread);

		ady_put_u64le(t + offsetof(ady_layout_thread, tcs), l->thread[i].tcs);
		ady_put_u64le(t + offsetof(ady_layout_thread, ssa), l->thread[i].ssa);
		ady_put_u64le(t + offsetof(ady_layout_thread, td), l->thread[i].td);
		ady_put_u64le(t + offsetof(ady_layout_thread, stack_lo), l->thread[i].stack_lo);
		ady_put_u64le(t + offsetof(ady_layout_thread, stack_hi), l->thread[i].stack_hi);
	}
}

static void put_tcs(const ady_layout *l, const ady_layout_thread *t, uint8_t *page)
{
	memset(page, 0, ADY_PAGE_SIZE);
	ady_put_u64le(page + offsetof(ady_sgx_tcs, ossa), t->ssa);
	ady_put_u32le(page + offsetof(ady_sgx_tcs, nssa), ADY_LAYOUT_NSSA);
	ady_put_u64le(page + offsetof(ady_sgx_tcs, oentry), l->entry);
	ady_put_u64le(page + offsetof(ady_sgx_tcs, ofsbase), t->td);
	ady_put_u64le(page + offsetof(ady_sgx_tcs, ogsbase), t->td);
	ady_put_u32le(page + offsetof(ady_sgx_tcs, fslimit), TCS_SEGMENT_LIMIT);
	ady_put_u32le(page + offsetof(ady_sgx_tcs, gslimit), TCS_SEGMENT_LIMIT);
}

static void put_td(uint32_t index, const ady_layout_thread *t, uint8_t *page)
{
	memset(page, 0, ADY_PAGE_SIZE);
	ady_put_u32le(page + offsetof(ady_thread_data, index), index);
	ady_put_u64le(page + offsetof(ady_thread_data, stack_top), t->stack_hi);
}

/* see adyton/layout.h */
ady_err ady_layout_fill(const ady_layout *layout, const ady_elf *elf, const uint8_t *file, size_t len, uint8_t *mem,
			uint64_t mem_size)
{
	ady_err err;

	if (!layout || !elf || !mem || layout->threads > ADY_MAX_THREADS)
		return ADY_ERR_INVALID_ARG;
	if (mem_size < layout->size)
		return ADY_ERR_RANGE;
	/* The layout is the caller's: every page written must be inside it. */
	if (!inside(layout->layout_page, ADY_PAGE_SIZE, layout->size) || !page_aligned(layout->layout_page) ||
	    elf->image_end > layout->layout_page)
		return ADY_ERR_RANGE;
	for (uint32_t i = 0; i < layout->threads; i++) {
		const ady_layout_thread *t = &layout->thread[i];

		if (!inside(t->tcs, ADY_PAGE_SIZE, layout->size) || !inside(t->td, ADY_PAGE_SIZE, layout->size) ||
		    !page_aligned(t->tcs) || !page_aligned(t->td))
			return ADY_ERR_RANGE;
	}
	err = ady_elf_load(elf, file, len, mem, layout->layout_page);
	if (err)
		return err;
	put_desc(layout, mem + layout->layout_page);
	for (uint32_t i = 0; i < layout->threads; i++) {
		put_tcs(layout, &layout->thread[i], mem + layout->thread[i].tcs);
		put_td(i, &layout->thread[i], mem + layout->thread[i].td);
	}
	return ADY_OK;
}

/* see adyton/layout.h */
bool ady_layout_writable(const ady_layout *l, uint64_t off, uint64_t len)
{
	uint64_t end, pos;

	if (!l || len == 0 || __builtin_add_overflow(off, len, &end) || end > l->size)
		return false;
	/* Regions come in increasing offsets: one pass follows the range
	 * across adjacent regions; a gap (a guard, a page never added) ends it. */
	pos = off;
	for (uint32_t i = 0; i < l->nregions && i < ADY_LAYOUT_MAX_REGIONS && pos < end; i++) {
		const ady_region *r = &l->region[i];

		if (pos < r->offset || pos - r->offset >= r->size)
			continue;
		/* SDM 38.11.1: a TCS carries no W; the enclave never writes one */
		if ((r->secinfo & ADY_SECINFO_PT_MASK) != ADY_SECINFO_PT_REG || !(r->secinfo & ADY_SECINFO_W) ||
		    __builtin_add_overflow(r->offset, r->size, &pos))
			return false;
	}
	return pos >= end;
}
