/*
 * sealed.c - KEYREQUEST and sealed-blob header decoding (adyton/sealed.h).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/sealed.h"
#include "internal.h"

/* A whole blob (header + a u32 payload) always fits a size_t. */
_Static_assert(SIZE_MAX >= (uint64_t)ADY_SEALED_HDR_SIZE + ADY_SEALED_MAX_PAYLOAD, "size_t holds a blob size");

/* see adyton/sealed.h */
ady_err ady_sealed_total(uint64_t aad_len, uint64_t text_len, size_t *out)
{
	uint64_t payload, total;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	*out = 0;
	if (__builtin_add_overflow(aad_len, text_len, &payload) || payload > ADY_SEALED_MAX_PAYLOAD)
		return ADY_ERR_OVERFLOW;
	total = payload + ADY_SEALED_HDR_SIZE; /* below 2^33 */
	*out = (size_t)total;
	return ADY_OK;
}

/* Walks a copied KEYREQUEST (SDM 38.18.1).  Reserved fields must be zero:
 * EGETKEY faults on them, and a blob whose key request carries bytes that
 * do not enter the derivation could be changed without changing the key. */
static ady_err check_keyrequest(const ady_sgx_keyrequest *kr)
{
	ady_cur c;
	uint16_t name, policy;

	ady_cur_init(&c, kr, sizeof(*kr));
	name = get_u16(&c);
	policy = get_u16(&c);
	get_skip(&c, 2); /* ISVSVN: the platform compares it with the enclave's */
	if (ady_cur_zeros(&c, sizeof(kr->reserved1)))
		return ADY_ERR_MALFORMED;
	if (ady_cur_seek(&c, offsetof(ady_sgx_keyrequest, reserved2)) || ady_cur_zeros(&c, sizeof(kr->reserved2)))
		return ADY_ERR_MALFORMED;
	if (ady_cur_err(&c))
		return ADY_ERR_MALFORMED;
	switch (name) {
	case ADY_KEYNAME_EINITTOKEN:
	case ADY_KEYNAME_PROVISION:
	case ADY_KEYNAME_PROVISION_SEAL:
	case ADY_KEYNAME_REPORT:
	case ADY_KEYNAME_SEAL:
		break;
	default:
		return ADY_ERR_MALFORMED;
	}
	if (policy & ~ADY_KEYPOLICY_KNOWN)
		return ADY_ERR_MALFORMED;
	return ADY_OK;
}

/* see adyton/sealed.h */
ady_err ady_keyrequest_decode(const uint8_t *p, size_t len, ady_sgx_keyrequest *out)
{
	ady_cur c;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!p && len)
		return ADY_ERR_INVALID_ARG;
	if (len < sizeof(*out))
		return ADY_ERR_TRUNCATED;
	if (len > sizeof(*out))
		return ADY_ERR_MALFORMED;
	ady_cur_init(&c, p, len);
	err = ady_cur_bytes(&c, out, sizeof(*out));
	if (!err)
		err = check_keyrequest(out);
	if (err)
		ady_wipe(out, sizeof(*out));
	return err;
}

static ady_err check_header(const ady_sealed_hdr *h, size_t len)
{
	ady_cur c;
	uint32_t text_len, payload;
	uint64_t total;
	ady_err err;

	err = check_keyrequest(&h->key_request);
	if (err)
		return err;
	/* A sealed blob is only ever under a SEAL key bound to some identity:
	 * KEYPOLICY 0 would give every enclave of that ISVPRODID the key. */
	if (h->key_request.keyname != ADY_KEYNAME_SEAL || h->key_request.keypolicy == 0)
		return ADY_ERR_MALFORMED;
	ady_cur_init(&c, h, sizeof(*h));
	if (ady_cur_seek(&c, offsetof(ady_sealed_hdr, plain_text_offset)) || ady_cur_u32le(&c, &text_len) ||
	    ady_cur_zeros(&c, sizeof(h->reserved1)) || ady_cur_u32le(&c, &payload) ||
	    ady_cur_zeros(&c, sizeof(h->reserved2)))
		return ADY_ERR_MALFORMED;
	if (text_len > payload)
		return ADY_ERR_MALFORMED;
	total = (uint64_t)ADY_SEALED_HDR_SIZE + payload; /* below 2^33: no overflow */
	if ((uint64_t)len < total)
		return ADY_ERR_TRUNCATED;
	if ((uint64_t)len > total)
		return ADY_ERR_MALFORMED;
	return ADY_OK;
}

/* see adyton/sealed.h */
ady_err ady_sealed_decode(const uint8_t *blob, size_t len, ady_sealed_hdr *out)
{
	ady_cur c;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!blob && len)
		return ADY_ERR_INVALID_ARG;
	if (len < ADY_SEALED_HDR_SIZE)
		return ADY_ERR_TRUNCATED;
	/* Copy once, then validate the copy: blob may be shared memory. */
	ady_cur_init(&c, blob, len);
	err = ady_cur_bytes(&c, out, sizeof(*out));
	if (!err)
		err = check_header(out, len);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

/* SDM 38.18.1 layout; reserved ranges zero. */
static void encode_keyrequest(ady_wr *w, const ady_sgx_keyrequest *kr)
{
	ady_wr_u16le(w, kr->keyname);
	ady_wr_u16le(w, kr->keypolicy);
	ady_wr_u16le(w, kr->isvsvn);
	ady_wr_zero(w, sizeof(kr->reserved1));
	ady_wr_bytes(w, kr->cpusvn, sizeof(kr->cpusvn));
	ady_wr_u64le(w, kr->attributemask.flags);
	ady_wr_u64le(w, kr->attributemask.xfrm);
	ady_wr_bytes(w, kr->keyid, sizeof(kr->keyid));
	ady_wr_u32le(w, kr->miscmask);
	ady_wr_u16le(w, kr->configsvn);
	ady_wr_zero(w, sizeof(kr->reserved2));
}

/* see adyton/sealed.h */
void ady_sealed_encode(const ady_sealed_hdr *h, uint8_t out[static ADY_SEALED_HDR_SIZE])
{
	ady_wr w;

	/* Layout: adyton/sealed.h.  The writer covers exactly the header,
	 * whose size the ADY_CHECK_* assertions there fix. */
	ady_wr_init(&w, out, ADY_SEALED_HDR_SIZE);
	encode_keyrequest(&w, &h->key_request);
	ady_wr_u32le(&w, h->plain_text_offset);
	ady_wr_zero(&w, sizeof(h->reserved1));
	ady_wr_u32le(&w, h->payload_size);
	ady_wr_zero(&w, sizeof(h->reserved2));
	ady_wr_bytes(&w, h->tag, sizeof(h->tag));
}
