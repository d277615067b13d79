/*
 * The usable-KVM probe (kvm.h): some /dev/kvm cannot run the guest this
 * backend builds.  A "PVM" KVM (dmesg: kvm-pvm; no vmx/svm in cpuinfo) runs
 * only paravirtualized guests: an ordinary long-mode guest ends in an
 * emulation failure at its first SSE instruction.  So the backend is
 * offered only after a small guest with exactly the backend's setup ran
 * every kind of instruction and exit the enclaves need.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "adyton/sgx.h"
#include "backend/kvm/kvm.h"
#include "backend/map.h"
#include "trts/abi.h"

extern const uint8_t ady_kvm_probe_start[], ady_kvm_probe_end[];
extern const uint8_t ady_kvm_probe_sse[], ady_kvm_probe_avx[], ady_kvm_probe_aes[], ady_kvm_probe_ud[];
extern const uint8_t ady_kvm_probe_loop[];

#define PAGE ADY_KVM_PAGE
#define XSTATE_AVX 0x4ull
#define CPUID1_AES (1u << 25)

struct ady_kvm_exitloop {
	ady_kvm_plan plan;
	ady_kvm_vm vm;
	uint8_t *enclave, *ms;
	char *why;
	size_t cap;
};
typedef struct ady_kvm_exitloop probe;

__attribute__((format(printf, 2, 3))) static ady_err bad(probe *pr, const char *fmt, ...)
{
	int n = snprintf(pr->why, pr->cap, "this KVM cannot run enclave guests: ");
	va_list ap;

	if (n >= 0 && (size_t)n < pr->cap) {
		va_start(ap, fmt);
		vsnprintf(pr->why + n, pr->cap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ADY_ERR_BACKEND;
}

/* A one-thread enclave: one executable page (the probe code), one
 * writable data page (also its thread data: the FS base). */
static void probe_layout(ady_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->size = 4 * PAGE;
	l->threads = 1;
	l->msbuf_size = PAGE;
	l->nregions = 2;
	l->region[0] = (ady_region){.offset = 0, .size = PAGE, .secinfo = ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_X};
	l->region[1] = (ady_region){.offset = PAGE, .size = PAGE, .secinfo = ADY_SECINFO_PT_REG | ADY_SECINFO_R | ADY_SECINFO_W};
}

/* Runs the probe entry at code + its offset on the scratch stack, returning
 * into the platform's trampoline, and expects port want with status rax. */
