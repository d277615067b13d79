/*
 * elf.c - the enclave image parser (adyton/elf.h).
 *
 * Everything is read through bounded cursors over the caller's file; the
 * only state kept is the ady_elf summary.  Values are checked in the
 * order a reader of the file meets them, so each failure has the most
 * specific code adyton/elf.h documents.
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/elf.h"
#include "adyton/meta.h"
#include "adyton/sgx.h"
#include "internal.h"

/* ELF constants (System V gABI, x86-64 psABI) */
#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ELFOSABI_SYSV 0
#define ELFOSABI_GNU 3
#define ET_DYN 3
#define EM_X86_64 62
#define EHDR_SIZE 64u
#define PHDR_SIZE 56u
#define SHDR_SIZE 64u
#define PN_XNUM 0xffffu
#define SHN_XINDEX 0xffffu

#define PT_NULL 0u
#define PT_LOAD 1u
#define PT_DYNAMIC 2u
#define PT_INTERP 3u
#define PT_NOTE 4u
#define PT_SHLIB 5u
#define PT_PHDR 6u
#define PT_TLS 7u
#define PT_GNU_EH_FRAME 0x6474e550u
#define PT_GNU_STACK 0x6474e551u
#define PT_GNU_RELRO 0x6474e552u
#define PT_GNU_PROPERTY 0x6474e553u

#define PF_X 0x1u
#define PF_W 0x2u
#define PF_R 0x4u

#define SHT_STRTAB 3u
#define SHT_NOTE 7u
#define SHF_ALLOC 0x2ull

#define DT_NULL 0
#define DT_NEEDED 1
#define DT_PLTRELSZ 2
#define DT_PLTGOT 3
#define DT_HASH 4
#define DT_STRTAB 5
#define DT_SYMTAB 6
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define DT_STRSZ 10
#define DT_SYMENT 11
#define DT_INIT 12
#define DT_FINI 13
#define DT_SONAME 14
#define DT_RPATH 15
#define DT_SYMBOLIC 16
#define DT_REL 17
#define DT_RELSZ 18
#define DT_RELENT 19
#define DT_PLTREL 20
#define DT_DEBUG 21
#define DT_TEXTREL 22
#define DT_JMPREL 23
#define DT_BIND_NOW 24
#define DT_INIT_ARRAY 25
#define DT_FINI_ARRAY 26
#define DT_INIT_ARRAYSZ 27
#define DT_FINI_ARRAYSZ 28
#define DT_RUNPATH 29
#define DT_FLAGS 30
#define DT_PREINIT_ARRAY 32
#define DT_PREINIT_ARRAYSZ 33
#define DT_SYMTAB_SHNDX 34
#define DT_RELRSZ 35
#define DT_RELR 36
#define DT_RELRENT 37
#define DT_GNU_HASH 0x6ffffef5
#define DT_VERSYM 0x6ffffff0
#define DT_RELACOUNT 0x6ffffff9
#define DT_RELCOUNT 0x6ffffffa
#define DT_FLAGS_1 0x6ffffffb
#define DT_VERDEF 0x6ffffffc
#define DT_VERDEFNUM 0x6ffffffd
#define DT_VERNEED 0x6ffffffe
#define DT_VERNEEDNUM 0x6fffffff
#define DF_TEXTREL 0x4ull

#define RELA_SIZE 24u
#define R_X86_64_NONE 0u
#define R_X86_64_RELATIVE 8u

#define DYN_SIZE 16u
#define NOTE_NAME "adyton"
#define NOTE_NAMESZ 7u     /* "adyton\0" */
#define NOTE_NAME_PADDED 8u
#define NOTE_HDR 12u
#define META_SECTION ".note.adyton"

