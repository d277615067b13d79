/* Unit tests of the enclave image parser (src/format/elf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/elf.h"
#include "adyton/sgx.h"
#include "elf_builder.h"

static uint8_t img[TB_SIZE];

static int setup(void **state)
{
	(void)state;
	tb_build(img);
	return 0;
}

static ady_err decode(void)
{
	ady_elf e;

	return ady_elf_decode(img, sizeof(img), &e);
}

#define expect(code) assert_int_equal(decode(), (code))

static void test_valid(void **state)
{
	ady_elf e;

	(void)state;
	assert_int_equal(ady_elf_decode(img, sizeof(img), &e), ADY_OK);
	assert_int_equal(e.nseg, 4);
	assert_true(e.entry == TB_ENTRY);
	assert_true(e.phoff == 64);
	assert_int_equal(e.phnum, TB_PHNUM);
	assert_true(e.seg[0].vaddr == 0 && e.seg[0].filesz == TB_SEG0_END && e.seg[0].perms == ADY_SECINFO_R);
	assert_true(e.seg[1].vaddr == TB_TEXT && e.seg[1].perms == (ADY_SECINFO_R | ADY_SECINFO_X));
	assert_true(e.seg[2].vaddr == TB_RODATA && e.seg[2].perms == ADY_SECINFO_R);
	assert_true(e.seg[3].vaddr == TB_DATA_VADDR && e.seg[3].offset == TB_DATA_OFF);
	assert_true(e.seg[3].memsz == TB_DATA_MEMSZ && e.seg[3].filesz == TB_DATA_FILESZ);
	assert_true(e.seg[3].perms == (ADY_SECINFO_R | ADY_SECINFO_W));
	assert_true(e.image_end == TB_IMAGE_END);
	assert_true(e.rela_count == TB_NRELA);
	assert_true(e.meta_offset == TB_META);
	assert_true(e.meta_size == ADY_META_SIZE);
}

static void test_sorted_segments(void **state)
{
	uint8_t a[56];
	ady_elf e;

	(void)state;
	/* Swap the text and data phdrs: the parser sorts by vaddr. */
	memcpy(a, img + TB_PH(1), 56);
	memcpy(img + TB_PH(1), img + TB_PH(3), 56);
	memcpy(img + TB_PH(3), a, 56);
	assert_int_equal(ady_elf_decode(img, sizeof(img), &e), ADY_OK);
	for (unsigned i = 1; i < e.nseg; i++)
		assert_true(e.seg[i - 1].vaddr < e.seg[i].vaddr);
}

static void test_truncated(void **state)
{
	ady_elf e;

	(void)state;
	for (size_t n = 0; n < TB_SIZE; n += (n < 128 ? 1 : 97)) {
		ady_err err = ady_elf_decode(img, n, &e);

		if (n < 64)
			assert_int_equal(err, ADY_ERR_TRUNCATED);
		else if (n < TB_DATA_OFF + TB_DATA_FILESZ)
			assert_true(err == ADY_ERR_TRUNCATED || err == ADY_ERR_ELF_SEGMENT_RANGE);
		else
			assert_int_equal(err, ADY_ERR_TRUNCATED);
		/* *out is zeroed on failure. */
		assert_int_equal(e.nseg, 0);
	}
	assert_int_equal(ady_elf_decode(img, TB_SIZE - 1, &e), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_elf_decode(img, 64 + 56 * 3, &e), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_elf_decode(img, 0x1000, &e), ADY_ERR_ELF_SEGMENT_RANGE);
}

static void test_bad_magic(void **state)
{
	(void)state;
	img[1] = 'X';
	expect(ADY_ERR_ELF_MAGIC);
}

static void test_bad_class(void **state)
{
	(void)state;
	img[4] = 1; /* ELFCLASS32 */
	expect(ADY_ERR_ELF_CLASS);
}

static void test_bad_data(void **state)
{
	(void)state;
	img[5] = 2; /* big-endian */
	expect(ADY_ERR_ELF_CLASS);
}