static ady_err run(probe *pr, const char *what, const uint8_t *entry, uint16_t want, uint64_t status)
{
	struct kvm_run *kr = pr->vm.run[0];
	uint64_t sp = ady_kvm_scratch_top(&pr->plan, 0) - 8;
	uint64_t ret = ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * PAGE + (uint64_t)(ady_kvm_guest_return - ady_kvm_guest_start);
	struct kvm_regs r = {0};
	int fd = pr->vm.vcpu_fd[0];

	memcpy(pr->vm.rw + (sp - pr->plan.rw_gpa), &ret, 8);
	r.rip = ADY_KVM_ENCLAVE_GVA + (uint64_t)(entry - ady_kvm_probe_start);
	r.rdi = ADY_KVM_ENCLAVE_GVA + PAGE;
	r.rsp = sp;
	r.rflags = 0x2;
	if (ioctl(fd, KVM_SET_REGS, &r))
		return bad(pr, "%s: KVM_SET_REGS: %s", what, strerrordesc_np(errno));
	for (;;) {
		if (ioctl(fd, KVM_RUN, 0) == 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			return bad(pr, "%s: KVM_RUN: %s", what, strerrordesc_np(errno));
	}
	if (ioctl(fd, KVM_GET_REGS, &r))
		return bad(pr, "%s: KVM_GET_REGS: %s", what, strerrordesc_np(errno));
	switch (kr->exit_reason) {
	case KVM_EXIT_IO:
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		if (kr->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
			return bad(pr, "%s: KVM internal error 1 at RIP 0x%llx (emulation failure: a paravirtualized-only "
				       "KVM?)", what, (unsigned long long)r.rip);
		return bad(pr, "%s: KVM internal error %u at RIP 0x%llx", what, kr->internal.suberror,
			   (unsigned long long)r.rip);
	case KVM_EXIT_FAIL_ENTRY:
		return bad(pr, "%s: VM entry failed (reason 0x%llx)", what,
			   (unsigned long long)kr->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_SHUTDOWN:
		return bad(pr, "%s: triple fault at RIP 0x%llx", what, (unsigned long long)r.rip);
	default:
		return bad(pr, "%s: vCPU exit %u at RIP 0x%llx", what, kr->exit_reason, (unsigned long long)r.rip);
	}
	if (kr->io.direction != KVM_EXIT_IO_OUT || kr->io.port != want)
		return bad(pr, "%s: port I/O to 0x%x, wanted 0x%x (RIP 0x%llx, vector %llu)", what, kr->io.port, want,
			   (unsigned long long)r.rip, (unsigned long long)r.rsi);
	if (want == KVM_PORT_RETURN && r.rax != status)
		return bad(pr, "%s: returned 0x%llx, wanted 0x%llx", what, (unsigned long long)r.rax,
			   (unsigned long long)status);
	if (want == KVM_PORT_FAULT && r.rsi != status)
		return bad(pr, "%s: vector %llu, wanted %llu", what, (unsigned long long)r.rsi, (unsigned long long)status);
	return ADY_OK;
}

static ady_err check(probe *pr, const char *what, size_t off, const uint8_t *want, size_t len)
{
	const uint8_t *got = pr->enclave + PAGE + off;

	if (memcmp(got, want, len) == 0)
		return ADY_OK;
	return bad(pr, "%s: wrong result in guest memory", what);
}

/* The probe's VM: plan, memory, vCPU. */
static ady_err probe_setup(probe *pr)
{
	uint64_t fs_base[ADY_MAX_THREADS] = {ADY_KVM_ENCLAVE_GVA + PAGE};
	size_t code = (size_t)(ady_kvm_probe_end - ady_kvm_probe_start);
	ady_layout l;
	ady_err err;

	probe_layout(&l);
	if (ady_kvm_plan_build(&l, ady_kvm_phys_bits(), &pr->plan) || code > PAGE)
		return bad(pr, "%s", "no guest memory plan");
	pr->enclave = mmap(NULL, pr->plan.enclave_used, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pr->ms = mmap(NULL, pr->plan.ms_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pr->enclave == MAP_FAILED || pr->ms == MAP_FAILED)
		return bad(pr, "%s", "out of memory");
	memcpy(pr->enclave, ady_kvm_probe_start, code);
	err = ady_kvm_vm_new(&pr->vm, &pr->plan, pr->ms, NULL, pr->enclave, fs_base);
	if (err && pr->vm.kvm_fd < 0) {
		snprintf(pr->why, pr->cap, "%s", pr->vm.why); /* no (usable) /dev/kvm at all */
		return err;
	}
	if (err)
		return bad(pr, "%s", pr->vm.why);
	return ADY_OK;
}

static ady_err probe_run(probe *pr)
{
	static const uint8_t ones_q[16] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
	uint8_t ff[32], x63[16];
	ady_err err;

	err = run(pr, "SSE", ady_kvm_probe_sse, KVM_PORT_RETURN, 0x5353);
	if (!err)
		err = check(pr, "SSE", 0, ones_q, sizeof(ones_q));
	if (!err && (pr->vm.xcr0 & XSTATE_AVX)) {
		memset(ff, 0xff, sizeof(ff));
		err = run(pr, "AVX", ady_kvm_probe_avx, KVM_PORT_RETURN, 0x4156);
		if (!err)
			err = check(pr, "AVX", 32, ff, sizeof(ff));
	}
	if (!err && (pr->vm.leaf1_ecx & CPUID1_AES)) {
		memset(x63, 0x63, sizeof(x63));
		err = run(pr, "AES-NI", ady_kvm_probe_aes, KVM_PORT_RETURN, 0x4145);
		if (!err)
			err = check(pr, "AES-NI", 64, x63, sizeof(x63));
	}
	/* #UD through the IDT, on IST 1, to the fault stub's port */
	if (!err)
		err = run(pr, "exception delivery", ady_kvm_probe_ud, KVM_PORT_FAULT, 6);
	return err;
}

static probe *probe_new(char *why, size_t cap)
{
	/* the plan is large (ADY_LAYOUT_MAX_REGIONS maps): not on the stack;
	 * zero-filled */
	probe *pr = mmap(NULL, sizeof(*pr), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (pr == MAP_FAILED) {
		snprintf(why, cap, "the KVM probe: out of memory");
		return NULL;
	}
	pr->why = why;
	pr->cap = cap;
	pr->vm.kvm_fd = pr->vm.vm_fd = -1;
	for (uint32_t i = 0; i < ADY_MAX_THREADS; i++)
		pr->vm.vcpu_fd[i] = -1;
	return pr;
}

static void probe_free(probe *pr)
{
	if (!pr)
		return;
	ady_kvm_vm_free(&pr->vm, &pr->plan);
	if (pr->enclave && pr->enclave != MAP_FAILED)
		munmap(pr->enclave, pr->plan.enclave_used);
	if (pr->ms && pr->ms != MAP_FAILED)
		munmap(pr->ms, pr->plan.ms_size);
	munmap(pr, sizeof(*pr));
}

/* see kvm.h */
ady_err ady_kvm_probe(char *why, size_t cap)
{
	probe *pr;
	ady_err err;

	if (!why || cap == 0)
		return ADY_ERR_INVALID_ARG;
	why[0] = '\0';
	pr = probe_new(why, cap);
	if (!pr)
		return ADY_ERR_NOMEM;
	err = probe_setup(pr);
	if (!err)
		err = probe_run(pr);
	probe_free(pr);
	return err;
}

/* see kvm.h */
ady_err ady_kvm_exitloop_new(ady_kvm_exitloop **out, char *why, size_t cap)
{
	struct kvm_regs r = {0};
	probe *pr;
	ady_err err;

	*out = NULL;
	if (!why || cap == 0)
		return ADY_ERR_INVALID_ARG;
	why[0] = '\0';
	pr = probe_new(why, cap);
	if (!pr)
		return ADY_ERR_NOMEM;
	err = probe_setup(pr);
	if (!err)
		err = probe_run(pr);
	if (!err) {
		r.rip = ADY_KVM_ENCLAVE_GVA + (uint64_t)(ady_kvm_probe_loop - ady_kvm_probe_start);
		r.rsp = ady_kvm_scratch_top(&pr->plan, 0) - 8;
		r.rflags = 0x2;
		if (ioctl(pr->vm.vcpu_fd[0], KVM_SET_REGS, &r))
			err = bad(pr, "KVM_SET_REGS: %s", strerrordesc_np(errno));
	}
	if (err) {
		probe_free(pr);
		return err;
	}
	*out = pr;
	return ADY_OK;
}

/* see kvm.h */
ady_err ady_kvm_exitloop_run(ady_kvm_exitloop *x, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (ioctl(x->vm.vcpu_fd[0], KVM_RUN, 0) && errno != EINTR && errno != EAGAIN)
			return ADY_ERR_BACKEND;
		if (x->vm.run[0]->exit_reason != KVM_EXIT_IO)
			return ADY_ERR_BACKEND;
	}
	return ADY_OK;
}

/* see kvm.h */
void ady_kvm_exitloop_free(ady_kvm_exitloop *x) { probe_free(x); }
