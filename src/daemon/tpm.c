/*
 * adytond's TPM root of trust; see tpm.h and docs/attestation.md.
 *
 * STATE_DIR/root.tpm:  "ADYT" | u32le n | TPM2B_PUBLIC | TPM2B_PRIVATE (n bytes,
 *                      TPM marshalling), the sealed root key object.
 * STATE_DIR/ak.crt:    the AK certificate (DER) from enrollment.
 * Both written 0600 through a temp file, fsync, rename/link, fsync of the
 * directory, as rootkey.c does.
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
#include "daemon/tpm.h"
#include "verify/sign.h"

#define ROOT_MAGIC "ADYT"
#define ROOT_MAX 2048u
#define AKCERT_MAX 4096u
/* TCG EK Credential Profile 2.0, 2.2.1.4: NV indices of the EK certificates. */
#define NV_EK_CERT_RSA 0x01c00002u
#define NV_EK_CERT_ECC 0x01c0000au
#define EK_CERT_MAX 4096u
/* The PCRs the TPM quote covers: 0-7, what firmware and the boot loader
 * measure (TCG PC Client PFP); the OS and adytond itself are not in them. */
#define QUOTE_PCRS 0xffu

struct ady_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};

static ady_err tss(TSS2_RC rc, const char *what)
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

/* Writes buf to dir/name (0600) atomically.  replace: rename over an
 * existing file; else link() and ADY_ERR_STATE if one appeared. */
static ady_err write_atomic(const char *dir, const char *name, const uint8_t *buf, size_t len, int replace)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	ady_err err = ADY_ERR_IO;
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, name, (int)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ADY_ERR_RANGE;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ADY_ERR_IO;
	if (write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0) {
		if (replace ? rename(tmp, path) == 0 : link(tmp, path) == 0) {
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				(void)fsync(dfd);
				close(dfd);
			}
			err = ADY_OK;
		} else if (errno == EEXIST) {
			err = ADY_ERR_STATE;
		}
	}
	close(fd);
	unlink(tmp);
	return err;
}

/* Reads dir/name, ours, a regular file, private, at most cap bytes. */
static ady_err read_private(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	*len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ADY_ERR_RANGE;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? ADY_ERR_STATE : ADY_ERR_IO;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return ADY_ERR_PERMISSION;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > cap) {
		close(fd);
		return ADY_ERR_MALFORMED;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size)
		return ADY_ERR_IO;
	*len = (size_t)n;
	return ADY_OK;
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

	return tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				      &pub, &outside, &none, out, NULL, NULL, NULL, NULL),
		   "creating the storage primary key");
}

/* A session salted with the storage primary that encrypts the first
 * parameter both ways: the root key never crosses the TPM bus in clear. */
static ady_err enc_session(ady_tpm *t, ESYS_TR primary, ESYS_TR *out)
{
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
	ady_err err;

	err = tss(Esys_StartAuthSession(t->esys, primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
					TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, out),
		  "starting a salted session");
	if (err)
		return err;
	err = tss(Esys_TRSess_SetAttributes(t->esys, *out,
					    TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
					    0xff),
		  "session attributes");
	if (err) {
		Esys_FlushContext(t->esys, *out);
		*out = ESYS_TR_NONE;
	}
	return err;
}

static ady_err unseal(ady_tpm *t, ESYS_TR primary, const uint8_t *buf, size_t len, uint8_t key[static 32])
{
	TPM2B_PUBLIC pub = {0};
	TPM2B_PRIVATE priv = {0};
	TPM2B_SENSITIVE_DATA *data = NULL;
	ESYS_TR obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	size_t off = 8;
	uint32_t n;
	TSS2_RC rc;
	ady_err err;

	if (len < 8 || memcmp(buf, ROOT_MAGIC, 4) != 0)
		return ADY_ERR_MALFORMED;
	n = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
	if (n != len - 8 || Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, &priv) != TSS2_RC_SUCCESS || off != len)
		return ADY_ERR_MALFORMED;
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH)
		return ADY_ERR_MALFORMED;
	rc = Esys_Load(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj);
	if (rc != TSS2_RC_SUCCESS) {
		ady_log_err("TPM: root.tpm does not load under this TPM's storage key (another TPM's state, "
			    "or its owner hierarchy was cleared): %s",
			    Tss2_RC_Decode(rc));
		return ADY_ERR_CRYPTO;
	}
	err = enc_session(t, primary, &sess);
	if (!err)
		err = tss(Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data), "unsealing the root key");
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

