/*
 * libFuzzer target: the verifier policy parser (src/format/vpolicy.c).
 * An accepted policy names at least one enclave, keeps every count and
 * path within its bounds, and never sets what only callers set
 * (want_report_data).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/vpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ady_vpolicy p;
	unsigned line = 0;

	if (ady_vpolicy_parse((const char *)data, size, &p, &line) == ADY_OK) {
		if (p.nmrenclave + p.nsigner == 0 || p.nmrenclave > ADY_VPOLICY_MAX || p.nsigner > ADY_VPOLICY_MAX ||
		    p.nplatform > ADY_VPOLICY_MAX || p.nek_ca > ADY_VPOLICY_MAX_CA || p.nak_ca > ADY_VPOLICY_MAX_CA ||
		    (p.pcr_mask >> 24) || p.want_report_data)
			abort();
		for (uint32_t i = 0; i < p.nek_ca; i++)
			if (strnlen(p.tpm_ek_ca[i], ADY_VPOLICY_MAX_PATH) >= ADY_VPOLICY_MAX_PATH || !p.tpm_ek_ca[i][0])
				abort();
		for (uint32_t i = 0; i < p.nak_ca; i++)
			if (strnlen(p.tpm_ak_ca[i], ADY_VPOLICY_MAX_PATH) >= ADY_VPOLICY_MAX_PATH || !p.tpm_ak_ca[i][0])
				abort();
	} else if (line == 0 && size > 0 && memchr(data, '\n', size) == NULL && size < 300) {
		/* a one-line input that fails fails on line 1 (or has no enclave) */
	}
	return 0;
}