static void test_bad_version(void **state)
{
	(void)state;
	img[6] = 0;
	expect(ADY_ERR_ELF_CLASS);
	tb_build(img);
	tb_u32(img, 20, 2);
	expect(ADY_ERR_ELF_CLASS);
	tb_build(img);
	img[7] = 9; /* OSABI */
	expect(ADY_ERR_ELF_CLASS);
}

static void test_bad_machine(void **state)
{
	(void)state;
	tb_u16(img, 18, 3); /* EM_386 */
	expect(ADY_ERR_ELF_MACHINE);
}

static void test_exec(void **state)
{
	(void)state;
	tb_u16(img, 16, 2); /* ET_EXEC */
	expect(ADY_ERR_ELF_TYPE);
}

static void test_interp(void **state)
{
	(void)state;
	tb_phdr(img, 6, 3, 4, 0x100, 0x100, 16, 16, 1);
	expect(ADY_ERR_ELF_TYPE);
}

static void test_tls(void **state)
{
	(void)state;
	tb_phdr(img, 6, 7, 4, TB_DATA_OFF, TB_DATA_VADDR, 8, 8, 8);
	expect(ADY_ERR_UNSUPPORTED);
}

static void test_unknown_phdr(void **state)
{
	(void)state;
	tb_phdr(img, 6, 0x6474e5ff, 4, 0, 0, 0, 0, 1);
	expect(ADY_ERR_ELF_PHDR);
	tb_build(img);
	tb_u32(img, TB_PH(2) + TB_PH_FLAGS, 4 | 0x00100000); /* PF_MASKOS bit */
	expect(ADY_ERR_ELF_PHDR);
	tb_build(img);
	tb_u32(img, TB_PH(2) + TB_PH_FLAGS, 0);
	expect(ADY_ERR_ELF_PHDR);
	tb_build(img);
	tb_u16(img, 54, 32); /* e_phentsize */
	expect(ADY_ERR_ELF_PHDR);
	tb_build(img);
	tb_phdr(img, 6, 2, 6, TB_DATA_OFF, TB_DATA_VADDR, 16, 16, 8); /* two PT_DYNAMIC */
	expect(ADY_ERR_ELF_PHDR);
}

static void test_no_load(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 4; i++)
		tb_u32(img, TB_PH(i) + TB_PH_TYPE, 0);
	expect(ADY_ERR_ELF_PHDR);
}

static void test_overlap(void **state)
{
	(void)state;
	/* text grows one byte into rodata's first page */
	tb_u64(img, TB_PH(1) + TB_PH_MEMSZ, 0x1001);
	expect(ADY_ERR_ELF_OVERLAP);
	tb_build(img);
	/* rodata moved into the data segment's first page */
	tb_u64(img, TB_PH(2) + TB_PH_VADDR, 0x3000);
	expect(ADY_ERR_ELF_OVERLAP);
	tb_build(img);
	/* same page, different bytes */
	tb_u64(img, TB_PH(2) + TB_PH_VADDR, 0x1800);
	tb_u64(img, TB_PH(2) + TB_PH_OFFSET, 0x1800);
	expect(ADY_ERR_ELF_OVERLAP);
}

static void test_wx(void **state)
{
	(void)state;
	tb_u32(img, TB_PH(1) + TB_PH_FLAGS, 7);
	expect(ADY_ERR_ELF_WX);
}

static void test_past_2_36(void **state)
{
	(void)state;
	tb_u64(img, TB_PH(3) + TB_PH_VADDR, ADY_ELF_MAX_VADDR - 0x1000 + 0x6a0);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
	tb_build(img);
	tb_u64(img, TB_PH(3) + TB_PH_VADDR, 0xfffffffffffff6a0ull);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
	tb_build(img);
	tb_u64(img, TB_PH(3) + TB_PH_MEMSZ, 0xffffffffffffff00ull);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
}

static void test_filesz_gt_memsz(void **state)
{
	(void)state;
	tb_u64(img, TB_PH(2) + TB_PH_FILESZ, TB_RODATA_SIZE + 1);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
	tb_build(img);
	tb_u64(img, TB_PH(2) + TB_PH_MEMSZ, 0);
	tb_u64(img, TB_PH(2) + TB_PH_FILESZ, 0);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
}

