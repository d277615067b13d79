/*
 * Guest code of the kvm backend's platform area (see kvm.h): data in the
 * host (.rodata, never executed here), copied by the enclave host into the
 * guest's code page.  Position independent: only relative jumps.
 *
 * ady_kvm_guest_vectors: one 16-byte stub per exception vector 0..31, each
 * entered on IST 1.  Every stub leaves an error code (0 where the CPU
 * pushes none) and its vector, then the common tail reports vector, error
 * code, faulting RIP and CR2 by port I/O and halts for good: the host
 * stops the enclave, nothing returns from an exception.
 *
 * ady_kvm_guest_return: ady_enclave_entry `ret`s here at the end of an
 * ECALL; the status is in rax.
 */
#include "trts/abi.h"

	.section .rodata, "a"
	.balign 64
	.globl ady_kvm_guest_start
	.hidden ady_kvm_guest_start
ady_kvm_guest_start:

	.globl ady_kvm_guest_return
	.hidden ady_kvm_guest_return
ady_kvm_guest_return:
	out	%al, $KVM_PORT_RETURN
1:	hlt
	jmp	1b

.Lfault:
	pop	%rsi			/* vector */
	pop	%rdx			/* error code */
	mov	(%rsp), %rcx		/* RIP of the faulting instruction */
	mov	%cr2, %r8
	out	%al, $KVM_PORT_FAULT
2:	hlt
	jmp	2b

/* SDM vol. 3, 6.3.1: vectors 8, 10-14, 17, 21, 29 and 30 push an error code. */
.macro stub vec
	.balign 16			/* ADY_KVM_VECTOR_STUB */
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	push	$0
	.endif
	push	$\vec
	jmp	.Lfault
.endm

	.balign 16
	.globl ady_kvm_guest_vectors
	.hidden ady_kvm_guest_vectors
ady_kvm_guest_vectors:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \v
	.endr

	.globl ady_kvm_guest_end
	.hidden ady_kvm_guest_end
ady_kvm_guest_end:

	.section .note.GNU-stack, "", @progbits
