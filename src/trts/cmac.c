/*
 * AES-128-CMAC (RFC 4493, NIST SP 800-38B) inside the enclave, for REPORT
 * MACs.  BearSSL has no CMAC, so it is built here on BearSSL's AES block
 * cipher: CBC encryption with a zero IV, one block at a time, is the CBC-MAC
 * chain; CMAC adds the two subkeys for the last block.  AES-NI when the CPU
 * has it, else the constant-time ct64 code.  Known-answer tested with the
 * RFC 4493 vectors (tests/enclaves/seal_enc.c, ECALL S_CMAC_KAT).
 */
#include <bearssl.h>
#include <string.h>

#include "adyton/cursor.h"
#include "internal.h"

#pragma GCC visibility push(hidden)
/* Also declared where it is used (keys.c, the test enclave). */
#pragma GCC visibility pop

/* Doubling in GF(2^128) with the CMAC polynomial (RFC 4493 2.3): shift
 * left one bit, then xor 0x87 into the last byte iff the top bit was set,
 * without a branch on the secret. */
static void dbl(uint8_t out[16], const uint8_t in[16])
{
	uint8_t carry = (uint8_t)(in[0] >> 7);

	for (int i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1) ^ (uint8_t)(0x87 & (0u - carry));
}

/* see the declaration above */
ady_err ady_cmac_aes128(const uint8_t key[static 16], const void *msg, size_t len, uint8_t mac[static 16])
{
	const br_block_cbcenc_class *vt = br_aes_x86ni_cbcenc_get_vtable();
	br_aes_gen_cbcenc_keys ks;
	const uint8_t *m = msg;
	uint8_t x[16] = {0}, l[16] = {0}, k[16], last[16];
	size_t nblocks, rem;

	if (!key || (!msg && len) || !mac)
		return ADY_ERR_INVALID_ARG;
	if (!vt)
		vt = &br_aes_ct64_cbcenc_vtable;
	vt->init(&ks.vtable, key, 16);

	/* L = AES(K, 0^128); K1 = dbl(L); K2 = dbl(K1). */
	{
		uint8_t iv[16] = {0};
		vt->run(&ks.vtable, iv, l, 16);
	}
	dbl(k, l);

	/* Every block but the last goes through the plain CBC-MAC chain; the
	 * last one (complete or not, and the empty message has one) is
	 * completed with K1 or padded with 10* and K2. */
	nblocks = len ? (len + 15) / 16 : 1;
	rem = len - (nblocks - 1) * 16;
	for (size_t i = 0; i + 1 < nblocks; i++) {
		uint8_t b[16];
		memcpy(b, m + i * 16, 16);
		vt->run(&ks.vtable, x, b, 16);
	}
	memset(last, 0, sizeof(last));
	if (rem == 16) {
		memcpy(last, m + (nblocks - 1) * 16, 16);
	} else {
		uint8_t k2[16];
		if (rem)
			memcpy(last, m + (nblocks - 1) * 16, rem);
		last[rem] = 0x80;
		dbl(k2, k);
		memcpy(k, k2, 16);
		ady_wipe(k2, sizeof(k2));
	}
	for (int i = 0; i < 16; i++)
		last[i] ^= k[i];
	vt->run(&ks.vtable, x, last, 16);
	memcpy(mac, x, 16);

	ady_wipe(&ks, sizeof(ks));
	ady_wipe(l, sizeof(l));
	ady_wipe(k, sizeof(k));
	ady_wipe(x, sizeof(x));
	ady_wipe(last, sizeof(last));
	return ADY_OK;
}
