/*
 * libadyton-verify (src/verify/verify.c) on quotes made here: ENROLLED and
 * SIM quotes, and TPM-certified quotes built from a synthetic TPM (an EK CA
 * issuing the EK certificate, an enrollment CA issuing the AK certificate,
 * a TPMS_ATTEST encoded by hand), so that every TPM check has a case that
 * fails it.  The synthetic "AK" is a key of the test's own: a quote made
 * with it is exactly the forgery of issue 11 (no TPM involved), which only
 * the AK certificate's checks stop.  No TPM needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "adyton/verify.h"
#include "platform/sign.h"

static ady_verify_report rep;
static ady_quote scratch;
static uint8_t qbuf[ADY_QUOTE_MAX];
static const uint8_t nonce[32] = {1, 2, 3};
static char ca_path[64], enr_path[64], other_ca_path[64], ca2_path[64];
static EVP_PKEY *ca_key, *enr_key, *other_ca_key, *ak, *attest, *ek;
static X509 *ca, *enr, *other_ca, *ca2;

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for subject; issuer NULL: self-signed CA.  eku, ku, bc:
 * the extendedKeyUsage, keyUsage and basicConstraints values (OpenSSL
 * config syntax), or NULL for none. */
static X509 *make_cert_ext(EVP_PKEY *subject, const char *cn, EVP_PKEY *issuer_key, X509 *issuer, const char *eku,
			   const char *ku, const char *bc)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_set_pubkey(x, subject);
	if (!issuer)
		add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	if (bc)
		add_ext(x, NID_basic_constraints, bc);
	if (ku)
		add_ext(x, NID_key_usage, ku);
	if (eku)
		add_ext(x, NID_ext_key_usage, eku);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static X509 *make_cert(EVP_PKEY *subject, const char *cn, EVP_PKEY *issuer_key, X509 *issuer)
{
	return make_cert_ext(subject, cn, issuer_key, issuer, NULL, NULL, NULL);
}

/* What swtpm's EK certificates carry, and what adytond --enroll-ca writes. */
#define EK_EKU "2.23.133.8.1"
#define AIK_EKU "2.23.133.8.3"
#define AK_KU "critical,digitalSignature"
#define AK_BC "critical,CA:FALSE"

