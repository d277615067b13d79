/*
 * measure.c - MRENCLAVE records (adyton/measure.h).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/measure.h"
#include "internal.h"

/* A 64-byte record: the 8-byte name, the fields (put by the caller into
 * w), zeros to the end. */
static void record(ady_wr *w, uint8_t rec[static 64], const char name[static 8])
{
	ady_wr_init(w, rec, ADY_MEASURE_RECORD);
	ady_wr_bytes(w, name, 8);
}

static void record_end(ady_wr *w) { ady_wr_zero(w, ADY_MEASURE_RECORD - ady_wr_len(w)); }

/* see adyton/measure.h */
void ady_measure_ecreate(uint8_t rec[static 64], uint32_t ssaframesize, uint64_t size)
{
	ady_wr w;

	record(&w, rec, "ECREATE");
	ady_wr_u32le(&w, ssaframesize);
	ady_wr_u64le(&w, size);
	record_end(&w);
}

/* see adyton/measure.h */
void ady_measure_eadd(uint8_t rec[static 64], uint64_t offset, uint64_t secinfo_flags)
{
	ady_wr w;

	record(&w, rec, "EADD\0\0\0");
	ady_wr_u64le(&w, offset);
	ady_wr_u64le(&w, secinfo_flags);
	record_end(&w);
}

/* see adyton/measure.h */
void ady_measure_eextend(uint8_t rec[static 64], uint64_t offset)
{
	ady_wr w;

	record(&w, rec, "EEXTEND");
	ady_wr_u64le(&w, offset);
	record_end(&w);
}

/* see adyton/measure.h */
void ady_layout_pages(const ady_layout *layout, ady_page_fn fn, void *user)
{
	uint32_t n = layout->nregions < ADY_LAYOUT_MAX_REGIONS ? layout->nregions : ADY_LAYOUT_MAX_REGIONS;

	for (uint32_t i = 0; i < n; i++) {
		const ady_region *r = &layout->region[i];

		for (uint64_t off = 0; off < r->size; off += ADY_PAGE_SIZE)
			fn(user, r->offset + off, r->secinfo, r->extend);
	}
}

/* see adyton/measure.h */
ady_err ady_measure_enclave(const ady_layout *layout, const uint8_t *mem, uint64_t mem_size,
			    const ady_hash_sink *sink)
{
	uint8_t rec[ADY_MEASURE_RECORD];
	uint64_t prev_end = 0, end;

	if (!layout || !mem || !sink || !sink->update || layout->nregions > ADY_LAYOUT_MAX_REGIONS)
		return ADY_ERR_INVALID_ARG;
	if (mem_size < layout->size)
		return ADY_ERR_RANGE;
	/* Check the whole (caller-owned) layout before hashing anything, so a
	 * bad one never yields a partial measurement.  SGX measures pages in
	 * EADD order; ours is strictly increasing, which also rules out a
	 * page being added twice. */
	for (uint32_t i = 0; i < layout->nregions; i++) {
		const ady_region *r = &layout->region[i];

		if (!page_aligned(r->offset) || !page_aligned(r->size) || r->size == 0 || r->offset < prev_end ||
		    __builtin_add_overflow(r->offset, r->size, &end) || end > layout->size)
			return ADY_ERR_RANGE;
		prev_end = end;
	}

	ady_measure_ecreate(rec, layout->ssaframesize, layout->size);
	sink->update(sink->ctx, rec, sizeof(rec));
	for (uint32_t i = 0; i < layout->nregions; i++) {
		const ady_region *r = &layout->region[i];

		for (uint64_t page = r->offset; page < r->offset + r->size; page += ADY_PAGE_SIZE) {
			ady_measure_eadd(rec, page, r->secinfo);
			sink->update(sink->ctx, rec, sizeof(rec));
			if (!r->extend)
				continue;
			for (uint64_t off = page; off < page + ADY_PAGE_SIZE; off += ADY_MEASURE_CHUNK) {
				ady_measure_eextend(rec, off);
				sink->update(sink->ctx, rec, sizeof(rec));
				sink->update(sink->ctx, mem + off, ADY_MEASURE_CHUNK);
			}
		}
	}
	return ADY_OK;
}
