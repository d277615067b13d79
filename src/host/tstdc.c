/*
 * tstdc.c - the untrusted half of the SGX SDK's sgx_tstdc.edl
 * (adyton/tstdc.h): CPUID and the per-thread events that the enclave's
 * sgx_thread_mutex_* / sgx_thread_cond_* sleep on.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "adyton/tstdc.h"

#define SGX_ERROR_INVALID_PARAMETER 2
#define SGX_ERROR_OUT_OF_MEMORY 3
#define MAX_MULTIPLE 4096

typedef struct event {
	uintptr_t key;
	uint64_t count;
	unsigned waiters;
	struct event *next;
} event;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static event *events;

/* Under lock. */
static event *find(uintptr_t key, int create)
{
	event *e;

	for (e = events; e; e = e->next)
		if (e->key == key)
			return e;
	if (!create || !(e = calloc(1, sizeof(*e))))
		return NULL;
	e->key = key;
	e->next = events;
	events = e;
	return e;
}

/* Under lock: an event nobody counts on or waits for is dropped. */
static void drop_idle(event *e)
{
	if (e->count || e->waiters)
		return;
	for (event **pp = &events; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			free(e);
			return;
		}
	}
}

static int set_locked(uintptr_t key)
{
	event *e = find(key, 1);

	if (!e)
		return SGX_ERROR_OUT_OF_MEMORY;
	e->count++;
	return 0;
}

static int wait_locked(uintptr_t key)
{
	event *e = find(key, 1);

	if (!e)
		return SGX_ERROR_OUT_OF_MEMORY;
	e->waiters++;
	while (!e->count)
		pthread_cond_wait(&changed, &lock);
	e->count--;
	e->waiters--;
	drop_idle(e);
	return 0;
}

/* see adyton/tstdc.h */
void sgx_oc_cpuidex(int cpuinfo[4], int leaf, int subleaf)
{
	unsigned a = 0, b = 0, c = 0, d = 0;

	__cpuid_count((unsigned)leaf, (unsigned)subleaf, a, b, c, d);
	cpuinfo[0] = (int)a;
	cpuinfo[1] = (int)b;
	cpuinfo[2] = (int)c;
	cpuinfo[3] = (int)d;
}

/* see adyton/tstdc.h */
int sgx_thread_wait_untrusted_event_ocall(const void *self)
{
	int r;

	if (!self)
		return SGX_ERROR_INVALID_PARAMETER;
	pthread_mutex_lock(&lock);
	r = wait_locked((uintptr_t)self);
	pthread_mutex_unlock(&lock);
	return r;
}

/* see adyton/tstdc.h */
int sgx_thread_set_untrusted_event_ocall(const void *waiter)
{
	int r;

	if (!waiter)
		return SGX_ERROR_INVALID_PARAMETER;
	pthread_mutex_lock(&lock);
	r = set_locked((uintptr_t)waiter);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	return r;
}

/* see adyton/tstdc.h */
int sgx_thread_setwait_untrusted_events_ocall(const void *waiter, const void *self)
{
	int r;

	if (!waiter || !self)
		return SGX_ERROR_INVALID_PARAMETER;
	pthread_mutex_lock(&lock);
	r = set_locked((uintptr_t)waiter);
	pthread_cond_broadcast(&changed);
	if (!r)
		r = wait_locked((uintptr_t)self);
	pthread_mutex_unlock(&lock);
	return r;
}

/* see adyton/tstdc.h */
int sgx_thread_set_multiple_untrusted_events_ocall(const void **waiters, size_t total)
{
	int r = 0;

	if ((!waiters && total) || total > MAX_MULTIPLE)
		return SGX_ERROR_INVALID_PARAMETER;
	for (size_t i = 0; i < total; i++)
		if (!waiters[i])
			return SGX_ERROR_INVALID_PARAMETER;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < total && !r; i++)
		r = set_locked((uintptr_t)waiters[i]);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	return r;
}
