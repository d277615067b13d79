/*
 * ratls.c - the RA-TLS byte layouts (adyton/ratls_format.h): the CBOR
 * evidence, its strict decoder, and the one X.509 certificate shape
 * RA-TLS needs.
 *
 * BearSSL decodes X.509 but has no certificate writer, and the enclave
 * has no other library: the certificate is written here, through the
 * bounded writer (adyton/cursor.h).  Lengths are definite and minimal,
 * and no element may exceed 65535 bytes (the certificate is bounded by
 * ADY_QUOTE_MAX).  tests/unit/ratls_test.c checks the output against
 * OpenSSL's parser and the bytes against golden vectors.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "adyton/ratls_format.h"
#include "internal.h"

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

/* ---- decoding --------------------------------------------------------- */

/* A CBOR head (RFC 8949 3.1).  Only the shortest form is accepted (4.2.1):
 * the certificate is hashed and signed, and one value must have one
 * encoding.  Indefinite lengths and the reserved values 28..31 are
 * refused. */
static ady_err cbor_head(ady_cur *c, uint8_t *major, uint64_t *v)
{
	uint8_t ib, b[8];
	size_t n;
	uint64_t x = 0;
	ady_err err;

	if ((err = ady_cur_u8(c, &ib)))
		return err;
	*major = ib >> 5;
	switch (ib & 31) {
	case 24:
		n = 1;
		break;
	case 25:
		n = 2;
		break;
	case 26:
		n = 4;
		break;
	case 27:
		n = 8;
		break;
	default:
		if ((ib & 31) >= 24)
			return ADY_ERR_MALFORMED;
		*v = ib & 31;
		return ADY_OK;
	}
	if ((err = ady_cur_bytes(c, b, n)))
		return err;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | b[i];
	if ((n == 1 && x < 24) || (n == 2 && x <= 0xff) || (n == 4 && x <= 0xffff) || (n == 8 && x <= 0xffffffffu))
		return ADY_ERR_MALFORMED;
	*v = x;
	return ADY_OK;
}

/* A head of the given major type with exactly the value want. */
static ady_err cbor_expect(ady_cur *c, uint8_t major, uint64_t want)
{
	uint8_t m;
	uint64_t v;
	ady_err err = cbor_head(c, &m, &v);

	if (err)
		return err;
	return m == major && v == want ? ADY_OK : ADY_ERR_MALFORMED;
}

/* A byte string of at most max bytes: a sub-cursor over its content,
 * the outer cursor moved past it. */
static ady_err cbor_bstr(ady_cur *c, uint64_t max, ady_cur *out)
{
	uint8_t m;
	uint64_t v;
	ady_err err = cbor_head(c, &m, &v);

	if (err)
		return err;
	if (m != 2 || v > max)
		return ADY_ERR_MALFORMED;
	if (v > ady_cur_left(c))
		return ADY_ERR_TRUNCATED;
	if ((err = ady_cur_sub(c, c->off, v, out)) || (err = ady_cur_skip(c, (size_t)v)))
		return err;
	return ADY_OK;
}

/* hash-entry = [1 (sha-256), bstr .size 32], nothing trailing. */
static ady_err hash_entry(ady_cur *c, uint8_t hash[static 32])
{
	ady_err err;

	if ((err = cbor_expect(c, 4, 2)) || (err = cbor_expect(c, 0, 1)) || (err = cbor_expect(c, 2, 32)) ||
	    (err = ady_cur_bytes(c, hash, 32)))
		return err;
	return ady_cur_left(c) ? ADY_ERR_MALFORMED : ADY_OK;
}

