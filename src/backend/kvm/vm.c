/*
 * The VM: memslots and vCPUs that start directly in 64-bit long mode,
 * ring 0, paging on with the page tables of the plan (pagetable.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/kvm/kvm.h"

/* Below the platform area (1 MiB), never in a memslot: VMX needs them only
 * to emulate real mode, which this guest never runs in. */
#define IDENTITY_MAP_GPA 0xfc000ull
#define TSS_GPA 0xfd000ull /* three pages */

#define CR0_PE 0x1ull
#define CR0_MP 0x2ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_WP 0x10000ull /* ring 0 obeys read-only pages: W^X holds for the enclave */
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define CR4_OSFXSR 0x200ull
#define CR4_OSXMMEXCPT 0x400ull
#define CR4_OSXSAVE 0x40000ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull /* no SCE: SYSCALL is #UD, an enclave has no system calls */

enum { SLOT_RO, SLOT_PT, SLOT_RW, SLOT_MS, SLOT_ENCLAVE, SLOT_COUNTS };

/* Records what failed in vm->why: the caller decides whether and where to
 * print it (the enclave host, or the probe in an application). */
static ady_err fail(ady_kvm_vm *vm, const char *what)
{
	snprintf(vm->why, sizeof(vm->why), "%s: %s", what, strerrordesc_np(errno));
	return ADY_ERR_BACKEND;
}

static ady_err memslot(ady_kvm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? fail(vm, "KVM_SET_USER_MEMORY_REGION") : ADY_OK;
}

static void segment(struct kvm_segment *s, uint16_t sel, uint8_t type, uint64_t base, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static ady_err vcpu_setup(ady_kvm_vm *vm, uint32_t i, uint64_t fs_base)
{
	struct kvm_sregs sr;
	uint64_t xcr0;
	int fd = vm->vcpu_fd[i];
	ady_err err;

	err = ady_kvm_cpuid_set(vm->kvm_fd, fd, &xcr0, &vm->leaf1_ecx);
	if (err)
		return fail(vm, "KVM_SET_CPUID2");
	if (ioctl(fd, KVM_GET_SREGS, &sr))
		return fail(vm, "KVM_GET_SREGS");
	segment(&sr.cs, ADY_KVM_SEL_CODE, 0xb, 0, true);
	segment(&sr.ds, ADY_KVM_SEL_DATA, 0x3, 0, false);
	sr.es = sr.ss = sr.ds;
	segment(&sr.fs, ADY_KVM_SEL_DATA, 0x3, fs_base, false);
	segment(&sr.gs, ADY_KVM_SEL_DATA, 0x3, fs_base, false);
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.base = ADY_KVM_PLAT_GPA + ADY_KVM_TSS_PAGE * ADY_KVM_PAGE + (uint64_t)i * ADY_KVM_TSS_SIZE;
	sr.tr.limit = ADY_KVM_TSS_SIZE - 1;
	sr.tr.selector = ADY_KVM_SEL_TSS;
	sr.tr.type = 0xb; /* busy 64-bit TSS */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.type = 0x2;
	sr.ldt.unusable = 1;
	sr.gdt.base = ADY_KVM_PLAT_GPA + ADY_KVM_GDT_PAGE * ADY_KVM_PAGE;
	sr.gdt.limit = ADY_KVM_SEL_TSS + 16 - 1;
	sr.idt.base = ADY_KVM_PLAT_GPA + ADY_KVM_IDT_PAGE * ADY_KVM_PAGE;
	sr.idt.limit = ADY_KVM_VECTORS * 16 - 1;
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sr.cr3 = ady_kvm_pml4_gpa();
	sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (xcr0 ? CR4_OSXSAVE : 0);
	sr.efer = EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(fd, KVM_SET_SREGS, &sr))
		return fail(vm, "KVM_SET_SREGS");
	if (ady_kvm_xcr0_set(fd, xcr0))
		return fail(vm, "KVM_SET_XCRS");
	vm->xcr0 = xcr0;
	if (i == 0) {
		/* The guest's TSC rate, for the serve loop's spin (guest.h);
		 * 0 when KVM does not say: then the loop does not spin. */
		int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
		vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	}
	return ADY_OK;
}

