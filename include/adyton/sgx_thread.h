/*
 * sgx_thread.h - the SGX SDK's trusted synchronisation primitives
 * (sgx_thread_mutex_*, sgx_thread_cond_*) and sgx_cpuid/sgx_cpuidex, for
 * enclaves ported from the SGX SDK.  Enclave side; docs/edl.md says which
 * SDK functions exist.
 *
 * Contract: as in the SDK.  A waiting thread leaves the enclave through
 * the OCALLs of the SDK's sgx_tstdc.edl, which the enclave's EDL must
 * import (Thread.edl does: from "sgx_tstdc.edl" import
 * sgx_thread_wait_untrusted_event_ocall, sgx_thread_set_untrusted_event_ocall,
 * sgx_thread_setwait_untrusted_events_ocall,
 * sgx_thread_set_multiple_untrusted_events_ocall;) and which libadyton
 * serves (adyton/tstdc.h).  sgx_cpuid needs sgx_oc_cpuidex imported.
 * Mutexes are not recursive; the objects may be statically initialised
 * with the *_INITIALIZER macros.  Functions return 0 or an errno value:
 * EINVAL (NULL), EBUSY (trylock on a held mutex, destroy of one in use),
 * EPERM (unlock by a thread that does not own it), and, should the
 * application fail an event OCALL, the enclave is aborted (a lost wakeup
 * is a deadlock, never a silent success).
 *
 * What the application can do: delay or never deliver a wakeup (it owns
 * scheduling anyway).  It cannot make two threads own a mutex: ownership
 * is decided inside the enclave; a wakeup only makes a thread look again.
 * sgx_cpuid's values are the application's word, as on SGX.
 */
#ifndef ADYTON_SGX_THREAD_H
#define ADYTON_SGX_THREAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ady_tstdc_waiter;

typedef struct sgx_thread_mutex {
	volatile uint32_t spin;
	uint32_t reserved;
	const void *owner; /* the owning thread, NULL when free */
	struct ady_tstdc_waiter *head, *tail;
} sgx_thread_mutex_t;

typedef struct sgx_thread_cond {
	volatile uint32_t spin;
	uint32_t reserved;
	struct ady_tstdc_waiter *head, *tail;
} sgx_thread_cond_t;

typedef struct sgx_thread_mutexattr {
	unsigned char m_dummy;
} sgx_thread_mutexattr_t;

typedef struct sgx_thread_condattr {
	unsigned char m_dummy;
} sgx_thread_condattr_t;

typedef const void *sgx_thread_t;

#define SGX_THREAD_MUTEX_INITIALIZER {0, 0, NULL, NULL, NULL}
#define SGX_THREAD_NONRECURSIVE_MUTEX_INITIALIZER SGX_THREAD_MUTEX_INITIALIZER
#define SGX_THREAD_COND_INITIALIZER {0, 0, NULL, NULL}

int sgx_thread_mutex_init(sgx_thread_mutex_t *mutex, const sgx_thread_mutexattr_t *unused);
int sgx_thread_mutex_destroy(sgx_thread_mutex_t *mutex);
int sgx_thread_mutex_lock(sgx_thread_mutex_t *mutex);
int sgx_thread_mutex_trylock(sgx_thread_mutex_t *mutex);
int sgx_thread_mutex_unlock(sgx_thread_mutex_t *mutex);

int sgx_thread_cond_init(sgx_thread_cond_t *cond, const sgx_thread_condattr_t *unused);
int sgx_thread_cond_destroy(sgx_thread_cond_t *cond);
int sgx_thread_cond_wait(sgx_thread_cond_t *cond, sgx_thread_mutex_t *mutex);
int sgx_thread_cond_signal(sgx_thread_cond_t *cond);
int sgx_thread_cond_broadcast(sgx_thread_cond_t *cond);

/* The calling thread's identity (the SDK's TCS address; here the
 * runtime's per-thread data), NULL outside an ECALL. */
sgx_thread_t sgx_thread_self(void);

#ifndef ADY_SGX_STATUS_DEFINED
#define ADY_SGX_STATUS_DEFINED
typedef uint32_t sgx_status_t;
#define SGX_SUCCESS 0x0000u
#define SGX_ERROR_UNEXPECTED 0x0001u
#define SGX_ERROR_INVALID_PARAMETER 0x0002u
#endif

/* CPUID through the application (sgx_oc_cpuidex): its answer, unchecked,
 * as on SGX where the enclave cannot run CPUID either. */
sgx_status_t sgx_cpuidex(int cpuinfo[4], int leaf, int subleaf);
sgx_status_t sgx_cpuid(int cpuinfo[4], int leaf);

#ifdef __cplusplus
}
#endif
#endif
