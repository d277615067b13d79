/*
 * adyton-agent - the host side of the gate's host check (issue 14;
 * apps/gate/README.md, "The agent").  Runs beside adytond, answers the
 * gate over mutual TLS, one request per connection:
 *
 *   attest:   a TPM2_Quote by adytond's TPM attestation key (the AK that
 *             STATE_DIR/ak.crt certifies) over the configured SHA-256 PCRs
 *             with the gate's nonce, the PCR values, the IMA measurement
 *             list from a byte offset, the AK certificate (and chain), and
 *             the certification of adytond's attestation key: a TPM2_Quote
 *             by the same AK with qualifying data SHA-256(attestation key),
 *             over PCRs 0-7, as adytond makes it at start;
 *   colocate: the HMAC volume flow: K and n1 from the gate; K is written to
 *             the key directory (mounted into the application's container)
 *             and the answer is HMAC-SHA512(K, n1).
 *
 *   adyton-agent --config FILE      (dist/agent.json.example)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "ca.h"
#include "cli.h"
#include "wire.h"

#define MAX_PCR 24u
#define CERT_PCRS 0xffu /* adytond's certification: PCRs 0-7 (src/daemon/tpm_internal.h) */

typedef struct agent_cfg {
	const char *listen, *tcti, *ima_log, *ak_cert, *ak_chain, *platform_key, *tls_cert, *tls_key, *gate_ca,
		*gate_cn, *key_dir;
	uint32_t pcr_mask;
	json_t *root;
} agent_cfg;

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int cfg_bad;

static const char *str(json_t *o, const char *k, int required)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s && (required || json_object_get(o, k))) {
		fprintf(stderr, "adyton-agent: config: \"%s\" %s\n", k, required ? "is required (a string)" : "must be a string");
		cfg_bad = 1;
	}
	return s;
}

static int load_cfg(const char *path, agent_cfg *c)
{
	static const char *const known[] = {"listen", "tcti", "pcrs", "ima_log", "ak_cert", "ak_chain", "platform_key",
					    "tls_cert", "tls_key", "gate_ca", "gate_cn", "key_dir"};
	json_error_t je;
	const char *k;
	json_t *v, *pcrs;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!c->root || !json_is_object(c->root)) {
		fprintf(stderr, "adyton-agent: %s: line %d: %s\n", path, je.line, c->root ? "not an object" : je.text);
		return 0;
	}
	json_object_foreach(c->root, k, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]) && strcmp(k, known[i]); i++)
			;
		if (i == sizeof(known) / sizeof(known[0])) {
			fprintf(stderr, "adyton-agent: %s: unknown key \"%s\"\n", path, k);
			return 0;
		}
	}
	c->listen = str(c->root, "listen", 1);
	c->tcti = str(c->root, "tcti", 1);
	c->ima_log = str(c->root, "ima_log", 0);
	c->ak_cert = str(c->root, "ak_cert", 1);
	c->ak_chain = str(c->root, "ak_chain", 0);
	c->platform_key = str(c->root, "platform_key", 1);
	c->tls_cert = str(c->root, "tls_cert", 1);
	c->tls_key = str(c->root, "tls_key", 1);
	c->gate_ca = str(c->root, "gate_ca", 1);
	c->gate_cn = str(c->root, "gate_cn", 0);
	c->key_dir = str(c->root, "key_dir", 0);
	if (!c->ima_log)
		c->ima_log = "/sys/kernel/security/ima/binary_runtime_measurements";
	if (!c->gate_cn)
		c->gate_cn = "adyton-gate";
	pcrs = json_object_get(c->root, "pcrs");
	if (!pcrs) {
		c->pcr_mask = 0x7ffu; /* 0-10: firmware, boot loader, IMA */
	} else {
		json_array_foreach(pcrs, i, v) {
			json_int_t p = json_integer_value(v);
			if (!json_is_integer(v) || p < 0 || p >= MAX_PCR) {
				fprintf(stderr, "adyton-agent: %s: pcrs: integers 0-23\n", path);
				return 0;
			}
			c->pcr_mask |= 1u << p;
		}
		/* The gate replays IMA into PCR 10 and checks boot_aggregate
		 * over 0-9: a quote without them cannot be judged. */
		if (!json_is_array(pcrs) || (c->pcr_mask & 0x7ffu) != 0x7ffu) {
			fprintf(stderr, "adyton-agent: %s: pcrs must include 0-10\n", path);
			return 0;
		}
	}
	return !cfg_bad;
}

