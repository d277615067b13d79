/*
 * The key broker's message parser (apps/kbs/msg.c): frames and
 * configuration resources, the latter also through the enclave's parser
 * (src/trts/kbs_config.c), which must agree with the broker's validator.  A frame that decodes must encode back to the
 * same bytes (the format has one encoding per message), and a LISTING's
 * entries iterate to its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../apps/kbs/msg.c"
#include "../../src/trts/kbs_config.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kbs_msg m;
	uint8_t *out = NULL;
	size_t out_len = 0;

	/* The enclave's parser and the broker's validator agree. */
	{
		ady_kbs_config cfg;
		ady_err v = kbs_config_validate(data, size), p = ady_kbs_config_parse(data, size, &cfg);
		if ((v == ADY_OK) != (p == ADY_OK) && !(p == ADY_ERR_TOO_LARGE && size > ADY_KBS_MAX_DATA))
			abort();
		if (p == ADY_OK) {
			for (size_t i = 0; i < cfg.nfiles; i++)
				if (ady_kbs_config_file(&cfg, cfg.files[i].path) == NULL)
					abort();
			if (cfg.argv[cfg.argc] || cfg.envp[cfg.envc])
				abort();
		}
		ady_kbs_config_free(&cfg);
	}
	if (kbs_msg_decode(data, size, &m) != ADY_OK)
		return 0;
	if (m.type == KBS_LISTING) {
		size_t off = 0;
		uint32_t n = 0;
		kbs_str name;
		uint8_t kind, revoked;
		while (kbs_list_next(&m, &off, &name, &kind, &revoked))
			n++;
		if (n != m.count || off != m.list.len)
			abort();
	}
	if (kbs_msg_encode(&m, &out, &out_len) != ADY_OK || out_len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	return 0;
}
