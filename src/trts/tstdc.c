/*
 * tstdc.c - the SGX SDK's sgx_thread_mutex_* / sgx_thread_cond_* and
 * sgx_cpuid (adyton/sgx_thread.h).  As in the SDK, a thread that must
 * wait queues itself inside the enclave and sleeps outside on its own
 * "untrusted event" (sgx_thread_wait_untrusted_event_ocall); whoever
 * releases it pops it from the queue and sets its event.  Every decision
 * (who owns the mutex, who is woken) is taken inside the enclave under a
 * spinlock; the application only delivers wakeups.  The host keeps a
 * count per event, so a wakeup set before its thread sleeps is not lost.
 *
 * The OCALL stubs are the ones adyton-edl generates from the SDK's
 * sgx_tstdc.edl into the enclave's NAME_t.c: this file is linked only
 * into enclaves that use these functions, which must import them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/sgx_thread.h"
#include "internal.h"

/* Generated from sgx_tstdc.edl into the enclave's NAME_t.c. */
ady_err sgx_thread_wait_untrusted_event_ocall(int *ady_retval, const void *self);
ady_err sgx_thread_set_untrusted_event_ocall(int *ady_retval, const void *waiter);
ady_err sgx_thread_setwait_untrusted_events_ocall(int *ady_retval, const void *waiter, const void *self);
ady_err sgx_thread_set_multiple_untrusted_events_ocall(int *ady_retval, const void **waiters, size_t total);
ady_err sgx_oc_cpuidex(int cpuinfo[4], int leaf, int subleaf);

/* On the waiting thread's stack while it is queued. */
struct ady_tstdc_waiter {
	const void *self;
	struct ady_tstdc_waiter *next;
};

#define MAX_BROADCAST 64