static ady_err claims(ady_cur *c, ady_ratls_evidence *ev)
{
	static const char k_hash[] = "pubkey-hash", k_nonce[] = "nonce";
	bool have_hash = false;
	uint8_t m, key[16];
	uint64_t n, klen;
	ady_err err;

	if ((err = cbor_head(c, &m, &n)))
		return err;
	if (m != 5 || n < 1 || n > 2)
		return ADY_ERR_MALFORMED;
	for (uint64_t i = 0; i < n; i++) {
		ady_cur v;
		if ((err = cbor_head(c, &m, &klen)))
			return err;
		if (m != 3 || klen > sizeof(key))
			return ADY_ERR_MALFORMED;
		if ((err = ady_cur_bytes(c, key, (size_t)klen)))
			return err;
		if (klen == sizeof(k_hash) - 1 && memcmp(key, k_hash, klen) == 0) {
			if (have_hash)
				return ADY_ERR_MALFORMED;
			if ((err = cbor_bstr(c, 64, &v)) || (err = hash_entry(&v, ev->pubkey_hash)))
				return err;
			have_hash = true;
		} else if (klen == sizeof(k_nonce) - 1 && memcmp(key, k_nonce, klen) == 0) {
			if (ev->has_nonce)
				return ADY_ERR_MALFORMED;
			if ((err = cbor_bstr(c, ADY_RATLS_MAX_NONCE, &v)))
				return err;
			ev->nonce_len = ady_cur_left(&v);
			if ((err = ady_cur_bytes(&v, ev->nonce, ev->nonce_len)))
				return err;
			ev->has_nonce = true;
		} else {
			return ADY_ERR_MALFORMED; /* a claim we do not know */
		}
	}
	if (!have_hash || ady_cur_left(c))
		return ADY_ERR_MALFORMED;
	return ADY_OK;
}

/* see adyton/ratls.h */
ady_err ady_ratls_evidence_decode(const uint8_t *buf, size_t len, ady_ratls_evidence *out)
{
	ady_cur c, q, cl;
	ady_err err = decode_open(&c, buf, len, out, sizeof(*out));

	if (err)
		return err;
	if ((err = cbor_expect(&c, 6, ADY_RATLS_EVIDENCE_TAG)) || (err = cbor_expect(&c, 4, 2)) ||
	    (err = cbor_bstr(&c, ADY_QUOTE_MAX, &q)) || (err = cbor_bstr(&c, 256, &cl)))
		goto fail;
	if (ady_cur_left(&c) || ady_cur_left(&q) == 0) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	if ((err = claims(&cl, out)))
		goto fail;
	out->quote = q.p + q.off;
	out->quote_len = ady_cur_left(&q);
	return ADY_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

/* ---- encoding --------------------------------------------------------- */

/* Opens a DER element: its tag and three bytes reserved for the length
 * (0x82 hi lo at most); returns where its content starts. */
static size_t der_open(ady_wr *w, uint8_t tag)
{
	ady_wr_u8(w, tag);
	ady_wr_zero(w, 3);
	return ady_wr_len(w);
}

/* Closes the element opened at start: writes the minimal definite length
 * and cuts the unused reserved bytes. */
static void der_close(ady_wr *w, size_t start)
{
	size_t n, hlen;
	uint8_t *h;

	if (ady_wr_err(w))
		return;
	n = ady_wr_len(w) - start;
	if (n > 0xffff) {
		ady_wr_fail(w, ADY_ERR_OVERFLOW);
		return;
	}
	hlen = n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
	h = ady_wr_at(w, start - 3, 3);
	if (!h)
		return;
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
	ady_wr_cut(w, start - 3 + hlen, 3 - hlen);
}

static void der_prim(ady_wr *w, uint8_t tag, const void *b, size_t n)
{
	size_t s = der_open(w, tag);

	ady_wr_bytes(w, b, n);
	der_close(w, s);
}

static void der_alg(ady_wr *w, const uint8_t *oid, size_t n)
{
	size_t s = der_open(w, 0x30);

	der_prim(w, 0x06, oid, n);
	der_close(w, s);
}

/* Name: one RDN, CN = ratls_cn (UTF8String). */
static void der_name(ady_wr *w)
{
	size_t name = der_open(w, 0x30), set = der_open(w, 0x31), atv = der_open(w, 0x30);

	der_prim(w, 0x06, oid_cn, sizeof(oid_cn));
	der_prim(w, 0x0c, ratls_cn, sizeof(ratls_cn) - 1);
	der_close(w, atv);
	der_close(w, set);
	der_close(w, name);
}

/* SubjectPublicKeyInfo of a P-256 key (RFC 5480): pub = 04 || x || y. */
static void der_spki(ady_wr *w, const uint8_t pub[static 65])
{
	size_t spki = der_open(w, 0x30), alg = der_open(w, 0x30), bits;

	der_prim(w, 0x06, oid_ec_public_key, sizeof(oid_ec_public_key));
	der_prim(w, 0x06, oid_p256, sizeof(oid_p256));
	der_close(w, alg);
	bits = der_open(w, 0x03);
	ady_wr_u8(w, 0); /* no unused bits */
	ady_wr_bytes(w, pub, 65);
	der_close(w, bits);
	der_close(w, spki);
}

/* see adyton/ratls_format.h */
ady_err ady_ratls_spki_encode(const uint8_t pub[static 65], uint8_t out[static ADY_RATLS_SPKI_LEN])
{
	uint8_t tmp[ADY_RATLS_SPKI_LEN + 8]; /* room for the reserved length bytes while writing */
	ady_wr w;

	ady_wr_init(&w, tmp, sizeof(tmp));
	der_spki(&w, pub);
	if (ady_wr_err(&w))
		return ady_wr_err(&w);
	if (ady_wr_len(&w) != ADY_RATLS_SPKI_LEN)
		return ADY_ERR_MALFORMED;
	memcpy(out, tmp, ADY_RATLS_SPKI_LEN);
	return ADY_OK;
}

/* A CBOR head (RFC 8949 3.1) in its shortest form, as deterministic
 * encoding (4.2.1) requires; the host parser refuses any other. */
static void cbor_put(ady_wr *w, uint8_t major, uint64_t v)
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
	ady_wr_bytes(w, b, n);
}