struct ehdr {
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

struct shdr {
	uint32_t name, type;
	uint64_t flags, offset, size;
};

struct dyninfo {
	bool have_rela, have_relasz, have_relaent;
	uint64_t rela, relasz, relaent, pltrelsz;
};

static ady_err read_ehdr(ady_cur *c, struct ehdr *e)
{
	uint8_t ident[EI_NIDENT];

	if (ady_cur_bytes(c, ident, 4))
		return ADY_ERR_TRUNCATED;
	if (memcmp(ident, "\177ELF", 4) != 0)
		return ADY_ERR_ELF_MAGIC;
	if (ady_cur_bytes(c, ident + 4, EI_NIDENT - 4))
		return ADY_ERR_TRUNCATED;
	if (ident[4] != ELFCLASS64 || ident[5] != ELFDATA2LSB || ident[6] != EV_CURRENT)
		return ADY_ERR_ELF_CLASS;
	/* GNU OSABI appears when a linker sees IFUNC or unique symbols; both
	 * are harmless here, anything else names an ABI adyton does not know. */
	if (ident[7] != ELFOSABI_SYSV && ident[7] != ELFOSABI_GNU)
		return ADY_ERR_ELF_CLASS;
	e->type = get_u16(c);
	e->machine = get_u16(c);
	e->version = get_u32(c);
	e->entry = get_u64(c);
	e->phoff = get_u64(c);
	e->shoff = get_u64(c);
	get_skip(c, 4); /* e_flags: x86-64 defines none */
	e->ehsize = get_u16(c);
	e->phentsize = get_u16(c);
	e->phnum = get_u16(c);
	e->shentsize = get_u16(c);
	e->shnum = get_u16(c);
	e->shstrndx = get_u16(c);
	if (ady_cur_err(c))
		return ADY_ERR_TRUNCATED;
	if (e->machine != EM_X86_64)
		return ADY_ERR_ELF_MACHINE;
	if (e->version != EV_CURRENT || e->ehsize != EHDR_SIZE)
		return ADY_ERR_ELF_CLASS;
	if (e->type != ET_DYN)
		return ADY_ERR_ELF_TYPE;
	return ADY_OK;
}

static void read_phdr(ady_cur *c, struct phdr *p)
{
	p->type = get_u32(c);
	p->flags = get_u32(c);
	p->offset = get_u64(c);
	p->vaddr = get_u64(c);
	get_skip(c, 8); /* p_paddr: meaningless for a PIE */
	p->filesz = get_u64(c);
	p->memsz = get_u64(c);
	p->align = get_u64(c);
}

static ady_err check_load(const struct phdr *p, size_t len, ady_elf_segment *s)
{
	uint64_t end;

	if (p->flags & ~(uint32_t)(PF_R | PF_W | PF_X))
		return ADY_ERR_ELF_PHDR;
	/* SGX (SDM 38.11.1): a writable page must be readable; and an
	 * unreadable segment is something no linker emits for us. */
	if (!(p->flags & PF_R))
		return ADY_ERR_ELF_PHDR;
	if ((p->flags & PF_W) && (p->flags & PF_X))
		return ADY_ERR_ELF_WX;
	if (p->align < ADY_PAGE_SIZE || (p->align & (p->align - 1)) != 0)
		return ADY_ERR_ELF_ALIGN;
	/* Pages are copied, not mmapped, but the page offsets must still
	 * agree or the file layout and the memory layout disagree. */
	if ((p->vaddr & ADY_PAGE_MASK) != (p->offset & ADY_PAGE_MASK))
		return ADY_ERR_ELF_ALIGN;
	if (p->memsz == 0 || p->filesz > p->memsz)
		return ADY_ERR_ELF_SEGMENT_RANGE;
	if (__builtin_add_overflow(p->offset, p->filesz, &end) || end > len)
		return ADY_ERR_ELF_SEGMENT_RANGE;
	if (__builtin_add_overflow(p->vaddr, p->memsz, &end) || end > ADY_ELF_MAX_VADDR)
		return ADY_ERR_ELF_SEGMENT_RANGE;
	s->vaddr = p->vaddr;
	s->memsz = p->memsz;
	s->offset = p->offset;
	s->filesz = p->filesz;
	s->perms = ADY_SECINFO_R;
	if (p->flags & PF_W)
		s->perms |= ADY_SECINFO_W;
	if (p->flags & PF_X)
		s->perms |= ADY_SECINFO_X;
	return ADY_OK;
}

/* The segment whose file-backed bytes hold [vaddr, vaddr+size), or NULL;
 * *off receives the file offset of vaddr. */
static const ady_elf_segment *file_segment(const ady_elf *elf, uint64_t vaddr, uint64_t size, uint64_t *off)
{
	uint64_t end;

	if (__builtin_add_overflow(vaddr, size, &end))
		return NULL;
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];

