/*
 * libFuzzer target: the gate's decoder of an agent's "attest" answer
 * (apps/gate/answer.c: a JSON object through jansson, base64 through
 * OpenSSL, hex PCRs and key), as serve.c calls it on the frame it
 * received.  A decoded answer has every buffer; a refused one says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	gate_answer *e = calloc(1, sizeof(*e));
	char why[256] = "";
	int ok;

	if (!o || !e) {
		json_decref(o);
		free(e);
		return 0;
	}
	ok = gate_answer_decode(o, 0, e, why, sizeof(why));
	if (ok ? (!e->attest || !e->sig || !e->log || !e->ak || !e->patt || !e->psig || e->npcr < 11 ||
		  e->npcr > GATE_AGENT_MAX_PCR)
	       : !why[0])
		abort();
	gate_answer_free(e);
	free(e);
	json_decref(o);
	return 0;
}
