/*
 * sgx.c - SIGSTRUCT constants and validation (adyton/sgx.h).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/sgx.h"
#include "internal.h"

/* see adyton/sgx.h */
const uint8_t ady_sigstruct_header[12] = {
	0x06, 0x00, 0x00, 0x00, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
};

/* see adyton/sgx.h */
const uint8_t ady_sigstruct_header2[16] = {
	0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};

#define SIGSTRUCT_TYPE_DEBUG 0x80000000u
#define SIGSTRUCT_VENDOR_INTEL 0x8086u

/* Walks the copy field by field; every reserved range must be zero
 * (SDM 38.13: reserved SIGSTRUCT fields are zero, EINIT checks them). */
static ady_err check(const ady_sgx_sigstruct *ss)
{
	ady_cur c;
	uint8_t hdr[16];
	uint32_t type, vendor, exponent;

	ady_cur_init(&c, ss, sizeof(*ss));
	get_bytes(&c, hdr, 12);
	if (memcmp(hdr, ady_sigstruct_header, 12) != 0)
		return ADY_ERR_SIGSTRUCT;
	type = get_u32(&c);
	vendor = get_u32(&c);
	get_skip(&c, 4); /* DATE: informational, SGX does not interpret it */
	get_bytes(&c, hdr, 16);
	if (memcmp(hdr, ady_sigstruct_header2, 16) != 0)
		return ADY_ERR_SIGSTRUCT;
	if (type & ~SIGSTRUCT_TYPE_DEBUG)
		return ADY_ERR_SIGSTRUCT;
	if (vendor != 0 && vendor != SIGSTRUCT_VENDOR_INTEL)
		return ADY_ERR_SIGSTRUCT;
	get_skip(&c, 4); /* SWDEFINED: free for the signer */
	if (ady_cur_zeros(&c, 84))
		return ADY_ERR_SIGSTRUCT;
	if (ady_cur_seek(&c, offsetof(ady_sgx_sigstruct, exponent)) || ady_cur_u32le(&c, &exponent))
		return ADY_ERR_SIGSTRUCT;
	/* SGX verifies with e = 3 only; q1/q2 are defined for it. */
	if (exponent != 3)
		return ADY_ERR_SIGSTRUCT;
	if (ady_cur_seek(&c, offsetof(ady_sgx_sigstruct, reserved2)) || ady_cur_zeros(&c, 4))
		return ADY_ERR_SIGSTRUCT;
	if (ady_cur_seek(&c, offsetof(ady_sgx_sigstruct, reserved3)) || ady_cur_zeros(&c, 16))
		return ADY_ERR_SIGSTRUCT;
	if (ady_cur_seek(&c, offsetof(ady_sgx_sigstruct, reserved4)) || ady_cur_zeros(&c, 12))
		return ADY_ERR_SIGSTRUCT;
	return ady_cur_err(&c) ? ADY_ERR_SIGSTRUCT : ADY_OK;
}

/* see adyton/sgx.h */
ady_err ady_sigstruct_decode(const uint8_t *buf, size_t len, ady_sgx_sigstruct *out)
{
	ady_cur c;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return ADY_ERR_INVALID_ARG;
	if (len < ADY_SGX_SIGSTRUCT_SIZE)
		return ADY_ERR_TRUNCATED;
	if (len > ADY_SGX_SIGSTRUCT_SIZE)
		return ADY_ERR_SIGSTRUCT;
	/* Copy once, then validate the copy: buf may be shared memory. */
	ady_cur_init(&c, buf, len);
	err = ady_cur_bytes(&c, out, sizeof(*out));
	if (!err)
		err = check(out);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	return ADY_OK;
}

/* see adyton/sgx.h */
void ady_sigstruct_signed_bytes(const ady_sgx_sigstruct *ss, uint8_t out[static 256])
{
	const uint8_t *b = (const uint8_t *)ss;

	/* SDM 38.13: the signature covers HEADER..reserved1 and
	 * MISCSELECT..ISVSVN, i.e. everything but key, signature and q1/q2. */
	memcpy(out, b, 128);
	memcpy(out + 128, b + offsetof(ady_sgx_sigstruct, miscselect), 128);
}
