/*
 * The `adyton run --config-from` test enclave (tests/kbs.cmake): its EDL
 * is apps/kbs/adyton_kbs_run.edl, its one ECALL takes the configuration
 * resource's name (ady_kbs_run_main, adyton/kbs.h) and answers with what it was configured with: every argv
 * element, every environment entry, and per file its path, length and
 * SHA-256, one per line.  Nothing of it comes from the host.
 */
#include <bearssl.h>
#include <stdarg.h>
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/kbs.h>

#include "adyton_kbs_run_t.h"

typedef struct out_buf {
	uint8_t *p;
	size_t cap, len;
	int over;
} out_buf;

static void put(out_buf *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n > o->cap) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static ady_err app_main(const ady_kbs_config *cfg, uint8_t *out, size_t cap, size_t *len)
{
	out_buf o = {out, cap, 0, 0};
	char hex[65];
	const char *mode = ady_kbs_config_getenv(cfg, "MODE");

	for (size_t i = 0; i < cfg->argc; i++) {
		put(&o, "argv ");
		put(&o, cfg->argv[i]);
		put(&o, "\n");
	}
	for (char **e = cfg->envp; *e; e++) {
		put(&o, "env ");
		put(&o, *e);
		put(&o, "\n");
	}
	for (size_t i = 0; i < cfg->nfiles; i++) {
		uint8_t d[32];
		char num[24];
		size_t n = cfg->files[i].len, k = sizeof(num) - 1;
		br_sha256_context h;
		br_sha256_init(&h);
		br_sha256_update(&h, cfg->files[i].data, cfg->files[i].len);
		br_sha256_out(&h, d);
		ady_hex_encode(d, 32, hex);
		hex[64] = '\0';
		num[k] = '\0';
		do {
			num[--k] = (char)('0' + n % 10);
			n /= 10;
		} while (n);
		put(&o, "file ");
		put(&o, cfg->files[i].path);
		put(&o, " len=");
		put(&o, num + k);
		put(&o, " sha256=");
		put(&o, hex);
		put(&o, "\n");
	}
	if (cfg->argc && ady_kbs_config_file(cfg, cfg->argv[0]))
		put(&o, "argv[0] is also a file\n");
	put(&o, "MODE=");
	put(&o, mode ? mode : "(unset)");
	put(&o, "\n");
	if (o.over)
		return ADY_ERR_SHORT_BUFFER;
	*len = o.len;
	return ADY_OK;
}

int kbs_run_main(const char *name, uint8_t *out, size_t cap, size_t *out_len)
{
	return (int)ady_kbs_run_main(name, out, cap, out_len, app_main);
}
