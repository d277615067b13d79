/*
 * libFuzzer target: the enclave image parser and everything downstream
 * of a successful decode (layout, fill, measurement, meta note).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/config.h"
#include "adyton/elf.h"
#include "adyton/layout.h"
#include "adyton/measure.h"
#include "adyton/meta.h"

/* Layouts above this are decoded and laid out but not filled: the fill
 * is a memcpy of the image and would only make runs slow. */
#define FILL_CAP (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sum(void *ctx, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t *acc = ctx;

	for (size_t i = 0; i < n; i += 64)
		*acc += b[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ady_layout layout;
	static uint8_t *mem;
	ady_elf elf;
	ady_config cfg;
	uint64_t acc = 0;
	ady_hash_sink sink = { &acc, sum };

	if (ady_elf_decode(data, size, &elf) != ADY_OK)
		return 0;
	/* The note descriptor must lie inside the file. */
	if (elf.meta_offset + elf.meta_size > size)
		abort();
	if (ady_meta_decode(data + elf.meta_offset, elf.meta_size, &cfg, NULL) != ADY_OK)
		ady_config_defaults(&cfg);
	if (ady_layout_build(&elf, &cfg, &layout) != ADY_OK)
		return 0;
	if (layout.size > FILL_CAP)
		return 0;
	if (!mem && !(mem = malloc(FILL_CAP)))
		return 0;
	memset(mem, 0, layout.size);
	if (ady_layout_fill(&layout, &elf, data, size, mem, layout.size) != ADY_OK)
		abort();
	if (ady_measure_enclave(&layout, mem, layout.size, &sink) != ADY_OK)
		abort();
	return 0;
}
