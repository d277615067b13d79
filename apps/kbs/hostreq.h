/*
 * A resource's host requirement (issue 16: "optional host check result
 * from the gate"): besides the verifier policy, a resource may say that
 * the enclave must run on a host that adyton-gate serve checked (TPM
 * quote, IMA log, runtime policy) and passed recently, and that the
 * enclave's quote is signed by the attestation key that host's TPM
 * certified (the gate's co-location check, apps/gate/README.md).
 *
 * In the resource's policy text, beside the verifier's lines:
 *   host         = NAME | any   a named host, or any host the gate keeps
 *   host_max_age = SECONDS      how old its last passed round may be
 *                               (default 300, 1..86400)
 * The broker reads the gate's state (adyton-kbs serve --gate-state: the
 * SQLite file or postgresql:CONNINFO that the gate's serve writes).
 */
#ifndef ADYTON_KBS_HOSTREQ_H
#define ADYTON_KBS_HOSTREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#define KBS_HOST_MAX_AGE_DEFAULT 300L

typedef struct kbs_hostreq {
	bool required;
	bool any;                 /* host = any */
	char host[129];
	long max_age;
} kbs_hostreq;

/* Takes the host lines out of a NUL-terminated policy text in place (each
 * becomes a comment, so the verifier's line numbers stay) and fills *req.
 * ADY_ERR_CONFIG (with *line) for a bad value or a line given twice;
 * host_max_age without host is an error too. */
ADY_MUST_CHECK ady_err kbs_hostreq_split(char *text, kbs_hostreq *req, unsigned *line);

/* With the verified quote (its signature and identity already checked
 * under the verifier policy): 1 = a host meets the requirement; 0 =
 * refused, the reason in reason; -1 = the gate's state cannot be read. */
int kbs_hostreq_check(const char *gate_state, const kbs_hostreq *req, const uint8_t *quote, size_t qlen,
		      const uint8_t nonce[static 32], char *reason, size_t cap);

#endif
