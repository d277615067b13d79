/*
 * libadyton-verify: quote verification (adyton/verify.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "adyton/cursor.h"
#include "adyton/ima.h"
#include "adyton/sgx.h"
#include "adyton/verify.h"
#include "platform/sign.h"

/* see adyton/verify.h */
const char *ady_check_result_name(ady_check_result r)
{
	switch (r) {
	case ADY_CHECK_PASS:
		return "pass";
	case ADY_CHECK_FAIL:
		return "FAIL";
	case ADY_CHECK_SKIP:
		return "skip";
	default:
		return "?";
	}
}

static void check(ady_verify_report *r, const char *name, ady_check_result res, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(ady_verify_report *r, const char *name, ady_check_result res, const char *fmt, ...)
{
	ady_verify_check *c;
	va_list ap;

	if (r->nchecks >= ADY_VERIFY_MAX_CHECKS)
		return;
	c = &r->checks[r->nchecks++];
	c->name = name;
	c->result = res;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	if (res == ADY_CHECK_FAIL && !r->failed)
		r->failed = name;
}

/* 1 if (r, s) is a valid ECDSA SHA-256 signature of msg by k; 0 otherwise.
 * Shared by the adyton quote (P-256 r||s) and host TPM quotes (TPMT_SIGNATURE). */
static int ecdsa_verify(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t *rb, size_t rlen, const uint8_t *sb,
			size_t slen)
{
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rb, (int)rlen, NULL), *sv = BN_bin2bn(sb, (int)slen, NULL);
	unsigned char *der = NULL;
	int dlen, ok = 0;

	if (!k || !s || !r || !sv || !ECDSA_SIG_set0(s, r, sv))
		goto out;
	r = sv = NULL; /* owned by s now */
	dlen = i2d_ECDSA_SIG(s, &der);
	ctx = EVP_MD_CTX_new();
	if (dlen <= 0 || !ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, der, (size_t)dlen, msg, len) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	return ok;
}

/* 1 if sig (r||s) is a valid ECDSA P-256 SHA-256 signature of msg by the
 * key xy; 0 otherwise (including an invalid key). */
static int p256_verify(const uint8_t xy[static 64], const uint8_t *msg, size_t len, const uint8_t sig[static 64])
{
	EVP_PKEY *k = ady_p256_from_xy(xy);
	int ok = ecdsa_verify(k, msg, len, sig, 32, sig + 32, 32);

	EVP_PKEY_free(k);
	return ok;
}

static void sha256(const void *p, size_t n, uint8_t out[static 32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		memset(out, 0, 32); /* compares unequal to any real digest of our inputs */
}

/* TPM2_Quote's pcrDigest: SHA-256 over the selected PCRs' values in
 * ascending order (TPM 2.0 Part 1, 18.5; the selection is SHA-256 here). */
static int pcr_digest_ok(uint32_t mask, const uint8_t (*pcr)[32], const uint8_t digest[static 32])
{
	uint8_t cat[32 * ADY_QUOTE_MAX_PCRS], h[32];
	size_t n = 0;

	for (uint32_t k = 0; k < ADY_QUOTE_MAX_PCRS; k++)
		if (mask >> k & 1u)
			memcpy(cat + 32 * n++, pcr[k], 32);
	sha256(cat, 32 * n, h);
	return memcmp(h, digest, 32) == 0;
}

/* A TPM certificate's role and the anchors that may vouch for it. */
typedef struct role {
	const char *what;     /* "EK certificate", "AK certificate" */
	const char *key;      /* the policy key of its anchors */
	const char *eku;      /* the extended key usage it must carry */
	const char *eku_name; /* and that usage's name, for the detail */
	bool ignore_critical; /* unknown critical extensions allowed */
	const char (*anchors)[ADY_VPOLICY_MAX_PATH];
	uint32_t nanchors;
} role;

static role ek_role(const ady_vpolicy *pol)
{
	return (role){"EK certificate", "tpm_ek_ca", ADY_TCG_EKU_EK, "TCG EK certificate", true, pol->tpm_ek_ca,
		      pol->nek_ca};
}

static role ak_role(const ady_vpolicy *pol)
{
	return (role){"AK certificate", "tpm_ak_ca", ADY_TCG_EKU_AIK, "TCG AIK certificate", false, pol->tpm_ak_ca,
		      pol->nak_ca};
}

/* The anchors of one role as a store; NULL (why says) if one is unreadable
 * or the policy names none. */
static X509_STORE *anchor_store(const role *ro, char *why, size_t whylen)
{
	X509_STORE *store;

	if (ro->nanchors == 0) {
		snprintf(why, whylen, "the policy names no %s", ro->key);
		return NULL;
	}
	store = X509_STORE_new();
	if (!store) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < ro->nanchors; i++) {
		if (X509_STORE_load_file(store, ro->anchors[i]) != 1) {
			snprintf(why, whylen, "cannot read %s %s", ro->key, ro->anchors[i]);
			X509_STORE_free(store);
			return NULL;
		}
	}
	return store;
}

