/*
 * Offsets shared by the entry stub (entry.S) and the C runtime.  The C side
 * checks them against adyton/layout.h and adyton/sgx.h at compile time
 * (trts.c), so the assembly cannot drift from the structures.
 */
#ifndef ADY_TRTS_ABI_H
#define ADY_TRTS_ABI_H

#define TCS_OFSBASE 48
#define TD_HOST_RSP 0x08
#define TD_ENCLAVE_RSP 0x10
#define TD_EXIT_FN 0x18
#define TD_STATE 0x20
#define TD_STACK_TOP 0x30
#define TD_IDLE 0
#define TD_BUSY 1
#define ERR_BUSY 63      /* ADY_ERR_BUSY */
#define ERR_BACKEND 67   /* ADY_ERR_BACKEND */
#define META_SIZE 2048   /* ADY_META_SIZE */
#define NOTE_META 0x41445931 /* ADY_ELF_NOTE_META */

/* kvm backend: the I/O ports the guest leaves by (src/backend/kvm). */
#define KVM_PORT_EXIT 0xa1   /* ady_trts_exit: op in rsi, arg in rdx, result into rax */
#define KVM_PORT_RETURN 0xa2 /* the return trampoline: ECALL status in rax */
#define KVM_PORT_FAULT 0xa3  /* exception stubs: vector rsi, error rdx, rip rcx, cr2 r8 */

#endif
