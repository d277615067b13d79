/*
 * RA-TLS certificates made inside the enclave (adyton/ratls_enclave.h,
 * docs/attestation.md "Attested TLS").
 *
 * Why here, in the runtime archive, and not a library of its own: it is a
 * runtime service next to ady_get_quote() with no state of its own, and a
 * static archive member is linked only into enclaves that call it, so
 * enclaves without RA-TLS do not grow.
 *
 * BearSSL decodes X.509 but has no certificate writer, so this file holds
 * a minimal DER encoder for the one certificate shape RA-TLS needs: every
 * write is bounded by the caller's capacity (a sticky error, then
 * ADY_ERR_SHORT_BUFFER), lengths are definite and minimal, and no element
 * may exceed 65535 bytes (the certificate is bounded by ADY_QUOTE_MAX).
 *
 * The encoder part (up to ADY_RATLS_ENCODER_ONLY) uses neither BearSSL nor
 * the runtime, so that tests/unit/ratls_test.c can build it on the host
 * and check it against OpenSSL's parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "adyton/error.h"

/* TCG DICE tagged evidence (2.23.133.5.4.9) and the CBOR tag Gramine
 * registered for TEE quotes (IANA CBOR tags: 60000). */
#define RATLS_EVIDENCE_TAG 60000u
#define RATLS_SPKI_LEN 91u
/* IANA named-information hash algorithm registry: 1 = sha-256 */
#define RATLS_HASH_ALG_SHA256 1u

static const uint8_t oid_ecdsa_sha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t oid_p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};
static const uint8_t oid_basic_constraints[] = {0x55, 0x1d, 0x13};
static const uint8_t oid_dice_evidence[] = {0x67, 0x81, 0x05, 0x05, 0x04, 0x09};
static const char ratls_cn[] = "adyton RA-TLS";
/* The enclave has no trusted clock: a fixed window (RFC 5280 4.1.2.5:
 * 99991231235959Z means no well-defined expiration).  Freshness comes
 * from the quote, not from these dates (docs/attestation.md). */
static const char not_before[] = "240101000000Z";    /* UTCTime */
static const char not_after[] = "99991231235959Z";   /* GeneralizedTime */

/* Signs tbs (ECDSA P-256 over SHA-256) and writes the DER ECDSA-Sig-Value
 * to sig (cap bytes), its length to *sig_len. */
typedef ady_err (*ratls_sign_fn)(void *ctx, const uint8_t *tbs, size_t len, uint8_t *sig, size_t cap,
				 size_t *sig_len);

struct wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	ady_err err;
};

static void put(struct wr *w, const void *b, size_t n)
{
	size_t end;

	if (w->err)
		return;
	if (__builtin_add_overflow(w->len, n, &end) || end > w->cap) {
		w->err = ADY_ERR_SHORT_BUFFER;
		return;
	}
	if (n)
		memcpy(w->p + w->len, b, n);
	w->len = end;
}

static void put8(struct wr *w, uint8_t v)
{
	put(w, &v, 1);
}

/* Opens a DER element: its tag and three bytes reserved for the length
 * (0x82 hi lo at most); returns where its content starts. */
static size_t der_open(struct wr *w, uint8_t tag)
{
	static const uint8_t reserve[3];

	put8(w, tag);
	put(w, reserve, sizeof(reserve));
	return w->len;
}

/* Closes the element opened at start: writes the minimal definite length
 * and moves the content down over the unused reserved bytes. */
static void der_close(struct wr *w, size_t start)
{
	size_t n, hlen;
	uint8_t *h;

	if (w->err)
		return;
	n = w->len - start;
	if (n > 0xffff) {
		w->err = ADY_ERR_OVERFLOW;
		return;
	}
	hlen = n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
	h = w->p + start - 3;
	if (hlen == 1) {
		h[0] = (uint8_t)n;
	} else if (hlen == 2) {
		h[0] = 0x81;
		h[1] = (uint8_t)n;
	} else {
		h[0] = 0x82;
		h[1] = (uint8_t)(n >> 8);
		h[2] = (uint8_t)n;
	}
	memmove(h + hlen, w->p + start, n);
	w->len = start - 3 + hlen + n;
}

static void der_prim(struct wr *w, uint8_t tag, const void *b, size_t n)
{
	size_t s = der_open(w, tag);

	put(w, b, n);
	der_close(w, s);
}

static void der_alg(struct wr *w, const uint8_t *oid, size_t n)
{
	size_t s = der_open(w, 0x30);

	der_prim(w, 0x06, oid, n);
	der_close(w, s);
}

