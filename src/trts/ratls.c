/*
 * RA-TLS certificates made inside the enclave (adyton/ratls_enclave.h,
 * docs/attestation.md "Attested TLS").
 *
 * Why here, in the runtime archive, and not a library of its own: it is a
 * runtime service next to ady_get_quote() with no state of its own, and a
 * static archive member is linked only into enclaves that call it, so
 * enclaves without RA-TLS do not grow.  The bytes (certificate, evidence)
 * are the format layer's (adyton/ratls_format.h); this file holds the key,
 * the quote and BearSSL's signature.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "adyton/cursor.h"
#include "adyton/enclave.h"
#include "adyton/error.h"
#include "adyton/ratls_enclave.h"
#include "adyton/ratls_format.h"
#include "prng.h"

static ady_err bear_sign(void *ctx, const uint8_t *tbs, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
	const br_ec_private_key *sk = ctx;
	br_sha256_context h;
	uint8_t hash[32];
	size_t n;

	if (cap < 72)
		return ADY_ERR_SHORT_BUFFER;
	br_sha256_init(&h);
	br_sha256_update(&h, tbs, len);
	br_sha256_out(&h, hash);
	/* RFC 6979 deterministic nonces: no RNG needed here. */
	n = br_ecdsa_i31_sign_asn1(&br_ec_p256_m31, &br_sha256_vtable, hash, sk, sig);
	if (n == 0)
		return ADY_ERR_CRYPTO;
	*sig_len = n;
	return ADY_OK;
}

/* see adyton/ratls_enclave.h */
ady_err ady_ratls_cert_init(ady_ratls_cert *c)
{
	struct ady_trts_prng r = {&ady_trts_prng_class, ADY_OK};
	uint8_t kbuf[BR_EC_KBUF_PRIV_MAX_SIZE], pbuf[BR_EC_KBUF_PUB_MAX_SIZE];
	uint8_t spki[ADY_RATLS_SPKI_LEN], report_data[64] = {0}, nonce[32] = {0}, serial[16];
	br_ec_public_key pk;
	br_sha256_context h;
	uint8_t *quote = NULL;
	size_t qlen = 0;
	ady_err err;

	if (!c)
		return ADY_ERR_INVALID_ARG;
	memset(c, 0, sizeof(*c));
	if (br_ec_keygen(&r.vtable, &br_ec_p256_m31, &c->sk, kbuf, BR_EC_secp256r1) != 32 || r.err) {
		err = r.err ? r.err : ADY_ERR_CRYPTO;
		goto fail;
	}
	memcpy(c->skey, kbuf, 32);
	c->sk.x = c->skey;
	c->sk.xlen = 32;
	if (br_ec_compute_pub(&br_ec_p256_m31, &pk, pbuf, &c->sk) != 65) {
		err = ADY_ERR_CRYPTO;
		goto fail;
	}
	memcpy(c->pub, pbuf, 65);
	err = ady_ratls_spki_encode(c->pub, spki);
	if (err)
		goto fail;
	br_sha256_init(&h);
	br_sha256_update(&h, spki, sizeof(spki));
	br_sha256_out(&h, report_data);
	err = ady_random(serial, sizeof(serial));
	if (err)
		goto fail;
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
	quote = malloc(ADY_QUOTE_MAX);
	if (!quote) {
		err = ADY_ERR_NOMEM;
		goto fail;
	}
	/* No verifier nonce exists when the certificate is made: the nonce is
	 * all zero, and the verifier checks exactly that. */
	err = ady_get_quote(report_data, nonce, quote, ADY_QUOTE_MAX, &qlen);
	if (err)
		goto fail;
	err = ady_ratls_cert_encode(c->pub, serial, report_data, quote, qlen, bear_sign, &c->sk, c->der,
				    sizeof(c->der), &c->der_len);
	if (err)
		goto fail;
	free(quote);
	ady_wipe(kbuf, sizeof(kbuf));
	c->chain.data = c->der;
	c->chain.data_len = c->der_len;
	return ADY_OK;
fail:
	free(quote);
	ady_wipe(kbuf, sizeof(kbuf));
	ady_wipe(c, sizeof(*c));
	return err;
}

/* see adyton/ratls_enclave.h */
void ady_ratls_cert_fini(ady_ratls_cert *c)
{
	if (c)
		ady_wipe(c, sizeof(*c));
}

/* see adyton/ratls_enclave.h */
ady_err ady_ratls_server_start(br_ssl_server_context *sc, const ady_ratls_cert *c, void *iobuf,
			       size_t iobuf_len)
{
	uint8_t seed[32];
	ady_err err;

	br_ssl_server_init_full_ec(sc, &c->chain, 1, BR_KEYTYPE_EC, &c->sk);
	br_ssl_engine_set_buffer(&sc->eng, iobuf, iobuf_len, 1);
	err = ady_random(seed, sizeof(seed));
	if (err)
		return err;
	br_ssl_engine_inject_entropy(&sc->eng, seed, sizeof(seed));
	ady_wipe(seed, sizeof(seed));
	return br_ssl_server_reset(sc) ? ADY_OK : ADY_ERR_CRYPTO;
}
