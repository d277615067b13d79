/*
 * adyton run: launch an enclave, make one ECALL with bytes from a file or
 * stdin, write its output bytes.  For scripts: the output is the ECALL's
 * output and nothing else; diagnostics and the enclave's log lines go to
 * stderr.
 *
 * The enclave is launched before the input is opened and read: its
 * marshalling slot bounds the input, and a script can keep an enclave
 * alive (visible in `adyton ps`) by holding the input open.
 *
 * --config-from BROKER#NAME: the enclave's argv, environment and files
 * come from the key broker only (docs/kbs-config.md): its EDL is
 * apps/kbs/adyton_kbs_run.edl, the one ECALL made is kbs_run_main with
 * NAME and nothing else, and the enclave fetches the configuration
 * itself through the kbs OCALLs, which this tool relays to BROKER (a UNIX socket path or kbs+tls://HOST:PORT, with
 * --ca or $ADYTON_KBS_CA for TLS).  The plaintext exists only inside
 * the enclave.
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
#include <unistd.h>

#include "adyton/error.h"
#include "adyton/host.h"
#include "adyton/proto.h"
#include "adyton/msbuf.h"
#include "adyton/file.h"
#include "adyton/kbs_relay.h"

#include "adyton_kbs_run_u.h"

/* Shared with adyton.c's command table (no header of its own: two symbols). */
extern const char ady_cmd_run_usage[];
int ady_cmd_run(int argc, char **argv);

const char ady_cmd_run_usage[] =
	"run [--backend auto|sim|process] [--ecall N] [--in FILE|-] [--out FILE|-] [--max-out BYTES]\n"
	"           [--config-from BROKER#NAME [--ca FILE]] IMAGE";

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adyton: run: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: adyton %s\n", ady_cmd_run_usage);
	return EXIT_USAGE;
}

/* "adyton: run WHAT: reason"; for I/O errors errno says more. */
static int fail(const char *what, ady_err err)
{
	int e = errno;

	if (err == ADY_ERR_IO && e != 0)
		fprintf(stderr, "adyton: run %s: %s: %s\n", what, ady_strerror(err), strerror(e));
	else
		fprintf(stderr, "adyton: run %s: %s\n", what, ady_strerror(err));
	return EXIT_FAIL;
}

/* A decimal number in [0, max]; no sign, no suffix, no trailing bytes. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * Reads all of fd into *buf (malloc'ed, at least one byte so that it is
 * never NULL).  More than cap bytes: ADY_ERR_TOO_LARGE, detected by
 * reading one byte past cap rather than trusting st_size (pipes, FIFOs).
 */