static void test_file_range(void **state)
{
	(void)state;
	tb_u64(img, TB_PH(2) + TB_PH_FILESZ, TB_SIZE);
	tb_u64(img, TB_PH(2) + TB_PH_MEMSZ, TB_SIZE);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
	tb_build(img);
	tb_u64(img, TB_PH(2) + TB_PH_OFFSET, 0xfffffffffffff000ull);
	expect(ADY_ERR_ELF_SEGMENT_RANGE);
	tb_build(img);
	tb_u64(img, 32, TB_SIZE - 100); /* e_phoff: table past the end */
	expect(ADY_ERR_TRUNCATED);
}

static void test_not_congruent(void **state)
{
	(void)state;
	tb_u64(img, TB_PH(2) + TB_PH_VADDR, TB_RODATA + 0x10);
	expect(ADY_ERR_ELF_ALIGN);
	tb_build(img);
	tb_u64(img, TB_PH(2) + TB_PH_ALIGN, 0x1800);
	expect(ADY_ERR_ELF_ALIGN);
	tb_build(img);
	tb_u64(img, TB_PH(2) + TB_PH_ALIGN, 0x800);
	expect(ADY_ERR_ELF_ALIGN);
}

static void test_first_segment(void **state)
{
	(void)state;
	/* phdrs not covered by the first segment */
	tb_u64(img, TB_PH(0) + TB_PH_FILESZ, 0x100);
	tb_u64(img, TB_PH(0) + TB_PH_MEMSZ, 0x100);
	expect(ADY_ERR_ELF_PHDR);
	tb_build(img);
	/* first segment not at 0 */
	tb_u64(img, TB_PH(0) + TB_PH_VADDR, 0x10000);
	tb_u64(img, TB_PH(0) + TB_PH_OFFSET, 0);
	expect(ADY_ERR_ELF_PHDR);
}

static void test_entry(void **state)
{
	(void)state;
	tb_u64(img, 24, TB_RODATA);
	expect(ADY_ERR_ELF_ENTRY);
	tb_u64(img, 24, TB_TEXT + TB_TEXT_SIZE);
	expect(ADY_ERR_ELF_ENTRY);
	tb_u64(img, 24, UINT64_MAX);
	expect(ADY_ERR_ELF_ENTRY);
	tb_u64(img, 24, TB_TEXT + TB_TEXT_SIZE - 1);
	expect(ADY_OK);
}

static void test_reloc_type(void **state)
{
	(void)state;
	tb_u64(img, TB_RELA_ENT(1) + 8, 1); /* R_X86_64_64 */
	expect(ADY_ERR_ELF_RELOC);
	tb_u64(img, TB_RELA_ENT(1) + 8, 8 | 1ull << 32); /* RELATIVE with a symbol */
	expect(ADY_ERR_ELF_RELOC);
	tb_u64(img, TB_RELA_ENT(1) + 8, 0); /* R_X86_64_NONE is skipped */
	{
		ady_elf e;

		assert_int_equal(ady_elf_decode(img, sizeof(img), &e), ADY_OK);
		assert_true(e.rela_count == TB_NRELA - 1);
	}
}

static void test_reloc_target(void **state)
{
	(void)state;
	tb_u64(img, TB_RELA_ENT(2), TB_RODATA + 8); /* read-only */
	expect(ADY_ERR_ELF_RELOC);
	tb_u64(img, TB_RELA_ENT(2), TB_TEXT); /* code */
	expect(ADY_ERR_ELF_RELOC);
	tb_u64(img, TB_RELA_ENT(2), TB_DATA_VADDR + TB_DATA_MEMSZ - 4); /* straddles the end */
	expect(ADY_ERR_ELF_RELOC);
	tb_u64(img, TB_RELA_ENT(2), UINT64_MAX - 3);
	expect(ADY_ERR_ELF_RELOC);
	tb_u64(img, TB_RELA_ENT(2), TB_DATA_VADDR + TB_DATA_MEMSZ - 8); /* in .bss: fine */
	expect(ADY_OK);
}

