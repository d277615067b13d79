/*
 * src/backend/kvm/kvm.h - the kvm backend's enclave host (adyton-kvm-host):
 * one VM per enclave, one vCPU per thread slot, the enclave in guest ring 0
 * (HyperEnclave's privileged enclave mode).
 *
 * Guest memory (guest-physical = GPA, guest-virtual = GVA):
 *
 *   platform, read-only memslot   GPA = GVA = ADY_KVM_PLAT_GPA
 *     page 0        GDT (code 0x08, data 0x10, TSS 0x18), accessed bits preset
 *     page 1        IDT: vectors 0..31, interrupt gates on IST 1
 *     pages 2, 3    one 128-byte TSS per vCPU (only IST1 is used)
 *     page 4        guest code (guest.S): exception stubs and the return trampoline
 *   page tables, writable memslot right after it (page 5 ...): not mapped
 *                 at any guest-virtual address
 *   platform, writable memslot    per vCPU 4 pages: [guard] scratch stack [guard] exception stack
 *   channel                       the application's channel memfd (backend/channel.h):
 *                                 its control page at GVA ADY_KVM_CTL_GVA, the marshalling
 *                                 slots right after it at ADY_KVM_MS_GVA; read/write, never
 *                                 executable (the vCPUs wait on their doorbells in guest
 *                                 mode: guest.h)
 *   counters                      one page at GVA ADY_KVM_COUNTS_GVA (a guard page below the
 *                                 control page): page 1 of the enclave's counters
 *                                 (backend/hostmain.h), where the serve loop counts the
 *                                 ECALLs it takes; read/write, never executable
 *   enclave                       GVA ADY_KVM_ENCLAVE_GVA, pages and permissions from the
 *                                 measured SECINFO; guards and the power-of-two tail unmapped
 *
 * The page tables cannot be in the read-only memslot: with nested paging
 * (AMD NPT, Intel EPT with A/D bits) the processor's walk of the guest's
 * own tables counts as a write at the nested level whatever the A/D bits
 * say, so every walk would become an MMIO exit and KVM would end up
 * emulating the guest until an instruction it cannot emulate.  They live
 * in a writable memslot that no guest-virtual address maps, so the
 * enclave's code cannot address them.  The read-only memslot keeps the
 * GDT, IDT, TSSs and the exception stubs from being written through any
 * mapping; KVM turns such a write into an MMIO exit and the host stops the
 * enclave.  Neither is a wall against enclave code that means harm: it
 * runs in ring 0 and can load its own CR3 (tables built in its own
 * writable memory) and its own IDT; what it can reach even then is only
 * guest-physical memory, i.e. its own pages, the marshalling slots and
 * the platform area.  The page-table rights (W^X, NX heap and slots, guard
 * pages) stop an exploited bug in honest enclave code, not the enclave's
 * author.  Nothing of the enclave host process or the application is in
 * guest-physical memory except the channel, which the application
 * shares with whatever runs the enclave on every backend (on process, the
 * enclave's own process): the application reads each value of it once and
 * checks it.
 */
#ifndef ADY_BACKEND_KVM_H
#define ADY_BACKEND_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/layout.h"

#define ADY_KVM_PAGE 4096ull

#define ADY_KVM_PLAT_GPA 0x100000ull               /* 1 MiB: page 0 stays unmapped */
#define ADY_KVM_ENCLAVE_GVA 0x0000100000000000ull  /* 16 TiB */
#define ADY_KVM_MS_GVA 0x0000200000000000ull       /* 32 TiB: slot i at + i * msbuf_size */
#define ADY_KVM_CTL_GVA (ADY_KVM_MS_GVA - 4096ull)   /* the channel's control page */
#define ADY_KVM_COUNTS_GVA (ADY_KVM_CTL_GVA - 8192ull) /* the guest's counter page */
#define ADY_KVM_MAX_ENCLAVE (1ull << 40)           /* below the marshalling slots */

/* Platform pages (offsets from ADY_KVM_PLAT_GPA). */
#define ADY_KVM_GDT_PAGE 0u
#define ADY_KVM_IDT_PAGE 1u
#define ADY_KVM_TSS_PAGE 2u      /* two pages: 64 TSS of 128 bytes */
#define ADY_KVM_CODE_PAGE 4u
#define ADY_KVM_PT_PAGE 5u       /* first page-table page (the PML4) */
#define ADY_KVM_TSS_SIZE 128u

