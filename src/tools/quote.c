/*
 * adyton quote --report-data HEX128 [--nonce HEX64] [--backend B]
 *              [--enclave IMAGE] -o FILE
 * adyton quote --print-enclave
 *
 * A quote over report data of the caller's choosing, without writing an
 * enclave: launches the shipped quote enclave (src/tools/quote_enclave.c,
 * installed as lib/adyton/quote-enclave.signed), whose one ECALL asks
 * the platform for a quote of itself carrying exactly that report data and
 * the nonce (default: 32 zero bytes), and writes the quote to FILE ("-":
 * stdout).  `adyton verify-quote FILE --report-data HEX128` checks it.
 * The daemon must provision the enclave's MRSIGNER (docs/attestation.md);
 * --print-enclave prints the image path, for `adyton inspect`.
 *
 * --report-data takes exactly 64 bytes, as verify-quote does: no padding
 * rule, the value written is the value compared.
 *
 * Exit status: 0 the quote is written; 1 failure; 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/error.h"
#include "adyton/host.h"
#include "adyton/quote.h"
#include "adyton/file.h"

/* Set by src/tools/CMakeLists.txt: lib/adyton relative to bin, and absolute. */
#ifndef ADY_QUOTE_ENCLAVE_REL
#define ADY_QUOTE_ENCLAVE_REL "../lib/adyton"
#endif
#ifndef ADY_QUOTE_ENCLAVE_DIR
#define ADY_QUOTE_ENCLAVE_DIR "/usr/local/lib/adyton"
#endif
#define QUOTE_ENCLAVE "quote-enclave.signed"

/* Shared with adyton.c's command table. */
extern const char ady_cmd_quote_usage[];
int ady_cmd_quote(int argc, char **argv);

const char ady_cmd_quote_usage[] = "quote --report-data HEX128 [--nonce HEX64] [--backend auto|sim|process|kvm] "
				   "[--enclave IMAGE] -o FILE|-  |  quote --print-enclave";

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adyton: quote: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: adyton %s\n", ady_cmd_quote_usage);
	return EXIT_USAGE;
}

/* Exactly 2*n hex digits. */
static int parse_hex(const char *opt, const char *s, uint8_t *out, size_t n)
{
	if (ady_hex_decode(s, strlen(s), out, n))
		return 0;
	if (strlen(s) == 2 * n)
		return usage_error("%s: not hex", opt);
	return usage_error("%s wants exactly %zu hex digits (%zu bytes), got %zu", opt, 2 * n, n, strlen(s));
}

/*
 * The quote enclave: next to this program (the build tree), in lib/adyton
 * relative to it (an installed tree, wherever its prefix moved), or in the
 * configured lib/adyton.  The first that exists; else the last, for the
 * error message.
 */
static const char *find_enclave(void)
{
	static char path[PATH_MAX];
	static const char *const rel[] = {"/", "/" ADY_QUOTE_ENCLAVE_REL "/"};
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				int w = snprintf(path, sizeof(path), "%s%s%s", self, rel[i], QUOTE_ENCLAVE);
				if (w > 0 && (size_t)w < sizeof(path) && access(path, R_OK) == 0)
					return path;
			}
		}
	}
	snprintf(path, sizeof(path), "%s/%s", ADY_QUOTE_ENCLAVE_DIR, QUOTE_ENCLAVE);
	return path;
}

/* Written only once the quote is in hand: a failure leaves FILE alone. */
static int write_quote(const char *path, const uint8_t *q, size_t len)
{
	bool std = strcmp(path, "-") == 0;
	int fd = std ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ady_err err;

	if (fd < 0) {
		fprintf(stderr, "adyton: quote: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	err = ady_fd_write_all(fd, q, len, -1);
	if (!err && !std && close(fd) != 0)
		err = ADY_ERR_IO;
	if (err) {
		fprintf(stderr, "adyton: quote: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* see ady_cmd_quote_usage */
int ady_cmd_quote(int argc, char **argv)
{
	static const struct option opts[] = {
		{"report-data", required_argument, NULL, 'r'},
		{"nonce", required_argument, NULL, 'n'},
		{"backend", required_argument, NULL, 'b'},
		{"enclave", required_argument, NULL, 'e'},
		{"out", required_argument, NULL, 'o'},
		{"print-enclave", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	static ady_quote dec;
	static uint8_t quote[ADY_QUOTE_MAX];
	ady_enclave_opts eopts = {.backend = ADY_BACKEND_AUTO};
	const char *image = NULL, *out_path = NULL;
	uint8_t in[32 + 64] = {0}; /* nonce || report_data; the nonce defaults to zeros */
	bool have_rd = false, print = false;
	ady_enclave_info info;
	ady_enclave *e;
	size_t len = 0;
	ady_err err;
	int ch;

	while ((ch = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (parse_hex("--report-data", optarg, in + 32, 64))
				return EXIT_USAGE;
			have_rd = true;
			break;
		case 'n':
			if (parse_hex("--nonce", optarg, in, 32))
				return EXIT_USAGE;
			break;
		case 'b':
			if (ady_backend_parse(optarg, &eopts.backend) != ADY_OK)
				return usage_error("unknown backend '%s' (auto, sim, process or kvm)", optarg);
			break;
		case 'e': image = optarg; break;
		case 'o': out_path = optarg; break;
		case 'p': print = true; break;
		case ':': return usage_error("option %s needs an argument", argv[optind - 1]);
		default: return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (!image)
		image = find_enclave();
	if (print) {
		if (have_rd || out_path)
			return usage_error("%s", "--print-enclave takes no other option but --enclave");
		printf("%s\n", image);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	}
	if (!have_rd)
		return usage_error("%s", "--report-data is required");
	if (!out_path)
		return usage_error("%s", "-o FILE is required (\"-\": stdout)");

	err = ady_enclave_open(image, &eopts, &e);
	if (err) {
		fprintf(stderr, "adyton: quote: %s: %s\n", image, ady_strerror(err));
		return EXIT_FAIL;
	}
	ady_enclave_get_info(e, &info);
	err = ady_ecall(e, 0, in, sizeof(in), quote, sizeof(quote), &len);
	ady_enclave_close(e);
	if (err == ADY_ERR_PERMISSION) {
		char mrs[65];
		ady_hex_encode(info.mrsigner, 32, mrs);
		fprintf(stderr,
			"adyton: quote: the daemon's policy does not provision the quote enclave; add\n"
			"  provision = %s:%u\nto its policy (docs/attestation.md)\n",
			mrs, (unsigned)info.isvprodid);
		return EXIT_FAIL;
	}
	if (err) {
		fprintf(stderr, "adyton: quote: %s: %s\n", image, ady_strerror(err));
		return EXIT_FAIL;
	}
	/* The enclave is ours, the bytes crossed the host: check they are a
	 * quote of that enclave over what was asked before handing them on. */
	if (ady_quote_decode(quote, len, &dec) != ADY_OK || memcmp(dec.body.reportdata, in + 32, 64) != 0 ||
	    memcmp(dec.body.mrenclave, info.mrenclave, 32) != 0) {
		fprintf(stderr, "adyton: quote: %s: the enclave returned no quote of itself over that report data\n",
			image);
		return EXIT_FAIL;
	}
	return write_quote(out_path, quote, len);
}