/* Name: one RDN, CN = ratls_cn (UTF8String). */
static void der_name(struct wr *w)
{
	size_t name = der_open(w, 0x30), set = der_open(w, 0x31), atv = der_open(w, 0x30);

	der_prim(w, 0x06, oid_cn, sizeof(oid_cn));
	der_prim(w, 0x0c, ratls_cn, sizeof(ratls_cn) - 1);
	der_close(w, atv);
	der_close(w, set);
	der_close(w, name);
}

/* SubjectPublicKeyInfo of a P-256 key (RFC 5480): pub = 04 || x || y. */
static void der_spki(struct wr *w, const uint8_t pub[static 65])
{
	size_t spki = der_open(w, 0x30), alg = der_open(w, 0x30), bits;

	der_prim(w, 0x06, oid_ec_public_key, sizeof(oid_ec_public_key));
	der_prim(w, 0x06, oid_p256, sizeof(oid_p256));
	der_close(w, alg);
	bits = der_open(w, 0x03);
	put8(w, 0); /* no unused bits */
	put(w, pub, 65);
	der_close(w, bits);
	der_close(w, spki);
}

/* The DER SubjectPublicKeyInfo whose SHA-256 goes into report_data. */
static ady_err ratls_spki(const uint8_t pub[static 65], uint8_t out[static RATLS_SPKI_LEN])
{
	uint8_t tmp[RATLS_SPKI_LEN + 8]; /* room for the reserved length bytes while writing */
	struct wr w = {.p = tmp, .cap = sizeof(tmp)};

	der_spki(&w, pub);
	if (!w.err && w.len != RATLS_SPKI_LEN)
		w.err = ADY_ERR_MALFORMED;
	if (!w.err)
		memcpy(out, tmp, RATLS_SPKI_LEN);
	return w.err;
}

/* A CBOR head (RFC 8949 3.1) in its shortest form, as deterministic
 * encoding (4.2.1) requires; the host parser refuses any other. */