#define ADY_KVM_SEL_CODE 0x08u
#define ADY_KVM_SEL_DATA 0x10u
#define ADY_KVM_SEL_TSS 0x18u

/* Per vCPU in the writable platform memslot: 4 pages. */
#define ADY_KVM_VCPU_PAGES 4u
#define ADY_KVM_SCRATCH_PAGE 1u  /* the entry stub's "host stack" */
#define ADY_KVM_EXC_PAGE 3u      /* IST 1: where exceptions push their frame */

/* Page-table entry bits (SDM vol. 3, 4.5). */
#define ADY_PTE_P 0x1ull
#define ADY_PTE_W 0x2ull
#define ADY_PTE_A 0x20ull
#define ADY_PTE_D 0x40ull
#define ADY_PTE_NX (1ull << 63)
#define ADY_PTE_ADDR 0x000ffffffffff000ull

/* Guest code blob (guest.S): copied into the code page. */
extern const uint8_t ady_kvm_guest_start[], ady_kvm_guest_end[];
extern const uint8_t ady_kvm_guest_vectors[], ady_kvm_guest_return[], ady_kvm_guest_serve[];
extern const uint64_t ady_kvm_guest_dead;
#define ADY_KVM_VECTOR_STUB 16u  /* bytes per exception stub */
#define ADY_KVM_VECTORS 32u

/* One run of guest-virtual pages mapped to guest-physical pages. */
typedef struct ady_kvm_map {
	uint64_t gva, gpa, size;  /* page aligned */
	uint64_t flags;           /* ADY_PTE_W | ADY_PTE_NX as wanted */
} ady_kvm_map;

/* The guest memory plan: pure data, computed from the measured layout. */
typedef struct ady_kvm_plan {
	uint32_t threads;
	uint64_t enclave_size;    /* layout size (power of two) */
	uint64_t enclave_used;    /* backed bytes: ady_map_used */
	uint64_t msbuf_size;
	uint64_t ro_size;         /* read-only platform memslot: ADY_KVM_PT_PAGE pages */
	uint64_t pt_gpa, pt_size; /* writable page-table memslot, right after it */
	uint64_t plat_size;       /* ro_size + pt_size: the host buffer of both */
	uint64_t rw_gpa, rw_size; /* writable platform memslot */
	uint64_t ms_gpa, ms_size; /* the channel: control page, then the slots */
	uint64_t counts_gpa;      /* the guest's counter page */
	uint64_t enclave_gpa;
	uint32_t pt_pages;        /* page-table pages reserved in the page-table slot */
	ady_layout layout;        /* the measured layout the plan is for (ady_layout_writable) */
	uint32_t nmaps;
	ady_kvm_map maps[ADY_LAYOUT_MAX_REGIONS + 8 + 2 * ADY_MAX_THREADS];
} ady_kvm_plan;

/*
 * Computes where everything goes for this layout.  ADY_ERR_LAYOUT when the
 * enclave is larger than ADY_KVM_MAX_ENCLAVE or the guest-physical end
 * would pass 2^phys_bits.
 */
ADY_MUST_CHECK ady_err ady_kvm_plan_build(const ady_layout *l, uint32_t phys_bits, ady_kvm_plan *p);

/*
 * Writes the platform memslots' contents into plat (p->plat_size bytes,
 * zero-filled by the caller; GPA ADY_KVM_PLAT_GPA + i is plat[i]): GDT,
 * IDT, the TSSs (IST1 of vCPU i = its exception stack), the guest code and,
 * from p->pt_gpa on, the page tables for p->maps.
 * The page tables come from the plan only: W only where the SECINFO says W,
 * NX everywhere but the enclave's X pages and the guest code page.
 */
ADY_MUST_CHECK ady_err ady_kvm_platform_fill(const ady_kvm_plan *p, uint8_t *plat);

/* Guest-virtual addresses of per-vCPU things. */
uint64_t ady_kvm_scratch_top(const ady_kvm_plan *p, uint32_t vcpu);
uint64_t ady_kvm_exc_top(const ady_kvm_plan *p, uint32_t vcpu);
uint64_t ady_kvm_pml4_gpa(void);

/*
 * Software page walk over a filled platform of plat_size bytes (tests, and
 * the host's own checks): the GPA and effective PTE flags of gva, or false
 * if unmapped.
 */
