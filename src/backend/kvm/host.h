/* src/backend/kvm/host.h - state shared by adyton-kvm-host's main.c and run.c. */
#ifndef ADY_BACKEND_KVM_HOST_H
#define ADY_BACKEND_KVM_HOST_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "adyton/layout.h"
#include "backend/kvm/kvm.h"

#include "backend/platform.h"

typedef struct ady_kvm_host {
	ady_kvm_plan plan;
	ady_kvm_vm vm;
	uint8_t *enclave;          /* host view of the enclave's guest memory */
	uint8_t *chan;             /* the channel: control page, then the slots */
	uint64_t tcs[ADY_MAX_THREADS]; /* enclave offsets */
	uint64_t entry[ADY_MAX_THREADS]; /* guest RIP: TCS.OENTRY, read once at load */
	int dead;                  /* the enclave faulted or aborted: no more calls */
	/* The serve loop (guest.h): the vCPU spins spin_ticks in guest mode for
	 * the next call (switchless), or none (--exit-per-call: one VM exit per
	 * call, and the host thread spins host_spin_ns before it sleeps). */
	uint64_t spin_ticks;
	long host_spin_ns;
} ady_kvm_host;

extern ady_kvm_host ady_kvm_g;

/* The link to adytond (platform exits, HOST_READY). */
extern ady_platform_link ady_kvm_plat;

/* Serves thread slot `slot` (its doorbell, its vCPU) forever. */
void *ady_kvm_serve(void *slot);

#endif
