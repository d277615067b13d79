/*
 * adyton-gate - the gate's command line (issue 14).  Today: check-host,
 * one host-integrity round from files, with a JSON report on stdout.
 *
 *   adyton-gate check-host --quote MSG --sig SIG --ak-pub PEM --nonce HEX
 *                          --pcrs FILE --log FILE --policy JSON [--state DIR]
 *
 *   adyton-gate challenge | issue | revoke | crl | certs   (ca_cli.c)
 *
 * Exit status: 0 the host passed, 1 it was refused (the report says why),
 * 2 usage or unreadable input.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "adyton/cursor.h"
#include "cli.h"
#include "gate.h"
#include "hosts.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: adyton-gate check-host --quote MSG --sig SIG --ak-pub PEM --nonce HEX --pcrs FILE\n"
		   "                               --log FILE --policy JSON [--state DIR]\n"
		   "  MSG: TPMS_ATTEST (tpm2_quote -m), SIG: TPMT_SIGNATURE (-s), PEM: the AK public key,\n"
		   "  FILE for --pcrs: SHA-256 PCRs 0-10 raw (352 bytes) or SHA-1 then SHA-256 0-10 (572),\n"
		   "  --log: binary_runtime_measurements, --policy: a Keylime runtime policy,\n"
		   "  --state: keeps the verified (entry count, PCR 10) between rounds.\n"
		   "  AK binding (all four or none): --ek-cert PEM --ek-ca PEM (up to 4 times) --ek-pub TPM2B\n"
		   "  --ak-tpm2b TPM2B: the EK certificate chains to an --ek-ca and certifies --ek-pub, the AK\n"
		   "  (--ak-tpm2b) is a restricted TPM key with the --ak-pub key, and the quote's signer is its\n"
		   "  qualified name under the EK.  Credential activation is not done here.\n"
		   "       adyton-gate challenge --state DB [--ttl SECONDS]\n"
		   "       adyton-gate issue --quote Q --pubkey PEM --nonce HEX --policy POL --ca-key K --ca-cert C\n"
		   "                         --state DB --out CERT [--lifetime SECONDS]\n"
		   "                         [--host ID [--max-age S] [--colocation tpm|hmac [--hmac HEX]]]\n"
		   "       adyton-gate revoke SERIAL|--host ID --state DB --ca-key K --ca-cert C --crl OUT\n"
		   "       adyton-gate crl --state DB --ca-key K --ca-cert C --crl OUT [--crl-ttl SECONDS]\n"
		   "       adyton-gate certs --state DB\n"
		   "       adyton-gate serve --config FILE [--once]\n"
		   "       adyton-gate hosts --state DB [--json | --forget NAME]\n"
		   "       adyton-gate fetch --config FILE --host NAME --nonce HEX --out DIR [--offset N]\n");
}

/* DIR/host.json: {"count": N, "offset": N, "pcr10_sha256": "hex"} */
static int state_load(const char *dir, gate_pcr10 *s, int *have)
{
	char path[4096];
	json_error_t jerr;
	json_t *o;
	const char *hex;

	*have = 0;
	snprintf(path, sizeof(path), "%s/host.json", dir);
	if (access(path, F_OK) != 0)
		return errno == ENOENT;
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return 0;
	hex = json_string_value(json_object_get(o, "pcr10_sha256"));
	if (!json_is_integer(json_object_get(o, "count")) || !json_is_integer(json_object_get(o, "offset")) ||
	    json_integer_value(json_object_get(o, "count")) < 0 || json_integer_value(json_object_get(o, "offset")) < 0 ||
	    !hex || !ady_hex_decode(hex, strlen(hex), s->sha256, 32)) {
		json_decref(o);
		return 0;
	}
	s->count = (uint64_t)json_integer_value(json_object_get(o, "count"));
	s->offset = (uint64_t)json_integer_value(json_object_get(o, "offset"));
	json_decref(o);
	*have = 1;
	return 1;
}