		if (vaddr >= s->vaddr && end <= s->vaddr + s->filesz) {
			*off = s->offset + (vaddr - s->vaddr);
			return s;
		}
	}
	return NULL;
}

/* True if [vaddr, vaddr+size) lies in a writable segment's memory. */
static bool in_writable(const ady_elf *elf, uint64_t vaddr, uint64_t size)
{
	uint64_t end;

	if (__builtin_add_overflow(vaddr, size, &end))
		return false;
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];

		if ((s->perms & ADY_SECINFO_W) && vaddr >= s->vaddr && end <= s->vaddr + s->memsz)
			return true;
	}
	return false;
}

static ady_err read_dynamic(const ady_cur *file, const ady_elf *elf, const struct phdr *dyn, struct dyninfo *d)
{
	const ady_elf_segment *s;
	uint64_t off;
	ady_cur c;

	/* The runtime walks _DYNAMIC in its own (writable) memory: the table
	 * must be file-backed there, at the offset the phdr claims. */
	s = file_segment(elf, dyn->vaddr, dyn->filesz, &off);
	if (!s || !(s->perms & ADY_SECINFO_W) || off != dyn->offset || dyn->filesz > dyn->memsz)
		return ADY_ERR_ELF_DYNAMIC;
	if (ady_cur_sub(file, dyn->offset, dyn->filesz, &c))
		return ADY_ERR_TRUNCATED;

	for (;;) {
		uint64_t tag, val;

		if (ady_cur_left(&c) < DYN_SIZE)
			return ADY_ERR_ELF_DYNAMIC; /* no DT_NULL: the runtime would run off */
		tag = get_u64(&c);
		val = get_u64(&c);
		switch (tag) {
		case DT_NULL:
			goto done;
		case DT_RELA:
			if (d->have_rela)
				return ADY_ERR_ELF_DYNAMIC;
			d->have_rela = true;
			d->rela = val;
			break;
		case DT_RELASZ:
			if (d->have_relasz)
				return ADY_ERR_ELF_DYNAMIC;
			d->have_relasz = true;
			d->relasz = val;
			break;
		case DT_RELAENT:
			d->have_relaent = true;
			d->relaent = val;
			break;
		case DT_PLTRELSZ:
			d->pltrelsz = val;
			break;
		case DT_JMPREL:
			break;
		case DT_RELSZ:
		case DT_RELRSZ:
			/* Zero sizes appear in some linker outputs and ask for nothing. */
			if (val != 0)
				return ADY_ERR_ELF_DYNAMIC;
			break;
		case DT_FLAGS:
			if (val & DF_TEXTREL)
				return ADY_ERR_ELF_DYNAMIC;
			break;
		/* Harmless: symbol tables and hashes (unused), init hooks the
		 * runtime does not run, markers and counts. */
		case DT_PLTGOT: case DT_HASH: case DT_STRTAB: case DT_SYMTAB:
		case DT_STRSZ: case DT_SYMENT: case DT_INIT: case DT_FINI:
		case DT_SONAME: case DT_RPATH: case DT_SYMBOLIC: case DT_RELENT:
		case DT_PLTREL: case DT_DEBUG: case DT_BIND_NOW: case DT_INIT_ARRAY:
		case DT_FINI_ARRAY: case DT_INIT_ARRAYSZ: case DT_FINI_ARRAYSZ:
		case DT_RUNPATH: case DT_PREINIT_ARRAY: case DT_PREINIT_ARRAYSZ:
		case DT_SYMTAB_SHNDX: case DT_RELRENT: case DT_GNU_HASH: case DT_VERSYM:
		case DT_RELACOUNT: case DT_RELCOUNT: case DT_FLAGS_1: case DT_VERDEF:
		case DT_VERDEFNUM:
			break;
		/* Libraries, text relocations, REL/RELR tables and version
		 * needs are things the runtime's RELA-only relocator cannot do. */
		case DT_NEEDED: case DT_TEXTREL: case DT_REL: case DT_RELR:
		case DT_VERNEED: case DT_VERNEEDNUM:
		default:
			return ADY_ERR_ELF_DYNAMIC;
		}
	}
done:
	/* PLT relocations (DT_JMPREL/DT_PLTRELSZ) need symbol lookup. */
	if (d->pltrelsz != 0)
		return ADY_ERR_ELF_DYNAMIC;
	return ADY_OK;
}

