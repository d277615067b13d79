/*
 * adytond's TPM attestation key and its certification of adytond's
 * attestation key (TPM2_Quote); see tpm.h and docs/attestation.md.
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

/* ---- attestation key certification ---------------------------------- */

/* The AK: the endorsement hierarchy's restricted ECDSA P-256 SHA-256
 * signing primary.  Restricted: the TPM signs only digests it computed
 * itself, so it cannot be made to sign a forged TPMS_ATTEST. */
ady_err ady_tpm_ak_primary(ady_tpm *t, ESYS_TR *out, TPM2B_PUBLIC **pub)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
			.parameters.eccDetail = {
				.symmetric = {.algorithm = TPM2_ALG_NULL},
				.scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
				.curveID = TPM2_ECC_NIST_P256,
				.kdf = {.scheme = TPM2_ALG_NULL},
			},
		},
	};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION none = {0};

	/* unique: "adyton AK" keeps this key apart from any other primary
	 * made from the default ECC template. */
	memcpy(tmpl.publicArea.unique.ecc.x.buffer, "adyton AK", 9);
	tmpl.publicArea.unique.ecc.x.size = 9;
	return ady_tpm_tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				      &sens, &tmpl, &outside, &none, out, pub, NULL, NULL, NULL),
		   "creating the attestation key (AK)");
}

static int param32(const TPM2B_ECC_PARAMETER *p, uint8_t out[static 32])
{
	if (p->size > 32)
		return -1;
	memset(out, 0, 32);
	memcpy(out + 32 - p->size, p->buffer, p->size);
	return 0;
}

int ady_tpm_ak_xy(const TPM2B_PUBLIC *pub, uint8_t xy[static 64])
{
	return param32(&pub->publicArea.unique.ecc.x, xy) || param32(&pub->publicArea.unique.ecc.y, xy + 32) ? -1 : 0;
}

static ady_err read_nv(ady_tpm *t, uint32_t index, uint8_t *buf, size_t cap, size_t *len)
{
	TPM2B_NV_PUBLIC *npub = NULL;
	ESYS_TR nv;
	uint16_t size, off = 0;
	ady_err err;

	*len = 0;
	if (Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv) != TSS2_RC_SUCCESS)
		return ADY_ERR_STATE;
	err = ady_tpm_tss(Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &npub, NULL),
		  "reading the EK certificate's NV index");
	if (err)
		goto close_nv;
	size = npub->nvPublic.dataSize;
	Esys_Free(npub);
	if (size == 0 || size > cap) {
		err = ADY_ERR_MALFORMED;
		goto close_nv;
	}
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *data = NULL;
		uint16_t chunk = size - off > 512 ? 512 : (uint16_t)(size - off);
		/* The EK certificate indices have AUTHREAD/PPREAD off and
		 * OWNERREAD on (TCG EK Credential Profile, 2.2.1.4). */
		err = ady_tpm_tss(Esys_NV_Read(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, chunk,
				       off, &data),
			  "reading the EK certificate");
		if (err)
			goto close_nv;
		if (data->size != chunk) {
			Esys_Free(data);
			err = ADY_ERR_MALFORMED;
			goto close_nv;
		}
		memcpy(buf + off, data->buffer, chunk);
		Esys_Free(data);
		off = (uint16_t)(off + chunk);
	}
	*len = size;
close_nv:
	Esys_TR_Close(t->esys, &nv);
	return err;
}

/* The EK certificate: ECC first, else RSA.  *is_ecc tells which.  Some
 * certificates are stored padded: the DER length is what counts. */
ady_err ady_tpm_ek_cert(ady_tpm *t, uint8_t *buf, size_t cap, size_t *len, int *is_ecc)
{
	ady_err err = read_nv(t, NV_EK_CERT_ECC, buf, cap, len);

	*is_ecc = 1;
	if (err == ADY_ERR_STATE) {
		*is_ecc = 0;
		err = read_nv(t, NV_EK_CERT_RSA, buf, cap, len);
	}
	if (err == ADY_ERR_STATE)
		ady_log_err("TPM: no EK certificate at NV 0x%08x or 0x%08x", NV_EK_CERT_ECC, NV_EK_CERT_RSA);
	if (!err) {
		const unsigned char *p = buf;
		X509 *x = d2i_X509(NULL, &p, (long)*len);
		if (!x) {
			ady_log_err("TPM: the EK certificate does not parse as DER X.509");
			return ADY_ERR_MALFORMED;
		}
		*len = (size_t)(p - buf);
		X509_free(x);
	}
	return err;
}

