/* libFuzzer target: the enclave config text parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "adyton/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ady_config cfg;
	unsigned line = 0;
	ady_err err = ady_config_parse((const char *)data, size, &cfg, &line);

	if (err == ADY_OK && ady_config_validate(&cfg) != ADY_OK)
		abort();
	if (err != ADY_OK && err != ADY_ERR_CONFIG)
		abort();
	return 0;
}