/* ---- TPM ------------------------------------------------------------------ */

typedef struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR ak;
} tpm;

static int tss(TSS2_RC rc, const char *what, char *err, size_t cap)
{
	if (rc == TSS2_RC_SUCCESS)
		return 1;
	snprintf(err, cap, "TPM: %s: %s", what, Tss2_RC_Decode(rc));
	return 0;
}

static void tpm_close(tpm *t)
{
	if (t->esys && t->ak != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, t->ak);
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
}

/* The TPM per request: a swtpm serves one connection at a time, and
 * adytond and tpm2-tools share it. */
static int tpm_open(const char *tcti, tpm *t, char *err, size_t cap)
{
	/* adytond's AK: the endorsement hierarchy's restricted ECDSA P-256
	 * primary with unique.x "adyton AK" (src/daemon/tpm_ak.c); the same
	 * template gives the same key, which ak.crt certifies. */
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
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	t->ak = ESYS_TR_NONE;
	setenv("TSS2_LOG", "all+none", 0);
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (!tss(rc, "opening the TCTI", err, cap))
		return 0;
	if (!tss(Esys_Initialize(&t->esys, t->tcti, NULL), "initializing ESAPI", err, cap))
		goto fail;
	memcpy(tmpl.publicArea.unique.ecc.x.buffer, "adyton AK", 9);
	tmpl.publicArea.unique.ecc.x.size = 9;
	if (!tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				    &tmpl, &outside, &none, &t->ak, NULL, NULL, NULL, NULL),
		 "creating the AK", err, cap))
		goto fail;
	return 1;
fail:
	tpm_close(t);
	return 0;
}

static TPML_PCR_SELECTION selection(uint32_t mask)
{
	TPML_PCR_SELECTION s = {.count = 1,
				.pcrSelections = {{.hash = TPM2_ALG_SHA256,
						   .sizeofSelect = 3,
						   .pcrSelect = {mask & 0xff, mask >> 8 & 0xff, mask >> 16 & 0xff}}}};
	return s;
}

/* PCRs 0..n-1 of the SHA-256 bank, one at a time (TPM2_PCR_Read answers
 * at most 8 per call). */
static int read_pcrs(tpm *t, uint32_t n, uint8_t (*pcr)[32], char *err, size_t cap)
{
	for (uint32_t i = 0; i < n; i++) {
		TPML_PCR_SELECTION sel = selection(1u << i), *osel = NULL;
		TPML_DIGEST *vals = NULL;
		int ok;

		if (!tss(Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, NULL, &osel, &vals),
			 "reading PCRs", err, cap))
			return 0;
		ok = vals->count == 1 && vals->digests[0].size == 32;
		if (ok)
			memcpy(pcr[i], vals->digests[0].buffer, 32);
		Esys_Free(osel);
		Esys_Free(vals);
		if (!ok) {
			snprintf(err, cap, "TPM: PCR %u of the SHA-256 bank not readable", i);
			return 0;
		}
	}
	return 1;
}

/* TPM2_Quote with qual over mask; the PCRs 0..npcr-1 read after it
 * (retried while an extend between quote and read makes them disagree). */
