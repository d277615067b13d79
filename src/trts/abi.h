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

#endif
