/*
 * The guest's memory plan and its platform pages: GDT, IDT, TSS and guest
 * code (read-only memslot), page tables (writable memslot, unmapped in the
 * guest); see kvm.h.  Pure computation over the
 * measured layout: no KVM here, so tests can walk the result.
 */
#include <string.h>

#include "adyton/sgx.h"
#include "backend/kvm/kvm.h"
#include "backend/map.h"

#define MIB2 (2ull << 20)

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* see kvm.h */
uint64_t ady_kvm_pml4_gpa(void) { return ADY_KVM_PLAT_GPA + ADY_KVM_PT_PAGE * ADY_KVM_PAGE; }

/* see kvm.h */
uint64_t ady_kvm_scratch_top(const ady_kvm_plan *p, uint32_t vcpu)
{
	return p->rw_gpa + ((uint64_t)vcpu * ADY_KVM_VCPU_PAGES + ADY_KVM_SCRATCH_PAGE + 1) * ADY_KVM_PAGE;
}

/* see kvm.h */
uint64_t ady_kvm_exc_top(const ady_kvm_plan *p, uint32_t vcpu)
{
	return p->rw_gpa + ((uint64_t)vcpu * ADY_KVM_VCPU_PAGES + ADY_KVM_EXC_PAGE + 1) * ADY_KVM_PAGE;
}

static void add_map(ady_kvm_plan *p, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags)
{
	ady_kvm_map *m = &p->maps[p->nmaps++];

	m->gva = gva;
	m->gpa = gpa;
	m->size = size;
	m->flags = flags;
}

/* Upper bound of the table pages one map needs at each level below the PML4. */
static uint64_t tables_for(const ady_kvm_map *m)
{
	uint64_t last = m->gva + m->size - 1, n = 0;

	for (unsigned shift = 21; shift <= 39; shift += 9)
		n += (last >> shift) - (m->gva >> shift) + 1;
	return n;
}

/* PTE flags for a page with this SECINFO: SDM rules of ady_map_prot. */
static uint64_t pte_flags(uint64_t secinfo)
{
	uint64_t f = 0;

	if ((secinfo & ADY_SECINFO_PT_MASK) == ADY_SECINFO_PT_TCS)
		return ADY_PTE_NX; /* read-only: the entry stub reads OFSBASE */
	if (secinfo & ADY_SECINFO_W)
		f |= ADY_PTE_W;
	if (!(secinfo & ADY_SECINFO_X))
		f |= ADY_PTE_NX;
	return f;
}