/* 1 if x's extendedKeyUsage extension (exactly one) lists oid. */
static int has_eku(X509 *x, const char *oid)
{
	int crit = 0, found = 0;
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);

	if (eku && want)
		for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && !found; i++)
			found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0;
	EXTENDED_KEY_USAGE_free(eku);
	ASN1_OBJECT_free(want);
	return found;
}

/* 1 if one of the certificates in chain[from..] is an anchor in store or
 * has an anchor's key (the same CA, re-issued). */
static int meets_store(STACK_OF(X509) *chain, int from, X509_STORE *store)
{
	STACK_OF(X509) *all = X509_STORE_get1_all_certs(store);
	int hit = !all; /* cannot tell: count it as a hit, i.e. refuse */

	for (int i = from; all && i < sk_X509_num(chain) && !hit; i++) {
		X509 *c = sk_X509_value(chain, i);
		EVP_PKEY *k = X509_get0_pubkey(c);
		for (int j = 0; j < sk_X509_num(all) && !hit; j++) {
			X509 *a = sk_X509_value(all, j);
			EVP_PKEY *ak = X509_get0_pubkey(a);
			hit = X509_cmp(c, a) == 0 || (k && ak && EVP_PKEY_eq(k, ak) == 1);
		}
	}
	sk_X509_pop_free(all, X509_free);
	return hit;
}

/*
 * cert (DER) is a certificate of role ro: it parses as exactly one DER
 * X.509 certificate, chains (signatures, validity) to the role's anchors
 * and to nothing else (no intermediates are taken from the quote), carries
 * the role's TCG extended key usage, and, if apart is given, has no
 * certificate of the other role's anchors (by key) in its chain: one CA
 * never vouches for both roles.  Returns 1 if so (*leaf gets it); why says
 * which of these failed.
 */
static int certifies(const role *ro, X509_STORE *apart, const uint8_t *der, size_t len, X509 **leaf, char *why,
		     size_t whylen)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	int ok = 0;

	*leaf = NULL;
	if (!x || p != der + len) {
		snprintf(why, whylen, "%s does not parse as DER X.509", ro->what);
		goto out;
	}
	store = anchor_store(ro, why, whylen);
	if (!store)
		goto out;
	ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	/* EK certificates carry TPM-specific critical extensions (SAN with
	 * TPM directory names); the chain's signatures and validity are what
	 * this is about, the role is the EKU below.  AK certificates are
	 * issued by an enrollment CA to adyton's profile: nothing unknown may
	 * be critical there. */
	if (ro->ignore_critical)
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_IGNORE_CRITICAL);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(why, whylen, "%s does not chain to a %s: %s", ro->what, ro->key,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if (!has_eku(x, ro->eku)) {
		snprintf(why, whylen, "%s lacks the %s extended key usage %s", ro->what, ro->eku_name, ro->eku);
		goto out;
	}
	chain = X509_STORE_CTX_get1_chain(ctx);
	if (apart && (!chain || meets_store(chain, 1, apart))) {
		snprintf(why, whylen, "%s chains to a CA that is also a tpm_ek_ca (keep EK and AK anchors apart)",
			 ro->what);
		goto out;
	}
	ok = 1;
	*leaf = x;
	x = NULL;
out:
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	return ok;
}

