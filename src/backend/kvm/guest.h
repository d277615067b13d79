/*
 * src/backend/kvm/guest.h - what the kvm backend's guest code (guest.S)
 * and the enclave host (run.c) agree on; included by assembly, so macros
 * only.  run.c checks each against backend/channel.h and adyton/msbuf.h at
 * compile time.
 *
 * The serve loop (ady_kvm_guest_serve) is the enclave host's doorbell
 * loop moved into guest mode: each vCPU waits there, in the guest, for
 * its slot's next ECALL, runs it and posts the answer, and leaves the VM
 * only to sleep (after spinning KVM_REG_SPIN TSC ticks: 0 = at once, one
 * exit per call), to have the application woken, and for the enclave's
 * own exits.  Registers on the first entry, kept by ady_enclave_entry:
 */
#ifndef ADY_BACKEND_KVM_GUEST_H
#define ADY_BACKEND_KVM_GUEST_H

/*   r12  the slot's control line (ady_chan_ctl) at its guest-virtual address
 *   r13  the slot's marshalling buffer
 *   r14  the slot's TCS
 *   r15  ady_enclave_entry (TCS.OENTRY)
 *   rbp  the slot's data area: msbuf_size - ADY_MSBUF_HEADER
 *   rbx  TSC ticks to spin before leaving to sleep                      */

/* Ports the loop leaves by (the enclave's own are in trts/abi.h). */
#define KVM_PORT_IDLE 0xa4 /* nothing to do after the spin: sleep until our turn, then re-enter */
#define KVM_PORT_WAKE 0xa5 /* an answer is posted and the application sleeps: wake it */

/* ady_chan_ctl (backend/channel.h) */
#define CTL_TURN 0
#define CTL_KIND 4
#define CTL_RC 16
#define CTL_WAITING_APP 24
#define CTL_INDEX 32
#define CTL_STATUS 36
#define CTL_IN_LEN 40
#define CTL_OUT_CAP 48
#define CTL_OUT_LEN 56
#define TURN_APP 0
#define TURN_HOST 1
#define KIND_ECALL 1
#define KIND_DONE 2

/* The slot's line in the guest's counter page (kvm.h ADY_KVM_COUNTS_GVA,
 * backend/hostmain.h page 1), from its control line: both are 64-byte
 * lines in slot order, 8 KiB apart; its first u64 counts ECALLs. */
#define CTL_TO_COUNTS (-8192)

/* the marshalling slot's header (adyton/msbuf.h) */
#define MS_OP 0
#define MS_INDEX 4
#define MS_IN_LEN 8
#define MS_OUT_CAP 16
#define MS_OUT_LEN 24
#define MS_STATUS 32
#define MS_HEADER 64
#define MS_ECALL 1
#define MS_REPLY 5
#define ENTER_ECALL 1
#define ERR_PROTOCOL 68

#endif
