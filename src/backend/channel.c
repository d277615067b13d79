/* Doorbells of the shared channel; see channel.h. */
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend/channel.h"

#define SLEEP_NS 50000000L   /* 50 ms between liveness checks */

/* see channel.h */
uint64_t ady_chan_size(uint32_t threads, uint64_t msbuf_size)
{
	uint64_t slots, total;

	if (__builtin_mul_overflow((uint64_t)threads, msbuf_size, &slots) ||
	    __builtin_add_overflow(slots, (uint64_t)ADY_CHAN_CTL_SIZE, &total))
		return 0;
	return total;
}

static long futex(uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	/* Shared (not FUTEX_PRIVATE): the two sides are different processes. */
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* see channel.h */
void ady_chan_put_request(ady_chan_ctl *c, const ady_msbuf_hdr *h)
{
	__atomic_store_n(&c->index, h->index, __ATOMIC_RELAXED);
	__atomic_store_n(&c->in_len, h->in_len, __ATOMIC_RELAXED);
	__atomic_store_n(&c->out_cap, h->out_cap, __ATOMIC_RELAXED);
}

/* see channel.h */
void ady_chan_take_reply(const ady_chan_ctl *c, ady_msbuf_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->op = ADY_MSBUF_REPLY;
	h->status = __atomic_load_n(&c->status, __ATOMIC_RELAXED);
	h->out_len = __atomic_load_n(&c->out_len, __ATOMIC_RELAXED);
}

/* see channel.h */
ady_err ady_chan_take_request(const ady_chan_ctl *c, uint8_t *slot, uint64_t msbuf_size)
{
	ady_msbuf_hdr h = {.op = ADY_MSBUF_ECALL};

	h.index = __atomic_load_n(&c->index, __ATOMIC_RELAXED);
	h.in_len = __atomic_load_n(&c->in_len, __ATOMIC_RELAXED);
	h.out_cap = __atomic_load_n(&c->out_cap, __ATOMIC_RELAXED);
	if (msbuf_size < ADY_MSBUF_HEADER || h.in_len > msbuf_size - ADY_MSBUF_HEADER ||
	    h.out_cap > msbuf_size - ADY_MSBUF_HEADER)
		return ADY_ERR_PROTOCOL;
	ady_msbuf_encode(slot, &h);
	return ADY_OK;
}

/* see channel.h */
uint64_t ady_chan_put_reply(ady_chan_ctl *c, const uint8_t *slot, uint64_t msbuf_size, uint64_t rc)
{
	ady_msbuf_hdr h;

	if (rc != ADY_OK)
		return rc;
	if (ady_msbuf_decode(slot, msbuf_size, &h) != ADY_OK || h.op != ADY_MSBUF_REPLY)
		return ADY_ERR_PROTOCOL;
	__atomic_store_n(&c->status, h.status, __ATOMIC_RELAXED);
	__atomic_store_n(&c->out_len, h.out_len, __ATOMIC_RELAXED);
	return rc;
}

/* see channel.h */
void ady_chan_post(ady_chan_ctl *c, uint32_t to)
{
	__atomic_store_n(&c->turn, to, __ATOMIC_SEQ_CST);
	/* Dekker with the waiter: it sets waiting, then re-reads turn; we set
	 * turn, then read waiting.  Sequential consistency on both sides means
	 * at least one of us sees the other's store. */
	if (__atomic_load_n(&c->waiting[to], __ATOMIC_SEQ_CST))
		futex(&c->turn, FUTEX_WAKE, 1, NULL);
}

/* see channel.h */
void ady_chan_wake(ady_chan_ctl *c) { futex(&c->turn, FUTEX_WAKE, 1, NULL); }

/* see channel.h */
ady_err ady_chan_wait(ady_chan_ctl *c, uint32_t me, long spin_ns, int (*alive)(void *ctx), void *ctx)
{
	static const struct timespec period = {0, SLEEP_NS};

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 1;; i++) {
		if (__atomic_load_n(&c->turn, __ATOMIC_ACQUIRE) == me)
			return ADY_OK;
		__builtin_ia32_pause();
		if ((i & 15) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) > spin_ns)
				break;
		}
	}
	for (;;) {
		uint32_t t;

		__atomic_store_n(&c->waiting[me], 1, __ATOMIC_SEQ_CST);
		t = __atomic_load_n(&c->turn, __ATOMIC_SEQ_CST);
		if (t == me) {
			__atomic_store_n(&c->waiting[me], 0, __ATOMIC_RELAXED);
			return ADY_OK;
		}
		if (__atomic_load_n(&c->dead, __ATOMIC_ACQUIRE) || (alive && !alive(ctx))) {
			__atomic_store_n(&c->waiting[me], 0, __ATOMIC_RELAXED);
			return ADY_ERR_ENCLAVE_LOST;
		}
		futex(&c->turn, FUTEX_WAIT, t, &period);
		__atomic_store_n(&c->waiting[me], 0, __ATOMIC_RELAXED);
	}
}