/* x||y of a certificate's P-256 key, or -1. */
static int cert_p256(X509 *x, uint8_t xy[static 64])
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	uint8_t pt[65];
	size_t n = 0;

	if (!k || !EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 || n != 65 ||
	    pt[0] != 0x04)
		return -1;
	memcpy(xy, pt + 1, 64);
	return 0;
}

static const char *const tpm_checks[] = {"tpm_quote", "tpm_qualifying_data", "tpm_pcr_digest", "tpm_pcr_policy",
					 "tpm_ek_chain", "tpm_ak_binding"};

/* The TPM certification: records the tpm_* checks; 1 if all pass. */
static int check_tpm(ady_verify_report *r, const ady_vpolicy *pol)
{
	const ady_quote *q = &r->quote;
	ady_quote_tpm t;
	ady_tpms_quote tq;
	uint8_t h[32];
	char why[sizeof(r->checks[0].detail)];
	X509 *ek = NULL, *akc = NULL;
	uint32_t n = 0, i = 0;
	int ok = 0;

	if (ady_quote_decode_tpm(q, &t) != ADY_OK) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "certification data malformed");
		goto skip_rest;
	}
	if (!p256_verify(t.ak_pub, q->cert + t.attest.off, t.attest.len, t.ak_sig)) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "AK signature over TPMS_ATTEST does not verify");
		goto skip_rest;
	}
	if (ady_tpms_quote_decode(q->cert + t.attest.off, t.attest.len, &tq) != ADY_OK) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "TPMS_ATTEST is not a SHA-256 TPM2_Quote");
		goto skip_rest;
	}
	check(r, tpm_checks[i++], ADY_CHECK_PASS, "AK-signed TPM2_Quote over PCR mask 0x%06x", tq.pcr_mask);
	sha256(q->attest_pub, 64, h);
	if (tq.extra_len != 32 || memcmp(tq.extra, h, 32) != 0) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "extraData is not SHA-256 of the attestation key");
		goto skip_rest;
	}
	check(r, tpm_checks[i++], ADY_CHECK_PASS, "extraData = SHA-256(attestation key)");
	n = (uint32_t)__builtin_popcount(t.pcr_mask);
	if (t.pcr_mask != tq.pcr_mask || !pcr_digest_ok(t.pcr_mask, t.pcr, tq.pcr_digest)) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "carried PCR values do not match the quoted digest");
		goto skip_rest;
	}
	check(r, tpm_checks[i++], ADY_CHECK_PASS, "%u PCR values match the quoted digest", n);
	for (uint32_t k = 0; k < ADY_QUOTE_MAX_PCRS; k++) {
		if (!(pol->pcr_mask >> k & 1u))
			continue;
		if (!(t.pcr_mask >> k & 1u) || memcmp(t.pcr[k], pol->pcr[k], 32) != 0) {
			check(r, tpm_checks[i++], ADY_CHECK_FAIL, "PCR %u differs from the policy", k);
			goto skip_rest;
		}
	}
	check(r, tpm_checks[i++], pol->pcr_mask ? ADY_CHECK_PASS : ADY_CHECK_SKIP, "%s",
	      pol->pcr_mask ? "expected PCR values match" : "the policy expects no PCR values");
	{
		const role ro = ek_role(pol);
		if (!certifies(&ro, NULL, q->cert + t.ek_cert.off, t.ek_cert.len, &ek, why, sizeof(why))) {
			check(r, tpm_checks[i++], ADY_CHECK_FAIL, "%s", why);
			goto skip_rest;
		}
	}
	check(r, tpm_checks[i++], ADY_CHECK_PASS, "EK certificate (TCG EK EKU) chains to a tpm_ek_ca");
	/* Binding (docs/attestation.md): an AK certificate the enrollment CA
	 * issued after TPM2_ActivateCredential proved the AK lives in the TPM
	 * of that EK.  It must chain to a tpm_ak_ca, never through an EK
	 * anchor, carry the AIK EKU and digitalSignature (anything else the
	 * CA signed, for any purpose, is not an AK certificate), be no CA, and
	 * certify exactly ak_pub. */
	if (t.binding.len == 0) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "no AK certificate");
		goto skip_rest;
	}
	{
		const role ro = ak_role(pol), ek_ro = ek_role(pol);
		X509_STORE *ek_store = anchor_store(&ek_ro, why, sizeof(why));
		int ok_ak = ek_store && certifies(&ro, ek_store, q->cert + t.binding.off, t.binding.len, &akc,
						  why, sizeof(why));
		X509_STORE_free(ek_store);
		if (!ok_ak) {
			check(r, tpm_checks[i++], ADY_CHECK_FAIL, "%s", why);
			goto skip_rest;
		}
	}
	if (!(X509_get_extension_flags(akc) & EXFLAG_KUSAGE) || !(X509_get_key_usage(akc) & KU_DIGITAL_SIGNATURE)) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "AK certificate lacks key usage digitalSignature");
		goto skip_rest;
	}
	/* basicConstraints cA, whatever the key usage says (OpenSSL's
	 * X509_check_ca would call it no CA without keyCertSign). */
	if (X509_get_extension_flags(akc) & EXFLAG_CA) {
		check(r, tpm_checks[i++], ADY_CHECK_FAIL, "AK certificate is a CA certificate (basicConstraints cA)");
		goto skip_rest;
	}
	{
		uint8_t xy[64];
		if (cert_p256(akc, xy) || memcmp(xy, t.ak_pub, 64) != 0) {
			check(r, tpm_checks[i++], ADY_CHECK_FAIL, "the AK certificate certifies another key");
			goto skip_rest;
		}
	}
	check(r, tpm_checks[i++], ADY_CHECK_PASS, "AK certificate (TCG AIK EKU) chains to a tpm_ak_ca");
	ok = 1;