static void spin_lock(volatile uint32_t *l)
{
	while (__atomic_exchange_n(l, 1u, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void spin_unlock(volatile uint32_t *l) { __atomic_store_n(l, 0u, __ATOMIC_RELEASE); }

static void push(struct ady_tstdc_waiter **head, struct ady_tstdc_waiter **tail, struct ady_tstdc_waiter *w)
{
	w->next = NULL;
	if (*tail)
		(*tail)->next = w;
	else
		*head = w;
	*tail = w;
}

static struct ady_tstdc_waiter *pop(struct ady_tstdc_waiter **head, struct ady_tstdc_waiter **tail)
{
	struct ady_tstdc_waiter *w = *head;

	if (w) {
		*head = w->next;
		if (!*head)
			*tail = NULL;
	}
	return w;
}

static int in_queue(const struct ady_tstdc_waiter *q, const struct ady_tstdc_waiter *w)
{
	for (; q; q = q->next)
		if (q == w)
			return 1;
	return 0;
}

/* A failed event OCALL would be a lost wakeup, i.e. a deadlock: stop.
 * (ret is read after the call: it is what the OCALL set.) */
static void checked(ady_err err, const int *ret, const char *what)
{
	if (err != ADY_OK || *ret != 0)
		ady_abort("sgx_thread: %s failed (%s, %d)", what, ady_strerror(err), *ret);
}

static void wait_event(const void *self)
{
	int ret = -1;

	ady_err err = sgx_thread_wait_untrusted_event_ocall(&ret, self);

	checked(err, &ret, "wait_untrusted_event");
}

static void set_event(const void *waiter)
{
	int ret = -1;

	ady_err err = sgx_thread_set_untrusted_event_ocall(&ret, waiter);

	checked(err, &ret, "set_untrusted_event");
}

/* see adyton/sgx_thread.h */
sgx_thread_t sgx_thread_self(void) { return ady_trts_current(); }

/* see adyton/sgx_thread.h */
int sgx_thread_mutex_init(sgx_thread_mutex_t *mutex, const sgx_thread_mutexattr_t *unused)
{
	(void)unused;
	if (!mutex)
		return EINVAL;
	*mutex = (sgx_thread_mutex_t)SGX_THREAD_MUTEX_INITIALIZER;
	return 0;
}

/* see adyton/sgx_thread.h */
int sgx_thread_mutex_destroy(sgx_thread_mutex_t *mutex)
{
	int r = 0;

	if (!mutex)
		return EINVAL;
	spin_lock(&mutex->spin);
	if (mutex->owner || mutex->head)
		r = EBUSY;
	spin_unlock(&mutex->spin);
	return r;
}

/* see adyton/sgx_thread.h */
int sgx_thread_mutex_lock(sgx_thread_mutex_t *mutex)
{
	const void *self = sgx_thread_self();
	struct ady_tstdc_waiter w = {self, NULL};
	int still;

	if (!mutex || !self)
		return EINVAL;
	for (;;) {
		spin_lock(&mutex->spin);
		if (mutex->owner == self) {
			spin_unlock(&mutex->spin);
			return EINVAL; /* not recursive: it would deadlock */
		}
		if (!mutex->owner) {
			mutex->owner = self;
			spin_unlock(&mutex->spin);
			return 0;
		}
		push(&mutex->head, &mutex->tail, &w);
		spin_unlock(&mutex->spin);
		/* only the unlocker pops w; a wakeup while w is still queued is
		 * not ours (the application's word): sleep again */
		do {
			wait_event(self);
			spin_lock(&mutex->spin);
			still = in_queue(mutex->head, &w);
			spin_unlock(&mutex->spin);
		} while (still);
	}
}

/* see adyton/sgx_thread.h */
int sgx_thread_mutex_trylock(sgx_thread_mutex_t *mutex)
{
	const void *self = sgx_thread_self();
	int r = 0;

	if (!mutex || !self)
		return EINVAL;
	spin_lock(&mutex->spin);
	if (mutex->owner)
		r = EBUSY;
	else
		mutex->owner = self;
	spin_unlock(&mutex->spin);
	return r;
}

/* Releases mutex (owned by the caller) and returns the waiter to wake,
 * or NULL. */
static int release(sgx_thread_mutex_t *mutex, const void **wake)
{
	struct ady_tstdc_waiter *w;

	*wake = NULL;
	spin_lock(&mutex->spin);
	if (mutex->owner != sgx_thread_self()) {
		spin_unlock(&mutex->spin);
		return EPERM;
	}
	mutex->owner = NULL;
	w = pop(&mutex->head, &mutex->tail);
	/* w's stack node may go away once w runs: read it before unlocking */
	if (w)
		*wake = w->self;
	spin_unlock(&mutex->spin);
	return 0;
}

/* see adyton/sgx_thread.h */
int sgx_thread_mutex_unlock(sgx_thread_mutex_t *mutex)
{
	const void *wake;
	int r;

	if (!mutex)
		return EINVAL;
	if ((r = release(mutex, &wake)))
		return r;
	if (wake)
		set_event(wake);
	return 0;
}

/* see adyton/sgx_thread.h */
int sgx_thread_cond_init(sgx_thread_cond_t *cond, const sgx_thread_condattr_t *unused)
{
	(void)unused;
	if (!cond)
		return EINVAL;
	*cond = (sgx_thread_cond_t)SGX_THREAD_COND_INITIALIZER;
	return 0;
}

/* see adyton/sgx_thread.h */
int sgx_thread_cond_destroy(sgx_thread_cond_t *cond)
{
	int r = 0;

	if (!cond)
		return EINVAL;
	spin_lock(&cond->spin);
	if (cond->head)
		r = EBUSY;
	spin_unlock(&cond->spin);
	return r;
}

/* see adyton/sgx_thread.h */
int sgx_thread_cond_wait(sgx_thread_cond_t *cond, sgx_thread_mutex_t *mutex)
{
	const void *self = sgx_thread_self();
	struct ady_tstdc_waiter w = {self, NULL};
	const void *wake;
	int r, ret = -1, still;

	if (!cond || !mutex || !self)
		return EINVAL;
	spin_lock(&cond->spin);
	push(&cond->head, &cond->tail, &w);
	spin_unlock(&cond->spin);
	if ((r = release(mutex, &wake))) {
		spin_lock(&cond->spin);
		/* take w back out: it is on this stack */
		for (struct ady_tstdc_waiter **pp = &cond->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
			if (*pp == &w) {
				*pp = w.next;
				if (cond->tail == &w)
					cond->tail = prev;
				break;
			}
		}
		spin_unlock(&cond->spin);
		return r;
	}
	/* hand the mutex on and sleep in one exit, as the SDK does */
	if (wake) {
		ady_err err = sgx_thread_setwait_untrusted_events_ocall(&ret, wake, self);
		checked(err, &ret, "setwait_untrusted_events");
	} else {
		wait_event(self);
	}
	/* only a signal pops w; until then every wakeup is someone else's
	 * word and we sleep again */
	for (;;) {
		spin_lock(&cond->spin);
		still = in_queue(cond->head, &w);
		spin_unlock(&cond->spin);
		if (!still)
			break;
		wait_event(self);
	}
	return sgx_thread_mutex_lock(mutex);
}

/* see adyton/sgx_thread.h */
int sgx_thread_cond_signal(sgx_thread_cond_t *cond)
{
	struct ady_tstdc_waiter *w;
	const void *wake = NULL;

	if (!cond)
		return EINVAL;
	spin_lock(&cond->spin);
	w = pop(&cond->head, &cond->tail);
	if (w)
		wake = w->self;
	spin_unlock(&cond->spin);
	if (wake)
		set_event(wake);
	return 0;
}

/* see adyton/sgx_thread.h */
int sgx_thread_cond_broadcast(sgx_thread_cond_t *cond)
{
	const void *wake[MAX_BROADCAST];
	size_t n;
	int ret;

	if (!cond)
		return EINVAL;
	do {
		struct ady_tstdc_waiter *w;
		n = 0;
		spin_lock(&cond->spin);
		while (n < MAX_BROADCAST && (w = pop(&cond->head, &cond->tail)))
			wake[n++] = w->self;
		spin_unlock(&cond->spin);
		if (n) {
			ady_err err;
			ret = -1;
			err = sgx_thread_set_multiple_untrusted_events_ocall(&ret, wake, n);
			checked(err, &ret, "set_multiple_untrusted_events");
		}
	} while (n == MAX_BROADCAST);
	return 0;
}

/* see adyton/sgx_thread.h */
sgx_status_t sgx_cpuidex(int cpuinfo[4], int leaf, int subleaf)
{
	if (!cpuinfo)
		return SGX_ERROR_INVALID_PARAMETER;
	return sgx_oc_cpuidex(cpuinfo, leaf, subleaf) == ADY_OK ? SGX_SUCCESS : SGX_ERROR_UNEXPECTED;
}

/* see adyton/sgx_thread.h */
sgx_status_t sgx_cpuid(int cpuinfo[4], int leaf) { return sgx_cpuidex(cpuinfo, leaf, 0); }