static int quote(tpm *t, const uint8_t *qual, size_t qlen, uint32_t mask, uint32_t npcr, uint8_t (*pcr)[32],
		 TPM2B_ATTEST **att, uint8_t *sig, size_t *siglen, char *err, size_t cap)
{
	TPML_PCR_SELECTION sel = selection(mask);
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	TPM2B_DATA q = {.size = (UINT16)qlen};

	memcpy(q.buffer, qual, qlen);
	for (int attempt = 0; attempt < 5; attempt++) {
		TPMT_SIGNATURE *s = NULL;
		uint8_t cat[MAX_PCR * 32], h[32];
		size_t n = 0, off = 0;
		ady_tpms_quote tq;

		Esys_Free(*att);
		*att = NULL;
		if (!tss(Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &q, &scheme, &sel, att, &s),
			 "TPM2_Quote", err, cap))
			return 0;
		if (Tss2_MU_TPMT_SIGNATURE_Marshal(s, sig, 1024, &off) != TSS2_RC_SUCCESS) {
			Esys_Free(s);
			snprintf(err, cap, "TPM: cannot marshal the signature");
			return 0;
		}
		Esys_Free(s);
		*siglen = off;
		if (!read_pcrs(t, npcr, pcr, err, cap))
			return 0;
		for (uint32_t i = 0; i < npcr; i++)
			if (mask >> i & 1u)
				memcpy(cat + 32 * n++, pcr[i], 32);
		if (EVP_Digest(cat, 32 * n, h, NULL, EVP_sha256(), NULL) != 1 ||
		    ady_tpms_quote_decode((*att)->attestationData, (*att)->size, &tq) != ADY_OK) {
			snprintf(err, cap, "TPM: the quote does not decode");
			return 0;
		}
		if (memcmp(tq.pcr_digest, h, 32) == 0)
			return 1;
	}
	snprintf(err, cap, "TPM: PCRs keep changing between TPM2_Quote and TPM2_PCR_Read");
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static json_t *fail_msg(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

static int slurp_b64(const char *path, char **out)
{
	size_t n;
	uint8_t *p = gate_slurp(path, &n);

	*out = p ? gate_b64(p, n) : NULL;
	free(p);
	return *out != NULL;
}

/* The IMA log from byte offset on: what the kernel has appended since the
 * gate's last verified entry.  securityfs files are read sequentially. */
static uint8_t *read_log(const char *path, uint64_t offset, size_t *len, char *err, size_t cap)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL, tmp[65536];
	size_t n = 0, r;
	uint64_t skip = offset;

	if (!f) {
		snprintf(err, cap, "IMA log %s: %s", path, strerror(errno));
		return NULL;
	}
	while (skip && (r = fread(tmp, 1, skip < sizeof(tmp) ? (size_t)skip : sizeof(tmp), f)) > 0)
		skip -= r;
	if (skip) {
		snprintf(err, cap, "IMA log %s: shorter than offset %llu", path, (unsigned long long)offset);
		fclose(f);
		return NULL;
	}
	p = malloc(1);
	while (p && (r = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		uint8_t *q = n + r > GATE_WIRE_MAX / 2 ? NULL : realloc(p, n + r);
		if (!q) {
			free(p);
			p = NULL;
			break;
		}
		p = q;
		memcpy(p + n, tmp, r);
		n += r;
	}
	if (!p || ferror(f)) {
		snprintf(err, cap, "IMA log %s: unreadable or too large", path);
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = n;
	return p;
}

static json_t *do_attest(const agent_cfg *c, json_t *req)
{
	const char *nhex = json_string_value(json_object_get(req, "nonce"));
	json_t *off = json_object_get(req, "offset"), *pcrs = NULL, *ans = NULL;
	uint8_t nonce[GATE_AGENT_NONCE], pkey[64], qual[32], pcr[MAX_PCR][32], sig[1024], psig[1024];
	size_t siglen = 0, psiglen = 0, loglen = 0, pklen;
	uint32_t npcr = 32 - (uint32_t)__builtin_clz(c->pcr_mask);
	TPM2B_ATTEST *att = NULL, *patt = NULL;
	uint8_t *log = NULL, *pk = NULL;
	char err[256] = "", *b_att = NULL, *b_sig = NULL, *b_patt = NULL, *b_psig = NULL, *b_log = NULL, *b_ak = NULL,
			    *b_chain = NULL, hex[65], pkhex[129];
	tpm t = {0};

	if (!nhex || strlen(nhex) != 2 * GATE_AGENT_NONCE || !ady_hex_decode(nhex, strlen(nhex), nonce, sizeof(nonce)) ||
	    !json_is_integer(off) || json_integer_value(off) < 0)
		return fail_msg("attest: want nonce (64 hex digits) and offset (bytes, >= 0)");
	/* adytond's attestation public key, as `adytond --print-platform-key`
	 * prints it (x||y hex). */
	pk = gate_slurp(c->platform_key, &pklen);
	while (pk && pklen && (pk[pklen - 1] == '\n' || pk[pklen - 1] == ' '))
		pklen--;
	if (!pk || pklen != 128 || !ady_hex_decode((const char *)pk, 128, pkey, 64)) {
		free(pk);
		return fail_msg("platform_key: not 128 hex digits (adytond --print-platform-key)");
	}
	free(pk);
	if (!tpm_open(c->tcti, &t, err, sizeof(err)))
		goto out;
	/* The host quote first, then the log: entries appended in between
	 * are ahead of the quote, which the gate tolerates; the reverse
	 * order would hand it a log behind the PCR. */
	if (!quote(&t, nonce, sizeof(nonce), c->pcr_mask, npcr, pcr, &att, sig, &siglen, err, sizeof(err)))
		goto out;
	EVP_Digest(pkey, 64, qual, NULL, EVP_sha256(), NULL);
	{
		uint8_t p2[MAX_PCR][32];
		if (!quote(&t, qual, 32, CERT_PCRS, 8, p2, &patt, psig, &psiglen, err, sizeof(err)))
			goto out;
	}
	tpm_close(&t);
	if (!(log = read_log(c->ima_log, (uint64_t)json_integer_value(off), &loglen, err, sizeof(err))))
		goto out;
	if (!slurp_b64(c->ak_cert, &b_ak) || (c->ak_chain && !slurp_b64(c->ak_chain, &b_chain))) {
		snprintf(err, sizeof(err), "cannot read ak_cert / ak_chain");
		goto out;
	}
	pcrs = json_array();
	for (uint32_t i = 0; pcrs && i < npcr; i++) {
		ady_hex_encode(pcr[i], 32, hex);
		json_array_append_new(pcrs, json_string(hex));
	}
	ady_hex_encode(pkey, 64, pkhex);
	b_att = gate_b64(att->attestationData, att->size);
	b_sig = gate_b64(sig, siglen);
	b_patt = gate_b64(patt->attestationData, patt->size);
	b_psig = gate_b64(psig, psiglen);
	b_log = gate_b64(log, loglen);
	if (pcrs && b_att && b_sig && b_patt && b_psig && b_log)
		ans = json_pack("{s:s, s:s, s:O, s:s, s:I, s:s, s:s?, s:{s:s, s:s, s:s}}", "attest", b_att, "sig", b_sig,
				"pcrs", pcrs, "log", b_log, "offset", json_integer_value(off), "ak_cert", b_ak,
				"ak_chain", b_chain, "platform", "key", pkhex, "attest", b_patt, "sig", b_psig);
	if (!ans)
		snprintf(err, sizeof(err), "out of memory");
out:
	tpm_close(&t);
	Esys_Free(att);
	Esys_Free(patt);
	json_decref(pcrs);
	free(log), free(b_att), free(b_sig), free(b_patt), free(b_psig), free(b_log), free(b_ak), free(b_chain);
	return ans ? ans : fail_msg(err);
}

/* K into key_dir/colocation.key (0600, temp file and rename: the
 * application reads the old or the new key, never half). */
static json_t *do_colocate(const agent_cfg *c, json_t *req)
{
	const char *kb = json_string_value(json_object_get(req, "key")),
		   *nhex = json_string_value(json_object_get(req, "n1"));
	uint8_t *k = NULL, n1[GATE_AGENT_NONCE], mac[64];
	char path[4096], tmp[4200], mhex[129];
	unsigned int mlen = 0;
	size_t klen = 0;
	json_t *ans = NULL;
	int fd;

	if (!c->key_dir)
		return fail_msg("colocate: this agent has no key_dir");
	if (!nhex || strlen(nhex) != 2 * GATE_AGENT_NONCE || !ady_hex_decode(nhex, strlen(nhex), n1, sizeof(n1)) ||
	    !(k = gate_unb64(kb, &klen)) || klen != GATE_COLOC_KEY) {
		if (k)
			OPENSSL_cleanse(k, klen);
		free(k);
		return fail_msg("colocate: want key (64 bytes, base64) and n1 (64 hex digits)");
	}
	snprintf(path, sizeof(path), "%s/colocation.key", c->key_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		int ok = write(fd, k, klen) == (ssize_t)klen && fsync(fd) == 0;

		/* close releases the descriptor even when it fails */
		ok = close(fd) == 0 && ok && rename(tmp, path) == 0;
		fd = ok ? 0 : -1;
	}
	if (fd < 0) {
		unlink(tmp);
		ans = fail_msg("colocate: cannot write the key file");
		goto out;
	}
	HMAC(EVP_sha512(), k, (int)klen, n1, sizeof(n1), mac, &mlen);
	ady_hex_encode(mac, 64, mhex);
	ans = json_pack("{s:s}", "hmac", mhex);
out:
	OPENSSL_cleanse(k, klen);
	free(k);
	return ans;
}

/* The client must be the gate: its CA, its name, and not an enclave
 * certificate (the same CA issues those, and they must not drive the
 * agent). */
static int client_is_gate(SSL *ssl, const char *cn, char *err, size_t cap)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	char name[256] = "";
	int ok = 0;

	if (!peer || SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(err, cap, "client certificate does not verify");
	} else if (X509_get_ext_by_OBJ(peer, OBJ_txt2obj(GATE_IDENTITY_OID, 1), -1) >= 0) {
		snprintf(err, cap, "client certificate is an enclave certificate");
	} else if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof(name)) < 0 ||
		   strcmp(name, cn) != 0) {
		snprintf(err, cap, "client certificate names \"%s\", not \"%s\"", name, cn);
	} else {
		ok = 1;
	}
	X509_free(peer);
	return ok;
}