skip_rest:
	for (; i < sizeof(tpm_checks) / sizeof(tpm_checks[0]); i++)
		check(r, tpm_checks[i], ADY_CHECK_SKIP, "an earlier check failed");
	X509_free(ek);
	X509_free(akc);
	return ok;
}

static const char *const all_checks[] = {"format",      "signature", "platform", "nonce",
					 "report_data", "identity",  "debug"};

/* see adyton/verify.h */
ady_err ady_verify_quote(const uint8_t *quote, size_t len, const ady_vpolicy *pol, const uint8_t *nonce,
			 ady_verify_report *r)
{
	const ady_quote *q;
	const ady_sgx_report_body *b;
	uint8_t h[32];
	char x[129];
	uint32_t next = 0;
	int ok;

	if (!r)
		return ADY_ERR_INVALID_ARG;
	memset(r, 0, sizeof(*r));
	if (!pol || (!quote && len))
		return ADY_ERR_INVALID_ARG;
	q = &r->quote;
	b = &q->body;
	{
		ady_err err = ady_quote_decode(quote, len, &r->quote);
		if (err) {
			check(r, "format", ADY_CHECK_FAIL, "not an adyton quote: %s", ady_strerror(err));
			goto skip_rest;
		}
	}
	check(r, "format", ADY_CHECK_PASS, "%zu bytes, certification type 0x%04x", len, q->cert_type);

	next = 1;
	if (!p256_verify(q->attest_pub, quote, ADY_QUOTE_TBS, q->signature)) {
		check(r, "signature", ADY_CHECK_FAIL, "header+body signature does not verify with the attestation key");
		goto skip_rest;
	}
	check(r, "signature", ADY_CHECK_PASS, "ECDSA P-256 over header+body");

	next = 2;
	ady_hex_encode(q->attest_pub, 64, x);
	switch (q->cert_type) {
	case ADY_QUOTE_CERT_ENROLLED:
		ok = 0;
		for (uint32_t i = 0; i < pol->nplatform; i++)
			ok |= memcmp(pol->platform_key[i], q->attest_pub, 64) == 0;
		check(r, "platform", ok ? ADY_CHECK_PASS : ADY_CHECK_FAIL,
		      ok ? "enrolled platform key %.16s... is pinned" : "enrolled platform key %.16s... is not pinned", x);
		break;
	case ADY_QUOTE_CERT_SIM:
		ok = pol->allow_sim;
		check(r, "platform", ok ? ADY_CHECK_PASS : ADY_CHECK_FAIL, "%s",
		      ok ? "sim quote (public key: proves nothing), allowed by allow_sim"
			 : "sim quote (public key: proves nothing); the policy does not allow_sim");
		break;
	case ADY_QUOTE_CERT_TPM:
		ok = check_tpm(r, pol);
		check(r, "platform", ok ? ADY_CHECK_PASS : ADY_CHECK_FAIL, "%s",
		      ok ? "attestation key certified by a TPM" : "TPM certification failed");
		break;
	default:
		ok = 0;
		check(r, "platform", ADY_CHECK_FAIL, "unknown certification type");
		break;
	}
	if (!ok)
		goto skip_rest;

	next = 3;
	if (nonce) {
		sha256(nonce, 32, h);
		ok = memcmp(h, q->user_data, 20) == 0;
		check(r, "nonce", ok ? ADY_CHECK_PASS : ADY_CHECK_FAIL, "%s",
		      ok ? "the quote binds the given nonce" : "the quote binds another nonce (stale or replayed)");
		if (!ok)
			goto skip_rest;
	} else {
		check(r, "nonce", ADY_CHECK_SKIP, "no nonce given: freshness not checked");
	}

	next = 4;
	if (pol->want_report_data) {
		/* All 64 bytes: a relying party that binds less writes the rest
		 * (zeros, say) itself; no prefix rule to misremember. */
		if (memcmp(b->reportdata, pol->report_data, 64) != 0) {
			ady_hex_encode(b->reportdata, 64, x);
			check(r, "report_data", ADY_CHECK_FAIL, "REPORTDATA %.32s... differs from the expected 64 bytes",
			      x);
			goto skip_rest;
		}
		check(r, "report_data", ADY_CHECK_PASS, "REPORTDATA equals the expected 64 bytes");
	} else {
		check(r, "report_data", ADY_CHECK_SKIP, "no expected report data given");
	}

	next = 5;
	{
		const char *why = "neither MRENCLAVE nor MRSIGNER is listed";
		int found = 0;
		uint16_t best_min = 0;
		for (uint32_t i = 0; i < pol->nmrenclave && !found; i++)
			found = memcmp(pol->mrenclave[i], b->mrenclave, 32) == 0;
		if (found) {
			why = "MRENCLAVE listed";
		} else {
			for (uint32_t i = 0; i < pol->nsigner && !found; i++) {
				const ady_vpolicy_signer *s = &pol->signer[i];
				if (memcmp(s->mrsigner, b->mrsigner, 32) != 0 || s->isvprodid != b->isvprodid)
					continue;
				if (b->isvsvn >= s->min_isvsvn) {
					found = 1;
					why = "MRSIGNER+ISVPRODID listed, ISVSVN at or above the minimum";
				} else {
					best_min = s->min_isvsvn;
					why = "ISVSVN below the minimum";
				}
			}
		}
		ady_hex_encode(b->mrenclave, 32, x);
		check(r, "identity", found ? ADY_CHECK_PASS : ADY_CHECK_FAIL,
		      "%s (MRENCLAVE %.16s..., ISVPRODID %u, ISVSVN %u, minimum %u)", why, x, (unsigned)b->isvprodid,
		      (unsigned)b->isvsvn, (unsigned)best_min);
		if (!found)
			goto skip_rest;
	}
	next = 6;
	if ((b->attributes.flags & ADY_SGX_FLAGS_DEBUG) && !pol->allow_debug) {
		check(r, "debug", ADY_CHECK_FAIL, "DEBUG enclave; the policy does not allow_debug");
		goto skip_rest;
	}
	check(r, "debug", ADY_CHECK_PASS, "%s",
	      b->attributes.flags & ADY_SGX_FLAGS_DEBUG ? "DEBUG enclave, allowed by allow_debug" : "production enclave");
	r->accepted = true;
	return ADY_OK;

skip_rest:
	for (uint32_t i = next + 1; i < sizeof(all_checks) / sizeof(all_checks[0]); i++)
		check(r, all_checks[i], ADY_CHECK_SKIP, "an earlier check failed");
	return ADY_ERR_PERMISSION;
}

