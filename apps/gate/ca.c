/*
 * ca.c - the gate's certificates (ca.h): a short-lived X.509 client
 * certificate for a key that an enclave made and quoted, with the
 * enclave's identity in a private extension, and the CRL.  OpenSSL 3 only;
 * the extension is encoded with OpenSSL's ASN.1 templates.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "adyton/cursor.h"
#include "ca.h"

ASN1_SEQUENCE(GATE_IDENTITY) = {
	ASN1_SIMPLE(GATE_IDENTITY, version, ASN1_INTEGER),
	ASN1_SIMPLE(GATE_IDENTITY, mrenclave, ASN1_OCTET_STRING),
	ASN1_SIMPLE(GATE_IDENTITY, mrsigner, ASN1_OCTET_STRING),
	ASN1_SIMPLE(GATE_IDENTITY, isvprodid, ASN1_INTEGER),
	ASN1_SIMPLE(GATE_IDENTITY, isvsvn, ASN1_INTEGER),
	ASN1_IMP_OPT(GATE_IDENTITY, host, ASN1_UTF8STRING, 0),
	ASN1_IMP_OPT(GATE_IDENTITY, host_pcr10, ASN1_OCTET_STRING, 1),
} ASN1_SEQUENCE_END(GATE_IDENTITY)

IMPLEMENT_ASN1_FUNCTIONS(GATE_IDENTITY)

/* see ca.h */
EVP_PKEY *gate_pub_from_point(const uint8_t pub[static GATE_PUB])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	OSSL_PARAM pp[3];

	pp[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	pp[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, GATE_PUB);
	pp[2] = OSSL_PARAM_construct_end();
	/* fromdata decodes the point: one that is not on the curve fails. */
	if (pub[0] != 0x04 || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, pp) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static X509_EXTENSION *identity_ext(const gate_identity *id)
{
	GATE_IDENTITY *gi = GATE_IDENTITY_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(GATE_IDENTITY_OID, 1);
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int n = -1;

	if (!gi || !obj || !val || ASN1_INTEGER_set(gi->version, 1) != 1 ||
	    ASN1_OCTET_STRING_set(gi->mrenclave, id->mrenclave, 32) != 1 ||
	    ASN1_OCTET_STRING_set(gi->mrsigner, id->mrsigner, 32) != 1 ||
	    ASN1_INTEGER_set(gi->isvprodid, id->isvprodid) != 1 || ASN1_INTEGER_set(gi->isvsvn, id->isvsvn) != 1)
		goto out;
	if (id->host[0]) {
		gi->host = ASN1_UTF8STRING_new();
		if (!gi->host || ASN1_STRING_set(gi->host, id->host, (int)strlen(id->host)) != 1)
			goto out;
	}
	if (id->have_pcr10) {
		gi->host_pcr10 = ASN1_OCTET_STRING_new();
		if (!gi->host_pcr10 || ASN1_OCTET_STRING_set(gi->host_pcr10, id->pcr10, 32) != 1)
			goto out;
	}
	n = i2d_GATE_IDENTITY(gi, &der);
	if (n <= 0 || ASN1_OCTET_STRING_set(val, der, n) != 1)
		goto out;
	/* Not critical: TLS servers that do not know it (nginx) must still
	 * accept the certificate. */
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val);
out:
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(obj);
	GATE_IDENTITY_free(gi);
	return ext;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ok = ext && X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* see ca.h */
ady_err gate_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *key, const gate_identity *id, long lifetime,
			X509 **out)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext = NULL;
	BIGNUM *bn = BN_new();
	char cn[64], mre[65];
	int ok;

	*out = NULL;
	ady_hex_encode(id->mrenclave, 32, mre);
	snprintf(cn, sizeof(cn), "adyton-enclave %.16s", mre);
	/* 127 random bits: unpredictable (CA/B Forum asks for >= 64) and a
	 * positive INTEGER of at most 16 bytes. */
	ok = c && name && bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 && !BN_is_zero(bn) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL && X509_set_version(c, X509_VERSION_3) == 1 &&
	     X509_set_issuer_name(c, X509_get_subject_name(ca_cert)) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1 &&
	     X509_set_subject_name(c, name) == 1 && X509_gmtime_adj(X509_getm_notBefore(c), 0) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(c), lifetime) != NULL && X509_set_pubkey(c, key) == 1 &&
	     add_ext(c, ca_cert, NID_basic_constraints, "critical,CA:FALSE") &&
	     add_ext(c, ca_cert, NID_key_usage, "critical,digitalSignature") &&
	     add_ext(c, ca_cert, NID_ext_key_usage, "clientAuth") &&
	     add_ext(c, ca_cert, NID_subject_key_identifier, "hash") &&
	     add_ext(c, ca_cert, NID_authority_key_identifier, "keyid:always");
	if (ok) {
		ext = identity_ext(id);
		ok = ext && X509_add_ext(c, ext, -1) == 1 && X509_sign(c, ca_key, EVP_sha256()) > 0;
	}
	X509_EXTENSION_free(ext);
	X509_NAME_free(name);
	BN_free(bn);
	if (!ok) {
		X509_free(c);
		return ADY_ERR_CRYPTO;
	}
	*out = c;
	return ADY_OK;
}

/* see ca.h */
ady_err gate_cert_identity(X509 *cert, gate_identity *out)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(GATE_IDENTITY_OID, 1);
	int i = obj ? X509_get_ext_by_OBJ(cert, obj, -1) : -1;
	GATE_IDENTITY *gi = NULL;
	const unsigned char *p;
	ASN1_OCTET_STRING *v;
	ady_err err = ADY_ERR_MALFORMED;
	int64_t ver = 0, prodid = 0, svn = 0;

	memset(out, 0, sizeof(*out));
	ASN1_OBJECT_free(obj);
	if (i < 0)
		return ADY_ERR_MALFORMED;
	v = X509_EXTENSION_get_data(X509_get_ext(cert, i));
	p = ASN1_STRING_get0_data(v);
	gi = d2i_GATE_IDENTITY(NULL, &p, ASN1_STRING_length(v));
	if (!gi || p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
	    ASN1_INTEGER_get_int64(&ver, gi->version) != 1 || ASN1_INTEGER_get_int64(&prodid, gi->isvprodid) != 1 ||
	    ASN1_INTEGER_get_int64(&svn, gi->isvsvn) != 1)
		goto out;
	if (ver != 1 || ASN1_STRING_length(gi->mrenclave) != 32 || ASN1_STRING_length(gi->mrsigner) != 32 ||
	    prodid < 0 || prodid > 0xffff || svn < 0 || svn > 0xffff ||
	    (gi->host && (ASN1_STRING_length(gi->host) <= 0 || ASN1_STRING_length(gi->host) >= (int)sizeof(out->host))) ||
	    (gi->host_pcr10 && ASN1_STRING_length(gi->host_pcr10) != 32))
		goto out;
	memcpy(out->mrenclave, ASN1_STRING_get0_data(gi->mrenclave), 32);
	memcpy(out->mrsigner, ASN1_STRING_get0_data(gi->mrsigner), 32);
	out->isvprodid = (uint16_t)prodid;
	out->isvsvn = (uint16_t)svn;
	if (gi->host)
		memcpy(out->host, ASN1_STRING_get0_data(gi->host), (size_t)ASN1_STRING_length(gi->host));
	if (gi->host_pcr10) {
		memcpy(out->pcr10, ASN1_STRING_get0_data(gi->host_pcr10), 32);
		out->have_pcr10 = true;
	}
	err = ADY_OK;
out:
	GATE_IDENTITY_free(gi);
	return err;
}