/* see kvm.h */
ady_err ady_kvm_vm_new(ady_kvm_vm *vm, const ady_kvm_plan *p, uint8_t *ms, uint8_t *counts, uint8_t *enclave,
		       const uint64_t *fs_base)
{
	uint64_t ident = IDENTITY_MAP_GPA;
	long mmap_size;
	ady_err err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	for (uint32_t i = 0; i < ADY_MAX_THREADS; i++)
		vm->vcpu_fd[i] = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail(vm, "/dev/kvm");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = EPROTO;
		return fail(vm, "KVM_GET_API_VERSION");
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail(vm, "KVM_CREATE_VM");
	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (long)sizeof(struct kvm_run))
		return fail(vm, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)mmap_size;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) || ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_GPA))
		return fail(vm, "KVM_SET_TSS_ADDR");

	vm->plat = mmap(NULL, p->plat_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->plat == MAP_FAILED) {
		vm->plat = NULL;
		return fail(vm, "mmap platform");
	}
	vm->rw = mmap(NULL, p->rw_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->rw == MAP_FAILED) {
		vm->rw = NULL;
		return fail(vm, "mmap platform");
	}
	err = ady_kvm_platform_fill(p, vm->plat);
	if (err) {
		snprintf(vm->why, sizeof(vm->why), "page tables: %s", ady_strerror(err));
		return err;
	}
	/* Nothing the guest does can write the GDT, IDT, TSS or the stubs
	 * (kvm.h says what this does and does not protect).  The page tables
	 * must stay writable at the nested level (kvm.h). */
	vm->ro_slot = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	err = memslot(vm, SLOT_RO, vm->ro_slot ? KVM_MEM_READONLY : 0, ADY_KVM_PLAT_GPA, p->ro_size, vm->plat);
	if (!err)
		err = memslot(vm, SLOT_PT, 0, p->pt_gpa, p->pt_size, vm->plat + p->ro_size);
	if (!err)
		err = memslot(vm, SLOT_RW, 0, p->rw_gpa, p->rw_size, vm->rw);
	if (!err)
		err = memslot(vm, SLOT_MS, 0, p->ms_gpa, p->ms_size, ms);
	if (!err)
		err = memslot(vm, SLOT_ENCLAVE, 0, p->enclave_gpa, p->enclave_used, enclave);
	if (!err && counts)
		err = memslot(vm, SLOT_COUNTS, 0, p->counts_gpa, ADY_KVM_PAGE, counts);
	if (err)
		return err;

	for (uint32_t i = 0; i < p->threads; i++) {
		vm->vcpu_fd[i] = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (vm->vcpu_fd[i] < 0)
			return fail(vm, "KVM_CREATE_VCPU");
		vm->run[i] = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd[i], 0);
		if (vm->run[i] == MAP_FAILED) {
			vm->run[i] = NULL;
			return fail(vm, "mmap kvm_run");
		}
		err = vcpu_setup(vm, i, fs_base[i]);
		if (err)
			return err;
	}
	return ADY_OK;
}

/* see kvm.h */
void ady_kvm_vm_free(ady_kvm_vm *vm, const ady_kvm_plan *p)
{
	for (uint32_t i = 0; i < ADY_MAX_THREADS; i++) {
		if (vm->run[i])
			munmap(vm->run[i], vm->run_size);
		if (vm->vcpu_fd[i] >= 0)
			close(vm->vcpu_fd[i]);
		vm->run[i] = NULL;
		vm->vcpu_fd[i] = -1;
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	if (vm->plat)
		munmap(vm->plat, p->plat_size);
	if (vm->rw)
		munmap(vm->rw, p->rw_size);
	vm->plat = vm->rw = NULL;
}
