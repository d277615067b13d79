/*
 * The gate's test enclave (tests/gate.cmake): an application enclave that
 * asks the gate for a client certificate.  ECALL 0 takes the gate's nonce
 * (32 bytes) and answers public key (65) || quote, from
 * ady_keyquote_new(): the key pair is made here and its private half is
 * wiped when the call ends (a real application keeps it and speaks TLS
 * from inside; apps/gate/README.md).
 *
 * ECALL 1 is for the nginx test only: the same, preceded by the private
 * scalar (32), so that a plain OpenSSL client outside can hold the key the
 * certificate is for.  It exists because the in-enclave TLS client is not
 * built yet; an enclave that exports its key proves nothing about it.
 */
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/keyquote.h>

static ady_err make(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len, int export)
{
	size_t head = (export ? 32u : 0u) + ADY_KEYQUOTE_PUB, qlen = 0;
	ady_keyquote kq;
	ady_err err;

	if (in_len != 32 || out_cap < head)
		return ADY_ERR_INVALID_ARG;
	err = ady_keyquote_new(in, &kq, out + head, out_cap - head, &qlen);
	if (err)
		return err;
	if (export)
		memcpy(out, kq.sk.x, 32);
	memcpy(out + head - ADY_KEYQUOTE_PUB, kq.pub, ADY_KEYQUOTE_PUB);
	ady_keyquote_fini(&kq);
	*out_len = head + qlen;
	return ADY_OK;
}

static ady_err keyquote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return make(in, in_len, out, out_cap, out_len, 0);
}

static ady_err keyquote_export(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return make(in, in_len, out, out_cap, out_len, 1);
}

ADY_ECALLS(keyquote, keyquote_export);
