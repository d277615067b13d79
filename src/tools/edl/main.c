/*
 * adyton-edl - the EDL interface compiler.
 *
 *   adyton-edl [--trusted] [--untrusted] [-I DIR]... [-o DIR] [--depfile FILE] FILE.edl
 *
 * Writes NAME_t.h/NAME_t.c (--trusted), NAME_u.h/NAME_u.c (--untrusted), or
 * all four (neither flag) into DIR (default "."), NAME being FILE's base
 * name without ".edl".  --check only parses.  Exit status: 0 success,
 * 1 error (the message names file:line:column), 2 usage.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edl.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static int usage(void)
{
	fprintf(stderr, "usage: adyton-edl [--trusted] [--untrusted] [--check] [-I DIR]... [-o DIR] "
			"[--depfile FILE] FILE.edl\n");
	return EXIT_USAGE;
}

typedef ady_err (*gen_fn)(const edl_model *m, const char *base, FILE *f);

/* Writes one output through a temporary file, so that a failed run never
 * leaves a half-written source behind. */
static int write_out(const edl_model *m, const char *dir, const char *base, const char *suffix, gen_fn fn)
{
	char path[4096], tmp[4200];
	FILE *f;
	ady_err err;

	if (snprintf(path, sizeof(path), "%s/%s%s", dir, base, suffix) >= (int)sizeof(path))
		return EXIT_FAIL;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		return EXIT_FAIL;
	}
	err = fn(m, base, f);
	if (fclose(f) != 0 && !err)
		err = ADY_ERR_IO;
	if (err || rename(tmp, path) != 0) {
		fprintf(stderr, "adyton-edl: cannot write %s: %s\n", path, ady_strerror(err ? err : ADY_ERR_IO));
		remove(tmp);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int write_depfile(const edl_ctx *ctx, const char *depfile, const char *target)
{
	FILE *f = fopen(depfile, "w");

	if (!f) {
		perror(depfile);
		return EXIT_FAIL;
	}
	fprintf(f, "%s:", target);
	for (size_t i = 0; i < ctx->ndeps; i++)
		fprintf(f, " \\\n  %s", ctx->deps[i]);
	fprintf(f, "\n");
	return fclose(f) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* FILE.edl -> FILE as a C identifier prefix. */
static int base_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".edl") == 0)
		n -= 4;
	if (n == 0 || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i && c >= '0' && c <= '9');
		out[i] = ok ? c : '_';
	}
	out[n] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trusted", no_argument, NULL, 't'},       {"untrusted", no_argument, NULL, 'u'},
		{"check", no_argument, NULL, 'c'},         {"search-path", required_argument, NULL, 'I'},
		{"out-dir", required_argument, NULL, 'o'}, {"depfile", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	const char *dir = ".", *depfile = NULL;
	int trusted = 0, untrusted = 0, check = 0, c, rc = EXIT_OK;
	char base[256], target[4200];
	edl_ctx ctx;

	edl_ctx_init(&ctx);
	while ((c = getopt_long(argc, argv, "tucI:o:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			trusted = 1;
			break;
		case 'u':
			untrusted = 1;
			break;
		case 'c':
			check = 1;
			break;
		case 'I':
			if (edl_add_search(&ctx, optarg) != ADY_OK) {
				fprintf(stderr, "adyton-edl: too many -I directories\n");
				return EXIT_USAGE;
			}
			break;
		case 'o':
			dir = optarg;
			break;
		case 'd':
			depfile = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc)
		return usage();
	if (!trusted && !untrusted)
		trusted = untrusted = 1;
	if (base_name(argv[optind], base, sizeof(base)) != 0) {
		fprintf(stderr, "adyton-edl: %s: bad file name\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (edl_parse_file(&ctx, argv[optind]) != ADY_OK) {
		fputs(ctx.warn, stderr);
		fprintf(stderr, "%s\n", ctx.err);
		edl_ctx_fini(&ctx);
		return EXIT_FAIL;
	}
	fputs(ctx.warn, stderr);
	if (!check) {
		if (trusted && !rc)
			rc = write_out(&ctx.m, dir, base, "_t.h", edl_gen_trusted_h);
		if (trusted && !rc)
			rc = write_out(&ctx.m, dir, base, "_t.c", edl_gen_trusted_c);
		if (untrusted && !rc)
			rc = write_out(&ctx.m, dir, base, "_u.h", edl_gen_untrusted_h);
		if (untrusted && !rc)
			rc = write_out(&ctx.m, dir, base, "_u.c", edl_gen_untrusted_c);
		snprintf(target, sizeof(target), "%s/%s%s", dir, base, trusted ? "_t.c" : "_u.c");
		if (depfile && !rc)
			rc = write_depfile(&ctx, depfile, target);
	}
	edl_ctx_fini(&ctx);
	return rc;
}