/*
 * The extension's content, as Gramine's RA-TLS lays it out:
 *   tag(60000) [ bstr(quote), bstr(claims) ]
 *   claims     = { "pubkey-hash": bstr(hash-entry) }
 *   hash-entry = [ 1 (sha-256), bstr(SHA-256(DER SubjectPublicKeyInfo)) ]
 * Deviation, documented: report_data[0,32) is the SPKI hash itself (not
 * SHA-256 of the claims as in Gramine), as adyton's issue 7 requires.
 */
/* see adyton/ratls_format.h */
void ady_ratls_evidence_encode(ady_wr *w, const uint8_t *quote, size_t qlen, const uint8_t spki_hash[static 32])
{
	static const char key[] = "pubkey-hash";
	const size_t entry_len = 1 + 1 + 2 + 32;
	const size_t claims_len = 1 + 1 + (sizeof(key) - 1) + 2 + entry_len;

	cbor_put(w, 6, ADY_RATLS_EVIDENCE_TAG);
	cbor_put(w, 4, 2);
	cbor_put(w, 2, qlen);
	ady_wr_bytes(w, quote, qlen);
	cbor_put(w, 2, claims_len);
	cbor_put(w, 5, 1);
	cbor_put(w, 3, sizeof(key) - 1);
	ady_wr_bytes(w, key, sizeof(key) - 1);
	cbor_put(w, 2, entry_len);
	cbor_put(w, 4, 2);
	cbor_put(w, 0, RATLS_HASH_ALG_SHA256);
	cbor_put(w, 2, 32);
	ady_wr_bytes(w, spki_hash, 32);
}

/* see adyton/ratls_format.h */
ady_err ady_ratls_cert_encode(const uint8_t pub[static 65], const uint8_t serial[static 16],
			      const uint8_t spki_hash[static 32], const uint8_t *quote, size_t qlen, ady_ratls_sign_fn sign,
			      void *sign_ctx, uint8_t *out, size_t cap, size_t *len)
{
	size_t cert, tbs, tbs_end, s, exts, seq, ext, oct, bits, sig_len = 0;
	uint8_t sig[80];
	const uint8_t *tbs_p;
	ady_wr w;
	ady_err err;

	*len = 0;
	if (serial[0] == 0 || serial[0] & 0x80)
		return ADY_ERR_INVALID_ARG; /* DER INTEGER: minimal and positive */
	ady_wr_init(&w, out, cap);
	cert = der_open(&w, 0x30);
	tbs = ady_wr_len(&w);
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
	ady_ratls_evidence_encode(&w, quote, qlen, spki_hash);
	der_close(&w, oct);
	der_close(&w, ext);
	der_close(&w, seq);
	der_close(&w, exts);
	der_close(&w, s);
	if (ady_wr_err(&w))
		return ady_wr_err(&w);
	tbs_end = ady_wr_len(&w);
	tbs_p = ady_wr_at(&w, tbs, tbs_end - tbs);
	if (!tbs_p)
		return ADY_ERR_RANGE;
	err = sign(sign_ctx, tbs_p, tbs_end - tbs, sig, sizeof(sig), &sig_len);
	if (err)
		return err;
	der_alg(&w, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256));
	bits = der_open(&w, 0x03);
	ady_wr_u8(&w, 0);
	ady_wr_bytes(&w, sig, sig_len);
	der_close(&w, bits);
	der_close(&w, cert);
	if (ady_wr_err(&w))
		return ady_wr_err(&w);
	*len = ady_wr_len(&w);
	return ADY_OK;
}