/* see kvm.h */
ady_err ady_kvm_plan_build(const ady_layout *l, uint32_t phys_bits, ady_kvm_plan *p)
{
	uint64_t code_gva = ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE, tables = 1, end;

	memset(p, 0, sizeof(*p));
	if (l->threads == 0 || l->threads > ADY_MAX_THREADS || l->size == 0 || l->size > ADY_KVM_MAX_ENCLAVE ||
	    l->msbuf_size == 0 || l->msbuf_size % ADY_KVM_PAGE || phys_bits < 32 || phys_bits > 52)
		return ADY_ERR_LAYOUT;
	p->layout = *l;
	p->threads = l->threads;
	p->enclave_size = l->size;
	p->enclave_used = ady_map_used(l);
	p->msbuf_size = l->msbuf_size;
	p->rw_size = (uint64_t)l->threads * ADY_KVM_VCPU_PAGES * ADY_KVM_PAGE;
	/* the channel (backend/channel.h); <= 4096 + 64 * 2^28: no overflow */
	p->ms_size = ADY_KVM_MS_GVA - ADY_KVM_CTL_GVA + (uint64_t)l->threads * l->msbuf_size;

	/* Platform pages the guest sees: read-only, only the code executable. */
	add_map(p, ADY_KVM_PLAT_GPA + ADY_KVM_GDT_PAGE * ADY_KVM_PAGE, ADY_KVM_PLAT_GPA + ADY_KVM_GDT_PAGE * ADY_KVM_PAGE,
		ADY_KVM_PAGE, ADY_PTE_NX);
	add_map(p, ADY_KVM_PLAT_GPA + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE, ADY_KVM_PLAT_GPA + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE,
		ADY_KVM_PAGE, ADY_PTE_NX);
	add_map(p, ADY_KVM_PLAT_GPA + ADY_KVM_TSS_PAGE * ADY_KVM_PAGE, ADY_KVM_PLAT_GPA + ADY_KVM_TSS_PAGE * ADY_KVM_PAGE,
		2 * ADY_KVM_PAGE, ADY_PTE_NX);
	add_map(p, code_gva, code_gva, ADY_KVM_PAGE, 0);
	/* The enclave, from the measured SECINFO. */
	for (uint32_t i = 0; i < l->nregions; i++) {
		const ady_region *r = &l->region[i];
		if (!(r->secinfo & (ADY_SECINFO_R | ADY_SECINFO_W | ADY_SECINFO_X)) &&
		    (r->secinfo & ADY_SECINFO_PT_MASK) != ADY_SECINFO_PT_TCS)
			continue;
		add_map(p, ADY_KVM_ENCLAVE_GVA + r->offset, r->offset, r->size, pte_flags(r->secinfo));
	}
	for (uint32_t i = 0; i < p->nmaps; i++)
		tables += tables_for(&p->maps[i]);
	/* the vCPU stacks and the slots, whose GPAs depend on the table count */
	tables += 2ull * l->threads * 3 + 3 * ((p->ms_size >> 21) + 2) + 3;
	if (tables > (1u << 24))
		return ADY_ERR_LAYOUT;
	p->pt_pages = (uint32_t)tables;
	p->ro_size = ADY_KVM_PT_PAGE * ADY_KVM_PAGE;
	p->pt_gpa = ADY_KVM_PLAT_GPA + p->ro_size;
	p->pt_size = tables * ADY_KVM_PAGE;
	p->plat_size = p->ro_size + p->pt_size;
	p->rw_gpa = align_up(ADY_KVM_PLAT_GPA + p->plat_size, MIB2);
	p->ms_gpa = align_up(p->rw_gpa + p->rw_size, MIB2);
	p->counts_gpa = align_up(p->ms_gpa + p->ms_size, MIB2);
	p->enclave_gpa = align_up(p->counts_gpa + ADY_KVM_PAGE, MIB2);
	end = p->enclave_gpa + p->enclave_used;
	if (end > (1ull << phys_bits))
		return ADY_ERR_LAYOUT;
	for (uint32_t i = 0; i < p->nmaps; i++)
		if (p->maps[i].gva >= ADY_KVM_ENCLAVE_GVA)
			p->maps[i].gpa += p->enclave_gpa;
	for (uint32_t i = 0; i < l->threads; i++) {
		add_map(p, ady_kvm_scratch_top(p, i) - ADY_KVM_PAGE, ady_kvm_scratch_top(p, i) - ADY_KVM_PAGE,
			ADY_KVM_PAGE, ADY_PTE_W | ADY_PTE_NX);
		add_map(p, ady_kvm_exc_top(p, i) - ADY_KVM_PAGE, ady_kvm_exc_top(p, i) - ADY_KVM_PAGE, ADY_KVM_PAGE,
			ADY_PTE_W | ADY_PTE_NX);
	}
	add_map(p, ADY_KVM_CTL_GVA, p->ms_gpa, p->ms_size, ADY_PTE_W | ADY_PTE_NX);
	add_map(p, ADY_KVM_COUNTS_GVA, p->counts_gpa, ADY_KVM_PAGE, ADY_PTE_W | ADY_PTE_NX);
	return ADY_OK;
}

typedef struct {
	uint8_t *plat;
	uint32_t next, limit; /* page-table pages handed out / reserved */
} pt_alloc;

/* The entry at index of the table at gpa, creating the next level. */
static ady_err descend(pt_alloc *a, uint64_t table_gpa, unsigned index, uint64_t *next_gpa)
{
	uint8_t *e = a->plat + (table_gpa - ADY_KVM_PLAT_GPA) + 8u * index;
	uint64_t v = get64(e);

	if (!(v & ADY_PTE_P)) {
		if (a->next >= a->limit)
			return ADY_ERR_LAYOUT;
		v = (ADY_KVM_PLAT_GPA + (ADY_KVM_PT_PAGE + (uint64_t)a->next++) * ADY_KVM_PAGE) | ADY_PTE_P |
		    ADY_PTE_W | ADY_PTE_A;
		put64(e, v);
	}
	*next_gpa = v & ADY_PTE_ADDR;
	return ADY_OK;
}

static ady_err map_page(pt_alloc *a, uint64_t gva, uint64_t gpa, uint64_t flags)
{
	uint64_t t = ady_kvm_pml4_gpa();
	ady_err err;

	for (unsigned shift = 39; shift > 12; shift -= 9) {
		err = descend(a, t, (unsigned)(gva >> shift) & 511u, &t);
		if (err)
			return err;
	}
	/* Accessed and dirty preset: the walker has no bits to set. */
	put64(a->plat + (t - ADY_KVM_PLAT_GPA) + 8u * ((gva >> 12) & 511u),
	      gpa | ADY_PTE_P | ADY_PTE_A | ADY_PTE_D | (flags & (ADY_PTE_W | ADY_PTE_NX)));
	return ADY_OK;
}

