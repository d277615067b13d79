/*
 * answer.c - the agent's answer to "attest", decoded and checked for shape
 * (wire.h); what it proves is serve.c's (gate_host_check and the rest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"
#include "wire.h"

/* see wire.h */
void gate_answer_free(gate_answer *e)
{
	free(e->attest), free(e->sig), free(e->log), free(e->ak), free(e->chain), free(e->patt), free(e->psig);
	memset(e, 0, sizeof(*e));
}

/* see wire.h */
int gate_answer_decode(json_t *a, uint64_t offset, gate_answer *e, char *why, size_t cap)
{
	json_t *pcrs = json_object_get(a, "pcrs"), *plat = json_object_get(a, "platform"), *v;
	const char *pk = json_string_value(json_object_get(plat, "key"));
	size_t i;

	memset(e, 0, sizeof(*e));
#define B64(field, key, obj)                                                                           \
	if (!(e->field = gate_unb64(json_string_value(json_object_get((obj), (key))), &e->field##_len))) { \
		snprintf(why, cap, "the agent's answer: \"%s\" missing or not base64", (key));            \
		return 0;                                                                               \
	}
	B64(attest, "attest", a);
	B64(sig, "sig", a);
	B64(log, "log", a);
	B64(ak, "ak_cert", a);
	B64(patt, "attest", plat);
	B64(psig, "sig", plat);
	if (!json_is_null(json_object_get(a, "ak_chain")) && json_object_get(a, "ak_chain")) {
		B64(chain, "ak_chain", a);
	}
#undef B64
	if (!json_is_integer(json_object_get(a, "offset")) ||
	    (uint64_t)json_integer_value(json_object_get(a, "offset")) != offset) {
		snprintf(why, cap, "the agent's answer: the log does not start at offset %llu", (unsigned long long)offset);
		return 0;
	}
	if (!json_is_array(pcrs) || json_array_size(pcrs) < 11 || json_array_size(pcrs) > GATE_AGENT_MAX_PCR) {
		snprintf(why, cap, "the agent's answer: \"pcrs\" is not 11 to 24 values");
		return 0;
	}
	json_array_foreach(pcrs, i, v) {
		const char *s = json_string_value(v);
		if (!s || strlen(s) != 64 || !ady_hex_decode(s, 64, e->pcr[i], 32)) {
			snprintf(why, cap, "the agent's answer: pcrs[%zu] is not 64 hex digits", i);
			return 0;
		}
	}
	e->npcr = (uint32_t)json_array_size(pcrs);
	if (!pk || strlen(pk) != 128 || !ady_hex_decode(pk, 128, e->pkey, 64)) {
		snprintf(why, cap, "the agent's answer: platform.key is not 128 hex digits");
		return 0;
	}
	return 1;
}

