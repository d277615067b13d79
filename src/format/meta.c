/*
 * meta.c - the signature note descriptor (adyton/meta.h).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/meta.h"
#include "internal.h"

#define META_MAGIC "ADYMETA1"
#define META_CONFIG_END 52u
#define META_SIGSTRUCT_END (ADY_META_SIGSTRUCT_OFFSET + ADY_SGX_SIGSTRUCT_SIZE)
_Static_assert(META_SIGSTRUCT_END <= ADY_META_SIZE, "SIGSTRUCT fits the descriptor");

/* see adyton/meta.h */
ady_err ady_meta_encode(const ady_config *cfg, const ady_sgx_sigstruct *ss, uint8_t *buf, size_t cap)
{
	ady_wr w;
	ady_err err;

	if (!cfg || !ss || !buf)
		return ADY_ERR_INVALID_ARG;
	if (cap < ADY_META_SIZE)
		return ADY_ERR_SHORT_BUFFER;
	err = ady_config_validate(cfg);
	if (err)
		return err;
	/* Layout: adyton/meta.h.  The SIGSTRUCT goes in as the signer made
	 * it: its bytes are what the signature covers. */
	ady_wr_init(&w, buf, ADY_META_SIZE);
	ady_wr_bytes(&w, META_MAGIC, 8);
	ady_wr_u32le(&w, ADY_META_VERSION);
	ady_wr_zero(&w, 4);
	ady_wr_u64le(&w, cfg->heap_size);
	ady_wr_u64le(&w, cfg->stack_size);
	ady_wr_u64le(&w, cfg->msbuf_size);
	ady_wr_u32le(&w, cfg->threads);
	ady_wr_u16le(&w, cfg->isvprodid);
	ady_wr_u16le(&w, cfg->isvsvn);
	ady_wr_u32le(&w, cfg->flags);
	ady_wr_zero(&w, ADY_META_SIGSTRUCT_OFFSET - META_CONFIG_END);
	ady_wr_bytes(&w, ss, ADY_SGX_SIGSTRUCT_SIZE);
	ady_wr_zero(&w, ADY_META_SIZE - META_SIGSTRUCT_END);
	if (ady_wr_err(&w) || ady_wr_len(&w) != ADY_META_SIZE)
		return ADY_ERR_RANGE;
	return ADY_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static ady_err decode(const uint8_t *copy, ady_config *cfg, ady_sgx_sigstruct *ss)
{
	ady_cur c;
	uint8_t magic[8];
	uint32_t version;
	ady_err err;

	if (all_zero(copy, ADY_META_SIZE))
		return ADY_ERR_UNSIGNED;
	ady_cur_init(&c, copy, ADY_META_SIZE);
	get_bytes(&c, magic, 8);
	version = get_u32(&c);
	if (memcmp(magic, META_MAGIC, 8) != 0 || version != ADY_META_VERSION)
		return ADY_ERR_MALFORMED;
	if (ady_cur_zeros(&c, 4))
		return ADY_ERR_MALFORMED;
	cfg->heap_size = get_u64(&c);
	cfg->stack_size = get_u64(&c);
	cfg->msbuf_size = get_u64(&c);
	cfg->threads = get_u32(&c);
	cfg->isvprodid = get_u16(&c);
	cfg->isvsvn = get_u16(&c);
	cfg->flags = get_u32(&c);
	if (ady_cur_zeros(&c, ADY_META_SIGSTRUCT_OFFSET - META_CONFIG_END))
		return ADY_ERR_MALFORMED;
	if (ady_cur_skip(&c, ADY_SGX_SIGSTRUCT_SIZE) || ady_cur_zeros(&c, ADY_META_SIZE - META_SIGSTRUCT_END))
		return ADY_ERR_MALFORMED;
	if (ady_config_validate(cfg))
		return ADY_ERR_CONFIG;
	err = ady_sigstruct_decode(copy + ADY_META_SIGSTRUCT_OFFSET, ADY_SGX_SIGSTRUCT_SIZE, ss);
	if (err)
		return ADY_ERR_SIGSTRUCT;
	/* The signer's identity claims must be the ones the enclave is laid
	 * out and launched with, or a debug/production or ISVSVN confusion
	 * would pass signature checks. */
	if (cfg->isvprodid != ss->isvprodid || cfg->isvsvn != ss->isvsvn ||
	    !(cfg->flags & ADY_CONFIG_DEBUG) != !(ss->attributes.flags & ADY_SGX_FLAGS_DEBUG))
		return ADY_ERR_META;
	return ADY_OK;
}

/* see adyton/meta.h */
ady_err ady_meta_decode(const uint8_t *buf, size_t len, ady_config *cfg, ady_sgx_sigstruct *ss)
{
	uint8_t copy[ADY_META_SIZE];
	ady_config tcfg;
	ady_sgx_sigstruct tss;
	ady_cur c;
	ady_err err;

	if (cfg)
		memset(cfg, 0, sizeof(*cfg));
	if (ss)
		memset(ss, 0, sizeof(*ss));
	if (!buf && len)
		return ADY_ERR_INVALID_ARG;
	if (len < ADY_META_SIZE)
		return ADY_ERR_TRUNCATED;
	memset(&tcfg, 0, sizeof(tcfg));
	/* Copy once: the note may sit in memory another party can change. */
	ady_cur_init(&c, buf, len);
	get_bytes(&c, copy, sizeof(copy));
	err = decode(copy, &tcfg, &tss);
	/* A descriptor longer than ours must not smuggle data past it. */
	if (!err && ady_cur_zeros(&c, ady_cur_left(&c)))
		err = ADY_ERR_MALFORMED;
	if (err)
		return err;
	if (cfg)
		*cfg = tcfg;
	if (ss)
		*ss = tss;
	return ADY_OK;
}
