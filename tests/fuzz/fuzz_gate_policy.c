/*
 * libFuzzer target: the gate's Keylime runtime-policy loader
 * (apps/gate/policy.c: jansson, PCRE2, base64 DER keys) and the check of
 * a few fixed entries against whatever loaded.  A loaded policy counts
 * its digests; a failed load leaves no policy and says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t dig[32] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
				0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
				0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ady_ima_template tmpls[] = {ADY_IMA_TEMPLATE_NG, ADY_IMA_TEMPLATE_SIG, ADY_IMA_TEMPLATE_BUF};
	static const uint8_t sig[] = {3, 2, 4, 0xe4, 0xa5, 0x01, 0xec, 0, 2, 0x12, 0x34};
	gate_policy *p = NULL;
	gate_why why = {{0}};
	ady_err err = gate_policy_load((const char *)data, size, &p, &why);

	if (err) {
		if (p || !why.text[0])
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		ady_ima_entry e;

		memset(&e, 0, sizeof(e));
		e.pcr = 10;
		e.tmpl = tmpls[i];
		e.alg = ADY_IMA_ALG_SHA256;
		e.alg_name = "sha256";
		e.digest = dig;
		e.digest_len = 32;
		e.name = "/usr/bin/a";
		e.name_len = 10;
		e.extra = sig;
		e.extra_len = tmpls[i] == ADY_IMA_TEMPLATE_NG ? 0 : sizeof(sig);
		if (gate_policy_check(p, &e, &why) == 0 && !why.text[0])
			abort();
	}
	(void)gate_policy_ndigests(p);
	gate_policy_free(p);
	return 0;
}
