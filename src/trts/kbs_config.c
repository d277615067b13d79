/*
 * kbs_config.c - configuration resources (adyton/kbs.h): the argv,
 * environment and files a broker released to this enclave, parsed with
 * the bounded cursor into one allocation.  No enclave-only code here: the
 * unit test and the fuzz target (fuzz_kbs_msg) build this file for the
 * host, and check it against the broker's own validator.
 */
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/kbs.h"

/* One pass of the configuration parser: counts (fill = 0), or fills cfg
 * from the copy of the blob at base (fill = 1). */
static ady_err config_walk(const uint8_t *p, size_t len, ady_kbs_config *cfg, char *strings, size_t *str_bytes,
			   int fill)
{
	size_t argc = 0, envc = 0, nfiles = 0, sb = 0;
	ady_cur c;

	ady_cur_init(&c, p, len);
	while (ady_cur_left(&c)) {
		const uint8_t *s;
		uint8_t tag;
		uint16_t n;
		uint32_t flen = 0;
		const uint8_t *content = NULL;
		const uint8_t *eq;

		if (ady_cur_u8(&c, &tag) || ady_cur_u16le(&c, &n))
			return ady_cur_err(&c);
		if (tag < 1 || tag > 3 || n == 0)
			return ADY_ERR_MALFORMED;
		s = c.p + c.off;
		if (ady_cur_skip(&c, n))
			return ady_cur_err(&c);
		eq = memchr(s, '=', n);
		if (memchr(s, 0, n) || (tag == 2 && (!eq || eq == s)))
			return ADY_ERR_MALFORMED;
		if (tag == 3) {
			if (ady_cur_u32le(&c, &flen))
				return ady_cur_err(&c);
			content = c.p + c.off;
			if (ady_cur_skip(&c, flen))
				return ady_cur_err(&c);
		}
		if (fill) {
			char *str = strings + sb;
			memcpy(str, s, n);
			str[n] = '\0';
			if (tag == 1)
				cfg->argv[argc] = str;
			else if (tag == 2)
				cfg->envp[envc] = str;
			else {
				cfg->files[nfiles].path = str;
				cfg->files[nfiles].data = content;
				cfg->files[nfiles].len = flen;
			}
		}
		argc += tag == 1;
		envc += tag == 2;
		nfiles += tag == 3;
		sb += (size_t)n + 1;
	}
	if (ady_cur_err(&c))
		return ady_cur_err(&c);
	cfg->argc = argc;
	cfg->envc = envc;
	cfg->nfiles = nfiles;
	*str_bytes = sb;
	return ADY_OK;
}

/* see adyton/kbs.h */
ady_err ady_kbs_config_parse(const void *p, size_t len, ady_kbs_config *cfg)
{
	ady_kbs_config counted = {0};
	size_t sb = 0, ptrs, total;
	uint8_t *mem, *blob;
	ady_err err;

	memset(cfg, 0, sizeof(*cfg));
	if (len > ADY_KBS_MAX_DATA)
		return ADY_ERR_TOO_LARGE;
	if (len && !p)
		return ADY_ERR_INVALID_ARG;
	err = config_walk(p, len, &counted, NULL, &sb, 0);
	if (err)
		return err;
	/* len <= 64 KiB bounds every count: no sum below can overflow. */
	ptrs = (counted.argc + 1 + counted.envc + 1) * sizeof(char *);
	total = ptrs + counted.nfiles * sizeof(ady_kbs_file) + sb + len;
	mem = calloc(1, total ? total : 1);
	if (!mem)
		return ADY_ERR_NOMEM;
	cfg->argv = (char **)(void *)mem;
	cfg->envp = cfg->argv + counted.argc + 1;
	cfg->files = (ady_kbs_file *)(void *)(mem + ptrs);
	blob = mem + ptrs + counted.nfiles * sizeof(ady_kbs_file) + sb;
	if (len)
		memcpy(blob, p, len);
	/* The second pass reads the enclave's own copy: what it checked is
	 * what it keeps. */
	err = config_walk(blob, len, cfg, (char *)(mem + ptrs + counted.nfiles * sizeof(ady_kbs_file)), &sb, 1);
	if (err) {
		ady_wipe(mem, total);
		free(mem);
		memset(cfg, 0, sizeof(*cfg));
		return err;
	}
	cfg->argv[cfg->argc] = NULL;
	cfg->envp[cfg->envc] = NULL;
	cfg->mem_ = mem;
	cfg->mem_len_ = total;
	return ADY_OK;
}

/* see adyton/kbs.h */
const char *ady_kbs_config_getenv(const ady_kbs_config *cfg, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < cfg->envc; i++)
		if (!strncmp(cfg->envp[i], key, kl) && cfg->envp[i][kl] == '=')
			return cfg->envp[i] + kl + 1;
	return NULL;
}

/* see adyton/kbs.h */
const ady_kbs_file *ady_kbs_config_file(const ady_kbs_config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->nfiles; i++)
		if (!strcmp(cfg->files[i].path, path))
			return &cfg->files[i];
	return NULL;
}

/* see adyton/kbs.h */
void ady_kbs_config_free(ady_kbs_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->mem_) {
		ady_wipe(cfg->mem_, cfg->mem_len_);
		free(cfg->mem_);
	}
	memset(cfg, 0, sizeof(*cfg));
}

