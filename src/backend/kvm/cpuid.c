/*
 * What the guest's CPU offers: the CPUID that KVM supports on this host
 * (AES-NI, PCLMULQDQ, SSE..AVX2, AVX-512 where present, RDRAND) and an
 * XCR0 that enables the matching register state, so the enclave's crypto
 * runs at native speed.
 */
#include <cpuid.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "backend/kvm/kvm.h"

/* XCR0 bits (SDM vol. 1, 13.3). */
#define XSTATE_X87 0x1ull
#define XSTATE_SSE 0x2ull
#define XSTATE_AVX 0x4ull
#define XSTATE_AVX512 0xe0ull /* opmask, ZMM_Hi256, Hi16_ZMM: all or none */

/* see kvm.h */
uint32_t ady_kvm_phys_bits(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000008u && __get_cpuid(0x80000008u, &a, &b, &c, &d))
		return a & 0xff;
	return 36;
}

/* KVM_GET_SUPPORTED_CPUID: grows the table until it fits (E2BIG). */
static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	for (uint32_t n = 64; n <= 1024; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

/* see kvm.h */
ady_err ady_kvm_cpuid_set(int kvm_fd, int vcpu_fd, uint64_t *xcr0, uint32_t *leaf1_ecx)
{
	struct kvm_cpuid2 *c = supported_cpuid(kvm_fd);
	uint64_t sup = 0;
	bool xsave = false;
	ady_err err = ADY_OK;

	*xcr0 = 0;
	*leaf1_ecx = 0;
	if (!c)
		return ADY_ERR_BACKEND;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) {
			xsave = (e->ecx >> 26) & 1;
			*leaf1_ecx = e->ecx;
		}
		if (e->function == 0xd && e->index == 0)
			sup = (uint64_t)e->edx << 32 | e->eax;
	}
	/* The guest sees what KVM supports here (AES-NI, PCLMULQDQ, AVX*,
	 * RDRAND pass through); KVM keeps OSXSAVE in step with CR4. */
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c))
		err = ADY_ERR_BACKEND;
	free(c);
	if (err || !xsave)
		return err;
	*xcr0 = XSTATE_X87 | XSTATE_SSE;
	if (sup & XSTATE_AVX)
		*xcr0 |= XSTATE_AVX;
	if ((sup & XSTATE_AVX512) == XSTATE_AVX512 && (*xcr0 & XSTATE_AVX))
		*xcr0 |= XSTATE_AVX512;
	return ADY_OK;
}

/* see kvm.h */
ady_err ady_kvm_xcr0_set(int vcpu_fd, uint64_t xcr0)
{
	struct kvm_xcrs xcrs = {0};

	if (!xcr0)
		return ADY_OK;
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = xcr0;
	return ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) ? ADY_ERR_BACKEND : ADY_OK;
}
