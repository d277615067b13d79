/*
 * keyquote.c - ady_keyquote_new (adyton/keyquote.h): an ephemeral P-256
 * key pair and a quote over SHA-256(nonce || public key).
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/enclave.h"
#include "adyton/keyquote.h"
#include "adyton/quote.h"
#include "prng.h"

/* see adyton/keyquote.h */
ady_err ady_keyquote_new(const uint8_t nonce[static 32], ady_keyquote *k, uint8_t *quote, size_t cap, size_t *qlen)
{
	struct ady_trts_prng r = {&ady_trts_prng_class, ADY_OK};
	uint8_t report_data[64] = {0};
	br_ec_public_key pk;
	br_sha256_context h;
	ady_err err;

	if (!k || !quote || !qlen)
		return ADY_ERR_INVALID_ARG;
	if (br_ec_keygen(&r.vtable, &br_ec_p256_m31, &k->sk, k->kbuf, BR_EC_secp256r1) != 32 || r.err) {
		err = r.err ? r.err : ADY_ERR_CRYPTO;
		goto fail;
	}
	if (br_ec_compute_pub(&br_ec_p256_m31, &pk, k->pub, &k->sk) != ADY_KEYQUOTE_PUB) {
		err = ADY_ERR_CRYPTO;
		goto fail;
	}
	br_sha256_init(&h);
	br_sha256_update(&h, nonce, 32);
	br_sha256_update(&h, k->pub, ADY_KEYQUOTE_PUB);
	br_sha256_out(&h, report_data);
	err = ady_get_quote(report_data, nonce, quote, cap, qlen);
	if (err)
		goto fail;
	return ADY_OK;
fail:
	ady_keyquote_fini(k);
	return err;
}

/* see adyton/keyquote.h */
void ady_keyquote_fini(ady_keyquote *k)
{
	if (k)
		ady_wipe(k, sizeof(*k));
}
