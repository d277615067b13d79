/*
 * src/backend/channel.h - the channel between an application and an
 * enclave that runs in another process (process backend; kvm later): one
 * shared memfd, created and sealed (no shrink, no grow) by adytond.
 *
 *   [0, 4096)                        control page: one ady_chan_ctl per slot
 *   [4096 + i*msbuf_size, ...)       marshalling slot i (adyton/msbuf.h)
 *
 * Doorbells: each slot's `turn` says whose move it is.  The side whose
 * turn it is writes the slot, sets `kind` (and `op`/`rc`), then hands the
 * turn over and wakes the other side if it sleeps (futex on `turn`).
 * Waiting spins briefly, then sleeps on the futex, so a call costs no
 * socket round trip.  Either side may be hostile to the other: every value
 * read from here is read once and checked; the enclave reads the slot only
 * through ady_msbuf_decode.  adytond sets `dead` when the enclave host exits.
 */
#ifndef ADY_BACKEND_CHANNEL_H
#define ADY_BACKEND_CHANNEL_H

#include <stdint.h>

#include "adyton/error.h"
#include "adyton/msbuf.h"

#define ADY_CHAN_CTL_SIZE 4096u

enum { ADY_TURN_APP = 0, ADY_TURN_HOST = 1 };

enum {
	ADY_KIND_ECALL = 1,  /* app -> host: run the ECALL posted in the slot */
	ADY_KIND_DONE = 2,   /* host -> app: the ECALL returned rc */
	ADY_KIND_EXIT = 3,   /* host -> app: serve exit `op` (OCALL, LOG, ABORT) */
	ADY_KIND_RESUME = 4, /* app -> host: the exit is served, rc for the enclave */
};

/*
 * An ECALL's header travels in the control line, not in the slot: the app
 * posts index/in_len/out_cap with ADY_KIND_ECALL, the enclave host writes
 * them into the slot's header for the enclave and, on ADY_KIND_DONE with
 * rc ADY_OK, hands back the reply's status/out_len here.  So a call moves
 * one cache line each way (plus the data), not two: the slot's header
 * line stays on the enclave's side.  Exits (OCALL, log, abort) still use
 * the slot's header.
 */
typedef struct ady_chan_ctl {
	uint32_t turn;
	uint32_t kind;
	uint32_t op;
	uint32_t dead;          /* set by adytond: the enclave host is gone */
	uint64_t rc;
	uint32_t waiting[2];    /* [ADY_TURN_APP], [ADY_TURN_HOST]: that side sleeps */
	uint32_t index;         /* ECALL: request */
	uint32_t status;        /* DONE: the reply's status */
	uint64_t in_len;        /* ECALL: request */
	uint64_t out_cap;       /* ECALL: request */
	uint64_t out_len;       /* DONE: the reply's out_len */
} ady_chan_ctl;
_Static_assert(sizeof(ady_chan_ctl) == 64, "one cache line per slot");
_Static_assert(64u * sizeof(ady_chan_ctl) <= ADY_CHAN_CTL_SIZE, "control page");

/* Channel bytes for threads slots of msbuf_size; 0 on overflow. */
uint64_t ady_chan_size(uint32_t threads, uint64_t msbuf_size);

/* App side: puts the ECALL request h (index, in_len, out_cap) in c. */
void ady_chan_put_request(ady_chan_ctl *c, const ady_msbuf_hdr *h);

/* App side, after ADY_KIND_DONE with rc ADY_OK: the reply (op REPLY,
 * status, out_len) into *h, each read once; the caller bounds out_len. */
void ady_chan_take_reply(const ady_chan_ctl *c, ady_msbuf_hdr *h);

/* Enclave host side: the request in c, read once and bounded by the data
 * area of a slot of msbuf_size bytes, written as the slot's ECALL header.
 * ADY_ERR_PROTOCOL (nothing written) when out of bounds. */
ADY_MUST_CHECK ady_err ady_chan_take_request(const ady_chan_ctl *c, uint8_t *slot, uint64_t msbuf_size);

/* Enclave host side, after the enclave returned rc: when rc is ADY_OK,
 * the slot's reply header into c (status, out_len); a slot that holds no
 * valid reply makes it ADY_ERR_PROTOCOL.  Returns the rc to post. */
uint64_t ady_chan_put_reply(ady_chan_ctl *c, const uint8_t *slot, uint64_t msbuf_size, uint64_t rc);

/* Hands the turn to `to` and wakes it if it sleeps. */
void ady_chan_post(ady_chan_ctl *c, uint32_t to);

/* Wakes a side that sleeps on c's turn, for a poster that cannot make the
 * system call itself (the kvm backend's guest, which posts from guest
 * mode and exits only to have the sleeper woken). */
void ady_chan_wake(ady_chan_ctl *c);

/*
 * How long a waiter spins before it sleeps on the futex (a sleep and its
 * wake-up are two system calls and a reschedule: several microseconds,
 * ~1.5 us per system call on a paravirtualized guest):
 *   ADY_CHAN_SPIN_ANSWER  the other side is working for us (an ECALL or an
 *                         OCALL in progress): long enough to cover a 64 KiB
 *                         bulk ECALL (bench/keyguard), short next to a
 *                         call that takes milliseconds;
 *   ADY_CHAN_SPIN_IDLE    waiting for the next request, which may never
 *                         come: enough for back-to-back calls.
 * Bounded by time, not by a count of pause instructions, whose cost varies
 * by tens of times between CPUs.
 */
#define ADY_CHAN_SPIN_ANSWER 50000L /* ns */
#define ADY_CHAN_SPIN_IDLE 5000L    /* ns */

/*
 * Waits until it is `me`'s turn: spins for spin_ns, then sleeps on the
 * futex.  Returns ADY_OK, or ADY_ERR_ENCLAVE_LOST when `dead` is set or
 * alive(ctx) says the other side is gone (checked every sleep period;
 * alive may be NULL).
 */
ady_err ady_chan_wait(ady_chan_ctl *c, uint32_t me, long spin_ns, int (*alive)(void *ctx), void *ctx);

#endif