static uint64_t seg_desc(uint64_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffull) | (base & 0xffffffull) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 | ((base >> 24) & 0xff) << 56;
}

/* see kvm.h */
ady_err ady_kvm_platform_fill(const ady_kvm_plan *p, uint8_t *plat)
{
	uint8_t *gdt = plat + ADY_KVM_GDT_PAGE * ADY_KVM_PAGE, *idt = plat + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE;
	uint64_t code_gva = ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE;
	uint64_t tss0 = ADY_KVM_PLAT_GPA + ADY_KVM_TSS_PAGE * ADY_KVM_PAGE;
	size_t blob = (size_t)(ady_kvm_guest_end - ady_kvm_guest_start);
	uint64_t vectors = code_gva + (uint64_t)(ady_kvm_guest_vectors - ady_kvm_guest_start);
	pt_alloc a = {.plat = plat, .next = 1, .limit = p->pt_pages};
	ady_err err;

	if (blob > ADY_KVM_PAGE || p->threads > ADY_MAX_THREADS)
		return ADY_ERR_LAYOUT;
	/* Accessed bits preset (type 0xb code, 0x3 data, 0xb busy TSS): the
	 * processor would otherwise write them into the read-only slot. */
	put64(gdt + ADY_KVM_SEL_CODE, seg_desc(0, 0xfffff, 0x9b, 0xa)); /* P, S, code RX; G, L */
	put64(gdt + ADY_KVM_SEL_DATA, seg_desc(0, 0xfffff, 0x93, 0xc)); /* P, S, data RW; G, D/B */
	put64(gdt + ADY_KVM_SEL_TSS, seg_desc(tss0, ADY_KVM_TSS_SIZE - 1, 0x8b, 0));
	put64(gdt + ADY_KVM_SEL_TSS + 8, tss0 >> 32);
	for (uint32_t v = 0; v < ADY_KVM_VECTORS; v++) {
		uint64_t off = vectors + (uint64_t)v * ADY_KVM_VECTOR_STUB;
		/* 64-bit interrupt gate (type 0xe, P, DPL 0) on IST 1 (SDM 6.14.1) */
		put64(idt + 16u * v, (off & 0xffff) | (uint64_t)ADY_KVM_SEL_CODE << 16 | 1ull << 32 | 0x8eull << 40 |
					     ((off >> 16) & 0xffff) << 48);
		put64(idt + 16u * v + 8, off >> 32);
	}
	for (uint32_t i = 0; i < p->threads; i++) {
		uint8_t *tss = plat + ADY_KVM_TSS_PAGE * ADY_KVM_PAGE + (size_t)i * ADY_KVM_TSS_SIZE;
		put64(tss + 0x24, ady_kvm_exc_top(p, i)); /* IST1 */
		tss[0x66] = 0x68;                         /* I/O map base past the limit: no bitmap */
	}
	memcpy(plat + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE, ady_kvm_guest_start, blob);
	for (uint32_t i = 0; i < p->nmaps; i++) {
		const ady_kvm_map *m = &p->maps[i];
		for (uint64_t off = 0; off < m->size; off += ADY_KVM_PAGE) {
			err = map_page(&a, m->gva + off, m->gpa + off, m->flags);
			if (err)
				return err;
		}
	}
	return ADY_OK;
}

/* see kvm.h */
bool ady_kvm_walk(const uint8_t *plat, uint64_t plat_size, uint64_t gva, uint64_t *gpa, uint64_t *flags)
{
	uint64_t t = ady_kvm_pml4_gpa(), w = ADY_PTE_W, nx = 0, v = 0;

	for (unsigned shift = 39; shift >= 12; shift -= 9) {
		uint64_t off = t - ADY_KVM_PLAT_GPA + 8u * ((gva >> shift) & 511u);
		if (t < ADY_KVM_PLAT_GPA || off + 8 > plat_size)
			return false;
		v = get64(plat + off);
		if (!(v & ADY_PTE_P))
			return false;
		w &= v;
		nx |= v & ADY_PTE_NX;
		t = v & ADY_PTE_ADDR;
	}
	*gpa = t | (gva & 0xfff);
	*flags = (w & ADY_PTE_W) | nx;
	return true;
}
