/*
 * tests/unit/elf_builder.h - a synthetic enclave image for the format
 * tests and the fuzz seed: shaped like what
 *   gcc -nostdlib -static-pie -Wl,-z,norelro,-z,separate-code,-z,max-page-size=4096
 * produces (R headers+RELA at 0, R+X text, R rodata, RW data+bss with
 * _DYNAMIC at a non-aligned, page-congruent address), plus section headers
 * with .shstrtab and a zero-filled .note.adyton.  Tests patch fields at the
 * offsets below to build each invalid variant.
 */
#ifndef ADYTON_TEST_ELF_BUILDER_H
#define ADYTON_TEST_ELF_BUILDER_H

#include <stdint.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/elf.h"
#include "adyton/meta.h"

#define TB_PHNUM 7u
#define TB_PH(i) (64u + 56u * (i))          /* program header i */
#define TB_PH_TYPE 0u
#define TB_PH_FLAGS 4u
#define TB_PH_OFFSET 8u
#define TB_PH_VADDR 16u
#define TB_PH_FILESZ 32u
#define TB_PH_MEMSZ 40u
#define TB_PH_ALIGN 48u
#define TB_RELA 0x200u                      /* .rela.dyn, file == vaddr */
#define TB_NRELA 3u
#define TB_RELA_ENT(i) (TB_RELA + 24u * (i))
#define TB_SEG0_END (TB_RELA + 24u * TB_NRELA)
#define TB_TEXT 0x1000u
#define TB_TEXT_SIZE 0x100u
#define TB_ENTRY 0x1010u
#define TB_RODATA 0x2000u
#define TB_RODATA_SIZE 0x80u
#define TB_DATA_OFF 0x26a0u                 /* RW segment: file offset */
#define TB_DATA_VADDR 0x36a0u               /* ... and vaddr (page-congruent) */
#define TB_DATA_FILESZ 0x200u
#define TB_DATA_MEMSZ 0x1000u
#define TB_NDYN 8u
#define TB_DYN(i) (TB_DATA_OFF + 16u * (i)) /* file offset of dynamic entry i */
#define TB_DYN_SPARE 5u                     /* a DT_DEBUG slot tests may reuse */
#define TB_RELOC_TARGET 0x3800u
#define TB_NOTE 0x2900u
#define TB_NOTE_SIZE (20u + ADY_META_SIZE)
#define TB_META (TB_NOTE + 20u)
#define TB_SHSTRTAB 0x3120u
#define TB_SHOFF 0x3140u
#define TB_SHNUM 4u
#define TB_SH(i) (TB_SHOFF + 64u * (i))
#define TB_SIZE (TB_SHOFF + 64u * TB_SHNUM)
#define TB_IMAGE_END 0x5000u

static const char tb_shstrtab[] = "\0.shstrtab\0.note.adyton\0.text"; /* 30 bytes with the final NUL */
#define TB_NAME_SHSTRTAB 1u
#define TB_NAME_NOTE 11u
#define TB_NAME_TEXT 24u

static inline void tb_u16(uint8_t *b, size_t off, uint16_t v) { ady_put_u16le(b + off, v); }
static inline void tb_u32(uint8_t *b, size_t off, uint32_t v) { ady_put_u32le(b + off, v); }
static inline void tb_u64(uint8_t *b, size_t off, uint64_t v) { ady_put_u64le(b + off, v); }

static inline void tb_phdr(uint8_t *b, unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
			   uint64_t filesz, uint64_t memsz, uint64_t align)
{
	size_t p = TB_PH(i);

	tb_u32(b, p + TB_PH_TYPE, type);
	tb_u32(b, p + TB_PH_FLAGS, flags);
	tb_u64(b, p + TB_PH_OFFSET, off);
	tb_u64(b, p + TB_PH_VADDR, vaddr);
	tb_u64(b, p + 24, vaddr);
	tb_u64(b, p + TB_PH_FILESZ, filesz);
	tb_u64(b, p + TB_PH_MEMSZ, memsz);
	tb_u64(b, p + TB_PH_ALIGN, align);
}

static inline void tb_shdr(uint8_t *b, unsigned i, uint32_t name, uint32_t type, uint64_t flags, uint64_t addr,
			   uint64_t off, uint64_t size)
{
	size_t p = TB_SH(i);

	tb_u32(b, p, name);
	tb_u32(b, p + 4, type);
	tb_u64(b, p + 8, flags);
	tb_u64(b, p + 16, addr);
	tb_u64(b, p + 24, off);
	tb_u64(b, p + 32, size);
	tb_u64(b, p + 48, 1);
}

