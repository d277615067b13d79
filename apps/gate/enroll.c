/*
 * enroll.c - what binds an AK to a TPM's EK before credential activation
 * (gate.h, gate_ak_check): the EK certificate (libadyton-verify's EK
 * chain, the verifier policy's tpm_ek_ca), the EK and AK TPM2B_PUBLICs
 * (unmarshalled by tpm2-tss's MU library), the AK's attributes, the AK
 * public key the quotes are checked with, and the AK's qualified name,
 * which every quote it signs carries as qualifiedSigner.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "adyton/verify.h"
#include "gate.h"

static void say(gate_why *why, const char *what)
{
	snprintf(why->text, sizeof(why->text), "%s", what);
}

/* Unmarshals a whole TPM2B_PUBLIC and computes its Name: nameAlg ||
 * H_nameAlg(TPMT_PUBLIC as marshalled) (TPM 2.0 Part 1, 16).  SHA-256
 * names only. */
static int public_name(const uint8_t *b, size_t len, TPM2B_PUBLIC *pub, uint8_t name[34], gate_why *why,
		       const char *what)
{
	size_t off = 0;
	unsigned int n = 0;

	memset(pub, 0, sizeof(*pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b, len, &off, pub) != TSS2_RC_SUCCESS || off != len || len < 2 ||
	    pub->size != len - 2) {
		snprintf(why->text, sizeof(why->text), "%s is not one TPM2B_PUBLIC", what);
		return 0;
	}
	if (pub->publicArea.nameAlg != TPM2_ALG_SHA256) {
		snprintf(why->text, sizeof(why->text), "%s's nameAlg is not SHA-256", what);
		return 0;
	}
	name[0] = 0x00, name[1] = 0x0b;
	return EVP_Digest(b + 2, len - 2, name + 2, &n, EVP_sha256(), NULL) == 1;
}

/* 1 if k is the key in pub (RSA modulus, or ECC point). */
static int same_key(EVP_PKEY *k, const TPM2B_PUBLIC *pub)
{
	const TPMT_PUBLIC *a = &pub->publicArea;
	int ok = 0;

	if (a->type == TPM2_ALG_RSA && EVP_PKEY_base_id(k) == EVP_PKEY_RSA) {
		BIGNUM *nb = NULL;
		uint8_t mod[TPM2_MAX_RSA_KEY_BYTES];
		uint16_t sz = a->unique.rsa.size;

		ok = sz && sz <= sizeof(mod) && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &nb) == 1 &&
		     BN_num_bytes(nb) == sz && BN_bn2binpad(nb, mod, sz) == sz && !memcmp(mod, a->unique.rsa.buffer, sz);
		BN_free(nb);
	} else if (a->type == TPM2_ALG_ECC && EVP_PKEY_base_id(k) == EVP_PKEY_EC) {
		uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
		size_t n = 0;
		uint16_t xs = a->unique.ecc.x.size, ys = a->unique.ecc.y.size;

		ok = EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) == 1 && n >= 1 &&
		     pt[0] == 0x04 && xs == ys && n == 1 + (size_t)xs + ys && !memcmp(pt + 1, a->unique.ecc.x.buffer, xs) &&
		     !memcmp(pt + 1 + xs, a->unique.ecc.y.buffer, ys);
	}
	return ok;
}

/* see gate.h */
ady_err gate_ak_check(const ady_vpolicy *pol, const uint8_t *ek_cert, size_t ek_cert_len, const uint8_t *ek_pub,
		      size_t ek_pub_len, const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_pem, gate_ak *out,
		      gate_why *why)
{
	static const TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
					TPMA_OBJECT_SIGN_ENCRYPT;
	TPM2B_PUBLIC ek, ak;
	uint8_t spki[2048], ekname[34], akname[34], buf[70];
	const unsigned char *q = spki;
	size_t spki_len;
	EVP_PKEY *k = NULL;
	BIO *bio;
	unsigned int n = 0;
	ady_err err = ADY_ERR_PERMISSION;

	memset(out, 0, sizeof(*out));
	if (!pol || !ek_cert || !ek_pub || !ak_pub || !ak_pem)
		return ADY_ERR_INVALID_ARG;
	if (!ady_verify_tpm_ek_cert(pol, ek_cert, ek_cert_len, spki, sizeof(spki), &spki_len, why->text,
				    sizeof(why->text)))
		return ADY_ERR_PERMISSION;
	if (!public_name(ek_pub, ek_pub_len, &ek, ekname, why, "the EK public") ||
	    !public_name(ak_pub, ak_pub_len, &ak, akname, why, "the AK public"))
		return ADY_ERR_MALFORMED;
	k = d2i_PUBKEY(NULL, &q, (long)spki_len);
	if (!k || !same_key(k, &ek)) {
		say(why, "the EK certificate certifies another key than the EK public");
		goto out;
	}
	EVP_PKEY_free(k);
	k = NULL;
	/* A quote key must be a restricted signing key the TPM made and
	 * cannot export: only then does the TPM refuse to sign outside data
	 * that looks like TPMS_ATTEST. */
	if ((ak.publicArea.objectAttributes & need) != need ||
	    (ak.publicArea.objectAttributes & TPMA_OBJECT_DECRYPT)) {
		snprintf(why->text, sizeof(why->text),
			 "the AK is not a restricted, fixedTPM, TPM-made signing key (attributes 0x%08x)",
			 (unsigned)ak.publicArea.objectAttributes);
		return ADY_ERR_PERMISSION;
	}
	bio = BIO_new_mem_buf(ak_pem, -1);
	k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!k || !same_key(k, &ak)) {
		say(why, "the AK public key is not the key of the AK TPM2B_PUBLIC");
		goto out;
	}
	/* Qualified names (Part 1, 16.6): QN(EK) = nameAlg || H(handle of
	 * the endorsement hierarchy || Name(EK)); QN(AK) = nameAlg ||
	 * H(QN(EK) || Name(AK)), the AK being a child of the EK. */
	buf[0] = 0x40, buf[1] = 0x00, buf[2] = 0x00, buf[3] = 0x0b; /* TPM_RH_ENDORSEMENT */
	memcpy(buf + 4, ekname, 34);
	out->qname[0] = 0x00, out->qname[1] = 0x0b;
	if (EVP_Digest(buf, 38, out->qname + 2, &n, EVP_sha256(), NULL) != 1)
		goto crypto;
	memcpy(buf, out->qname, 34);
	memcpy(buf + 34, akname, 34);
	if (EVP_Digest(buf, 68, out->qname + 2, &n, EVP_sha256(), NULL) != 1)
		goto crypto;
	out->qname_len = 34;
	err = ADY_OK;
	goto out;
crypto:
	err = ADY_ERR_CRYPTO;
	memset(out, 0, sizeof(*out));
out:
	EVP_PKEY_free(k);
	return err;
}

/* see gate.h */
int gate_quote_signer_is(const uint8_t *attest, size_t len, const uint8_t *qname, size_t qlen)
{
	TPMS_ATTEST a;
	size_t off = 0;

	memset(&a, 0, sizeof(a));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(attest, len, &off, &a) != TSS2_RC_SUCCESS || off != len)
		return 0;
	return a.qualifiedSigner.size == qlen && !memcmp(a.qualifiedSigner.name, qname, qlen);
}
