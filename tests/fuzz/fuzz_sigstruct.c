/*
 * libFuzzer target: SIGSTRUCT and meta note decoding, with a round trip
 * through the encoder for every accepted descriptor.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/meta.h"
#include "adyton/sgx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ady_sgx_sigstruct ss;
	ady_config cfg;
	uint8_t buf[ADY_META_SIZE];

	if (ady_sigstruct_decode(data, size, &ss) == ADY_OK) {
		uint8_t signed_bytes[256];

		if (memcmp(&ss, data, sizeof(ss)) != 0 || ss.exponent != 3)
			abort();
		ady_sigstruct_signed_bytes(&ss, signed_bytes);
	}
	if (ady_meta_decode(data, size, &cfg, &ss) == ADY_OK) {
		if (ady_config_validate(&cfg) != ADY_OK)
			abort();
		if (ady_meta_encode(&cfg, &ss, buf, sizeof(buf)) != ADY_OK)
			abort();
		if (memcmp(buf, data, sizeof(buf)) != 0)
			abort();
	}
	return 0;
}
