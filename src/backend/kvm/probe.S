/*
 * The usable-KVM probe's guest code (probe.c): copied to the probe
 * enclave's one executable page and entered like an ECALL (rdi = its
 * writable data page, return into the platform's trampoline).  Each entry
 * leaves a result the host checks and a status in eax.  Position
 * independent; offsets from ady_kvm_probe_start.
 */
	.section .rodata, "a"
	.balign 16
	.globl ady_kvm_probe_start
	.hidden ady_kvm_probe_start
ady_kvm_probe_start:

	/* SSE2: two u64 ones at data[0..16) */
	.globl ady_kvm_probe_sse
	.hidden ady_kvm_probe_sse
ady_kvm_probe_sse:
	pcmpeqd	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	psubq	%xmm0, %xmm1
	movdqu	%xmm1, (%rdi)
	mov	$0x5353, %eax
	ret

	/* AVX: 32 bytes of ones at data[32..64) */
	.globl ady_kvm_probe_avx
	.hidden ady_kvm_probe_avx
ady_kvm_probe_avx:
	vxorps	%ymm1, %ymm1, %ymm1
	vcmpps	$0, %ymm1, %ymm1, %ymm0
	vmovups	%ymm0, 32(%rdi)
	vzeroupper
	mov	$0x4156, %eax
	ret

	/* AES-NI: AESENC(0, key 0) = 0x63 in every byte, at data[64..80) */
	.globl ady_kvm_probe_aes
	.hidden ady_kvm_probe_aes
ady_kvm_probe_aes:
	pxor	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	aesenc	%xmm1, %xmm0
	movdqu	%xmm0, 64(%rdi)
	mov	$0x4145, %eax
	ret

	/* #UD: delivered through the IDT on IST 1 to the fault stub */
	.globl ady_kvm_probe_ud
	.hidden ady_kvm_probe_ud
ady_kvm_probe_ud:
	ud2

	/* The bare exit round trip (ady_kvm_exitloop): one port-I/O exit per
	 * KVM_RUN, forever. */
	.globl ady_kvm_probe_loop
	.hidden ady_kvm_probe_loop
ady_kvm_probe_loop:
	out	%al, $0xa4
	jmp	ady_kvm_probe_loop

	.globl ady_kvm_probe_end
	.hidden ady_kvm_probe_end
ady_kvm_probe_end:

	.section .note.GNU-stack, "", @progbits