static int state_save(const char *dir, const gate_pcr10 *s)
{
	char path[4096], tmp[4200], hex[65];
	json_t *o;
	int ok;

	ady_hex_encode(s->sha256, 32, hex);
	o = json_pack("{s:I, s:I, s:s}", "count", (json_int_t)s->count, "offset", (json_int_t)s->offset,
		      "pcr10_sha256", hex);
	snprintf(path, sizeof(path), "%s/host.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ok = o && json_dump_file(o, tmp, JSON_SORT_KEYS) == 0 && rename(tmp, path) == 0;
	json_decref(o);
	return ok;
}

static int vpol_add_ca(ady_vpolicy *p, const char *path)
{
	if (p->nek_ca >= ADY_VPOLICY_MAX_CA || strlen(path) >= ADY_VPOLICY_MAX_PATH)
		return 0;
	strcpy(p->tpm_ek_ca[p->nek_ca++], path);
	return 1;
}

static int check_host(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quote", required_argument, NULL, 'q'}, {"sig", required_argument, NULL, 's'},
		{"ak-pub", required_argument, NULL, 'k'}, {"nonce", required_argument, NULL, 'n'},
		{"pcrs", required_argument, NULL, 'p'},  {"log", required_argument, NULL, 'l'},
		{"policy", required_argument, NULL, 'P'}, {"state", required_argument, NULL, 'S'},
		{"ek-cert", required_argument, NULL, 'E'}, {"ek-ca", required_argument, NULL, 'C'},
		{"ek-pub", required_argument, NULL, 'U'}, {"ak-tpm2b", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	const char *qf = NULL, *sf = NULL, *kf = NULL, *nonce_hex = NULL, *pf = NULL, *lf = NULL, *polf = NULL,
		   *statedir = NULL, *ekcf = NULL, *ekpf = NULL, *aktf = NULL;
	ady_vpolicy vpol;
	gate_ak akr;
	int have_ak = 0;
	uint8_t *attest = NULL, *sig = NULL, *ak = NULL, *pcrs = NULL, *log = NULL, *poltext = NULL;
	size_t alen, slen, klen, plen, llen = 0, poll;
	uint8_t nonce[64], pcr[11][32];
	size_t nlen;
	gate_policy *pol = NULL;
	gate_why why = {{0}};
	gate_pcr10 prev;
	gate_host_result res;
	gate_host_evidence ev;
	int have_state = 0, opt, rc = 2;
	json_t *rep = NULL;
	char hex[65];
	ady_err err;

	memset(&vpol, 0, sizeof(vpol));
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': qf = optarg; break;
		case 's': sf = optarg; break;
		case 'k': kf = optarg; break;
		case 'n': nonce_hex = optarg; break;
		case 'p': pf = optarg; break;
		case 'l': lf = optarg; break;
		case 'P': polf = optarg; break;
		case 'S': statedir = optarg; break;
		case 'E': ekcf = optarg; break;
		case 'U': ekpf = optarg; break;
		case 'A': aktf = optarg; break;
		case 'C':
			if (vpol_add_ca(&vpol, optarg))
				break;
			fprintf(stderr, "adyton-gate: --ek-ca: at most %u, each a path under %u bytes\n", ADY_VPOLICY_MAX_CA,
				ADY_VPOLICY_MAX_PATH);
			return 2;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!qf || !sf || !kf || !nonce_hex || !pf || !lf || !polf || optind != argc) {
		usage(stderr);
		return 2;
	}
	have_ak = ekcf || ekpf || aktf || vpol.nek_ca;
	if (have_ak && !(ekcf && ekpf && aktf && vpol.nek_ca)) {
		fprintf(stderr, "adyton-gate: --ek-cert, --ek-ca, --ek-pub and --ak-tpm2b go together\n");
		return 2;
	}
	nlen = strlen(nonce_hex) / 2;
	if (nlen > sizeof(nonce) || !ady_hex_decode(nonce_hex, strlen(nonce_hex), nonce, nlen)) {
		fprintf(stderr, "adyton-gate: --nonce: not hex of at most 64 bytes\n");
		return 2;
	}
#define LOAD(var, file, lenp)                                                                        \
	do {                                                                                         \
		if (!((var) = gate_slurp((file), (lenp)))) {                                              \
			fprintf(stderr, "adyton-gate: cannot read %s: %s\n", (file), strerror(errno)); \
			goto out;                                                                    \
		}                                                                                    \
	} while (0)
	LOAD(attest, qf, &alen);
	LOAD(sig, sf, &slen);
	LOAD(ak, kf, &klen);
	LOAD(pcrs, pf, &plen);
	LOAD(log, lf, &llen);
	LOAD(poltext, polf, &poll);
	if (plen != 11 * 32 && plen != 11 * 20 + 11 * 32) {
		fprintf(stderr, "adyton-gate: --pcrs: %zu bytes, want 352 (SHA-256 0-10) or 572 (SHA-1 and SHA-256)\n",
			plen);
		goto out;
	}
	memcpy(pcr, pcrs + (plen == 352 ? 0 : 220), sizeof(pcr));
	if ((err = gate_policy_load((const char *)poltext, poll, &pol, &why))) {
		fprintf(stderr, "adyton-gate: --policy %s: %s: %s\n", polf, ady_strerror(err), why.text);
		goto out;
	}
	if (have_ak) {
		uint8_t *ekc = NULL, *ekp = NULL, *akt = NULL, *der = NULL;
		size_t eclen, eplen, atlen;
		int dl = 0;

		LOAD(ekc, ekcf, &eclen);
		ekp = gate_slurp(ekpf, &eplen);
		akt = gate_slurp(aktf, &atlen);
		{
			BIO *bio = BIO_new_mem_buf(ekc, (int)eclen);
			X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

			dl = x ? i2d_X509(x, &der) : 0;
			X509_free(x);
			BIO_free(bio);
		}
		if (!ekp || !akt || dl <= 0) {
			fprintf(stderr, "adyton-gate: cannot read %s\n", dl <= 0 ? ekcf : !ekp ? ekpf : aktf);
			err = ADY_ERR_IO;
		} else {
			err = gate_ak_check(&vpol, der, (size_t)dl, ekp, eplen, akt, atlen, (const char *)ak, &akr, &why);
		}
		OPENSSL_free(der);
		free(ekc), free(ekp), free(akt);
		if (err == ADY_ERR_IO)
			goto out;
		if (err == ADY_ERR_MALFORMED || err == ADY_ERR_INVALID_ARG) {
			fprintf(stderr, "adyton-gate: AK binding: %s: %s\n", ady_strerror(err), why.text);
			goto out;
		}
	}
	gate_pcr10_init(&prev);
	if (statedir && !state_load(statedir, &prev, &have_state)) {
		fprintf(stderr, "adyton-gate: --state %s: host.json unreadable or malformed\n", statedir);
		goto out;
	}

	memset(&ev, 0, sizeof(ev));
	ev.attest = attest, ev.attest_len = alen, ev.sig = sig, ev.sig_len = slen, ev.ak_pem = (const char *)ak;
	ev.pcr = (const uint8_t(*)[32])pcr, ev.npcr = 11;
	if (have_ak && err) {
		memset(&res, 0, sizeof(res));
		res.verified = prev;
		res.failed = "ak_binding";
		memcpy(res.why.text, why.text, sizeof(res.why.text));
	} else if (prev.offset > llen) {
		memset(&res, 0, sizeof(res));
		res.verified = prev;
		res.failed = "log_shorter";
		snprintf(res.why.text, sizeof(res.why.text),
			 "the log has %zu bytes, fewer than the %llu already verified (entries removed or another boot)",
			 llen, (unsigned long long)prev.offset);
	} else {
		ev.log = log + prev.offset, ev.log_len = llen - prev.offset, ev.log_base = prev.offset;
		if (have_ak)
			ev.ak_qname = akr.qname, ev.ak_qname_len = akr.qname_len;
		err = gate_host_check(&ev, nonce, nlen, have_state ? &prev : NULL, pol, &res);
		if (err) {
			fprintf(stderr, "adyton-gate: %s: %s\n", err == ADY_ERR_KEY ? kf : "check-host", ady_strerror(err));
			goto out;
		}
	}
	ady_hex_encode(res.verified.sha256, 32, hex);
	rep = json_pack("{s:b, s:s?, s:s?, s:I, s:I, s:I, s:{s:I, s:I, s:s}, s:b, s:b}", "host_ok", res.failed == NULL,
			"failed", res.failed, "reason", res.failed ? res.why.text : NULL, "entries_checked",
			(json_int_t)res.checked, "entries_ahead", (json_int_t)res.ahead, "violations",
			(json_int_t)res.violations, "verified", "count", (json_int_t)res.verified.count, "offset",
			(json_int_t)res.verified.offset, "pcr10_sha256", hex, "incremental", have_state, "ak_bound",
			have_ak && !(res.failed && (!strcmp(res.failed, "ak_binding") || !strcmp(res.failed, "quote_signer"))));
	if (!rep || json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
		fprintf(stderr, "adyton-gate: cannot write the report\n");
		goto out;
	}
	putchar('\n');
	if (!res.failed && statedir && !state_save(statedir, &res.verified)) {
		fprintf(stderr, "adyton-gate: --state %s: cannot write host.json: %s\n", statedir, strerror(errno));
		goto out;
	}
	rc = res.failed ? 1 : 0;
out:
	json_decref(rep);
	gate_policy_free(pol);
	free(attest), free(sig), free(ak), free(pcrs), free(log), free(poltext);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"check-host", check_host},     {"challenge", gate_cli_challenge}, {"issue", gate_cli_issue},
		{"revoke", gate_cli_revoke},    {"crl", gate_cli_crl},             {"certs", gate_cli_certs},
		{"serve", gate_cli_serve},      {"hosts", gate_cli_hosts},         {"fetch", gate_cli_fetch},
	};

	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
