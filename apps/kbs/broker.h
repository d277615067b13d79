/*
 * broker.h - the key broker's request handling (adyton-kbs serve).
 * Transport-independent: one request frame in, one answer frame out.
 */
#ifndef ADYTON_KBS_BROKER_H
#define ADYTON_KBS_BROKER_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "adyton/error.h"
#include "msg.h"
#include "store.h"

typedef struct kbs_broker {
	kbs_store *store;
	uint8_t token[KBS_TOKEN];    /* the admin credential */
	int audit_fd;                /* append-only audit log */
	unsigned nonce_ttl;          /* seconds a challenge stays valid */
	const char *gate_state;      /* the gate's hosts table (hostreq.h), or NULL */
	/* Internal (kbs_broker_init): */
	pthread_mutex_t lock;        /* one request at a time (store, nonces, log order) */
	EVP_PKEY *key;               /* the broker's P-256 key for releases (broker.c) */
	uint8_t key_pub[65];
	time_t key_born;
	bool quiet;                  /* the request wrote nothing that must be durable */
	pthread_mutex_t sync_lock;   /* group commit (kbs_broker_serve) */
	pthread_cond_t synced_cv;
	atomic_uint_fast64_t written; /* requests whose writes are done */
	uint64_t synced;             /* ... and durable (audit log and store) */
	bool syncing, broken;
	atomic_bool audit_lost;      /* a line could not be written: nothing more is answered */
} kbs_broker;

/* Fills the internal fields; the caller sets the others.  kbs_broker_fini
 * releases them. */
ADY_MUST_CHECK ady_err kbs_broker_init(kbs_broker *b);
void kbs_broker_fini(kbs_broker *b);

/*
 * Handles one request frame from peer (a short text for the audit log):
 * *resp gets a malloc'd answer frame (NONCE, RELEASE, POLICY, LISTING, OK
 * or ERROR).  *close_after is set when the connection must end (a
 * malformed frame: the session's error is sticky).  Returns an error only
 * when no answer could be built (out of memory).
 */
ADY_MUST_CHECK ady_err kbs_broker_handle(kbs_broker *b, const uint8_t *frame, size_t len, const char *peer,
					 uint8_t **resp, size_t *resp_len, int *close_after);

/*
 * What a connection calls per request frame: kbs_broker_handle under the
 * broker's lock, then, unless the request was a challenge answered with a
 * nonce, a wait until the audit log and the store are durable up to this
 * request (fdatasync of the log, kbs_store_sync), shared by the requests
 * that wait together (group commit).  The answer comes back only then; if
 * the flush fails, it is replaced by a refusal ("not durable") and every
 * later request is refused the same way (a failed fdatasync cannot be
 * retried safely): nothing is released that the log and the store do not
 * hold.
 */
ADY_MUST_CHECK ady_err kbs_broker_serve(kbs_broker *b, const uint8_t *frame, size_t len, const char *peer,
					uint8_t **resp, size_t *resp_len, int *close_after);

/* Appends one line to the audit log: "<UTC time> <event> <fields>" (one
 * write on the O_APPEND descriptor; not flushed: kbs_broker_serve's group
 * commit, or the caller, fdatasyncs it).  A line that cannot be written
 * sets audit_lost, and kbs_broker_serve then withholds every answer that
 * needs the log. */
void kbs_audit(kbs_broker *b, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
