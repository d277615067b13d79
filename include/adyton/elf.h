/*
 * adyton/elf.h - the enclave image parser (ELF64 static-PIE, x86-64).
 *
 * Pure and freestanding-safe: it reads the file bytes the caller holds
 * through a bounded cursor, allocates nothing, and keeps pointers into the
 * caller's buffer only for the meta note (which must outlive *out).
 *
 * What an enclave image must be (each failure has its own code):
 *  - ELF64, little-endian, EV_CURRENT, x86-64               (ELF_MAGIC/CLASS/MACHINE)
 *  - ET_DYN with no PT_INTERP (static-PIE linked at base 0)  (ELF_TYPE)
 *  - 1..ADY_ELF_MAX_SEGMENTS PT_LOAD segments; p_align a power of two
 *    >= 4096; p_vaddr == p_offset mod 4096; p_filesz <= p_memsz; file
 *    ranges inside the file; every byte of every segment below
 *    ADY_ELF_MAX_VADDR (2^36); all ranges computed overflow-safe
 *                                                            (ELF_ALIGN / ELF_SEGMENT_RANGE)
 *  - no two segments touch the same 4 KiB page               (ELF_OVERLAP)
 *  - no segment both PF_W and PF_X                           (ELF_WX)
 *  - the first PT_LOAD starts at vaddr 0 / offset 0 and covers the ELF
 *    header and the program headers (the runtime reads them) (ELF_PHDR)
 *  - e_entry inside an executable segment                   (ELF_ENTRY)
 *  - PT_DYNAMIC, if present: inside a loaded writable segment; no
 *    DT_NEEDED, DT_REL/DT_RELR, DT_JMPREL with size, DT_TEXTREL; DT_RELAENT 24;
 *    every RELA entry R_X86_64_RELATIVE (or NONE) with symbol 0 whose
 *    8 target bytes lie in a writable segment                (ELF_DYNAMIC / ELF_RELOC)
 *  - a section named ".note.adyton" (SHT_NOTE, not SHF_ALLOC) holding one
 *    ELF note, name "adyton", type ADY_ELF_NOTE_META, whose descriptor is
 *    at least ADY_META_SIZE bytes                            (ELF_NO_META)
 */
#ifndef ADYTON_ELF_H
#define ADYTON_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_ELF_MAX_SEGMENTS 16u
#define ADY_ELF_MAX_VADDR (1ull << 36)
#define ADY_ELF_NOTE_META 0x41445931u /* "ADY1" */

typedef struct ady_elf_segment {
	uint64_t vaddr;   /* as in the phdr (not page aligned) */
	uint64_t memsz;
	uint64_t offset;  /* file offset */
	uint64_t filesz;
	uint64_t perms;   /* ADY_SECINFO_R/W/X from p_flags */
} ady_elf_segment;

typedef struct ady_elf {
	uint64_t entry;              /* e_entry, an enclave offset */
	uint64_t phoff;              /* e_phoff */
	uint16_t phnum;
	uint32_t nseg;
	ady_elf_segment seg[ADY_ELF_MAX_SEGMENTS]; /* PT_LOADs, sorted by vaddr */
	uint64_t image_end;          /* page-aligned end of the highest segment */
	uint64_t rela_count;         /* number of RELATIVE relocations */
	uint64_t meta_offset;        /* file offset of the note descriptor */
	uint64_t meta_size;          /* its size (>= ADY_META_SIZE) */
} ady_elf;

/* Parses and validates file[0, len).  On failure *out is zeroed. */
ADY_MUST_CHECK ady_err ady_elf_decode(const uint8_t *file, size_t len, ady_elf *out);

/*
 * Copies the loadable bytes of the image into mem, which covers enclave
 * offsets [0, mem_size): for each segment, file bytes [offset, offset+filesz)
 * at vaddr, zero for the rest of each segment page.  Bytes outside the
 * segments' pages are not touched.  ADY_ERR_RANGE if mem_size < image_end.
 * file/len must be the buffer *elf was decoded from.
 */
ADY_MUST_CHECK ady_err ady_elf_load(const ady_elf *elf, const uint8_t *file, size_t len,
				    uint8_t *mem, uint64_t mem_size);

#ifdef __cplusplus
}
#endif
#endif