static void write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	enr_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	attest = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ek = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca = make_cert(ca_key, "test TPM EK CA", ca_key, NULL);
	enr = make_cert(enr_key, "test enrollment CA", enr_key, NULL);
	other_ca = make_cert(other_ca_key, "other CA", other_ca_key, NULL);
	/* the EK CA's key under another name: the same CA, re-issued */
	ca2 = make_cert(ca_key, "test TPM EK CA, re-issued", ca_key, NULL);
	snprintf(ca_path, sizeof(ca_path), "/tmp/ady-vq-ca-%d.pem", (int)getpid());
	snprintf(enr_path, sizeof(enr_path), "/tmp/ady-vq-enr-%d.pem", (int)getpid());
	snprintf(other_ca_path, sizeof(other_ca_path), "/tmp/ady-vq-oca-%d.pem", (int)getpid());
	write_pem(ca_path, ca);
	write_pem(enr_path, enr);
	write_pem(other_ca_path, other_ca);
	snprintf(ca2_path, sizeof(ca2_path), "/tmp/ady-vq-ca2-%d.pem", (int)getpid());
	write_pem(ca2_path, ca2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(ca_path);
	unlink(enr_path);
	unlink(other_ca_path);
	unlink(ca2_path);
	X509_free(ca2);
	X509_free(ca);
	X509_free(enr);
	X509_free(other_ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(enr_key);
	EVP_PKEY_free(other_ca_key);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(attest);
	EVP_PKEY_free(ek);
	return 0;
}

static void body(ady_sgx_report_body *b, uint64_t flags, uint16_t svn)
{
	static const uint8_t cpusvn[16];
	uint8_t mre[32], mrs[32], rd[64];
	ady_sgx_attributes a = {.flags = flags, .xfrm = 3};

	memset(mre, 0xaa, 32);
	memset(mrs, 0xbb, 32);
	memset(rd, 0xcc, 64);
	ady_quote_body(b, mre, mrs, 21, svn, &a, 0, cpusvn, rd);
}

static void policy(ady_vpolicy *p, const char *extra)
{
	char text[2048];
	unsigned line;

	snprintf(text, sizeof(text), "signer = %s:21:5\n%s",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", extra);
	assert_int_equal(ady_vpolicy_parse(text, strlen(text), p, &line), ADY_OK);
}

static void expect(size_t len, const ady_vpolicy *p, const uint8_t *n, const char *failed)
{
	ady_err err = ady_verify_quote(qbuf, len, p, n, &rep);

	if (!failed) {
		if (err != ADY_OK || !rep.accepted)
			fail_msg("refused (%s): %s", rep.failed ? rep.failed : "?",
				 rep.nchecks ? rep.checks[rep.nchecks - 1].detail : "");
		return;
	}
	if (err != ADY_ERR_PERMISSION || rep.accepted)
		fail_msg("%s, wanted refused for %s", ady_strerror(err), failed);
	assert_non_null(rep.failed);
	if (strcmp(rep.failed, failed) != 0)
		fail_msg("failed check %s, wanted %s", rep.failed, failed);
}

/* Refused for failed, and that check's detail says why. */
#define expect_why(len, p, failed, why) expect_why_at(__LINE__, len, p, failed, why)
static void expect_why_at(int line, size_t len, const ady_vpolicy *p, const char *failed, const char *why)
{
	ady_err err = ady_verify_quote(qbuf, len, p, nonce, &rep);

	if (err != ADY_ERR_PERMISSION || !rep.failed || strcmp(rep.failed, failed) != 0)
		fail_msg("line %d: %s (failed check %s), wanted %s refused", line, ady_strerror(err),
			 rep.failed ? rep.failed : "none", failed);
	for (uint32_t i = 0; i < rep.nchecks; i++) {
		if (strcmp(rep.checks[i].name, failed) != 0 || rep.checks[i].result != ADY_CHECK_FAIL)
			continue;
		if (!strstr(rep.checks[i].detail, why))
			fail_msg("line %d: %s: detail \"%s\" does not say \"%s\"", line, failed, rep.checks[i].detail, why);
		return;
	}
	fail_msg("line %d: no failed check %s", line, failed);
}

static void test_enrolled(void **state)
{
	static ady_vpolicy p;
	ady_sgx_report_body b;
	uint8_t pub[64], other[32] = {9};
	char extra[300], hexpub[129];
	size_t len;

	(void)state;
	assert_int_equal(ady_p256_pub(attest, pub), 0);
	for (int i = 0; i < 64; i++)
		snprintf(hexpub + 2 * i, 3, "%02x", pub[i]);
	snprintf(extra, sizeof(extra), "platform_key = %s\n", hexpub);
	policy(&p, extra);
	body(&b, 0x5, 5);
	assert_int_equal(ady_quote_make(attest, &b, nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, qbuf,
					sizeof(qbuf), &len),
			 ADY_OK);
	expect(len, &p, nonce, NULL);
	expect(len, &p, NULL, NULL);
	expect(len, &p, other, "nonce");
	for (size_t i = 0; i < len; i++) {
		qbuf[i] ^= 0x20;
		assert_int_not_equal(ady_verify_quote(qbuf, len, &p, nonce, &rep), ADY_OK);
		assert_non_null(rep.failed);
		qbuf[i] ^= 0x20;
	}
	/* ISVSVN below the minimum; DEBUG under a production policy */
	body(&b, 0x5, 4);
	assert_int_equal(ady_quote_make(attest, &b, nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, qbuf,
					sizeof(qbuf), &len),
			 ADY_OK);
	expect(len, &p, nonce, "identity");
	body(&b, 0x7, 5);
	assert_int_equal(ady_quote_make(attest, &b, nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, qbuf,
					sizeof(qbuf), &len),
			 ADY_OK);
	expect(len, &p, nonce, "debug");
	/* a key nobody pinned */
	policy(&p, "");
	expect(len, &p, nonce, "platform");
}

/* A TPMS_ATTEST for TPM2_Quote: extraData, PCR selection, digest. */
static size_t tpms_attest(uint8_t *a, const uint8_t extra[static 32], uint32_t mask, const uint8_t digest[static 32])
{
	size_t n = 0;
	static const uint8_t head[] = {0xff, 0x54, 0x43, 0x47, 0x80, 0x18, 0x00, 0x00, 0x00, 0x20};

	memcpy(a, head, sizeof(head));
	n = sizeof(head);
	memcpy(a + n, extra, 32);
	n += 32;
	memset(a + n, 0, 17 + 8);
	n += 25;
	a[n++] = 0, a[n++] = 0, a[n++] = 0, a[n++] = 1;
	a[n++] = 0x00, a[n++] = 0x0b, a[n++] = 3;
	a[n++] = (uint8_t)mask, a[n++] = (uint8_t)(mask >> 8), a[n++] = (uint8_t)(mask >> 16);
	a[n++] = 0, a[n++] = 32;
	memcpy(a + n, digest, 32);
	return n + 32;
}

static size_t der(X509 *x, uint8_t *out)
{
	unsigned char *p = out;
	int n = i2d_X509(x, &p);

	assert_true(n > 0);
	return (size_t)n;
}

enum {
	OK,
	BAD_EXTRA,
	BAD_PCR,
	EK_OTHER_CA,
	AK_OTHER_KEY,
	AK_SIG,
	/* issue 11: the AK certificate's and the EK certificate's roles */
	AK_NO_EXT,        /* enrollment CA, no extensions (what --enroll-ca wrote before) */
	AK_OTHER_PURPOSE, /* enrollment CA, a TLS server certificate */
	AK_FROM_EK_CA,    /* an EK-CA-issued certificate (EK EKU) used as the AK's */
	AK_EK_CA_AIK,     /* an AK certificate (AIK EKU) chained to the EK anchors */
	AK_EK_CA2_AIK,    /* the same from the EK CA's key under another certificate */
	AK_NO_KU,         /* AIK EKU but no key usage */
	AK_KU_CERTSIGN,   /* AIK EKU, key usage keyCertSign only */
	AK_IS_CA,         /* AIK EKU, digitalSignature, but a CA */
	EK_NO_EKU,        /* EK CA, no EK EKU */
	EK_FROM_ENR_CA,   /* EK EKU, issued by the enrollment CA */
};

static X509 *ak_cert(int variant, EVP_PKEY *key)
{
	switch (variant) {
	case AK_NO_EXT:
		return make_cert(key, "AK", enr_key, enr);
	case AK_OTHER_PURPOSE:
		return make_cert_ext(key, "www.example.org", enr_key, enr, "serverAuth", "critical,digitalSignature",
				     AK_BC);
	case AK_FROM_EK_CA:
		return make_cert_ext(key, "EK", ca_key, ca, EK_EKU, "critical,keyAgreement", AK_BC);
	case AK_EK_CA_AIK:
		return make_cert_ext(key, "AK", ca_key, ca, AIK_EKU, AK_KU, AK_BC);
	case AK_EK_CA2_AIK:
		return make_cert_ext(key, "AK", ca_key, ca2, AIK_EKU, AK_KU, AK_BC);
	case AK_NO_KU:
		return make_cert_ext(key, "AK", enr_key, enr, AIK_EKU, NULL, AK_BC);
	case AK_KU_CERTSIGN:
		return make_cert_ext(key, "AK", enr_key, enr, AIK_EKU, "critical,keyCertSign", AK_BC);
	case AK_IS_CA:
		return make_cert_ext(key, "AK", enr_key, enr, AIK_EKU, AK_KU, "critical,CA:TRUE");
	default:
		return make_cert_ext(key, "AK", enr_key, enr, AIK_EKU, AK_KU, AK_BC);
	}
}

static X509 *ek_cert(int variant)
{
	switch (variant) {
	case EK_OTHER_CA:
		return make_cert_ext(ek, "EK", other_ca_key, other_ca, EK_EKU, NULL, NULL);
	case EK_NO_EKU:
		return make_cert(ek, "EK", ca_key, ca);
	case EK_FROM_ENR_CA:
		return make_cert_ext(ek, "EK", enr_key, enr, EK_EKU, NULL, NULL);
	default:
		return make_cert_ext(ek, "EK", ca_key, ca, EK_EKU, NULL, NULL);
	}
}

static size_t tpm_quote(int variant)
{
	static uint8_t cert[ADY_QUOTE_MAX_CERT], ekd[2048], akd[2048];
	uint8_t a[256], pub[64], akpub[64], extra[32], pcr[24][32], digest[32], sig[64];
	unsigned int dl;
	ady_sgx_report_body b;
	EVP_PKEY *k2 = NULL;
	X509 *ekc, *akc;
	size_t alen, clen, len, ekl, akl;

	memset(pcr, 0, sizeof(pcr));
	memset(pcr[7], 0x77, 32);
	assert_int_equal(ady_p256_pub(attest, pub), 0);
	assert_int_equal(ady_p256_pub(ak, akpub), 0);
	EVP_Digest(pub, 64, extra, &dl, EVP_sha256(), NULL);
	if (variant == BAD_EXTRA)
		extra[0] ^= 1;
	EVP_Digest(pcr[7], 32, digest, &dl, EVP_sha256(), NULL);
	if (variant == BAD_PCR)
		digest[0] ^= 1;
	alen = tpms_attest(a, extra, 1u << 7, digest);
	assert_int_equal(ady_p256_sign(ak, a, alen, sig), 0);
	if (variant == AK_SIG)
		sig[5] ^= 1;
	ekc = ek_cert(variant);
	if (variant == AK_OTHER_KEY)
		k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	akc = ak_cert(variant, k2 ? k2 : ak);
	ekl = der(ekc, ekd);
	akl = der(akc, akd);
	assert_int_equal(ady_quote_encode_tpm(a, (uint32_t)alen, sig, akpub, 1u << 7, (const uint8_t(*)[32])pcr, ekd,
					      (uint32_t)ekl, akd, (uint32_t)akl, cert, sizeof(cert), &clen),
			 ADY_OK);
	body(&b, 0x5, 5);
	assert_int_equal(ady_quote_make(attest, &b, nonce, ADY_QUOTE_CERT_TPM, cert, (uint32_t)clen, &scratch, qbuf,
					sizeof(qbuf), &len),
			 ADY_OK);
	X509_free(ekc);
	X509_free(akc);
	EVP_PKEY_free(k2);
	return len;
}

#define PCR7 "7777777777777777777777777777777777777777777777777777777777777777"

static void test_tpm(void **state)
{
	static ady_vpolicy p, wrong_pcr, other;
	char extra[512];

	(void)state;
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\npcr = 7:%s\n", ca_path, enr_path, PCR7);
	policy(&p, extra);
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\npcr = 7:%s\n", ca_path, enr_path,
		 "7777777777777777777777777777777777777777777777777777777777777778");
	policy(&wrong_pcr, extra);
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\n", other_ca_path, enr_path);
	policy(&other, extra);

	expect(tpm_quote(OK), &p, nonce, NULL);
	expect(tpm_quote(OK), &wrong_pcr, nonce, "tpm_pcr_policy");
	expect(tpm_quote(OK), &other, nonce, "tpm_ek_chain");
	expect(tpm_quote(BAD_EXTRA), &p, nonce, "tpm_qualifying_data");
	expect(tpm_quote(BAD_PCR), &p, nonce, "tpm_pcr_digest");
	expect(tpm_quote(EK_OTHER_CA), &p, nonce, "tpm_ek_chain");
	expect(tpm_quote(AK_OTHER_KEY), &p, nonce, "tpm_ak_binding");
	expect(tpm_quote(AK_SIG), &p, nonce, "tpm_quote");
	/* every check is listed, failed or skipped */
	assert_true(rep.nchecks >= 11);
}

/* Issue 11: a TPM-type quote forged without a TPM.  The "AK" is the test's
 * key; each certificate below is one an attacker could plausibly hold. */
static void test_tpm_roles(void **state)
{
	static ady_vpolicy p, same_ca, same_key, no_ak, no_ek, swapped;
	char extra[512];

	(void)state;
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\n", ca_path, enr_path);
	policy(&p, extra);
	/* one CA named in both roles */
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\ntpm_ak_ca = %s\n", ca_path, enr_path, ca_path);
	policy(&same_ca, extra);
	/* the EK CA's key, re-issued under another name, as an AK anchor */
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\ntpm_ak_ca = %s\n", ca_path, enr_path, ca2_path);
	policy(&same_key, extra);
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\n", ca_path);
	policy(&no_ak, extra);
	snprintf(extra, sizeof(extra), "tpm_ak_ca = %s\n", enr_path);
	policy(&no_ek, extra);
	/* the roles swapped, as a careless split of an old tpm_ca policy might */
	snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = %s\n", enr_path, ca_path);
	policy(&swapped, extra);

	expect(tpm_quote(OK), &p, nonce, NULL);
	/* a certificate the enrollment CA issued for another purpose */
	expect_why(tpm_quote(AK_NO_EXT), &p, "tpm_ak_binding", "lacks the TCG AIK certificate extended key usage 2.23.133.8.3");
	expect_why(tpm_quote(AK_OTHER_PURPOSE), &p, "tpm_ak_binding", "extended key usage 2.23.133.8.3");
	/* an EK-CA-issued certificate used as the AK's */
	expect_why(tpm_quote(AK_FROM_EK_CA), &p, "tpm_ak_binding", "does not chain to a tpm_ak_ca");
	/* an AK certificate chained to the EK anchors: refused whether or not
	 * the policy also names that CA as an AK anchor */
	expect_why(tpm_quote(AK_EK_CA_AIK), &p, "tpm_ak_binding", "does not chain to a tpm_ak_ca");
	expect_why(tpm_quote(AK_EK_CA_AIK), &same_ca, "tpm_ak_binding", "also a tpm_ek_ca");
	expect_why(tpm_quote(AK_EK_CA2_AIK), &same_key, "tpm_ak_binding", "also a tpm_ek_ca");
	expect(tpm_quote(AK_EK_CA2_AIK), &p, nonce, "tpm_ak_binding");
	expect(tpm_quote(OK), &same_ca, nonce, NULL); /* a proper AK chain does not touch the EK CA */
	expect(tpm_quote(OK), &same_key, nonce, NULL);
	/* key usage and CA flag of the AK certificate */
	expect_why(tpm_quote(AK_NO_KU), &p, "tpm_ak_binding", "digitalSignature");
	expect_why(tpm_quote(AK_KU_CERTSIGN), &p, "tpm_ak_binding", "digitalSignature");
	expect_why(tpm_quote(AK_IS_CA), &p, "tpm_ak_binding", "is a CA");
	/* an EK certificate without the EK EKU, or from the enrollment CA */
	expect_why(tpm_quote(EK_NO_EKU), &p, "tpm_ek_chain", "lacks the TCG EK certificate extended key usage 2.23.133.8.1");
	expect_why(tpm_quote(EK_FROM_ENR_CA), &p, "tpm_ek_chain", "does not chain to a tpm_ek_ca");
	/* anchors missing or in the wrong role */
	expect_why(tpm_quote(OK), &no_ak, "tpm_ak_binding", "the policy names no tpm_ak_ca");
	expect_why(tpm_quote(OK), &no_ek, "tpm_ek_chain", "the policy names no tpm_ek_ca");
	expect_why(tpm_quote(OK), &swapped, "tpm_ek_chain", "does not chain to a tpm_ek_ca");
	/* an unreadable anchor is a failed check, naming the file */
	{
		static ady_vpolicy gone;
		snprintf(extra, sizeof(extra), "tpm_ek_ca = %s\ntpm_ak_ca = /nonexistent/enr.pem\n", ca_path);
		policy(&gone, extra);
		expect_why(tpm_quote(OK), &gone, "tpm_ak_binding", "cannot read tpm_ak_ca /nonexistent/enr.pem");
	}
}

/* The caller's expected REPORTDATA: all 64 bytes compared. */
static void test_report_data(void **state)
{
	static ady_vpolicy p, want;
	ady_sgx_report_body b;
	uint8_t pub[64];
	char extra[300], hexpub[129];
	size_t len;

	(void)state;
	assert_int_equal(ady_p256_pub(attest, pub), 0);
	for (int i = 0; i < 64; i++)
		snprintf(hexpub + 2 * i, 3, "%02x", pub[i]);
	snprintf(extra, sizeof(extra), "platform_key = %s\n", hexpub);
	policy(&p, extra);
	body(&b, 0x5, 5); /* REPORTDATA 0xcc x 64 */
	assert_int_equal(ady_quote_make(attest, &b, nonce, ADY_QUOTE_CERT_ENROLLED, NULL, 0, &scratch, qbuf,
					sizeof(qbuf), &len),
			 ADY_OK);
	expect(len, &p, nonce, NULL);
	for (uint32_t i = 0; i < rep.nchecks; i++)
		if (strcmp(rep.checks[i].name, "report_data") == 0)
			assert_int_equal(rep.checks[i].result, ADY_CHECK_SKIP);
	want = p;
	want.want_report_data = true;
	memset(want.report_data, 0xcc, 64);
	expect(len, &want, nonce, NULL);
	expect(len, &want, NULL, NULL);
	for (size_t i = 0; i < 64; i += 21) {
		want.report_data[i] ^= 1;
		expect_why(len, &want, "report_data", "differs from the expected 64 bytes");
		want.report_data[i] ^= 1;
	}
	want.report_data[63] = 0;
	expect(len, &want, nonce, "report_data");
	/* a shorter value with the rest zero is another value, not a prefix */
	memset(want.report_data + 32, 0, 32);
	expect(len, &want, nonce, "report_data");
}

static void test_sim(void **state)
{
	static ady_vpolicy p, sim_ok;
	const unsigned char *d = NULL;
	ady_sgx_report_body b;
	size_t len;

	(void)state;
	(void)d;
	policy(&p, "");
	policy(&sim_ok, "allow_sim = yes\nallow_debug = yes\n");
	body(&b, 0x7, 5);
	assert_int_equal(ady_quote_make(attest, &b, nonce, ADY_QUOTE_CERT_SIM, NULL, 0, &scratch, qbuf, sizeof(qbuf),
					&len),
			 ADY_OK);
	expect(len, &p, nonce, "platform");
	expect(len, &sim_ok, nonce, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_enrolled), cmocka_unit_test(test_tpm),
					   cmocka_unit_test(test_tpm_roles), cmocka_unit_test(test_report_data),
					   cmocka_unit_test(test_sim)};
	return cmocka_run_group_tests(tests, setup, teardown);
}
