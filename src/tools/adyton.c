/*
 * adyton - the developer command line: keygen, sign, inspect, verify, and
 * run / ps (src/tools/run.c, ps.c) for enclaves and the daemon.
 *
 * Exit status: 0 success, 1 failure (message "adyton: CMD FILE: reason" on
 * stderr), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adyton/config.h"
#include "adyton/cursor.h"
#include "adyton/elf.h"
#include "adyton/error.h"
#include "adyton/image.h"
#include "adyton/layout.h"
#include "adyton/measure.h"
#include "adyton/meta.h"
#include "adyton/sgx.h"
#include "host/image_internal.h"
#include "adyton/file.h"
#include "sign.h"

/* --sigstruct writes the decoded struct, which is the stored bytes only
 * on a little-endian host (adyton targets x86-64). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host");

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define MAX_TEXT_FILE (1u << 20)

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

static const struct command *find_command(const char *name);

/* The reason a call failed; for I/O errors errno says more. */
static int fail(const char *cmd, const char *file, ady_err err)
{
	int e = errno;

	if (err == ADY_ERR_IO && e != 0)
		fprintf(stderr, "adyton: %s %s: %s: %s\n", cmd, file, ady_strerror(err), strerror(e));
	else
		fprintf(stderr, "adyton: %s %s: %s\n", cmd, file, ady_strerror(err));
	return EXIT_FAIL;
}

__attribute__((format(printf, 2, 3)))
static int usage_error(const struct command *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adyton: %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: adyton %s\n", c->usage);
	return EXIT_USAGE;
}

/* getopt_long's '?' or ':' for argv[optind - 1]. */
static int bad_option(const struct command *c, int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		return usage_error(c, "option %s needs an argument", arg);
	return usage_error(c, "unknown option %s", arg);
}

/* ---- keygen ---- */

static int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c = find_command("keygen");
	bool force = false;
	EVP_PKEY *key;
	size_t len;
	char *pem;
	const char *out;
	ady_err err;
	int ch;

	while ((ch = getopt_long(argc, argv, ":f", opts, NULL)) != -1) {
		if (ch == 'f')
			force = true;
		else
			return bad_option(c, ch, argv);
	}
	if (argc - optind != 1)
		return usage_error(c, "%s", "expected one output file");
	out = argv[optind];
	/* Checked again, atomically, by link() below; this only spares a
	 * key generation. */
	if (!force && access(out, F_OK) == 0) {
		fprintf(stderr, "adyton: keygen %s: file exists (use --force to overwrite)\n", out);
		return EXIT_FAIL;
	}

	err = ady_sign_keygen(&key);
	if (err)
		return fail("keygen", out, err);
	err = ady_sign_key_pem(key, &pem, &len);
	EVP_PKEY_free(key);
	if (err)
		return fail("keygen", out, err);
	err = ady_file_write_atomic(out, pem, len, 0600, force);
	if (err && errno == EEXIST) {
		fprintf(stderr, "adyton: keygen %s: file exists (use --force to overwrite)\n", out);
		ady_wipe(pem, len);
		free(pem);
		return EXIT_FAIL;
	}
	if (err)
		(void)fail("keygen", out, err);
	ady_wipe(pem, len);
	free(pem);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- sign ---- */

static ady_err load_key(const char *path, EVP_PKEY **out)
{
	uint8_t *pem;
	size_t len;
	ady_err err;

	*out = NULL;
	err = ady_file_read(path, MAX_TEXT_FILE, &pem, &len);
	if (err)
		return err;
	err = ady_sign_key_parse((const char *)pem, len, out);
	ady_wipe(pem, len);
	free(pem);
	return err;
}

/* Parses a config file; failures are reported here (with the line). */
static int load_config(const char *cmd, const char *path, ady_config *cfg)
{
	unsigned line = 0;
	uint8_t *text;
	size_t len;
	ady_err err;

	err = ady_file_read(path, MAX_TEXT_FILE, &text, &len);
	if (err)
		return fail(cmd, path, err);
	err = ady_config_parse((const char *)text, len, cfg, &line);
	free(text);
	if (err && line) {
		fprintf(stderr, "adyton: %s %s:%u: %s\n", cmd, path, line, ady_strerror(err));
		return EXIT_FAIL;
	}
	if (err)
		return fail(cmd, path, err);
	return EXIT_OK;
}

