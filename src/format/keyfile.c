/*
 * keyfile.c - the framing of adytond's sealed key files (adyton/keyfile.h).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/keyfile.h"
#include "internal.h"

static const uint8_t ak_magic[4] = {'A', 'D', 'Y', 'A'};
static const uint8_t root_magic[4] = {'A', 'D', 'Y', 'T'};

_Static_assert(ADY_AKFILE_FIXED == 36, "attest.key layout");
_Static_assert(ADY_TPMROOT_HEAD == 4 + 4 + 4, "root.tpm layout");

static void ak_layout(uint32_t n, ady_akfile *out)
{
	out->iv_off = ADY_AKFILE_HEAD;
	out->tag_off = ADY_AKFILE_HEAD + ADY_AKFILE_IV;
	out->ct_off = ADY_AKFILE_FIXED;
	out->ct_len = n;
}

/* see adyton/keyfile.h */
ady_err ady_akfile_decode(const uint8_t *buf, size_t len, ady_akfile *out)
{
	uint8_t magic[4];
	uint32_t n;
	ady_cur c;
	ady_err err = decode_open(&c, buf, len, out, sizeof(*out));

	if (err)
		return err;
	if (ady_cur_bytes(&c, magic, 4) || ady_cur_u32le(&c, &n) || ady_cur_skip(&c, ADY_AKFILE_IV + ADY_AKFILE_TAG))
		return ADY_ERR_MALFORMED;
	if (memcmp(magic, ak_magic, 4) != 0 || n == 0 || n > ADY_AKFILE_MAX_DER || ady_cur_left(&c) != n)
		return ADY_ERR_MALFORMED;
	ak_layout(n, out);
	return ADY_OK;
}

/* see adyton/keyfile.h */
ady_err ady_akfile_encode(uint32_t ct_len, uint8_t *buf, size_t cap, size_t *len, ady_akfile *out)
{
	ady_wr w;

	if (!len || !out)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	memset(out, 0, sizeof(*out));
	if (ct_len == 0 || ct_len > ADY_AKFILE_MAX_DER)
		return ADY_ERR_INVALID_ARG;
	ady_wr_init(&w, buf, buf ? cap : 0);
	ady_wr_bytes(&w, ak_magic, 4);
	ady_wr_u32le(&w, ct_len);
	ady_wr_zero(&w, ADY_AKFILE_IV + ADY_AKFILE_TAG + ct_len);
	*len = ady_wr_len(&w);
	if (ady_wr_err(&w))
		return ady_wr_err(&w);
	ak_layout(ct_len, out);
	return ADY_OK;
}

/* see adyton/keyfile.h */
ady_err ady_tpmroot_decode(const uint8_t *buf, size_t len, uint32_t *pcr_mask, size_t *objects_off)
{
	uint8_t magic[4];
	uint32_t n, mask;
	ady_cur c;

	if (!pcr_mask || !objects_off)
		return ADY_ERR_INVALID_ARG;
	*pcr_mask = 0;
	*objects_off = 0;
	if (!buf && len)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, buf, len);
	if (ady_cur_bytes(&c, magic, 4) || ady_cur_u32le(&c, &n) || ady_cur_u32le(&c, &mask))
		return ADY_ERR_MALFORMED;
	/* n counts what follows it: len >= 12 here, so len - 8 cannot wrap. */
	if (memcmp(magic, root_magic, 4) != 0 || n != len - 8 || mask >> ADY_TPMROOT_PCRS)
		return ADY_ERR_MALFORMED;
	*pcr_mask = mask;
	*objects_off = ADY_TPMROOT_HEAD;
	return ADY_OK;
}

/* see adyton/keyfile.h */
ady_err ady_tpmroot_encode(uint32_t pcr_mask, size_t objects_len, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;

	if (!len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (pcr_mask >> ADY_TPMROOT_PCRS || objects_len > UINT32_MAX - 4)
		return ADY_ERR_INVALID_ARG;
	if (!buf || cap < ADY_TPMROOT_HEAD || cap - ADY_TPMROOT_HEAD < objects_len) {
		*len = ADY_TPMROOT_HEAD + objects_len;
		return ADY_ERR_SHORT_BUFFER;
	}
	ady_wr_init(&w, buf, ADY_TPMROOT_HEAD);
	ady_wr_bytes(&w, root_magic, 4);
	ady_wr_u32le(&w, (uint32_t)(4 + objects_len));
	ady_wr_u32le(&w, pcr_mask);
	if (ady_wr_err(&w))
		return ady_wr_err(&w);
	*len = ADY_TPMROOT_HEAD + objects_len;
	return ADY_OK;
}
