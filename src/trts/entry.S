/*
 * Enclave entry and exit.  The backend calls, on a thread slot:
 *
 *   uint64_t ady_enclave_entry(tcs, op, ms, exit_fn)   (System V: rdi rsi rdx rcx)
 *
 * tcs is the address of the slot's TCS page, ms its marshalling slot and
 * exit_fn the host function that serves exits (0 on backends that exit by
 * port I/O: kvm, see ady_trts_exit).  As with SGX's TCS busy flag, a slot
 * that is already in a call is refused before anything else happens
 * (ADY_ERR_BUSY): a second entry must never reuse the stack of a call in
 * progress.  The enclave then runs on its own measured stack; the host
 * stack pointer is kept in the thread data page for exits.
 */
#include "abi.h"

	.text
	.globl ady_enclave_entry
	.type ady_enclave_entry, @function
ady_enclave_entry:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	lea	__ehdr_start(%rip), %r12	/* enclave base: the image links at 0 */
	mov	TCS_OFSBASE(%rdi), %rbx		/* TCS.OFSBASE: thread data offset (measured) */
	add	%r12, %rbx
	mov	$TD_IDLE, %eax
	mov	$TD_BUSY, %r8d
	lock cmpxchg %r8d, TD_STATE(%rbx)
	jne	.Lbusy
	mov	%rsp, TD_HOST_RSP(%rbx)
	mov	%rcx, TD_EXIT_FN(%rbx)
	mov	TD_STACK_TOP(%rbx), %rsp	/* measured offset: the host cannot pick our stack */
	add	%r12, %rsp
	mov	%rdi, %rcx			/* ady_trts_enter(td, op, ms, tcs) */
	mov	%rbx, %rdi
	xor	%ebp, %ebp			/* end of the frame chain for debuggers */
	call	ady_trts_enter
	mov	TD_HOST_RSP(%rbx), %rsp
	movl	$TD_IDLE, TD_STATE(%rbx)
	jmp	.Lout
.Lbusy:
	mov	$ERR_BUSY, %eax
.Lout:
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size ady_enclave_entry, .-ady_enclave_entry

/*
 * uint64_t ady_trts_exit(td, op, arg): leave the enclave to let the host
 * serve op (the request is in the marshalling slot), then come back.
 * The host function runs on the host's own stack, below the frame that
 * entered, never on the enclave stack.
 */
	.globl ady_trts_exit
	.hidden ady_trts_exit
	.type ady_trts_exit, @function
ady_trts_exit:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rdi, %rbx
	mov	%rsp, TD_ENCLAVE_RSP(%rbx)
	mov	TD_EXIT_FN(%rbx), %rax
	test	%rax, %rax
	jz	.Lnoexit
	mov	TD_HOST_RSP(%rbx), %rsp
	and	$-16, %rsp
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	call	*%rax
	mov	TD_ENCLAVE_RSP(%rbx), %rsp
	jmp	.Lexit_out
.Lnoexit:
	/* kvm backend: leave the VM by port I/O.  The enclave host reads op
	 * (rsi) and arg (rdx) from the vCPU's registers, serves the exit and
	 * puts the result in rax; we stay on the enclave stack throughout.
	 * Anywhere else (ring 3) this faults, and a host that does not answer
	 * leaves ADY_ERR_BACKEND. */
	mov	$ERR_BACKEND, %eax
	out	%al, $KVM_PORT_EXIT
.Lexit_out:
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size ady_trts_exit, .-ady_trts_exit

/*
 * _Noreturn void ady_trts_abort_return(td, err): unwind straight back to
 * the host that entered, as if ady_enclave_entry returned err.  Used once
 * the enclave has aborted: nothing on the enclave stack is trusted again.
 */
	.globl ady_trts_abort_return
	.hidden ady_trts_abort_return
	.type ady_trts_abort_return, @function
ady_trts_abort_return:
	mov	TD_HOST_RSP(%rdi), %rsp
	movl	$TD_IDLE, TD_STATE(%rdi)
	mov	%esi, %eax
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size ady_trts_abort_return, .-ady_trts_abort_return

/*
 * The signature note: ADY_META_SIZE zero bytes that `adyton sign` fills
 * in.  Not SHF_ALLOC, so no PT_LOAD covers it and signing never changes
 * what is measured.  It lives in this object so that every enclave, which
 * must pull in ady_enclave_entry, carries it.
 */
	.section .note.adyton, "", @note
	.balign 4
	.long	7
	.long	META_SIZE
	.long	NOTE_META
	.asciz	"adyton"
	.balign 4
	.skip	META_SIZE

	.section .note.GNU-stack, "", @progbits
