/*
 * adytond's TPM root of trust; see tpm.h and docs/attestation.md.
 *
 * STATE_DIR/root.tpm:  the sealed root key object (TPM2B_PUBLIC,
 *                      TPM2B_PRIVATE) behind a header with the PCR mask
 *                      its policy requires (layout: adyton/keyfile.h).
 * STATE_DIR/ak.crt:    the AK certificate (DER) from enrollment.
 * Both written and read through ady_state_write/ady_state_read
 * (statefile.c): 0600, whole or not at all, ours and private.
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

#include "adyton/keyfile.h"
#include "adyton/quote.h"
#include "daemon/tpm_internal.h"
#include "platform/sign.h"

ady_err ady_tpm_tss(TSS2_RC rc, const char *what)
{
	if (rc == TSS2_RC_SUCCESS)
		return ADY_OK;
	ady_log_err("TPM: %s: %s", what, Tss2_RC_Decode(rc));
	return ADY_ERR_CRYPTO;
}

/* see tpm.h */
ady_err ady_tpm_open(const char *tcti, ady_tpm **out)
{
	ady_tpm *t = calloc(1, sizeof(*t));
	TSS2_RC rc;

	*out = NULL;
	if (!t)
		return ADY_ERR_NOMEM;
	/* ESAPI logs every TPM error response, including the expected ones
	 * (probing for an NV index); ours are decoded where they matter. */
	setenv("TSS2_LOG", "esys+none", 0);
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		ady_log_err("TPM: cannot open TCTI \"%s\": %s", tcti, Tss2_RC_Decode(rc));
		free(t);
		return ADY_ERR_IO;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		ady_log_err("TPM: cannot talk to \"%s\": %s", tcti, Tss2_RC_Decode(rc));
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t);
		return ADY_ERR_IO;
	}
	*out = t;
	return ADY_OK;
}

/* see tpm.h */
void ady_tpm_close(ady_tpm *t)
{
	if (!t)
		return;
	Esys_Finalize(&t->esys);
	Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/* The owner hierarchy's ECC P-256 storage primary (TCG TPM v2.0 Provisioning
 * Guidance, 7.5.1, the "SRK" template): deterministic from the owner seed,
 * so it needs no storage and no other TPM (or a cleared one) has it. */
static ady_err storage_primary(ady_tpm *t, ESYS_TR *out)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC pub = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
			.parameters.eccDetail = {
				.symmetric = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB},
				.scheme = {.scheme = TPM2_ALG_NULL},
				.curveID = TPM2_ECC_NIST_P256,
				.kdf = {.scheme = TPM2_ALG_NULL},
			},
		},
	};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION none = {0};

	return ady_tpm_tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				      &pub, &outside, &none, out, NULL, NULL, NULL, NULL),
		   "creating the storage primary key");
}

/* A session salted with the storage primary that encrypts the first
 * parameter both ways: the root key never crosses the TPM bus in clear. */
static ady_err enc_session(ady_tpm *t, ESYS_TR primary, ESYS_TR *out)
{
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
	ady_err err;

	err = ady_tpm_tss(Esys_StartAuthSession(t->esys, primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
					TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, out),
		  "starting a salted session");
	if (err)
		return err;
	err = ady_tpm_tss(Esys_TRSess_SetAttributes(t->esys, *out,
					    TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
					    0xff),
		  "session attributes");
	if (err) {
		Esys_FlushContext(t->esys, *out);
		*out = ESYS_TR_NONE;
	}
	return err;
}

/* The SHA-256 bank's PCRs of mask as a TPML_PCR_SELECTION. */
static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i < ADY_TPM_PCRS; i++)
		if (mask >> i & 1)
			sel->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* mask as "0,2,7" for messages. */
static const char *pcr_list(uint32_t mask, char buf[static 64])
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ADY_TPM_PCRS; i++)
		if (mask >> i & 1)
			n += (size_t)snprintf(buf + n, 64 - n, "%s%u", n ? "," : "", i);
	return buf;
}