static ady_err check_relocs(const ady_cur *file, ady_elf *elf, const struct dyninfo *d)
{
	uint64_t off, n;
	ady_cur c;

	if (!d->have_rela && !d->have_relasz)
		return ADY_OK;
	if (!d->have_rela || !d->have_relasz || !d->have_relaent || d->relaent != RELA_SIZE)
		return ADY_ERR_ELF_DYNAMIC;
	if (d->relasz % RELA_SIZE != 0)
		return ADY_ERR_ELF_DYNAMIC;
	if (!file_segment(elf, d->rela, d->relasz, &off))
		return ADY_ERR_ELF_DYNAMIC;
	if (ady_cur_sub(file, off, d->relasz, &c))
		return ADY_ERR_TRUNCATED;
	n = d->relasz / RELA_SIZE;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r_offset, r_info;
		uint32_t type;

		r_offset = get_u64(&c);
		r_info = get_u64(&c);
		get_skip(&c, 8); /* the addend is the runtime's business */
		if (ady_cur_err(&c))
			return ADY_ERR_TRUNCATED;
		type = (uint32_t)r_info;
		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE || (r_info >> 32) != 0)
			return ADY_ERR_ELF_RELOC;
		/* A relocation into a read-only page would change measured
		 * code or constants after EINIT and could not be written. */
		if (!in_writable(elf, r_offset, 8))
			return ADY_ERR_ELF_RELOC;
		elf->rela_count++;
	}
	return ADY_OK;
}

static void read_shdr(ady_cur *c, struct shdr *s)
{
	s->name = get_u32(c);
	s->type = get_u32(c);
	s->flags = get_u64(c);
	get_skip(c, 8); /* sh_addr */
	s->offset = get_u64(c);
	s->size = get_u64(c);
	get_skip(c, SHDR_SIZE - 40);
}

/* True if strtab holds exactly name (NUL-terminated) at off. */
static bool name_is(const ady_cur *strtab, uint32_t off, const char *name)
{
	size_t n = strlen(name) + 1;
	char buf[sizeof(META_SECTION)];
	ady_cur c;

	if (n > sizeof(buf) || ady_cur_sub(strtab, off, n, &c) || ady_cur_bytes(&c, buf, n))
		return false;
	return memcmp(buf, name, n) == 0;
}