static void cbor_put(struct wr *w, uint8_t major, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	if (v < 24) {
		b[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v <= 0xff) {
		b[0] = (uint8_t)(major << 5 | 24);
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = (uint8_t)(major << 5 | 25);
		n = 3;
	} else if (v <= 0xffffffffu) {
		b[0] = (uint8_t)(major << 5 | 26);
		n = 5;
	} else {
		b[0] = (uint8_t)(major << 5 | 27);
		n = 9;
	}
	for (size_t i = 1; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(w, b, n);
}

/*
 * The extension's content, as Gramine's RA-TLS lays it out:
 *   tag(60000) [ bstr(quote), bstr(claims) ]
 *   claims     = { "pubkey-hash": bstr(hash-entry) }
 *   hash-entry = [ 1 (sha-256), bstr(SHA-256(DER SubjectPublicKeyInfo)) ]
 * Deviation, documented: report_data[0,32) is the SPKI hash itself (not
 * SHA-256 of the claims as in Gramine), as adyton's issue 7 requires.
 */
static void cbor_evidence(struct wr *w, const uint8_t *quote, size_t qlen, const uint8_t spki_hash[static 32])
{
	static const char key[] = "pubkey-hash";
	const size_t entry_len = 1 + 1 + 2 + 32;
	const size_t claims_len = 1 + 1 + (sizeof(key) - 1) + 2 + entry_len;

	cbor_put(w, 6, RATLS_EVIDENCE_TAG);
	cbor_put(w, 4, 2);
	cbor_put(w, 2, qlen);
	put(w, quote, qlen);
	cbor_put(w, 2, claims_len);
	cbor_put(w, 5, 1);
	cbor_put(w, 3, sizeof(key) - 1);
	put(w, key, sizeof(key) - 1);
	cbor_put(w, 2, entry_len);
	cbor_put(w, 4, 2);
	cbor_put(w, 0, RATLS_HASH_ALG_SHA256);
	cbor_put(w, 2, 32);
	put(w, spki_hash, 32);
}

/*
 * The certificate (RFC 5280), self-signed, ecdsa-with-SHA256:
 *   tbs: v3, serial (16 bytes, positive), CN=adyton RA-TLS as issuer and
 *   subject, the fixed validity, the P-256 SPKI, extensions:
 *   basicConstraints (critical, cA FALSE) and the DICE tagged evidence
 *   (not critical, as Gramine: a TLS stack that does not know it must
 *   still complete the handshake and leave the decision to the callback).
 * Short-buffer protocol on out (the needed length is not computed: a
 * short buffer is a caller bug, ADY_RATLS_CERT_MAX always suffices).
 */
static ady_err ratls_cert_encode(const uint8_t pub[static 65], const uint8_t serial[static 16],
				 const uint8_t spki_hash[static 32], const uint8_t *quote, size_t qlen,
				 ratls_sign_fn sign, void *sign_ctx, uint8_t *out, size_t cap, size_t *len)
{
	struct wr w = {.p = out, .cap = cap};
	size_t cert, tbs, tbs_end, s, exts, seq, ext, oct, bits, sig_len = 0;
	uint8_t sig[80];
	ady_err err;

	*len = 0;
	if (serial[0] == 0 || serial[0] & 0x80)
		return ADY_ERR_INVALID_ARG; /* DER INTEGER: minimal and positive */
	cert = der_open(&w, 0x30);
	tbs = w.len;
	s = der_open(&w, 0x30);
	{
		size_t v = der_open(&w, 0xa0);
		der_prim(&w, 0x02, "\x02", 1);
		der_close(&w, v);
	}
	der_prim(&w, 0x02, serial, 16);
	der_alg(&w, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256));
	der_name(&w);
	{
		size_t v = der_open(&w, 0x30);
		der_prim(&w, 0x17, not_before, sizeof(not_before) - 1);
		der_prim(&w, 0x18, not_after, sizeof(not_after) - 1);
		der_close(&w, v);
	}
	der_name(&w);
	der_spki(&w, pub);
	exts = der_open(&w, 0xa3);
	seq = der_open(&w, 0x30);
	ext = der_open(&w, 0x30);
	der_prim(&w, 0x06, oid_basic_constraints, sizeof(oid_basic_constraints));
	der_prim(&w, 0x01, "\xff", 1);
	der_prim(&w, 0x04, "\x30\x00", 2);
	der_close(&w, ext);
	ext = der_open(&w, 0x30);
	der_prim(&w, 0x06, oid_dice_evidence, sizeof(oid_dice_evidence));
	oct = der_open(&w, 0x04);
	cbor_evidence(&w, quote, qlen, spki_hash);
	der_close(&w, oct);
	der_close(&w, ext);
	der_close(&w, seq);
	der_close(&w, exts);
	der_close(&w, s);
	if (w.err)
		return w.err;
	tbs_end = w.len;
	err = sign(sign_ctx, out + tbs, tbs_end - tbs, sig, sizeof(sig), &sig_len);
	if (err)
		return err;
	der_alg(&w, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256));
	bits = der_open(&w, 0x03);
	put8(&w, 0);
	put(&w, sig, sig_len);
	der_close(&w, bits);
	der_close(&w, cert);
	if (w.err)
		return w.err;
	*len = w.len;
	return ADY_OK;
}

#ifndef ADY_RATLS_ENCODER_ONLY

#include <stdlib.h>

#include <bearssl.h>

#include "adyton/cursor.h"
#include "adyton/enclave.h"
#include "adyton/ratls_enclave.h"
#include "prng.h"

/*
 * BearSSL's SSL engine seeds its DRBG from br_prng_seeder_system(), whose
 * Debian build reads /dev/urandom through open/read/close: an enclave has
 * neither, and the host's randomness is not to be trusted anyway.  This
 * definition, linked from the runtime archive together with the RA-TLS
 * code that brings the engine in, takes precedence over libbearssl.a's
 * sysrng.o and seeds from the enclave's own RNG (ady_random).
 */
static int seed_from_enclave(const br_prng_class **ctx)
{
	uint8_t seed[32];

	if (ady_random(seed, sizeof(seed)) != ADY_OK)
		return 0;
	(*ctx)->update(ctx, seed, sizeof(seed));
	ady_wipe(seed, sizeof(seed));
	return 1;
}

br_prng_seeder br_prng_seeder_system(const char **name)
{
	if (name)
		*name = "adyton";
	return seed_from_enclave;
}

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
	uint8_t spki[RATLS_SPKI_LEN], report_data[64] = {0}, nonce[32] = {0}, serial[16];
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
	err = ratls_spki(c->pub, spki);
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
	err = ratls_cert_encode(c->pub, serial, report_data, quote, qlen, bear_sign, &c->sk, c->der, sizeof(c->der),
				&c->der_len);
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

#endif /* ADY_RATLS_ENCODER_ONLY */
