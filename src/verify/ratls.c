/*
 * RA-TLS peer verification (adyton/ratls.h).
 *
 * The evidence parser reads untrusted bytes through the bounded cursor;
 * it sits here rather than in src/format/ because only the verifier uses
 * it.  tests/fuzz/fuzz_ratls.c includes this file with
 * ADY_RATLS_PARSER_ONLY to fuzz it without OpenSSL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "adyton/ratls.h"

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
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, buf, len);
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

#ifndef ADY_RATLS_PARSER_ONLY

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static ady_err refuse(ady_ratls_report *r, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static ady_err refuse(ady_ratls_report *r, const char *check, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->accepted = false;
	r->failed = check;
	n = snprintf(r->reason, sizeof(r->reason), "%s: ", check);
	if (n < 0 || (size_t)n >= sizeof(r->reason))
		return ADY_ERR_PERMISSION;
	va_start(ap, fmt);
	vsnprintf(r->reason + n, sizeof(r->reason) - (size_t)n, fmt, ap);
	va_end(ap);
	return ADY_ERR_PERMISSION;
}

/* see adyton/ratls.h */
ady_err ady_ratls_verify_cert(X509 *x, const ady_vpolicy *pol, ady_ratls_report *r)
{
	static const uint8_t zero_nonce[32], zero[32];
	ady_ratls_evidence ev;
	ASN1_OBJECT *oid = NULL;
	EVP_PKEY *k;
	unsigned char *spki = NULL;
	uint8_t h[32];
	unsigned int hlen = 0;
	char group[32] = "", x1[65];
	size_t glen = 0;
	int idx, spki_len;
	ady_err err;

	if (!r)
		return ADY_ERR_INVALID_ARG;
	memset(r, 0, sizeof(*r));
	if (!x || !pol) {
		snprintf(r->reason, sizeof(r->reason), "no certificate or no policy");
		return ADY_ERR_INVALID_ARG;
	}

	k = X509_get0_pubkey(x);
	if (X509_get_signature_nid(x) != NID_ecdsa_with_SHA256) {
		err = refuse(r, "certificate", "signature algorithm is not ecdsa-with-SHA256");
		goto out;
	}
	if (!k || !EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		err = refuse(r, "certificate", "the key is not ECDSA P-256");
		goto out;
	}
	if (X509_verify(x, k) != 1) {
		err = refuse(r, "certificate", "the self-signature does not verify with the certificate's key");
		goto out;
	}

	oid = OBJ_txt2obj(ADY_RATLS_OID, 1);
	if (!oid) {
		err = refuse(r, "extension", "OpenSSL cannot make the OID");
		goto out;
	}
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	if (idx < 0) {
		err = refuse(r, "extension", "no TCG DICE tagged-evidence extension (%s): not an RA-TLS certificate",
			     ADY_RATLS_OID);
		goto out;
	}
	if (X509_get_ext_by_OBJ(x, oid, idx) >= 0) {
		err = refuse(r, "extension", "the evidence extension appears twice");
		goto out;
	}
	{
		ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, idx));
		ady_err e = d ? ady_ratls_evidence_decode(ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d), &ev)
			      : ADY_ERR_MALFORMED;
		if (e) {
			err = refuse(r, "extension", "evidence is not tag(60000) [quote, claims]: %s", ady_strerror(e));
			goto out;
		}
	}

	err = ady_verify_quote(ev.quote, ev.quote_len, pol, zero_nonce, &r->quote);
	if (err) {
		const char *detail = "";
		for (uint32_t i = 0; i < r->quote.nchecks; i++)
			if (r->quote.checks[i].result == ADY_CHECK_FAIL) {
				detail = r->quote.checks[i].detail;
				break;
			}
		r->quote_failed = r->quote.failed;
		err = refuse(r, "quote", "check '%s' failed: %s", r->quote.failed ? r->quote.failed : "?",
			     r->quote.failed ? detail : ady_strerror(err));
		goto out;
	}

	spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	if (spki_len <= 0 || EVP_Digest(spki, (size_t)spki_len, h, &hlen, EVP_sha256(), NULL) != 1 || hlen != 32) {
		err = refuse(r, "binding", "cannot encode the SubjectPublicKeyInfo");
		goto out;
	}
	if (memcmp(h, r->quote.quote.body.reportdata, 32) != 0) {
		ady_hex_encode(h, 32, x1);
		err = refuse(r, "binding",
			     "SHA-256 of the certificate's SubjectPublicKeyInfo (%.16s...) is not the quote's "
			     "report_data: the key is not the attested enclave's",
			     x1);
		goto out;
	}
	if (memcmp(r->quote.quote.body.reportdata + 32, zero, 32) != 0) {
		err = refuse(r, "binding", "report_data[32,64) is not zero");
		goto out;
	}
	if (memcmp(h, ev.pubkey_hash, 32) != 0) {
		err = refuse(r, "binding", "the pubkey-hash claim differs from the certificate's key");
		goto out;
	}
	ady_hex_encode(r->quote.quote.body.mrenclave, 32, x1);
	snprintf(r->reason, sizeof(r->reason), "accepted: key bound to enclave MRENCLAVE %.16s... ISVPRODID %u ISVSVN %u",
		 x1, (unsigned)r->quote.quote.body.isvprodid, (unsigned)r->quote.quote.body.isvsvn);
	r->accepted = true;
	err = ADY_OK;