static ady_err find_meta(const ady_cur *file, const struct ehdr *e, ady_elf *elf)
{
	struct shdr sh, strsh, note = { 0 };
	ady_cur shtab, strtab, c;
	uint64_t tabsz, desc_off, end;
	uint32_t namesz, descsz, type;
	uint8_t name[NOTE_NAME_PADDED];
	bool found = false;

	if (e->shnum == 0 || e->shstrndx == 0 || e->shstrndx >= e->shnum)
		return ADY_ERR_ELF_NO_META;
	if (e->shentsize != SHDR_SIZE)
		return ADY_ERR_ELF_NO_META;
	tabsz = (uint64_t)e->shnum * SHDR_SIZE;
	if (ady_cur_sub(file, e->shoff, tabsz, &shtab))
		return ADY_ERR_TRUNCATED;

	if (ady_cur_seek(&shtab, (uint64_t)e->shstrndx * SHDR_SIZE))
		return ADY_ERR_TRUNCATED;
	read_shdr(&shtab, &strsh);
	if (strsh.type != SHT_STRTAB)
		return ADY_ERR_ELF_NO_META;
	if (ady_cur_sub(file, strsh.offset, strsh.size, &strtab))
		return ADY_ERR_TRUNCATED;

	if (ady_cur_seek(&shtab, 0))
		return ADY_ERR_TRUNCATED;
	for (unsigned i = 0; i < e->shnum; i++) {
		read_shdr(&shtab, &sh);
		if (!name_is(&strtab, sh.name, META_SECTION))
			continue;
		/* Two candidates would let the signer and the loader disagree
		 * about which one holds the signature. */
		if (found)
			return ADY_ERR_ELF_NO_META;
		found = true;
		note = sh;
	}
	if (ady_cur_err(&shtab))
		return ADY_ERR_TRUNCATED;
	if (!found)
		return ADY_ERR_ELF_NO_META;
	if (note.type != SHT_NOTE || (note.flags & SHF_ALLOC))
		return ADY_ERR_ELF_NO_META;
	if (ady_cur_sub(file, note.offset, note.size, &c))
		return ADY_ERR_TRUNCATED;
	namesz = get_u32(&c);
	descsz = get_u32(&c);
	type = get_u32(&c);
	get_bytes(&c, name, sizeof(name));
	if (ady_cur_err(&c))
		return ADY_ERR_ELF_NO_META;
	if (namesz != NOTE_NAMESZ || memcmp(name, NOTE_NAME "\0", NOTE_NAME_PADDED) != 0 ||
	    type != ADY_ELF_NOTE_META || descsz < ADY_META_SIZE || ady_cur_left(&c) < descsz)
		return ADY_ERR_ELF_NO_META;
	desc_off = note.offset + NOTE_HDR + NOTE_NAME_PADDED;
	/* If the descriptor were loaded, signing would change the measured
	 * bytes and no image could ever match its own SIGSTRUCT. */
	end = desc_off + descsz;
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];

		if (desc_off < s->offset + s->filesz && s->offset < end)
			return ADY_ERR_ELF_NO_META;
	}
	elf->meta_offset = desc_off;
	elf->meta_size = descsz;
	return ADY_OK;
}

static ady_err decode(const uint8_t *file, size_t len, ady_elf *elf)
{
	struct ehdr e;
	struct phdr p, dyn = { 0 };
	bool have_dyn = false;
	struct dyninfo d;
	uint64_t tabsz, end;
	ady_cur fc, c;
	ady_err err;

	ady_cur_init(&fc, file, len);
	c = fc;
	err = read_ehdr(&c, &e);
	if (err)
		return err;
	if (e.phentsize != PHDR_SIZE || e.phnum == 0 || e.phnum == PN_XNUM)
		return ADY_ERR_ELF_PHDR;
	tabsz = (uint64_t)e.phnum * PHDR_SIZE;
	if (ady_cur_sub(&fc, e.phoff, tabsz, &c))
		return ADY_ERR_TRUNCATED;

	for (unsigned i = 0; i < e.phnum; i++) {
		read_phdr(&c, &p);
		switch (p.type) {
		case PT_LOAD:
			if (elf->nseg == ADY_ELF_MAX_SEGMENTS)
				return ADY_ERR_ELF_PHDR;
			err = check_load(&p, len, &elf->seg[elf->nseg]);
			if (err)
				return err;
			elf->nseg++;
			break;
		case PT_DYNAMIC:
			if (have_dyn)
				return ADY_ERR_ELF_PHDR;
			have_dyn = true;
			dyn = p;
			break;
		case PT_INTERP:
			/* An interpreter means a dynamically linked program. */
			return ADY_ERR_ELF_TYPE;
		case PT_TLS:
			/* The runtime sets up no TLS block: %fs is its thread page. */
			return ADY_ERR_UNSUPPORTED;
		case PT_NULL:
		case PT_NOTE:
		case PT_PHDR:
		case PT_GNU_EH_FRAME:
		/* The enclave stack is always RW and never executable,
		 * whatever PT_GNU_STACK asks for. */
		case PT_GNU_STACK:
		/* Left writable: pages keep their EADD permissions. */
		case PT_GNU_RELRO:
		case PT_GNU_PROPERTY:
			break;
		case PT_SHLIB:
		default:
			return ADY_ERR_ELF_PHDR;
		}
	}
	if (ady_cur_err(&c))
		return ADY_ERR_TRUNCATED;
	if (elf->nseg == 0)
		return ADY_ERR_ELF_PHDR;

	/* gABI wants PT_LOADs sorted already; sorting (insertion, n <= 16)
	 * makes the overlap check below a check of neighbours. */
	for (uint32_t i = 1; i < elf->nseg; i++) {
		ady_elf_segment s = elf->seg[i];
		uint32_t j = i;

		for (; j > 0 && elf->seg[j - 1].vaddr > s.vaddr; j--)
			elf->seg[j] = elf->seg[j - 1];
		elf->seg[j] = s;
	}
	/* EADD works on whole pages with one permission each: two segments
	 * in one page would force one of them to take the other's rights. */
	for (uint32_t i = 0; i + 1 < elf->nseg; i++) {
		if (page_up(elf->seg[i].vaddr + elf->seg[i].memsz) > page_down(elf->seg[i + 1].vaddr))
			return ADY_ERR_ELF_OVERLAP;
	}
	/* The runtime finds its own headers at enclave offset 0. */
	if (elf->seg[0].vaddr != 0 || elf->seg[0].offset != 0 ||
	    __builtin_add_overflow(e.phoff, tabsz, &end) || end > elf->seg[0].filesz || elf->seg[0].filesz < EHDR_SIZE)
		return ADY_ERR_ELF_PHDR;

	elf->entry = e.entry;
	elf->phoff = e.phoff;
	elf->phnum = e.phnum;
	elf->image_end = page_up(elf->seg[elf->nseg - 1].vaddr + elf->seg[elf->nseg - 1].memsz);

	err = ADY_ERR_ELF_ENTRY;
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];

		if ((s->perms & ADY_SECINFO_X) && e.entry >= s->vaddr && e.entry - s->vaddr < s->memsz)
			err = ADY_OK;
	}
	if (err)
		return err;

	memset(&d, 0, sizeof(d));
	if (have_dyn) {
		err = read_dynamic(&fc, elf, &dyn, &d);
		if (err)
			return err;
		err = check_relocs(&fc, elf, &d);
		if (err)
			return err;
	}
	return find_meta(&fc, &e, elf);
}