/* see tpm.h */
ady_err ady_tpm_certify(ady_tpm *t, const char *state_dir, ady_attest *a)
{
	static uint8_t ek[EK_CERT_MAX], akc[AKCERT_MAX];
	TPML_PCR_SELECTION sel = {.count = 1,
				  .pcrSelections = {{.hash = TPM2_ALG_SHA256,
						     .sizeofSelect = 3,
						     .pcrSelect = {QUOTE_PCRS & 0xff, QUOTE_PCRS >> 8 & 0xff,
								   QUOTE_PCRS >> 16 & 0xff}}}};
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	TPM2B_DATA qual = {.size = 32};
	TPM2B_PUBLIC *akpub = NULL;
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	uint8_t ak[64], aksig[64], pcr[ADY_QUOTE_MAX_PCRS][32], cat[8 * 32], h[32];
	size_t eklen, akclen, need;
	ESYS_TR akh = ESYS_TR_NONE;
	ady_tpms_quote tq;
	uint8_t *out = NULL;
	int is_ecc, done = 0;
	ady_err err;

	err = ady_state_read(state_dir, "ak.crt", akc, sizeof(akc), &akclen);
	if (err)
		return err;
	err = ady_tpm_ek_cert(t, ek, sizeof(ek), &eklen, &is_ecc);
	if (err)
		return err;
	err = ady_tpm_ak_primary(t, &akh, &akpub);
	if (err)
		return err;
	if (ady_tpm_ak_xy(akpub, ak)) {
		err = ADY_ERR_MALFORMED;
		goto flush;
	}
	{
		/* The AK certificate must be this AK's: a stale ak.crt (the
		 * TPM's endorsement seed changed) is a configuration error. */
		const unsigned char *p = akc;
		X509 *x = d2i_X509(NULL, &p, (long)akclen);
		uint8_t xy[64];
		int same = x && ady_p256_pub(X509_get0_pubkey(x), xy) == 0 && memcmp(xy, ak, 64) == 0;
		X509_free(x);
		if (!same) {
			ady_log_err("TPM: %s/ak.crt does not certify this TPM's AK: enroll again", state_dir);
			err = ADY_ERR_STATE;
			goto flush;
		}
	}
	if (EVP_Digest(a->pub, 64, qual.buffer, NULL, EVP_sha256(), NULL) != 1) {
		err = ADY_ERR_CRYPTO;
		goto flush;
	}
	/* A PCR may be extended between TPM2_Quote and TPM2_PCR_Read: retry
	 * until the values read hash to the quoted digest. */
	for (int attempt = 0; attempt < 3 && !done; attempt++) {
		TPML_PCR_SELECTION *osel = NULL;
		TPML_DIGEST *vals = NULL;
		uint32_t n = 0;

		Esys_Free(quoted);
		Esys_Free(sig);
		quoted = NULL;
		sig = NULL;
		err = ady_tpm_tss(Esys_Quote(t->esys, akh, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qual, &scheme, &sel,
				     &quoted, &sig),
			  "TPM2_Quote");
		if (err)
			goto flush;
		err = ady_tpm_tss(Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, NULL, &osel, &vals),
			  "reading PCRs");
		if (err)
			goto flush;
		if (osel->count == 1 && vals->count == 8 && osel->pcrSelections[0].pcrSelect[0] == (QUOTE_PCRS & 0xff)) {
			memset(pcr, 0, sizeof(pcr));
			for (uint32_t i = 0; i < 8; i++) {
				if (vals->digests[i].size != 32)
					break;
				memcpy(pcr[i], vals->digests[i].buffer, 32);
				memcpy(cat + 32 * i, vals->digests[i].buffer, 32);
				n++;
			}
		}
		Esys_Free(osel);
		Esys_Free(vals);
		if (n != 8 || EVP_Digest(cat, sizeof(cat), h, NULL, EVP_sha256(), NULL) != 1) {
			err = ADY_ERR_CRYPTO;
			goto flush;
		}
		if (ady_tpms_quote_decode(quoted->attestationData, quoted->size, &tq) != ADY_OK) {
			err = ADY_ERR_MALFORMED;
			goto flush;
		}
		done = tq.pcr_mask == QUOTE_PCRS && memcmp(tq.pcr_digest, h, 32) == 0;
	}
	if (!done || sig->sigAlg != TPM2_ALG_ECDSA || param32(&sig->signature.ecdsa.signatureR, aksig) ||
	    param32(&sig->signature.ecdsa.signatureS, aksig + 32)) {
		ady_log_err("TPM: the quote does not match the PCRs read (PCRs changing?) or has an unexpected signature");
		err = ADY_ERR_CRYPTO;
		goto flush;
	}
	err = ady_quote_encode_tpm(quoted->attestationData, quoted->size, aksig, ak, QUOTE_PCRS,
				   (const uint8_t(*)[32])pcr, ek, (uint32_t)eklen, akc, (uint32_t)akclen, NULL, 0, &need);
	if (err != ADY_ERR_SHORT_BUFFER)
		goto flush;
	out = malloc(need);
	if (!out) {
		err = ADY_ERR_NOMEM;
		goto flush;
	}
	err = ady_quote_encode_tpm(quoted->attestationData, quoted->size, aksig, ak, QUOTE_PCRS,
				   (const uint8_t(*)[32])pcr, ek, (uint32_t)eklen, akc, (uint32_t)akclen, out, need, &need);
	if (err || need > ADY_QUOTE_MAX_CERT) {
		free(out);
		err = err ? err : ADY_ERR_RANGE;
		goto flush;
	}
	free(a->cert);
	a->cert = out;
	a->cert_len = (uint32_t)need;
	a->cert_type = ADY_QUOTE_CERT_TPM;
flush:
	Esys_Free(quoted);
	Esys_Free(sig);
	Esys_Free(akpub);
	Esys_FlushContext(t->esys, akh);
	return err;
}