static void serve_one(const agent_cfg *c, SSL_CTX *ctx, int fd)
{
	struct timeval tv = {.tv_sec = 30};
	SSL *ssl = SSL_new(ctx);
	json_t *req = NULL, *ans = NULL;
	const char *type;
	char err[256];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		fprintf(stderr, "adyton-agent: TLS handshake refused\n");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	if (!client_is_gate(ssl, c->gate_cn, err, sizeof(err))) {
		fprintf(stderr, "adyton-agent: refused: %s\n", err);
		goto out;
	}
	if (!(req = gate_wire_recv(ssl, err, sizeof(err)))) {
		fprintf(stderr, "adyton-agent: request: %s\n", err);
		goto out;
	}
	type = json_string_value(json_object_get(req, "type"));
	if (type && !strcmp(type, "attest"))
		ans = do_attest(c, req);
	else if (type && !strcmp(type, "colocate"))
		ans = do_colocate(c, req);
	else
		ans = fail_msg("unknown request type");
	if (json_object_get(ans, "error"))
		fprintf(stderr, "adyton-agent: %s: %s\n", type ? type : "?",
			json_string_value(json_object_get(ans, "error")));
	if (!ans || !gate_wire_send(ssl, ans))
		fprintf(stderr, "adyton-agent: cannot answer\n");
	SSL_shutdown(ssl);
out:
	json_decref(req);
	json_decref(ans);
	SSL_free(ssl);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *cfgf = NULL;
	struct sigaction sa = {.sa_handler = on_term};
	agent_cfg c;
	SSL_CTX *ctx;
	int lfd, o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'c') {
			cfgf = optarg;
		} else {
			fprintf(o == 'h' ? stdout : stderr, "usage: adyton-agent --config FILE (dist/agent.json.example)\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (!cfgf || optind != argc) {
		fprintf(stderr, "usage: adyton-agent --config FILE (dist/agent.json.example)\n");
		return 2;
	}
	if (!load_cfg(cfgf, &c) || !(ctx = gate_tls_ctx(1, c.tls_cert, c.tls_key, c.gate_ca))) {
		json_decref(c.root);
		return 2;
	}
	if ((lfd = gate_tcp_listen(c.listen)) < 0) {
		fprintf(stderr, "adyton-agent: cannot listen on %s: %s\n", c.listen, strerror(errno));
		SSL_CTX_free(ctx);
		json_decref(c.root);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "adyton-agent: listening on %s\n", c.listen);
	/* One connection at a time: the TPM is used serially anyway. */
	while (!stop) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EINTR)
				fprintf(stderr, "adyton-agent: accept: %s\n", strerror(errno));
			continue;
		}
		serve_one(&c, ctx, fd);
	}
	close(lfd);
	SSL_CTX_free(ctx);
	json_decref(c.root);
	return 0;
}