/* Writes the valid image into b[0, TB_SIZE); returns TB_SIZE. */
static inline size_t tb_build(uint8_t b[TB_SIZE])
{
	static const uint64_t dyn[TB_NDYN][2] = {
		{ 7, TB_RELA },                 /* DT_RELA */
		{ 8, 24u * TB_NRELA },          /* DT_RELASZ */
		{ 9, 24 },                      /* DT_RELAENT */
		{ 0x6ffffff9, TB_NRELA },       /* DT_RELACOUNT */
		{ 0x6ffffffb, 0x08000000 },     /* DT_FLAGS_1 = DF_1_PIE */
		{ 21, 0 },                      /* DT_DEBUG (spare slot) */
		{ 0, 0 },                       /* DT_NULL */
		{ 0, 0 },
	};

	memset(b, 0, TB_SIZE);
	memcpy(b, "\177ELF\2\1\1", 7);
	tb_u16(b, 16, 3);                       /* ET_DYN */
	tb_u16(b, 18, 62);                      /* EM_X86_64 */
	tb_u32(b, 20, 1);
	tb_u64(b, 24, TB_ENTRY);
	tb_u64(b, 32, 64);                      /* e_phoff */
	tb_u64(b, 40, TB_SHOFF);
	tb_u16(b, 52, 64);
	tb_u16(b, 54, 56);
	tb_u16(b, 56, TB_PHNUM);
	tb_u16(b, 58, 64);
	tb_u16(b, 60, TB_SHNUM);
	tb_u16(b, 62, 3);                       /* e_shstrndx */

	tb_phdr(b, 0, 1, 4, 0, 0, TB_SEG0_END, TB_SEG0_END, 0x1000);
	tb_phdr(b, 1, 1, 5, TB_TEXT, TB_TEXT, TB_TEXT_SIZE, TB_TEXT_SIZE, 0x1000);
	tb_phdr(b, 2, 1, 4, TB_RODATA, TB_RODATA, TB_RODATA_SIZE, TB_RODATA_SIZE, 0x1000);
	tb_phdr(b, 3, 1, 6, TB_DATA_OFF, TB_DATA_VADDR, TB_DATA_FILESZ, TB_DATA_MEMSZ, 0x1000);
	tb_phdr(b, 4, 2, 6, TB_DATA_OFF, TB_DATA_VADDR, 16u * TB_NDYN, 16u * TB_NDYN, 8);
	tb_phdr(b, 5, 0x6474e551, 6, 0, 0, 0, 0, 16); /* PT_GNU_STACK */
	/* phdr 6 stays PT_NULL: a slot for tests */

	for (unsigned i = 0; i < TB_NRELA; i++) {
		tb_u64(b, TB_RELA_ENT(i), TB_RELOC_TARGET + 8u * i);
		tb_u64(b, TB_RELA_ENT(i) + 8, 8);     /* R_X86_64_RELATIVE, sym 0 */
		tb_u64(b, TB_RELA_ENT(i) + 16, 0x1000u * (i + 1));
	}
	for (unsigned i = 0; i < TB_TEXT_SIZE; i++)
		b[TB_TEXT + i] = (uint8_t)(0xc0 + i % 16);
	for (unsigned i = 0; i < TB_RODATA_SIZE; i++)
		b[TB_RODATA + i] = (uint8_t)i;
	for (unsigned i = 0; i < TB_NDYN; i++) {
		tb_u64(b, TB_DYN(i), dyn[i][0]);
		tb_u64(b, TB_DYN(i) + 8, dyn[i][1]);
	}
	for (unsigned i = 16u * TB_NDYN; i < TB_DATA_FILESZ; i++)
		b[TB_DATA_OFF + i] = (uint8_t)(0x5a ^ i);

	tb_u32(b, TB_NOTE, 7);
	tb_u32(b, TB_NOTE + 4, ADY_META_SIZE);
	tb_u32(b, TB_NOTE + 8, ADY_ELF_NOTE_META);
	memcpy(b + TB_NOTE + 12, "adyton", 7);

	memcpy(b + TB_SHSTRTAB, tb_shstrtab, sizeof(tb_shstrtab));
	tb_shdr(b, 1, TB_NAME_TEXT, 1, 6, TB_TEXT, TB_TEXT, TB_TEXT_SIZE);
	tb_shdr(b, 2, TB_NAME_NOTE, 7, 0, 0, TB_NOTE, TB_NOTE_SIZE);
	tb_shdr(b, 3, TB_NAME_SHSTRTAB, 3, 0, 0, TB_SHSTRTAB, sizeof(tb_shstrtab));
	return TB_SIZE;
}

#endif