/* --date, else SOURCE_DATE_EPOCH (reproducible builds), else today (UTC). */
static int sign_date(const struct command *c, const char *arg, uint32_t *date)
{
	const char *sde;

	if (arg) {
		if (ady_sign_date_parse(arg, date) != ADY_OK)
			return usage_error(c, "--date %s is not a valid YYYYMMDD date", arg);
		return EXIT_OK;
	}
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long t;

		errno = 0;
		t = strtoll(sde, &end, 10);
		if (errno || *end || t < 0 || ady_sign_date_from_time(t, date) != ADY_OK) {
			fprintf(stderr, "adyton: sign: SOURCE_DATE_EPOCH=%s is not a valid time\n", sde);
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	if (ady_sign_date_from_time((int64_t)time(NULL), date) != ADY_OK) {
		fprintf(stderr, "adyton: sign: cannot tell today's date\n");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' },
		{ "date", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c = find_command("sign");
	const char *keypath = NULL, *confpath = NULL, *datearg = NULL, *out = NULL, *in;
	uint8_t *file, *signed_file;
	size_t len, signed_len;
	ady_config cfg;
	uint32_t date;
	EVP_PKEY *key;
	ady_err err;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":k:c:d:o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': keypath = optarg; break;
		case 'c': confpath = optarg; break;
		case 'd': datearg = optarg; break;
		case 'o': out = optarg; break;
		default: return bad_option(c, ch, argv);
		}
	}
	if (!keypath || !confpath || !out)
		return usage_error(c, "%s", "--key, --config and --out are required");
	if (argc - optind != 1)
		return usage_error(c, "%s", "expected one input image");
	in = argv[optind];
	rc = sign_date(c, datearg, &date);
	if (rc)
		return rc;
	rc = load_config("sign", confpath, &cfg);
	if (rc)
		return rc;
	err = load_key(keypath, &key);
	if (err)
		return fail("sign", keypath, err);
	err = ady_file_read(in, ADY_IMAGE_MAX_FILE, &file, &len);
	if (err) {
		rc = fail("sign", in, err);
		goto free_key;
	}
	err = ady_sign_image(file, len, &cfg, key, date, &signed_file, &signed_len);
	if (err) {
		rc = fail("sign", in, err);
		goto free_file;
	}
	err = ady_file_write_atomic(out, signed_file, signed_len, 0755, true);
	rc = err ? fail("sign", out, err) : EXIT_OK;

	free(signed_file);
free_file:
	free(file);
free_key:
	EVP_PKEY_free(key);
	return rc;
}

/* ---- inspect ---- */

/* Everything inspect learns about an image, each check on its own. */
struct inspection {
	uint8_t *file;
	size_t len;
	ady_elf elf;
	bool is_signed;
	bool default_config;        /* unsigned and no --config */
	ady_config cfg;
	ady_sgx_sigstruct ss;
	ady_layout *layout;
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	bool hash_ok;               /* ENCLAVEHASH == MRENCLAVE */
	ady_err sig_err;            /* signature and q1/q2 */
};

static void inspection_fini(struct inspection *in)
{
	free(in->layout);
	free(in->file);
}

/* Like ady_image_open, but keeps going past the identity checks so that
 * they can be reported; fails only when the image cannot be laid out. */
static ady_err inspect_image(const char *path, const ady_config *override, struct inspection *in)
{
	ady_err err;

	memset(in, 0, sizeof(*in));
	err = ady_file_read(path, ADY_IMAGE_MAX_FILE, &in->file, &in->len);
	if (err)
		return err;
	err = ady_elf_decode(in->file, in->len, &in->elf);
	if (err)
		return err;
	err = ady_meta_decode(in->file + in->elf.meta_offset, (size_t)in->elf.meta_size, &in->cfg,
			      &in->ss);
	if (err == ADY_OK) {
		in->is_signed = true;
	} else if (err == ADY_ERR_UNSIGNED) {
		if (override) {
			in->cfg = *override;
		} else {
			ady_config_defaults(&in->cfg);
			in->default_config = true;
		}
	} else {
		return err;
	}
	in->layout = malloc(sizeof(*in->layout));
	if (!in->layout)
		return ADY_ERR_NOMEM;
	err = ady_layout_build(&in->elf, &in->cfg, in->layout);
	if (err)
		return err;
	err = ady_image_measure(in->file, in->len, &in->cfg, in->mrenclave);
	if (err)
		return err;
	if (!in->is_signed)
		return ADY_OK;
	in->hash_ok = memcmp(in->mrenclave, in->ss.enclavehash, 32) == 0;
	in->sig_err = ady_image_check_sigstruct(&in->ss);
	return ady_image_mrsigner(&in->ss, in->mrsigner);
}

static const char *page_type(uint64_t secinfo)
{
	switch (secinfo & ADY_SECINFO_PT_MASK) {
	case ADY_SECINFO_PT_REG: return "reg";
	case ADY_SECINFO_PT_TCS: return "tcs";
	default: return "?";
	}
}

static void page_perms(uint64_t secinfo, char out[static 4])
{
	size_t n = 0;

	if (secinfo & ADY_SECINFO_R)
		out[n++] = 'r';
	if (secinfo & ADY_SECINFO_W)
		out[n++] = 'w';
	if (secinfo & ADY_SECINFO_X)
		out[n++] = 'x';
	out[n] = '\0';
}

struct page_printer {
	bool json;
	bool first;
};

static void print_page(void *user, uint64_t offset, uint64_t secinfo, bool extended)
{
	struct page_printer *pp = user;
	char perms[4];

	page_perms(secinfo, perms);
	if (pp->json)
		printf("%s\n    {\"offset\": %" PRIu64 ", \"type\": \"%s\", \"perms\": \"%s\", "
		       "\"extended\": %s}",
		       pp->first ? "" : ",", offset, page_type(secinfo), perms,
		       extended ? "true" : "false");
	else
		printf("  0x%09" PRIx64 "  %s  %-3s  %s\n", offset, page_type(secinfo), perms,
		       extended ? "eadd+eextend" : "eadd");
	pp->first = false;
}

static void json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void json_hex(const char *key, const uint8_t *p, bool present)
{
	char h[65];

	if (!present) {
		printf("  \"%s\": null,\n", key);
		return;
	}
	ady_hex_encode(p, 32, h);
	printf("  \"%s\": \"%s\",\n", key, h);
}

static void print_json(const char *path, const struct inspection *in, bool pages)
{
	const ady_layout *l = in->layout;
	bool debug = (in->cfg.flags & ADY_CONFIG_DEBUG) != 0;

	printf("{\n  \"file\": ");
	json_string(path);
	printf(",\n  \"signed\": %s,\n", in->is_signed ? "true" : "false");
	json_hex("mrenclave", in->mrenclave, true);
	json_hex("enclavehash", in->ss.enclavehash, in->is_signed);
	json_hex("mrsigner", in->mrsigner, in->is_signed);
	if (in->is_signed) {
		printf("  \"measurement_ok\": %s,\n", in->hash_ok ? "true" : "false");
		printf("  \"signature_ok\": %s,\n", in->sig_err ? "false" : "true");
		printf("  \"date\": \"%08" PRIx32 "\",\n", in->ss.date);
		printf("  \"attributes\": {\"flags\": %" PRIu64 ", \"xfrm\": %" PRIu64 "},\n",
		       in->ss.attributes.flags, in->ss.attributes.xfrm);
	} else {
		printf("  \"measurement_ok\": null,\n  \"signature_ok\": null,\n  \"date\": null,\n"
		       "  \"attributes\": null,\n");
	}
	printf("  \"isvprodid\": %u,\n  \"isvsvn\": %u,\n  \"debug\": %s,\n",
	       (unsigned)in->cfg.isvprodid, (unsigned)in->cfg.isvsvn, debug ? "true" : "false");
	printf("  \"size\": %" PRIu64 ",\n  \"ssaframesize\": %" PRIu32 ",\n  \"entry\": %" PRIu64 ",\n",
	       l->size, l->ssaframesize, l->entry);
	printf("  \"config\": {\"heap\": %" PRIu64 ", \"stack\": %" PRIu64 ", \"threads\": %" PRIu32
	       ", \"msbuf\": %" PRIu64 ", \"isvprodid\": %u, \"isvsvn\": %u, \"debug\": %s, "
	       "\"default\": %s}",
	       in->cfg.heap_size, in->cfg.stack_size, in->cfg.threads, in->cfg.msbuf_size,
	       (unsigned)in->cfg.isvprodid, (unsigned)in->cfg.isvsvn, debug ? "true" : "false",
	       in->default_config ? "true" : "false");
	if (pages) {
		struct page_printer pp = { .json = true, .first = true };

		printf(",\n  \"pages\": [");
		ady_layout_pages(l, print_page, &pp);
		printf("\n  ]");
	}
	printf("\n}\n");
}

static void print_text(const char *path, const struct inspection *in, bool pages)
{
	const ady_layout *l = in->layout;
	bool debug = (in->cfg.flags & ADY_CONFIG_DEBUG) != 0;
	char h[65];

	printf("image:        %s\n", path);
	ady_hex_encode(in->mrenclave, 32, h);
	printf("mrenclave:    %s\n", h);
	if (in->is_signed) {
		ady_hex_encode(in->ss.enclavehash, 32, h);
		printf("enclavehash:  %s (%s)\n", h,
		       in->hash_ok ? "matches MRENCLAVE" : "DIFFERS from MRENCLAVE");
		ady_hex_encode(in->mrsigner, 32, h);
		printf("mrsigner:     %s\n", h);
		if (in->sig_err)
			printf("signature:    INVALID (%s)\n", ady_strerror(in->sig_err));
		else
			printf("signature:    valid\n");
		printf("date:         %04" PRIx32 "-%02" PRIx32 "-%02" PRIx32 "\n", in->ss.date >> 16,
		       (in->ss.date >> 8) & 0xff, in->ss.date & 0xff);
		printf("attributes:   flags 0x%" PRIx64 " xfrm 0x%" PRIx64 "\n",
		       in->ss.attributes.flags, in->ss.attributes.xfrm);
	} else {
		printf("signed:       no%s\n",
		       in->default_config ? " (measured under the default config; see --config)" : "");
	}
	printf("isvprodid:    %u\n", (unsigned)in->cfg.isvprodid);
	printf("isvsvn:       %u\n", (unsigned)in->cfg.isvsvn);
	printf("debug:        %s\n", debug ? "yes" : "no");
	printf("size:         0x%" PRIx64 " (%" PRIu64 " bytes)\n", l->size, l->size);
	printf("ssaframesize: %" PRIu32 "\n", l->ssaframesize);
	printf("entry:        0x%" PRIx64 "\n", l->entry);
	printf("heap:         %" PRIu64 "\n", in->cfg.heap_size);
	printf("stack:        %" PRIu64 "\n", in->cfg.stack_size);
	printf("threads:      %" PRIu32 "\n", in->cfg.threads);
	printf("msbuf:        %" PRIu64 "\n", in->cfg.msbuf_size);
	if (pages) {
		struct page_printer pp = { .json = false, .first = true };

		printf("pages:\n");
		ady_layout_pages(l, print_page, &pp);
	}
}

struct memory_writer {
	int fd;
	const uint8_t *mem;
	ady_err err;
};

/* Only measured pages have contents: everything else is zero in the
 * initial image, so it is left as a hole of the sparse file. */
static void write_page(void *user, uint64_t offset, uint64_t secinfo, bool extended)
{
	static const uint8_t zero[ADY_PAGE_SIZE];
	struct memory_writer *w = user;

	(void)secinfo;
	if (w->err || !extended || memcmp(w->mem + offset, zero, ADY_PAGE_SIZE) == 0)
		return;
	w->err = ady_fd_write_all(w->fd, w->mem + offset, ADY_PAGE_SIZE, (off_t)offset);
}

static ady_err write_memory(const char *path, const struct inspection *in)
{
	const ady_layout *l = in->layout;
	struct memory_writer w = { .fd = -1, .mem = NULL, .err = ADY_OK };
	uint8_t *mem;
	ady_err err;
	int fd;

	if (l->size == 0 || l->size > SIZE_MAX || l->size > INT64_MAX)
		return ADY_ERR_LAYOUT;
	mem = mmap(NULL, (size_t)l->size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return ADY_ERR_NOMEM;
	err = ady_layout_fill(l, &in->elf, in->file, in->len, mem, l->size);
	if (err)
		goto unmap;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = ADY_ERR_IO;
		goto unmap;
	}
	if (ftruncate(fd, (off_t)l->size) != 0) {
		err = ADY_ERR_IO;
		goto close_fd;
	}
	w.fd = fd;
	w.mem = mem;
	ady_layout_pages(l, write_page, &w);
	err = w.err;

close_fd:
	if (close(fd) != 0 && !err)
		err = ADY_ERR_IO;
unmap:
	munmap(mem, (size_t)l->size);
	return err;
}

static ady_err write_sigstruct(const char *path, const ady_sgx_sigstruct *ss)
{
	ady_err err;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ADY_ERR_IO;
	err = ady_fd_write_all(fd, ss, sizeof(*ss), 0);
	if (close(fd) != 0 && !err)
		err = ADY_ERR_IO;
	return err;
}

static int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pages", no_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "sigstruct", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c = find_command("inspect");
	const char *memory = NULL, *sigstruct = NULL, *confpath = NULL, *path;
	bool json = false, pages = false;
	struct inspection in;
	ady_config override;
	ady_err err;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":jpm:s:c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'p': pages = true; break;
		case 'm': memory = optarg; break;
		case 's': sigstruct = optarg; break;
		case 'c': confpath = optarg; break;
		default: return bad_option(c, ch, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error(c, "%s", "expected one image");
	path = argv[optind];
	if (confpath) {
		rc = load_config("inspect", confpath, &override);
		if (rc)
			return rc;
	}

	err = inspect_image(path, confpath ? &override : NULL, &in);
	if (err) {
		rc = fail("inspect", path, err);
		goto fini;
	}
	if (confpath && in.is_signed) {
		fprintf(stderr, "adyton: inspect %s: signed image: --config applies to unsigned images only\n",
			path);
		rc = EXIT_USAGE;
		goto fini;
	}
	if (sigstruct && !in.is_signed) {
		rc = fail("inspect", path, ADY_ERR_UNSIGNED);
		goto fini;
	}
	if (memory) {
		err = write_memory(memory, &in);
		if (err) {
			rc = fail("inspect", memory, err);
			goto fini;
		}
	}
	if (sigstruct) {
		err = write_sigstruct(sigstruct, &in.ss);
		if (err) {
			rc = fail("inspect", sigstruct, err);
			goto fini;
		}
	}
	if (json)
		print_json(path, &in, pages);
	else
		print_text(path, &in, pages);
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;

fini:
	inspection_fini(&in);
	return rc;
}

/* ---- verify ---- */

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	const struct command *c = find_command("verify");
	const char *path;
	ady_image *img;
	char h[65];
	ady_err err;
	int ch;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		return bad_option(c, ch, argv);
	if (argc - optind != 1)
		return usage_error(c, "%s", "expected one image");
	path = argv[optind];
	/* The same checks, in the same order, as every loader. */
	err = ady_image_open(path, &img);
	if (err)
		return fail("verify", path, err);
	ady_hex_encode(img->mrenclave, 32, h);
	printf("%s: OK\nmrenclave: %s\n", path, h);
	ady_hex_encode(img->mrsigner, 32, h);
	printf("mrsigner:  %s\n", h);
	ady_image_free(img);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---- run, ps (their own files) ---- */

extern const char ady_cmd_run_usage[];
int ady_cmd_run(int argc, char **argv);
extern const char ady_cmd_ps_usage[];
int ady_cmd_ps(int argc, char **argv);
extern const char ady_cmd_verify_quote_usage[];
int ady_cmd_verify_quote(int argc, char **argv);
extern const char ady_cmd_quote_usage[];
int ady_cmd_quote(int argc, char **argv);
extern const char ady_cmd_capacity_usage[];
int ady_cmd_capacity(int argc, char **argv);
#ifdef ADY_HAVE_SQLITE
extern const char ady_cmd_usage_usage[];
int ady_cmd_usage(int argc, char **argv);
#endif

/* ---- help ---- */

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "keygen OUT.pem [--force]",
	  "generate an RSA-3072 (e = 3) signing key, PKCS#8 PEM, mode 0600" },
	{ "sign", cmd_sign, "sign --key KEY.pem --config enclave.conf [--date YYYYMMDD] --out OUT IN",
	  "embed the config and a SIGSTRUCT in an enclave image" },
	{ "inspect", cmd_inspect,
	  "inspect [--json] [--pages] [--memory FILE] [--sigstruct FILE] [--config FILE] IMAGE",
	  "show an image's identity, config and layout (even when it does not verify)" },
	{ "verify", cmd_verify, "verify IMAGE",
	  "check MRENCLAVE against the SIGSTRUCT and the signature; exit 1 if either fails" },
	{ "run", ady_cmd_run, ady_cmd_run_usage,
	  "launch an enclave, call one ECALL with the input bytes, write its output" },
	{ "ps", ady_cmd_ps, ady_cmd_ps_usage, "list the enclaves adytond runs (never starts a daemon)" },
	{ "verify-quote", ady_cmd_verify_quote, ady_cmd_verify_quote_usage,
	  "check an adyton quote against a verifier policy; exit 0 only if accepted" },
	{ "quote", ady_cmd_quote, ady_cmd_quote_usage,
	  "get a quote over given report data from the shipped quote enclave" },
	{ "capacity", ady_cmd_capacity, ady_cmd_capacity_usage,
	  "backends, attestation, enclave memory pool and tenant headroom, for schedulers (NFD)" },
