/*
 * config.c - the enclave configuration and its text form (adyton/config.h).
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/config.h"
#include "internal.h"

/* The longest meaningful line content ("isvprodid = 65535" and the like
 * are far shorter); comments may be longer, they are not stored. */
#define LINE_MAX_CONTENT 128u

/* see internal.h */
bool ady_config_heap_ok(uint64_t v)
{
	return v >= ADY_PAGE_SIZE && v <= ADY_CONFIG_MAX_HEAP && page_aligned(v);
}

/* see internal.h */
bool ady_config_stack_ok(uint64_t v)
{
	return v >= ADY_PAGE_SIZE && v <= ADY_CONFIG_MAX_STACK && page_aligned(v);
}

/* see internal.h */
bool ady_config_msbuf_ok(uint64_t v)
{
	return v >= ADY_PAGE_SIZE && v <= ADY_CONFIG_MAX_MSBUF && page_aligned(v);
}

/* see internal.h */
bool ady_config_threads_ok(uint64_t v)
{
	return v >= 1 && v <= ADY_MAX_THREADS;
}

/* see adyton/config.h */
void ady_config_defaults(ady_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->heap_size = ADY_CONFIG_DEFAULT_HEAP;
	cfg->stack_size = ADY_CONFIG_DEFAULT_STACK;
	cfg->msbuf_size = ADY_CONFIG_DEFAULT_MSBUF;
	cfg->threads = ADY_CONFIG_DEFAULT_THREADS;
}

/* see adyton/config.h */
ady_err ady_config_validate(const ady_config *cfg)
{
	if (!cfg)
		return ADY_ERR_INVALID_ARG;
	if (!ady_config_heap_ok(cfg->heap_size) || !ady_config_stack_ok(cfg->stack_size) ||
	    !ady_config_msbuf_ok(cfg->msbuf_size) || !ady_config_threads_ok(cfg->threads))
		return ADY_ERR_CONFIG;
	if (cfg->flags & ~(uint32_t)ADY_CONFIG_DEBUG)
		return ADY_ERR_CONFIG;
	return ADY_OK;
}

enum key {
	KEY_HEAP,
	KEY_STACK,
	KEY_THREADS,
	KEY_MSBUF,
	KEY_ISVPRODID,
	KEY_ISVSVN,
	KEY_DEBUG,
	KEY_COUNT_
};

static const struct {
	const char *name;
	bool size; /* accepts a K/M/G suffix */
} keys[KEY_COUNT_] = {
	[KEY_HEAP] = { "heap", true },
	[KEY_STACK] = { "stack", true },
	[KEY_THREADS] = { "threads", false },
	[KEY_MSBUF] = { "msbuf", true },
	[KEY_ISVPRODID] = { "isvprodid", false },
	[KEY_ISVSVN] = { "isvsvn", false },
	[KEY_DEBUG] = { "debug", false },
};

static bool set_key(ady_config *cfg, enum key k, uint64_t v)
{
	switch (k) {
	case KEY_HEAP:
		cfg->heap_size = v;
		return ady_config_heap_ok(v);
	case KEY_STACK:
		cfg->stack_size = v;
		return ady_config_stack_ok(v);
	case KEY_MSBUF:
		cfg->msbuf_size = v;
		return ady_config_msbuf_ok(v);
	case KEY_THREADS:
		if (!ady_config_threads_ok(v))
			return false;
		cfg->threads = (uint32_t)v;
		return true;
	case KEY_ISVPRODID:
		if (v > UINT16_MAX)
			return false;
		cfg->isvprodid = (uint16_t)v;
		return true;
	case KEY_ISVSVN:
		if (v > UINT16_MAX)
			return false;
		cfg->isvsvn = (uint16_t)v;
		return true;
	case KEY_DEBUG:
		if (v > 1)
			return false;
		cfg->flags = v ? ADY_CONFIG_DEBUG : 0;
		return true;
	default:
		return false;
	}
}

/* One setting; a key twice is an error. */
static bool parse_setting(ady_kv_span key, ady_kv_span val, ady_config *cfg, unsigned *seen)
{
	uint64_t v;

	for (unsigned k = 0; k < KEY_COUNT_; k++) {
		if (!ady_kv_is(key, keys[k].name))
			continue;
		if (*seen & (1u << k))
			return false;
		*seen |= 1u << k;
		if (!ady_kv_number(val, keys[k].size, UINT64_MAX, &v))
			return false;
		return set_key(cfg, (enum key)k, v);
	}
	return false;
}

/* see adyton/config.h */
ady_err ady_config_parse(const char *text, size_t len, ady_config *cfg, unsigned *line)
{
	uint8_t buf[LINE_MAX_CONTENT];
	ady_config tmp;
	ady_kv kv;
	ady_kv_span key, val;
	unsigned seen = 0;

	if (line)
		*line = 0;
	if (!cfg || (!text && len))
		return ADY_ERR_INVALID_ARG;
	ady_config_defaults(&tmp);
	ady_kv_init(&kv, text, len, buf, sizeof(buf));
	while (ady_kv_next(&kv, &key, &val)) {
		if (!parse_setting(key, val, &tmp, &seen))
			ady_kv_fail(&kv);
	}
	if (ady_kv_err(&kv)) {
		if (line)
			*line = kv.line;
		return ADY_ERR_CONFIG;
	}
	if (ady_config_validate(&tmp))
		return ADY_ERR_CONFIG;
	*cfg = tmp;
	return ADY_OK;
}
