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
 * ady_kvm_guest_return: the probe's guests (probe.c) `ret` here; the
 * status is in rax.
 *
 * ady_kvm_guest_serve: every vCPU's loop (guest.h): wait for the slot's
 * next ECALL, check and copy its request into the slot's header (the
 * enclave host's ady_chan_take_request), count it, run it, check the reply header
 * (ady_chan_put_reply) and post the answer.
 *
 * ady_kvm_guest_dead: written by the enclave host (the page is read-only
 * to the guest) once the enclave has stopped or aborted: the loop takes no
 * further call and leaves to the host, which answers them.
 */
#include "trts/abi.h"
#include "backend/kvm/guest.h"

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

	.balign 16
	.globl ady_kvm_guest_serve
	.hidden ady_kvm_guest_serve
ady_kvm_guest_serve:
.Lpoll:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	lea	(%rax,%rbx), %r8		/* spin until this TSC */
.Lspin:
	cmpl	$TURN_HOST, CTL_TURN(%r12)
	je	.Ltake
	/* No PAUSE: KVM intercepts it (pause-loop exiting, for spinning
	 * locks) and, under QEMU's emulation, every single one, which made
	 * each poll a VM exit.  rdtsc is not intercepted. */
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	cmp	%r8, %rax
	jb	.Lspin
	out	%al, $KVM_PORT_IDLE		/* the host resumes us on our turn */
	jmp	.Lpoll
.Ltake:
	cmpl	$0, ady_kvm_guest_dead(%rip)
	jne	.Lstopped
	cmpl	$KIND_ECALL, CTL_KIND(%r12)
	jne	.Lprotocol
	/* Each field read once, checked in a register, then written. */
	mov	CTL_INDEX(%r12), %ecx
	mov	CTL_IN_LEN(%r12), %rsi
	mov	CTL_OUT_CAP(%r12), %rdi
	cmp	%rbp, %rsi
	ja	.Lprotocol
	cmp	%rbp, %rdi
	ja	.Lprotocol
	movl	$MS_ECALL, MS_OP(%r13)
	mov	%ecx, MS_INDEX(%r13)
	mov	%rsi, MS_IN_LEN(%r13)
	mov	%rdi, MS_OUT_CAP(%r13)
	xor	%eax, %eax
	mov	%rax, MS_OUT_LEN(%r13)
	mov	%rax, MS_STATUS(%r13)
	mov	%rax, 40(%r13)
	mov	%rax, 48(%r13)
	mov	%rax, 56(%r13)
	/* one more ECALL taken in guest mode, which the host never sees
	 * (backend/hostmain.h: the counters' page 1; one writer per line) */
	addq	$1, CTL_TO_COUNTS(%r12)
	mov	%r14, %rdi
	mov	$ENTER_ECALL, %esi
	mov	%r13, %rdx
	xor	%ecx, %ecx
	call	*%r15
	mov	%eax, %eax			/* an ady_err: 32 bits */
	test	%eax, %eax
	jnz	.Lpost
	/* The reply header, as ady_msbuf_decode would take it: op REPLY, every
	 * length within the data area, reserved bytes zero. */
	cmpl	$MS_REPLY, MS_OP(%r13)
	jne	.Lprotocol
	mov	MS_OUT_LEN(%r13), %rsi
	mov	MS_STATUS(%r13), %edi
	cmp	%rbp, %rsi
	ja	.Lprotocol
	cmp	%rbp, MS_IN_LEN(%r13)
	ja	.Lprotocol
	cmp	%rbp, MS_OUT_CAP(%r13)
	ja	.Lprotocol
	cmpl	$0, 36(%r13)
	jne	.Lprotocol
	cmpq	$0, 40(%r13)
	jne	.Lprotocol
	cmpq	$0, 48(%r13)
	jne	.Lprotocol
	cmpq	$0, 56(%r13)
	jne	.Lprotocol
	mov	%edi, CTL_STATUS(%r12)
	mov	%rsi, CTL_OUT_LEN(%r12)
	jmp	.Lpost
.Lprotocol:
	mov	$ERR_PROTOCOL, %eax
.Lpost:
	mov	%rax, CTL_RC(%r12)
	movl	$KIND_DONE, CTL_KIND(%r12)
	/* xchg: a full barrier, so we see the application's `waiting` after
	 * it can see our turn (channel.c: ady_chan_post) */
	mov	$TURN_APP, %eax
	xchg	%eax, CTL_TURN(%r12)
	cmpl	$0, CTL_WAITING_APP(%r12)
	je	.Lpoll
	out	%al, $KVM_PORT_WAKE
	jmp	.Lpoll
.Lstopped:
	out	%al, $KVM_PORT_IDLE		/* the host sees the enclave dead: not resumed */
	jmp	.Lstopped

	.balign 8
	.globl ady_kvm_guest_dead
	.hidden ady_kvm_guest_dead
ady_kvm_guest_dead:
	.quad	0

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