#ifdef ADY_HAVE_SQLITE
	{ "usage", ady_cmd_usage, ady_cmd_usage_usage,
	  "enclave memory MB-hours, enclave hours and CPU seconds from adytond's usage records" },
#endif
	{ "help", cmd_help, "help [COMMAND]", "show this help or a command's usage" },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: adyton COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc > 2)
		return usage_error(find_command("help"), "%s", "expected at most one command");
	if (argc < 2) {
		print_usage(stdout);
		return EXIT_OK;
	}
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "adyton: help: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	printf("usage: adyton %s\n  %s\n", c->usage, c->summary);
	if (c->run == cmd_inspect)
		printf("\n  --json       one JSON object\n"
		       "  --pages      every added page in measurement order\n"
		       "  --memory F   write the initial memory image (SECS.SIZE bytes, sparse)\n"
		       "  --sigstruct F write the raw 1808-byte SIGSTRUCT\n"
		       "  --config F   measure an unsigned image under this config\n");
	if (c->run == ady_cmd_run)
		printf("\n  --backend B  auto (default; $ADYTON_BACKEND overrides auto), sim, process, kvm\n"
		       "  --ecall N    the ECALL index (default 0)\n"
		       "  --in F       input bytes from F, '-' for stdin (default: no input)\n"
		       "  --out F      output bytes to F, written only on success (default: stdout)\n"
		       "  --max-out N  output capacity in bytes (default: the marshalling slot's)\n"
		       "  Enclave log lines go to stderr.  Exit 1 when the launch or the ECALL fails.\n");
	if (c->run == ady_cmd_ps)
		printf("\n  --json       one JSON array (full MRENCLAVE, memory in bytes, uptime in s)\n"
		       "  Prints nothing but 'no adytond running' (exit 0) when no daemon answers.\n");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return EXIT_OK;
	}
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "adyton: unknown command '%s' (see 'adyton help')\n", argv[1]);
		return EXIT_USAGE;
	}
	opterr = 0;
	return c->run(argc - 1, argv + 1);
}