/*
 * A policy session that has run TPM2_PolicyPCR over the PCRs of mask at
 * their current values.  TPM2_SE_TRIAL only computes the digest (to seal
 * with); TPM2_SE_POLICY authorizes the unseal, salted with the storage
 * primary and encrypting the response, like enc_session.
 */
static ady_err pcr_session(ady_tpm *t, ESYS_TR primary, TPM2_SE type, uint32_t mask, ESYS_TR *out)
{
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST any = {0};
	ady_err err;

	pcr_selection(mask, &sel);
	err = ady_tpm_tss(Esys_StartAuthSession(t->esys, type == TPM2_SE_POLICY ? primary : ESYS_TR_NONE,
						ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, type,
						&sym, TPM2_ALG_SHA256, out),
			  "starting a policy session");
	if (err)
		return err;
	if (type == TPM2_SE_POLICY)
		err = ady_tpm_tss(Esys_TRSess_SetAttributes(t->esys, *out, TPMA_SESSION_ENCRYPT, 0xff),
				  "session attributes");
	if (!err)
		err = ady_tpm_tss(Esys_PolicyPCR(t->esys, *out, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &any, &sel),
				  "PolicyPCR");
	if (err) {
		Esys_FlushContext(t->esys, *out);
		*out = ESYS_TR_NONE;
	}
	return err;
}

static ady_err unseal(ady_tpm *t, ESYS_TR primary, const uint8_t *buf, size_t len, uint32_t want_mask,
		      uint8_t key[static 32])
{
	TPM2B_PUBLIC pub = {0};
	TPM2B_PRIVATE priv = {0};
	TPM2B_SENSITIVE_DATA *data = NULL;
	ESYS_TR obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	size_t off;
	uint32_t mask;
	char l1[64], l2[64];
	TSS2_RC rc;
	ady_err err;

	_Static_assert(ADY_TPMROOT_PCRS == ADY_TPM_PCRS, "root.tpm's PCRs are the TPM's");
	if (ady_tpmroot_decode(buf, len, &mask, &off) ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, &priv) != TSS2_RC_SUCCESS || off != len)
		return ADY_ERR_MALFORMED;
	/* A policy exactly when PCRs are named, and then no password auth. */
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH || (mask != 0) != (pub.publicArea.authPolicy.size != 0) ||
	    (mask && (pub.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH)))
		return ADY_ERR_MALFORMED;
	if (want_mask != ADY_TPM_PCRS_ANY && want_mask != mask) {
		ady_log_err("TPM: root.tpm is sealed to PCRs {%s}, --tpm-pcrs asks for {%s}: a sealed root keeps "
			    "its policy (a new one needs a new state directory)",
			    pcr_list(mask, l1), pcr_list(want_mask, l2));
		return ADY_ERR_CONFIG;
	}
	rc = Esys_Load(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj);
	if (rc != TSS2_RC_SUCCESS) {
		ady_log_err("TPM: root.tpm does not load under this TPM's storage key (another TPM's state, "
			    "or its owner hierarchy was cleared): %s",
			    Tss2_RC_Decode(rc));
		return ADY_ERR_CRYPTO;
	}
	if (!mask) {
		err = enc_session(t, primary, &sess);
		if (!err)
			err = ady_tpm_tss(Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data),
					  "unsealing the root key");
	} else {
		err = pcr_session(t, primary, TPM2_SE_POLICY, mask, &sess);
		if (!err) {
			rc = Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data);
			if (rc != TSS2_RC_SUCCESS) {
				ady_log_err("TPM: PCRs {%s} differ from their values when the root key was sealed "
					    "(the platform booted other code): %s",
					    pcr_list(mask, l1), Tss2_RC_Decode(rc));
				err = ADY_ERR_CRYPTO;
			}
		}
	}
	if (!err && data->size != 32)
		err = ADY_ERR_MALFORMED;
	if (!err)
		memcpy(key, data->buffer, 32);
	if (data) {
		OPENSSL_cleanse(data, sizeof(*data));
		Esys_Free(data);
	}
	if (sess != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, sess);
	Esys_FlushContext(t->esys, obj);
	return err;
}

