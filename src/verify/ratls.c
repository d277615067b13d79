/*
 * RA-TLS peer verification (adyton/ratls.h).  The evidence is decoded
 * by the format layer (adyton/ratls_format.h, fuzzed by
 * tests/fuzz/fuzz_ratls.c); this file holds the OpenSSL side.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "adyton/ratls.h"

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