/* see adyton/verify.h */
ady_err ady_verify_tpm_quote(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
			     const char *ak_pem, const uint8_t *nonce, size_t nonce_len, const uint8_t (*pcr)[32],
			     uint32_t npcr, ady_tpm_quote_check *out)
{
	ady_tpmt_signature ts;
	ady_tpms_quote tq;
	EVP_PKEY *ak = NULL;
	BIO *bio;
	int ok = 0, rsa;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!attest || !sig || !ak_pem || (!nonce && nonce_len) || !pcr || npcr > ADY_QUOTE_MAX_PCRS)
		return ADY_ERR_INVALID_ARG;
	bio = BIO_new_mem_buf(ak_pem, -1);
	ak = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!ak)
		return ADY_ERR_KEY;
	out->failed = "quote_signature";
	rsa = EVP_PKEY_base_id(ak) == EVP_PKEY_RSA;
	if (ady_tpmt_signature_decode(sig, sig_len, &ts) != ADY_OK) {
		snprintf(out->detail, sizeof(out->detail), "not a TPMT_SIGNATURE (RSASSA or ECDSA, SHA-256)");
		goto out;
	}
	if (ts.sig_alg == ADY_TPM_ALG_RSASSA && rsa) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, ak) == 1 &&
		     EVP_DigestVerify(ctx, ts.a, ts.a_len, attest, attest_len) == 1;
		EVP_MD_CTX_free(ctx);
	} else if (ts.sig_alg == ADY_TPM_ALG_ECDSA && EVP_PKEY_base_id(ak) == EVP_PKEY_EC) {
		ok = ecdsa_verify(ak, attest, attest_len, ts.a, ts.a_len, ts.b, ts.b_len);
	}
	if (!ok) {
		snprintf(out->detail, sizeof(out->detail), "the %s signature over TPMS_ATTEST does not verify with the AK",
			 ts.sig_alg == ADY_TPM_ALG_RSASSA ? "RSASSA" : "ECDSA");
		goto out;
	}
	ok = 0;
	if (ady_tpms_quote_decode(attest, attest_len, &tq) != ADY_OK) {
		snprintf(out->detail, sizeof(out->detail), "signed TPMS_ATTEST is not a SHA-256 TPM2_Quote");
		goto out;
	}
	out->pcr_mask = tq.pcr_mask;
	out->failed = "quote_nonce";
	if (tq.extra_len != nonce_len || (nonce_len && memcmp(tq.extra, nonce, nonce_len) != 0)) {
		snprintf(out->detail, sizeof(out->detail), "extraData is not the nonce (stale or replayed quote)");
		goto out;
	}
	out->failed = "quote_pcrs";
	if (npcr < 32 && (tq.pcr_mask >> npcr)) {
		snprintf(out->detail, sizeof(out->detail), "the quote selects PCRs (mask 0x%06x) beyond the %u values given",
			 tq.pcr_mask, npcr);
		goto out;
	}
	if (!pcr_digest_ok(tq.pcr_mask, pcr, tq.pcr_digest)) {
		snprintf(out->detail, sizeof(out->detail), "the PCR values do not match the quoted digest (mask 0x%06x)",
			 tq.pcr_mask);
		goto out;
	}
	out->failed = NULL;
	snprintf(out->detail, sizeof(out->detail), "%s AK signed a TPM2_Quote over PCR mask 0x%06x with the nonce",
		 rsa ? "RSA" : "ECC", tq.pcr_mask);
out:
	EVP_PKEY_free(ak);
	return ADY_OK;
}

/* see adyton/verify.h */
int ady_verify_tpm_ek_cert(const ady_vpolicy *pol, const uint8_t *der, size_t len, uint8_t *spki, size_t cap,
			   size_t *spki_len, char *why, size_t whylen)
{
	role ro;
	X509 *ek = NULL;
	unsigned char *p = NULL;
	int n;

	*spki_len = 0;
	if (!pol || !der) {
		snprintf(why, whylen, "no policy or certificate");
		return 0;
	}
	ro = ek_role(pol);
	if (!certifies(&ro, NULL, der, len, &ek, why, whylen))
		return 0;
	n = i2d_PUBKEY(X509_get0_pubkey(ek), &p);
	X509_free(ek);
	if (n <= 0 || (size_t)n > cap) {
		snprintf(why, whylen, "the EK certificate's key does not fit %zu bytes", cap);
		OPENSSL_free(p);
		return 0;
	}
	memcpy(spki, p, (size_t)n);
	*spki_len = (size_t)n;
	OPENSSL_free(p);
	return 1;
}
