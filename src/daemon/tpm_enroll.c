/*
 * Enrollment of the TPM's attestation key by credential activation
 * against its EK certificate (the enrollment CA side); see tpm.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "daemon/tpm_internal.h"
#include "platform/sign.h"

/* ---- enrollment (the CA side) --------------------------------------- */

/* TCG EK Credential Profile 2.0, B.3.3/B.3.4 (templates L-1, L-2): the
 * default RSA 2048 and ECC P-256 EKs, admin role by policy A =
 * PolicySecret(TPM_RH_ENDORSEMENT). */
static const uint8_t policy_a[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
				     0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
				     0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

static ady_err ek_primary(ady_tpm *t, int is_ecc, ESYS_TR *out, TPM2B_PUBLIC **pub)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION none = {0};
	TPMT_PUBLIC *p = &tmpl.publicArea;

	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	p->authPolicy.size = 32;
	memcpy(p->authPolicy.buffer, policy_a, 32);
	if (is_ecc) {
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric =
			(TPMT_SYM_DEF_OBJECT){.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		p->unique.ecc.x.size = 32;
		p->unique.ecc.y.size = 32;
	} else {
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric =
			(TPMT_SYM_DEF_OBJECT){.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = 2048;
		p->unique.rsa.size = 256;
	}
	return ady_tpm_tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				      &sens, &tmpl, &outside, &none, out, pub, NULL, NULL, NULL),
		   "creating the EK");
}

/* 1 if the EK certificate's public key is the EK's. */
static int ek_matches(const uint8_t *der, size_t len, const TPM2B_PUBLIC *ek)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
	BIGNUM *n = NULL, *m = NULL;
	uint8_t xy[64];
	int ok = 0;

	if (!k)
		goto out;
	if (ek->publicArea.type == TPM2_ALG_ECC) {
		ok = ady_p256_pub(k, xy) == 0 && ek->publicArea.unique.ecc.x.size == 32 &&
		     ek->publicArea.unique.ecc.y.size == 32 &&
		     memcmp(xy, ek->publicArea.unique.ecc.x.buffer, 32) == 0 &&
		     memcmp(xy + 32, ek->publicArea.unique.ecc.y.buffer, 32) == 0;
	} else if (EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) == 1) {
		m = BN_bin2bn(ek->publicArea.unique.rsa.buffer, ek->publicArea.unique.rsa.size, NULL);
		ok = m && BN_cmp(n, m) == 0;
	}
out:
	BN_free(n);
	BN_free(m);
	X509_free(x);
	return ok;
}

/* The AK's name as the CA computes it: nameAlg || SHA-256(TPMT_PUBLIC). */
static ady_err ak_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return ADY_ERR_RANGE;
	name->size = 34;
	name->name[0] = TPM2_ALG_SHA256 >> 8;
	name->name[1] = TPM2_ALG_SHA256 & 0xff;
	return EVP_Digest(buf, off, name->name + 2, NULL, EVP_sha256(), NULL) == 1 ? ADY_OK : ADY_ERR_CRYPTO;
}

/* One extension in OpenSSL's config syntax, issuer ca. */
static int add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = e && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

/*
 * The AK certificate: subject CN "adyton TPM AK", 10 years, signed by the
 * CA, and marked as what it is, so that nothing else this CA signs can pass
 * for it (adyton/verify.h tpm_ak_binding): extendedKeyUsage
 * tcg-kp-AIKCertificate (2.23.133.8.3), keyUsage digitalSignature
 * (critical: the AK signs TPM quotes and nothing else), basicConstraints
 * cA FALSE (critical), and the key identifiers.  DER into *der
 * (OPENSSL_malloc'd).
 */
static int issue(const uint8_t ak[static 64], const char *ca_key, const char *ca_cert, unsigned char **der)
{
	FILE *f;
	EVP_PKEY *cakey = NULL, *akkey = ady_p256_from_xy(ak);
	X509 *ca = NULL, *x = X509_new();
	X509_NAME *name = NULL;
	uint8_t serial[16];
	BIGNUM *sn = NULL;
	int n = -1;

	f = fopen(ca_key, "r");
	if (f) {
		cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	f = fopen(ca_cert, "r");
	if (f) {
		ca = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!cakey || !ca) {
		ady_log_err("enrollment CA: cannot read %s or %s", ca_key, ca_cert);
		goto out;
	}
	if (!akkey || !x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	sn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_NAME_new();
	if (!sn || !name || !BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) || X509_set_version(x, 2) != 1 ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"adyton TPM AK", -1, -1, 0) ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) || X509_set_pubkey(x, akkey) != 1 ||
	    !add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, ca, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, ca, NID_ext_key_usage, ADY_TCG_EKU_AIK) || !add_ext(x, ca, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, ca, NID_authority_key_identifier, "keyid") || X509_sign(x, cakey, EVP_sha256()) <= 0)
		goto out;
	n = i2d_X509(x, der);
