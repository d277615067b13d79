/*
 * adyton verify-quote QUOTE --policy FILE [--nonce HEX] [--report-data HEX]
 * [--json]: checks an adyton quote with libadyton-verify (adyton/verify.h)
 * and prints the verdict and every check.  Needs no daemon and no TPM.
 * --report-data takes exactly 64 bytes (128 hex digits) and requires the
 * quote's REPORTDATA to equal all of them (check "report_data").  Exit 0
 * only for an accepted quote; 1 refused or unreadable; 2 usage (also a
 * malformed --nonce or --report-data).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/image.h"
#include "adyton/quote.h"
#include "adyton/verify.h"
#include "adyton/vpolicy.h"

const char ady_cmd_verify_quote_usage[] =
	"verify-quote QUOTE --policy FILE [--nonce HEX64] [--report-data HEX128] [--json]";

int ady_cmd_verify_quote(int argc, char **argv);

/* Exactly 2*n hex digits into out; else a usage message naming opt. */
static int parse_hex(const char *opt, const char *s, uint8_t *out, size_t n)
{
	if (ady_hex_decode(s, strlen(s), out, n))
		return 0;
	if (strlen(s) == 2 * n)
		fprintf(stderr, "adyton: verify-quote: %s: not hex\n", opt);
	else
		fprintf(stderr, "adyton: verify-quote: %s wants exactly %zu hex digits (%zu bytes), got %zu\n", opt,
			2 * n, n, strlen(s));
	return -1;
}

/* A JSON string: the details are ours, but paths from the policy are not. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int ady_cmd_verify_quote(int argc, char **argv)
{
	static const struct option opts[] = {{"policy", required_argument, NULL, 'p'},
					     {"nonce", required_argument, NULL, 'n'},
					     {"report-data", required_argument, NULL, 'r'},
					     {"json", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
	static ady_verify_report rep;
	static ady_vpolicy pol;
	const char *policy = NULL, *nonce_hex = NULL, *rd_hex = NULL;
	uint8_t nonce[32], rd[64], *quote = NULL, *text = NULL;
	size_t qlen = 0, tlen = 0;
	unsigned line = 0;
	int json = 0, o;
	ady_err err;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': policy = optarg; break;
		case 'n': nonce_hex = optarg; break;
		case 'r': rd_hex = optarg; break;
		case 'j': json = 1; break;
		default:
			fprintf(stderr, "usage: adyton %s\n", ady_cmd_verify_quote_usage);
			return 2;
		}
	}
	if (optind != argc - 1 || !policy || (nonce_hex && parse_hex("--nonce", nonce_hex, nonce, 32)) ||
	    (rd_hex && parse_hex("--report-data", rd_hex, rd, 64))) {
		fprintf(stderr, "usage: adyton %s\n", ady_cmd_verify_quote_usage);
		return 2;
	}
	err = ady_file_read(policy, 1u << 20, &text, &tlen);
	if (!err)
		err = ady_vpolicy_parse((const char *)text, tlen, &pol, &line);
	free(text);
	if (err == ADY_ERR_UNSUPPORTED) {
		/* adyton/vpolicy.h: the one retired key */
		fprintf(stderr,
			"adyton: policy %s line %u: tpm_ca is no longer accepted: name the TPM's EK CA with tpm_ek_ca "
			"and the enrollment CA with tpm_ak_ca (docs/attestation.md)\n",
			policy, line);
		return 1;
	}
	if (err) {
		fprintf(stderr, "adyton: policy %s%s%u: %s\n", policy, line ? " line " : "", line, ady_strerror(err));
		return 1;
	}
	if (rd_hex) {
		pol.want_report_data = true;
		memcpy(pol.report_data, rd, 64);
	}
	err = ady_file_read(argv[optind], ADY_QUOTE_MAX + 1, &quote, &qlen);
	if (err) {
		fprintf(stderr, "adyton: %s: %s\n", argv[optind], ady_strerror(err));
		return 1;
	}
	err = ady_verify_quote(quote, qlen, &pol, nonce_hex ? nonce : NULL, &rep);
	free(quote);
	if (err && err != ADY_ERR_PERMISSION) {
		fprintf(stderr, "adyton: verify-quote: %s\n", ady_strerror(err));
		return 1;
	}
	if (json) {
		printf("{\"verdict\":\"%s\",\"failed\":", rep.accepted ? "accepted" : "refused");
		if (rep.failed)
			json_str(rep.failed);
		else
			printf("null");
		if (rep.nchecks && rep.checks[0].result == ADY_CHECK_PASS) {
			const ady_sgx_report_body *b = &rep.quote.body;
			printf(",\"mrenclave\":\"");
			print_hex(b->mrenclave, 32);
			printf("\",\"mrsigner\":\"");
			print_hex(b->mrsigner, 32);
			printf("\",\"isvprodid\":%u,\"isvsvn\":%u,\"attributes\":%llu,\"report_data\":\"",
			       (unsigned)b->isvprodid, (unsigned)b->isvsvn, (unsigned long long)b->attributes.flags);
			print_hex(b->reportdata, 64);
			printf("\"");
		}
		printf(",\"checks\":[");
		for (uint32_t i = 0; i < rep.nchecks; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(rep.checks[i].name);
			printf(",\"result\":\"%s\",\"detail\":",
			       rep.checks[i].result == ADY_CHECK_PASS   ? "pass"
			       : rep.checks[i].result == ADY_CHECK_FAIL ? "fail"
									: "skip");
			json_str(rep.checks[i].detail);
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("verdict: %s", rep.accepted ? "ACCEPTED" : "REFUSED");
		if (rep.failed)
			printf(" (failed check: %s)", rep.failed);
		printf("\n");
		for (uint32_t i = 0; i < rep.nchecks; i++)
			printf("  %-20s %-4s  %s\n", rep.checks[i].name, ady_check_result_name(rep.checks[i].result),
			       rep.checks[i].detail);
	}
	if (fflush(stdout) != 0)
		return 1;
	return rep.accepted ? 0 : 1;
}