static void set_dyn(unsigned slot, uint64_t tag, uint64_t val)
{
	tb_u64(img, TB_DYN(slot), tag);
	tb_u64(img, TB_DYN(slot) + 8, val);
}

static void test_dynamic(void **state)
{
	static const uint64_t bad_tags[][2] = {
		{ 1, 1 },           /* DT_NEEDED */
		{ 22, 0 },          /* DT_TEXTREL */
		{ 30, 4 },          /* DT_FLAGS = DF_TEXTREL */
		{ 17, 0x200 },      /* DT_REL */
		{ 18, 16 },         /* DT_RELSZ */
		{ 36, 0x200 },      /* DT_RELR */
		{ 2, 24 },          /* DT_PLTRELSZ */
		{ 0x6ffffffe, 0 },  /* DT_VERNEED */
		{ 0x60000123, 0 },  /* unknown OS tag */
		{ 7, 0x200 },       /* second DT_RELA */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++) {
		tb_build(img);
		set_dyn(TB_DYN_SPARE, bad_tags[i][0], bad_tags[i][1]);
		if (decode() != ADY_ERR_ELF_DYNAMIC)
			print_error("tag %#llx accepted\n", (unsigned long long)bad_tags[i][0]);
		expect(ADY_ERR_ELF_DYNAMIC);
	}
	/* harmless ones */
	tb_build(img);
	set_dyn(TB_DYN_SPARE, 30, 8); /* DT_FLAGS = DF_BIND_NOW */
	expect(ADY_OK);
	set_dyn(TB_DYN_SPARE, 18, 0); /* DT_RELSZ 0 */
	expect(ADY_OK);
}

static void test_dynamic_rela(void **state)
{
	(void)state;
	set_dyn(2, 9, 16); /* DT_RELAENT != 24 */
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	set_dyn(1, 8, 50); /* DT_RELASZ not a multiple */
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	set_dyn(0, 7, 0x9000); /* DT_RELA unmapped */
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	set_dyn(1, 8, 24 * 200); /* table past its segment */
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	set_dyn(0, 21, 0); /* DT_RELASZ without DT_RELA */
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	set_dyn(2, 21, 0); /* no DT_RELAENT */
	expect(ADY_ERR_ELF_DYNAMIC);
}

static void test_dynamic_placement(void **state)
{
	(void)state;
	/* no DT_NULL within the table */
	tb_u64(img, TB_PH(4) + TB_PH_FILESZ, 16 * 3);
	tb_u64(img, TB_PH(4) + TB_PH_MEMSZ, 16 * 3);
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	/* in a read-only segment */
	tb_phdr(img, 4, 2, 6, TB_RODATA, TB_RODATA, 0x40, 0x40, 8);
	expect(ADY_ERR_ELF_DYNAMIC);
	tb_build(img);
	/* vaddr and offset disagree */
	tb_u64(img, TB_PH(4) + TB_PH_OFFSET, TB_DATA_OFF + 16);
	expect(ADY_ERR_ELF_DYNAMIC);
}

static void test_no_dynamic(void **state)
{
	ady_elf e;

	(void)state;
	tb_u32(img, TB_PH(4) + TB_PH_TYPE, 0);
	assert_int_equal(ady_elf_decode(img, sizeof(img), &e), ADY_OK);
	assert_true(e.rela_count == 0);
}

static void test_missing_note(void **state)
{
	(void)state;
	img[TB_SHSTRTAB + TB_NAME_NOTE + 11] = 'X'; /* ".note.adytoX" */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u16(img, 60, 0); /* no section headers */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_SH(2) + 4, 1); /* SHT_PROGBITS */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u64(img, TB_SH(2) + 8, 2); /* SHF_ALLOC */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_SH(1), TB_NAME_NOTE); /* two sections of that name */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_SH(2), 0xfffffff0u); /* name outside .shstrtab */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u16(img, 62, 7); /* e_shstrndx out of range */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_SH(3) + 4, 1); /* .shstrtab not SHT_STRTAB */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u64(img, TB_SH(3) + 32, 12); /* .shstrtab cut before the name ends */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u64(img, TB_SH(2) + 24, TB_SIZE - 8); /* note past the file */
	expect(ADY_ERR_TRUNCATED);
}