static ady_err seal_new(ady_tpm *t, ESYS_TR primary, const char *state_dir)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			/* No SENSITIVEDATAORIGIN: the data is ours (from the
			 * TPM's RNG).  No policy: the storage primary's
			 * hierarchy is the binding (docs/attestation.md). */
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_NODA,
			.parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_NULL},
		},
	};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION none = {0};
	TPM2B_DIGEST *rnd = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	uint8_t buf[ROOT_MAX];
	size_t off = 8;
	ady_err err;

	err = tss(Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 32, &rnd), "GetRandom");
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
	err = tss(Esys_Create(t->esys, primary, sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &priv,
			      &pub, NULL, NULL, NULL),
		  "sealing the root key");
	Esys_FlushContext(t->esys, sess);
	if (err)
		goto free_rnd;
	memcpy(buf, ROOT_MAGIC, 4);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS) {
		err = ADY_ERR_RANGE;
		goto free_out;
	}
	ady_put_u32le(buf + 4, (uint32_t)(off - 8));
	err = write_atomic(state_dir, "root.tpm", buf, off, 0);
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
ady_err ady_tpm_rootkey_load(ady_tpm *t, const char *state_dir, uint8_t key[static 32])
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
		err = read_private(state_dir, "root.tpm", buf, sizeof(buf), &len);
		if (err == ADY_OK) {
			err = unseal(t, primary, buf, len, key);
			break;
		}
		if (err != ADY_ERR_STATE)
			break;
		/* First start: seal a new one; the one that wins a race is read back. */
		err = seal_new(t, primary, state_dir);
		if (err && err != ADY_ERR_STATE)
			break;
	}
	Esys_FlushContext(t->esys, primary);
	return err;
}

/* ---- attestation key certification ---------------------------------- */

/* The AK: the endorsement hierarchy's restricted ECDSA P-256 SHA-256
 * signing primary.  Restricted: the TPM signs only digests it computed
 * itself, so it cannot be made to sign a forged TPMS_ATTEST. */
static ady_err ak_primary(ady_tpm *t, ESYS_TR *out, TPM2B_PUBLIC **pub)
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
	return tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
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

static int ak_xy(const TPM2B_PUBLIC *pub, uint8_t xy[static 64])
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
	err = tss(Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &npub, NULL),
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
		err = tss(Esys_NV_Read(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, chunk,
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
static ady_err ek_cert(ady_tpm *t, uint8_t *buf, size_t cap, size_t *len, int *is_ecc)
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

	err = read_private(state_dir, "ak.crt", akc, sizeof(akc), &akclen);
	if (err)
		return err;
	err = ek_cert(t, ek, sizeof(ek), &eklen, &is_ecc);
	if (err)
		return err;
	err = ak_primary(t, &akh, &akpub);
	if (err)
		return err;
	if (ak_xy(akpub, ak)) {
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
		err = tss(Esys_Quote(t->esys, akh, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qual, &scheme, &sel,
				     &quoted, &sig),
			  "TPM2_Quote");
		if (err)
			goto flush;
		err = tss(Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, NULL, &osel, &vals),
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
	return tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
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

static EVP_PKEY *p256_from_xy(const uint8_t xy[static 64])
{
	uint8_t pt[65];
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	if (b && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
		params = OSSL_PARAM_BLD_to_param(b);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return k;
}

/* The AK certificate: subject CN "adyton TPM AK", 10 years, signed by the
 * CA.  DER into *der (OPENSSL_malloc'd). */
static int issue(const uint8_t ak[static 64], const char *ca_key, const char *ca_cert, unsigned char **der)
{
	FILE *f;
	EVP_PKEY *cakey = NULL, *akkey = p256_from_xy(ak);
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
	    X509_sign(x, cakey, EVP_sha256()) <= 0)
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
	err = ek_cert(t, ek, sizeof(ek), &eklen, &is_ecc);
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
	err = ak_primary(t, &akh, &akpub);
	if (err)
		goto flush;
	/* What the CA certifies: a restricted signing key that never leaves
	 * this TPM.  The name binds these attributes into the credential. */
	if (ak_xy(akpub, ak) || !(akpub->publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED) ||
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
	err = tss(Esys_MakeCredential(t->esys, ekh, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &cred, &name, &blob,
				      &secret),
		  "TPM2_MakeCredential");
	if (err)
		goto flush;
	err = tss(Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					NULL, TPM2_SE_POLICY, &nosym, TPM2_ALG_SHA256, &pol),
		  "starting the EK policy session");
	if (err)
		goto flush;
	err = tss(Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, pol, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				    NULL, NULL, NULL, 0, NULL, NULL),
		  "PolicySecret(endorsement)");
	if (err)
		goto flush;
	err = tss(Esys_ActivateCredential(t->esys, akh, ekh, ESYS_TR_PASSWORD, pol, ESYS_TR_NONE, blob, secret, &got),
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
	err = write_atomic(state_dir, "ak.crt", der, (size_t)n, 1);
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