bool ady_kvm_walk(const uint8_t *plat, uint64_t plat_size, uint64_t gva, uint64_t *gpa, uint64_t *flags);

/*
 * CPUID / XCR0 (cpuid.c).  ady_kvm_cpuid_set gives the vCPU the CPUID KVM
 * supports here (before KVM_SET_SREGS: CR4 bits are checked against it)
 * and *xcr0 the state components to enable (0 when there is no XSAVE),
 * *leaf1_ecx the guest's CPUID.1:ECX (AES-NI is bit 25);
 * ady_kvm_xcr0_set enables them (after CR4.OSXSAVE is set).
 */
ADY_MUST_CHECK ady_err ady_kvm_cpuid_set(int kvm_fd, int vcpu_fd, uint64_t *xcr0, uint32_t *leaf1_ecx);
ADY_MUST_CHECK ady_err ady_kvm_xcr0_set(int vcpu_fd, uint64_t xcr0);

/* Host physical-address width (CPUID 0x80000008), for the plan. */
uint32_t ady_kvm_phys_bits(void);

/* The VM (vm.c). */
struct kvm_run;
typedef struct ady_kvm_vm {
	int kvm_fd, vm_fd;
	int vcpu_fd[ADY_MAX_THREADS];
	struct kvm_run *run[ADY_MAX_THREADS];
	size_t run_size;
	bool ro_slot;             /* the platform pages are in a KVM_MEM_READONLY slot */
	uint8_t *plat, *rw;       /* host views of the platform memslots */
	uint64_t xcr0;            /* the register state the vCPUs have enabled */
	uint32_t leaf1_ecx;       /* their CPUID.1:ECX */
	uint32_t tsc_khz;         /* their TSC rate (KVM_GET_TSC_KHZ), 0 if unknown */
	char why[160];            /* what KVM refused, when ady_kvm_vm_new fails */
} ady_kvm_vm;

/*
 * Creates the VM for plan p: the platform memslots (filled here), the
 * channel at ms (p->ms_size bytes: control page and slots), the guest's
 * counter page at counts (one page; NULL: none, the probe's guests never
 * count) and the loaded enclave at enclave (p->enclave_used bytes), one vCPU per thread slot in 64-bit
 * ring 0 with FS/GS base fs_base[i] (its thread data page).  Opens
 * /dev/kvm itself.  ADY_ERR_BACKEND when KVM refuses something (vm->why
 * says what; nothing is printed).  ady_kvm_vm_free undoes it, also after a
 * failure.
 */
ADY_MUST_CHECK ady_err ady_kvm_vm_new(ady_kvm_vm *vm, const ady_kvm_plan *p, uint8_t *ms, uint8_t *counts,
				      uint8_t *enclave, const uint64_t *fs_base);
void ady_kvm_vm_free(ady_kvm_vm *vm, const ady_kvm_plan *p);

/*
 * The usable-KVM probe (probe.c): runs a minimal guest with the backend's
 * own setup (long mode, its GDT, IDT and TSS, page tables built by
 * ady_kvm_platform_fill in their memslots) through SSE, AVX and AES-NI
 * where the vCPU offers them, an exception delivered to the fault stub,
 * and port-I/O exits, and checks every result.  ADY_OK when all of it ran;
 * else ADY_ERR_BACKEND and why (cap bytes, NUL-terminated) says what went
 * wrong, e.g. "this KVM cannot run enclave guests: SSE: KVM internal error
 * 1 (emulation failure: a paravirtualized-only KVM?)".  Prints nothing;
 * takes a few milliseconds.
 */
ADY_MUST_CHECK ady_err ady_kvm_probe(char *why, size_t cap);

/*
 * The bare VM exit round trip, for bench/ecall to put next to a kvm ECALL:
 * the probe's guest (probe passed first, else its error and why) parked in
 * a loop of port-I/O exits; each ady_kvm_exitloop_run step is one KVM_RUN
 * that enters the guest and comes back with one exit.
 */
typedef struct ady_kvm_exitloop ady_kvm_exitloop;
ADY_MUST_CHECK ady_err ady_kvm_exitloop_new(ady_kvm_exitloop **out, char *why, size_t cap);
ADY_MUST_CHECK ady_err ady_kvm_exitloop_run(ady_kvm_exitloop *x, unsigned n);
void ady_kvm_exitloop_free(ady_kvm_exitloop *x);

#endif