static void test_note_contents(void **state)
{
	(void)state;
	tb_u32(img, TB_NOTE + 4, 100); /* descsz too small */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_NOTE + 4, ADY_META_SIZE + 4); /* larger than the section */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_NOTE + 8, 1); /* wrong note type */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	img[TB_NOTE + 12] = 'A'; /* wrong name */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	tb_u32(img, TB_NOTE, 6); /* namesz */
	expect(ADY_ERR_ELF_NO_META);
	tb_build(img);
	img[TB_NOTE + 19] = 1; /* name padding */
	expect(ADY_ERR_ELF_NO_META);
}

static void test_note_in_segment(void **state)
{
	(void)state;
	/* A descriptor inside loaded bytes would make signing change MRENCLAVE. */
	tb_u64(img, TB_PH(3) + TB_PH_FILESZ, 0x300);
	expect(ADY_ERR_ELF_NO_META);
}

static void test_load(void **state)
{
	ady_elf e;
	uint8_t *mem = malloc(0x6000);

	(void)state;
	assert_non_null(mem);
	assert_int_equal(ady_elf_decode(img, sizeof(img), &e), ADY_OK);
	memset(mem, 0xee, 0x6000);
	assert_int_equal(ady_elf_load(&e, img, sizeof(img), mem, TB_IMAGE_END - 1), ADY_ERR_RANGE);
	assert_int_equal(ady_elf_load(&e, img, sizeof(img), mem, 0x6000), ADY_OK);
	assert_memory_equal(mem, img, TB_SEG0_END);
	for (size_t i = TB_SEG0_END; i < 0x1000; i++)
		assert_int_equal(mem[i], 0);
	assert_memory_equal(mem + TB_TEXT, img + TB_TEXT, TB_TEXT_SIZE);
	assert_int_equal(mem[TB_TEXT + TB_TEXT_SIZE], 0);
	assert_memory_equal(mem + TB_RODATA, img + TB_RODATA, TB_RODATA_SIZE);
	/* head of the data segment's first page: zero, not file bytes */
	for (size_t i = 0x3000; i < TB_DATA_VADDR; i++)
		assert_int_equal(mem[i], 0);
	assert_memory_equal(mem + TB_DATA_VADDR, img + TB_DATA_OFF, TB_DATA_FILESZ);
	for (size_t i = TB_DATA_VADDR + TB_DATA_FILESZ; i < TB_IMAGE_END; i++)
		assert_int_equal(mem[i], 0);
	/* outside the segments' pages: untouched */
	assert_int_equal(mem[TB_IMAGE_END], 0xee);
	free(mem);
}

static void test_args(void **state)
{
	ady_elf e;

	(void)state;
	assert_int_equal(ady_elf_decode(NULL, 10, &e), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_elf_decode(img, sizeof(img), NULL), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_elf_decode(NULL, 0, &e), ADY_ERR_TRUNCATED);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid), T(test_sorted_segments), T(test_truncated), T(test_bad_magic),
		T(test_bad_class), T(test_bad_data), T(test_bad_version), T(test_bad_machine),
		T(test_exec), T(test_interp), T(test_tls), T(test_unknown_phdr), T(test_no_load),
		T(test_overlap), T(test_wx), T(test_past_2_36), T(test_filesz_gt_memsz),
		T(test_file_range), T(test_not_congruent), T(test_first_segment), T(test_entry),
		T(test_reloc_type), T(test_reloc_target), T(test_dynamic), T(test_dynamic_rela),
		T(test_dynamic_placement), T(test_no_dynamic), T(test_missing_note),
		T(test_note_contents), T(test_note_in_segment), T(test_load), T(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
