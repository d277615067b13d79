/*
 * broker.h - the key broker's request handling (adyton-kbs serve).
 * Transport-independent: one request frame in, one answer frame out.
 */
#ifndef ADYTON_KBS_BROKER_H
#define ADYTON_KBS_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "msg.h"
#include "store.h"

typedef struct kbs_broker {
	kbs_store *store;
	uint8_t token[KBS_TOKEN];    /* the admin credential */
	int audit_fd;                /* append-only audit log */
	unsigned nonce_ttl;          /* seconds a challenge stays valid */
	const char *gate_state;      /* the gate's hosts table (hostreq.h), or NULL */
} kbs_broker;

/*
 * Handles one request frame from peer (a short text for the audit log):
 * *resp gets a malloc'd answer frame (NONCE, RELEASE, POLICY, LISTING, OK
 * or ERROR).  *close_after is set when the connection must end (a
 * malformed frame: the session's error is sticky).  Returns an error only
 * when no answer could be built (out of memory).
 */
ADY_MUST_CHECK ady_err kbs_broker_handle(kbs_broker *b, const uint8_t *frame, size_t len, const char *peer,
					 uint8_t **resp, size_t *resp_len, int *close_after);

/* Appends one line to the audit log: "<UTC time> <event> <fields>". */
void kbs_audit(kbs_broker *b, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