out:
	X509_NAME_free(name);
	BN_free(sn);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(akkey);
	return n;
}

/* see tpm.h */
ady_err ady_tpm_enroll(ady_tpm *t, const char *state_dir, const char *ca_key, const char *ca_cert)
{
	static uint8_t ek[EK_CERT_MAX];
	TPM2B_PUBLIC *ekpub = NULL, *akpub = NULL;
	TPM2B_ID_OBJECT *blob = NULL;
	TPM2B_ENCRYPTED_SECRET *secret = NULL;
	TPM2B_DIGEST cred = {.size = 32}, *got = NULL;
	TPMT_SYM_DEF nosym = {.algorithm = TPM2_ALG_NULL};
	TPM2B_NAME name;
	ESYS_TR ekh = ESYS_TR_NONE, akh = ESYS_TR_NONE, pol = ESYS_TR_NONE;
	unsigned char *der = NULL;
	uint8_t ak[64];
	size_t eklen;
	int is_ecc, n;
	ady_err err;

	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return ADY_ERR_IO;
	err = ady_tpm_ek_cert(t, ek, sizeof(ek), &eklen, &is_ecc);
	if (err)
		return err;
	err = ek_primary(t, is_ecc, &ekh, &ekpub);
	if (err)
		return err;
	if (!ek_matches(ek, eklen, ekpub)) {
		ady_log_err("TPM: the EK certificate in NV does not certify this TPM's EK");
		err = ADY_ERR_CRYPTO;
		goto flush;
	}
	err = ady_tpm_ak_primary(t, &akh, &akpub);
	if (err)
		goto flush;
	/* What the CA certifies: a restricted signing key that never leaves
	 * this TPM.  The name binds these attributes into the credential. */
	if (ady_tpm_ak_xy(akpub, ak) || !(akpub->publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED) ||
	    !(akpub->publicArea.objectAttributes & TPMA_OBJECT_FIXEDTPM) ||
	    !(akpub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)) {
		err = ADY_ERR_MALFORMED;
		goto flush;
	}
	err = ak_name(akpub, &name);
	if (err || RAND_bytes(cred.buffer, 32) != 1) {
		err = err ? err : ADY_ERR_CRYPTO;
		goto flush;
	}
	/* TPM2_MakeCredential uses only the EK's public part (checked against
	 * the certificate above): any TPM, or software, could do it. */
	err = ady_tpm_tss(Esys_MakeCredential(t->esys, ekh, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &cred, &name, &blob,
				      &secret),
		  "TPM2_MakeCredential");
	if (err)
		goto flush;
	err = ady_tpm_tss(Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					NULL, TPM2_SE_POLICY, &nosym, TPM2_ALG_SHA256, &pol),
		  "starting the EK policy session");
	if (err)
		goto flush;
	err = ady_tpm_tss(Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, pol, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				    NULL, NULL, NULL, 0, NULL, NULL),
		  "PolicySecret(endorsement)");
	if (err)
		goto flush;
	err = ady_tpm_tss(Esys_ActivateCredential(t->esys, akh, ekh, ESYS_TR_PASSWORD, pol, ESYS_TR_NONE, blob, secret, &got),
		  "TPM2_ActivateCredential");
	if (err)
		goto flush;
	if (got->size != 32 || CRYPTO_memcmp(got->buffer, cred.buffer, 32) != 0) {
		ady_log_err("TPM: credential activation returned another secret");
		err = ADY_ERR_CRYPTO;
		goto flush;
	}
	n = issue(ak, ca_key, ca_cert, &der);
	if (n <= 0) {
		err = ADY_ERR_CRYPTO;
		goto flush;
	}
	err = ady_state_write(state_dir, "ak.crt", der, (size_t)n, 1);
flush:
	OPENSSL_free(der);
	Esys_Free(got);
	Esys_Free(blob);
	Esys_Free(secret);
	Esys_Free(akpub);
	Esys_Free(ekpub);
	if (pol != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, pol);
	if (akh != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, akh);
	if (ekh != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, ekh);
	return err;
}