out:
	OPENSSL_free(spki);
	ASN1_OBJECT_free(oid);
	return err;
}

/* see adyton/ratls.h */
ady_err ady_ratls_verify_der(const uint8_t *der, size_t len, const ady_vpolicy *pol, ady_ratls_report *out)
{
	const unsigned char *p = der;
	X509 *x;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	if (!der || len > 0x7fffffff) {
		memset(out, 0, sizeof(*out));
		return ADY_ERR_INVALID_ARG;
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		memset(out, 0, sizeof(*out));
		return refuse(out, "certificate", "not a DER X.509 certificate");
	}
	err = ady_ratls_verify_cert(x, pol, out);
	X509_free(x);
	return err;
}

static CRYPTO_ONCE idx_once = CRYPTO_ONCE_STATIC_INIT;
static int ssl_idx = -1;

static void make_idx(void)
{
	ssl_idx = SSL_get_ex_new_index(0, (void *)"adyton ratls", NULL, NULL, NULL);
}

/* see adyton/ratls.h */
ady_err ady_ratls_ssl_set(SSL *ssl, ady_ratls_ctx *rc)
{
	if (!ssl || !rc || !rc->policy)
		return ADY_ERR_INVALID_ARG;
	if (!CRYPTO_THREAD_run_once(&idx_once, make_idx) || ssl_idx < 0)
		return ADY_ERR_CRYPTO;
	rc->done = false;
	memset(&rc->report, 0, sizeof(rc->report));
	return SSL_set_ex_data(ssl, ssl_idx, rc) == 1 ? ADY_OK : ADY_ERR_CRYPTO;
}

/* see adyton/ratls.h */
int ady_ratls_verify(int preverify_ok, X509_STORE_CTX *ctx)
{
	SSL *ssl;
	ady_ratls_ctx *rc = NULL;
	X509 *leaf;

	/* OpenSSL's verdict on a self-signed leaf is always "untrusted"; the
	 * decision is the quote's. */
	(void)preverify_ok;
	if (X509_STORE_CTX_get_error_depth(ctx) != 0)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl && ssl_idx >= 0)
		rc = SSL_get_ex_data(ssl, ssl_idx);
	leaf = X509_STORE_CTX_get_current_cert(ctx);
	if (!rc) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	rc->done = true;
	if (ady_ratls_verify_cert(leaf, rc->policy, &rc->report) != ADY_OK) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	X509_STORE_CTX_set_error(ctx, X509_V_OK);
	return 1;
}

#endif /* ADY_RATLS_PARSER_ONLY */