static ady_err seal_new(ady_tpm *t, ESYS_TR primary, const char *state_dir, uint32_t mask)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			/* No SENSITIVEDATAORIGIN: the data is ours (from the
			 * TPM's RNG).  Without PCRs no policy: the storage
			 * primary's hierarchy is the binding; with PCRs
			 * (below) the policy alone (docs/attestation.md). */
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_NODA,
			.parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_NULL},
		},
	};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION none = {0};
	TPM2B_DIGEST *rnd = NULL, *policy = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	uint8_t buf[ROOT_MAX];
	size_t off = ADY_TPMROOT_HEAD, total = 0;
	ady_err err;

	if (mask) {
		/* The policy digest of PolicyPCR at the PCRs' current values. */
		err = pcr_session(t, primary, TPM2_SE_TRIAL, mask, &sess);
		if (!err)
			err = ady_tpm_tss(Esys_PolicyGetDigest(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
							       &policy),
					  "PolicyGetDigest");
		if (sess != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, sess);
		sess = ESYS_TR_NONE;
		if (err)
			return err;
		tmpl.publicArea.authPolicy = *policy;
		tmpl.publicArea.objectAttributes &= ~(TPMA_OBJECT)TPMA_OBJECT_USERWITHAUTH;
		Esys_Free(policy);
	}

	err = ady_tpm_tss(Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 32, &rnd), "GetRandom");
	if (err)
		return err;
	if (rnd->size != 32) {
		err = ADY_ERR_CRYPTO;
		goto free_rnd;
	}
	sens.sensitive.data.size = 32;
	memcpy(sens.sensitive.data.buffer, rnd->buffer, 32);
	err = enc_session(t, primary, &sess);
	if (err)
		goto free_rnd;
	err = ady_tpm_tss(Esys_Create(t->esys, primary, sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &priv,
			      &pub, NULL, NULL, NULL),
		  "sealing the root key");
	Esys_FlushContext(t->esys, sess);
	if (err)
		goto free_rnd;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    ady_tpmroot_encode(mask, off - ADY_TPMROOT_HEAD, buf, sizeof(buf), &total) != ADY_OK) {
		err = ADY_ERR_RANGE;
		goto free_out;
	}
	err = ady_state_write(state_dir, "root.tpm", buf, total, 0);
free_out:
	Esys_Free(pub);
	Esys_Free(priv);
free_rnd:
	OPENSSL_cleanse(&sens, sizeof(sens));
	OPENSSL_cleanse(rnd, sizeof(*rnd));
	Esys_Free(rnd);
	return err;
}

/* see tpm.h */
ady_err ady_tpm_rootkey_load(ady_tpm *t, const char *state_dir, uint32_t pcr_mask, uint8_t key[static 32])
{
	uint8_t buf[ROOT_MAX];
	ESYS_TR primary;
	size_t len;
	ady_err err;

	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return ADY_ERR_IO;
	err = storage_primary(t, &primary);
	if (err)
		return err;
	for (int attempt = 0; attempt < 2; attempt++) {
		err = ady_state_read(state_dir, "root.tpm", buf, sizeof(buf), &len);
		if (err == ADY_OK) {
			err = unseal(t, primary, buf, len, pcr_mask, key);
			break;
		}
		if (err != ADY_ERR_STATE)
			break;
		/* First start: seal a new one; the one that wins a race is read back. */
		err = seal_new(t, primary, state_dir, pcr_mask == ADY_TPM_PCRS_ANY ? 0 : pcr_mask);
		if (err && err != ADY_ERR_STATE)
			break;
	}
	Esys_FlushContext(t->esys, primary);
	return err;
}