/* see adyton/elf.h */
ady_err ady_elf_decode(const uint8_t *file, size_t len, ady_elf *out)
{
	ady_elf elf;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!file && len)
		return ADY_ERR_INVALID_ARG;
	memset(&elf, 0, sizeof(elf));
	err = decode(file, len, &elf);
	if (err)
		return err;
	*out = elf;
	return ADY_OK;
}

/* see adyton/elf.h */
ady_err ady_elf_load(const ady_elf *elf, const uint8_t *file, size_t len, uint8_t *mem, uint64_t mem_size)
{
	uint64_t end;

	if (!elf || !mem || (!file && len) || elf->nseg > ADY_ELF_MAX_SEGMENTS)
		return ADY_ERR_INVALID_ARG;
	if (elf->image_end > mem_size)
		return ADY_ERR_RANGE;
	/* Check everything before writing anything: *elf is the caller's. */
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];

		if (s->filesz > s->memsz || __builtin_add_overflow(s->offset, s->filesz, &end) || end > len)
			return ADY_ERR_RANGE;
		if (__builtin_add_overflow(s->vaddr, s->memsz, &end) || end > ADY_ELF_MAX_VADDR ||
		    page_up(end) > mem_size)
			return ADY_ERR_RANGE;
	}
	for (uint32_t i = 0; i < elf->nseg; i++) {
		const ady_elf_segment *s = &elf->seg[i];
		uint64_t lo = page_down(s->vaddr);
		uint64_t hi = page_up(s->vaddr + s->memsz);
		uint64_t fend = s->vaddr + s->filesz;

		/* Head and tail of the segment's pages are zero, not whatever
		 * neighbouring file bytes an mmap would have shown. */
		memset(mem + lo, 0, (size_t)(s->vaddr - lo));
		if (s->filesz)
			memcpy(mem + s->vaddr, file + s->offset, (size_t)s->filesz);
		memset(mem + fend, 0, (size_t)(hi - fend));
	}
	return ADY_OK;
}