static ady_err read_bounded(int fd, size_t cap, uint8_t **buf, size_t *len)
{
	uint8_t *p = malloc(cap + 1);
	size_t n = 0;

	*buf = NULL;
	*len = 0;
	if (!p)
		return ADY_ERR_NOMEM;
	while (n <= cap) {
		ssize_t r = read(fd, p + n, cap + 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(p);
			return ADY_ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > cap) {
		free(p);
		return ADY_ERR_TOO_LARGE;
	}
	*buf = p;
	*len = n;
	return ADY_OK;
}

/* Reads the input; failures are reported here. */
static int read_input(const char *in_path, const char *image, size_t cap, uint8_t **in, size_t *in_len)
{
	bool std = strcmp(in_path, "-") == 0;
	int fd = std ? STDIN_FILENO : open(in_path, O_RDONLY | O_CLOEXEC);
	ady_err err;

	if (fd < 0)
		return fail(in_path, ADY_ERR_IO);
	err = read_bounded(fd, cap, in, in_len);
	if (!std) {
		int e = errno;
		close(fd);
		errno = e;
	}
	if (err == ADY_ERR_TOO_LARGE) {
		fprintf(stderr, "adyton: run %s: %s (input over %zu bytes)\n", image, ady_strerror(err), cap);
		return EXIT_FAIL;
	}
	if (err)
		return fail(std ? "stdin" : in_path, err);
	return EXIT_OK;
}

/* Output is written only after the ECALL succeeded: a failed run leaves an
 * existing --out file alone. */
static int write_output(const char *out_path, const uint8_t *out, size_t out_len)
{
	bool std = !out_path || strcmp(out_path, "-") == 0;
	int fd = std ? STDOUT_FILENO : open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ady_err err;

	if (fd < 0)
		return fail(out_path, ADY_ERR_IO);
	err = ady_fd_write_all(fd, out, out_len, -1);
	if (!std && close(fd) != 0 && !err)
		err = ADY_ERR_IO;
	if (err)
		return fail(std ? "stdout" : out_path, err);
	return EXIT_OK;
}

/* see ady_cmd_run_usage */
int ady_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "ecall", required_argument, NULL, 'e' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "max-out", required_argument, NULL, 'm' },
		{ "config-from", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *in_path = NULL, *out_path = NULL, *image, *config_from = NULL, *ca = NULL, *cfg_name = NULL;
	char broker[1024];
	static char refusal[ADY_PROTO_MAX_REASON + 1];
	ady_enclave_opts eopts = { .backend = ADY_BACKEND_AUTO, .refusal = refusal, .refusal_cap = sizeof(refusal) };
	uint64_t index = 0, max_out = 0;
	bool have_max_out = false;
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0, data;
	ady_enclave_info info;
	ady_enclave *e;
	ady_err err;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":b:e:i:o:m:", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			/* kvm parses too: whether it can run is ady_enclave_open's
			 * ADY_ERR_BACKEND, like any backend this machine lacks */
			if (ady_backend_parse(optarg, &eopts.backend) != ADY_OK)
				return usage_error("unknown backend '%s' (auto, sim, process or kvm)", optarg);
			break;
		case 'e':
			if (!parse_u64(optarg, UINT32_MAX, &index))
				return usage_error("--ecall %s is not an ECALL index", optarg);
			break;
		case 'i': in_path = optarg; break;
		case 'o': out_path = optarg; break;
		case 'm':
			if (!parse_u64(optarg, SIZE_MAX - 1, &max_out))
				return usage_error("--max-out %s is not a byte count", optarg);
			have_max_out = true;
			break;
		case 'c': config_from = optarg; break;
		case 'a': ca = optarg; break;
		case ':': return usage_error("option %s needs an argument", argv[optind - 1]);
		default: return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (config_from && argc - optind > 1)
		return usage_error("%s", "with --config-from the enclave's arguments come from the broker only");
	if (argc - optind != 1)
		return usage_error("%s", "expected one image");
	image = argv[optind];
	if (config_from) {
		const char *hash = strrchr(config_from, '#');
		if (in_path || index)
			return usage_error("%s", "--config-from calls the enclave's kbs_run_main with nothing but NAME "
					   "(no --in, no --ecall)");
		if (!hash || hash == config_from || !hash[1] || (size_t)(hash - config_from) >= sizeof(broker))
			return usage_error("--config-from %s is not BROKER#NAME", config_from);
		memcpy(broker, config_from, (size_t)(hash - config_from));
		broker[hash - config_from] = '\0';
		cfg_name = hash + 1;
		if (ady_kbs_relay_set_socket(broker) || (ca && ady_kbs_relay_set_ca(ca)))
			return fail(image, ADY_ERR_NOMEM);
		eopts.ocalls = adyton_kbs_run_ocall_table;
		eopts.nocalls = ADYTON_KBS_RUN_OCALL_COUNT;
	} else if (ca) {
		return usage_error("%s", "--ca goes with --config-from");
	}

	err = ady_enclave_open(image, &eopts, &e);
	if (err && refusal[0]) {
		/* adytond's words: which limit, the request, what is free */
		fprintf(stderr, "adyton: run %s: %s: %s\n", image, ady_strerror(err), refusal);
		return EXIT_FAIL;
	}
	if (err == ADY_ERR_BACKEND) {
		const char *why = NULL;
		if (!ady_backend_available(eopts.backend, &why) && why)
			fprintf(stderr, "adyton: run %s: %s\n", image, why);
	}
	if (err)
		return fail(image, err);
	ady_enclave_get_info(e, &info);
	data = (size_t)(info.msbuf_size - ADY_MSBUF_HEADER);
	if (in_path) {
		rc = read_input(in_path, image, data, &in, &in_len);
		if (rc)
			goto close_enclave;
	}
	/* Default: all the slot can carry back.  Larger is the library's
	 * ADY_ERR_TOO_LARGE, not a usage error: the limit is the image's. */
	if (!have_max_out)
		max_out = cfg_name ? data / 2 : data; /* kbs_run_main's marshalling takes its share */
	if (max_out) {
		out = malloc((size_t)max_out);
		if (!out) {
			rc = fail(image, ADY_ERR_NOMEM);
			goto free_in;
		}
	}
	if (cfg_name) {
		int ret = 0;
		err = kbs_run_main(e, &ret, cfg_name, out, (size_t)max_out, &out_len);
		if (!err && ret)
			err = ret > 0 && ret < ADY_ERR_MAX_ ? (ady_err)ret : ADY_ERR_PROTOCOL;
	} else {
		err = ady_ecall(e, (uint32_t)index, in, in_len, out, (size_t)max_out, &out_len);
	}
	if (err) {
		const char *why = ady_enclave_abort_reason(e);

		rc = fail(image, err);
		if (why)
			fprintf(stderr, "adyton: run %s: enclave aborted: %s\n", image, why);
		if (cfg_name && ady_kbs_relay_last_reason()[0])
			fprintf(stderr, "adyton: run %s: broker: %s\n", image, ady_kbs_relay_last_reason());
		goto free_out;
	}
	rc = write_output(out_path, out, out_len);

free_out:
	free(out);
free_in:
	free(in);
close_enclave:
	ady_enclave_close(e);
	return rc;
}
