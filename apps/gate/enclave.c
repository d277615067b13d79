/*
 * enclave.c - the gate's enclave check (ca.h): an adyton quote over
 * SHA-256(nonce || enclave key), verified by libadyton-verify under the
 * application's policy, exactly as the key broker verifies its fetches
 * (ady_verify_bind_key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/verify.h"
#include "adyton/vpolicy.h"
#include "ca.h"

/* see ca.h */
ady_err gate_enclave_check(const uint8_t *quote, size_t len, const char *policy, size_t policy_len,
			   const uint8_t nonce[static GATE_NONCE], const uint8_t pub[static GATE_PUB],
			   gate_enclave_result *out)
{
	ady_vpolicy *pol = calloc(1, sizeof(*pol));
	ady_verify_report *rep = calloc(1, sizeof(*rep));
	const ady_sgx_report_body *b;
	unsigned line = 0;
	ady_err err;

	memset(out, 0, sizeof(*out));
	if (!pol || !rep) {
		err = ADY_ERR_NOMEM;
		goto out;
	}
	err = ady_vpolicy_parse(policy, policy_len, pol, &line);
	if (err) {
		snprintf(out->reason, sizeof(out->reason), "policy line %u: %s", line, ady_strerror(err));
		err = ADY_ERR_CONFIG;
		goto out;
	}
	/* The certificate says "this key is in a production enclave": a
	 * DEBUG enclave's memory is open to its host, so no policy may
	 * admit one. */
	if (pol->allow_debug) {
		snprintf(out->reason, sizeof(out->reason), "policy allows DEBUG enclaves (the gate never does)");
		err = ADY_ERR_CONFIG;
		goto out;
	}
	if (pol->nmrenclave == 0 && pol->nsigner == 0) {
		snprintf(out->reason, sizeof(out->reason), "policy names no mrenclave and no signer");
		err = ADY_ERR_CONFIG;
		goto out;
	}
	ady_verify_bind_key(pol, nonce, pub, GATE_PUB);
	if (ady_verify_quote(quote, len, pol, nonce, rep) != ADY_OK) {
		out->failed = rep->failed ? rep->failed : "verify";
		snprintf(out->reason, sizeof(out->reason), "%s", ady_verify_report_detail(rep));
	}
	b = &rep->quote.body;
	memcpy(out->id.mrenclave, b->mrenclave, 32);
	memcpy(out->id.mrsigner, b->mrsigner, 32);
	out->id.isvprodid = b->isvprodid;
	out->id.isvsvn = b->isvsvn;
	err = ADY_OK;
out:
	free(pol);
	free(rep);
	return err;
}
