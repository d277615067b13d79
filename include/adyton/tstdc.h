/*
 * tstdc.h - the application side of the SGX SDK's sgx_tstdc.edl: the
 * OCALLs an enclave that uses sgx_thread_mutex_* / sgx_thread_cond_* or
 * sgx_cpuid (adyton/sgx_thread.h) imports.  libadyton defines them with
 * the signatures adyton-edl declares in NAME_u.h, so the generated OCALL
 * table finds them; nothing to write in the application.
 *
 * Events: one counter per "self" value (an enclave thread's identity, an
 * opaque number here, never dereferenced).  wait blocks until the counter
 * is positive and decrements it; set increments it and wakes the waiter,
 * so a wakeup set before its thread sleeps is kept.  The table is
 * process-wide: two enclaves in one process whose thread identities
 * coincide (the same layout on the process backend) share counters, which
 * costs at most an extra look at the queue inside the enclave.  Returns 0
 * (SGX_SUCCESS), 2 (SGX_ERROR_INVALID_PARAMETER: NULL self or waiter, more
 * than 4096 waiters at once) or 3 (SGX_ERROR_OUT_OF_MEMORY).
 */
#ifndef ADYTON_TSTDC_H
#define ADYTON_TSTDC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void sgx_oc_cpuidex(int cpuinfo[4], int leaf, int subleaf);
int sgx_thread_wait_untrusted_event_ocall(const void *self);
int sgx_thread_set_untrusted_event_ocall(const void *waiter);
int sgx_thread_setwait_untrusted_events_ocall(const void *waiter, const void *self);
int sgx_thread_set_multiple_untrusted_events_ocall(const void **waiters, size_t total);

#ifdef __cplusplus
}
#endif
#endif
