/*
 * adyton-keyguard: creates native key guard volumes and unlocks volumes
 * served by nbdkit's adyton filter.  The password is read from the
 * terminal (echo off) or from standard input when that is a pipe, never
 * from argv or the environment, into locked memory; it leaves this
 * process only inside an envelope encrypted to the enclave's ephemeral
 * key (keyguard.h) and is wiped right after.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "adyton/cursor.h"
#include "adyton/host.h"
#include "enclave_path.h"
#include "envelope.h"
#include "keyguard.h"
#include "sockio.h"
#include "unlock_attest.h"

#ifndef KG_ENCLAVE_REL
#define KG_ENCLAVE_REL "../lib/adyton" /* from bin/ to the installed enclave */
#endif
#define KG_XTS_KEY_SIZE_BYTES 64u /* plain volumes: key1 || key2 */

/* Secrets live here: one locked page, never swapped, wiped on exit. */
static struct {
	uint8_t pw[KG_SECRET_MAX + 1];
	uint8_t pw2[KG_SECRET_MAX + 1];
	uint8_t key[2 * KG_XTS_KEY_SIZE_BYTES + 2];
} *sec;

static void usage(void)
{
	fprintf(stderr,
		"usage: adyton-keyguard create [--size BYTES[K|M|G|T]] [--sector-size 512|4096]\n"
		"                              [--iterations N] [--header PATH] [--enclave PATH] VOLUME\n"
		"       adyton-keyguard unlock [--raw-key] [--policy FILE | --no-verify] SOCKET\n"
		"The password (or, with --raw-key, 128 hex digits) is read from the terminal\n"
		"without echo, or from standard input when it is not a terminal.  With --policy,\n"
		"unlock first verifies the enclave's quote under that verifier policy (see\n"
		"`adyton verify-quote`) and sends nothing unless it is accepted; without it,\n"
		"the enclave is not verified (a warning says so, unless --no-verify).\n");
}

static void wipe_secrets(void)
{
	if (sec)
		OPENSSL_cleanse(sec, sizeof(*sec));
}

static int secrets_init(void)
{
	void *p = mmap(NULL, sizeof(*sec), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	(void)mlock(p, sizeof(*sec));         /* best effort: RLIMIT_MEMLOCK */
	(void)madvise(p, sizeof(*sec), MADV_DONTDUMP);
	sec = p;
	atexit(wipe_secrets);
	return 0;
}

/*
 * Reads one line (without its newline) into buf (cap bytes, the last kept
 * for the terminator's room), byte by byte with read(2) so no stdio
 * buffer keeps a copy.  Echo is off while reading from a terminal.
 * Returns the length, or -1 (empty, too long, read error).
 */
static ssize_t read_secret(const char *prompt, uint8_t *buf, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	size_t n = 0;
	ssize_t r;
	uint8_t ch;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
			return -1;
	}
	for (;;) {
		r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n + 1 >= cap) {
			n = cap; /* too long: refuse rather than truncate */
			continue;
		}
		buf[n++] = ch;
	}
	ch = 0;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (r < 0 || n == 0 || n >= cap) {
		OPENSSL_cleanse(buf, cap);
		return -1;
	}
	return (ssize_t)n;
}

static const char *status_text(uint32_t st)
{
	switch (st) {
	case KG_ST_OK: return "ok";
	case KG_ST_WRONG_PASSWORD: return "wrong password";
	case KG_ST_SEAL: return "the volume header does not unseal here (another machine, platform or enclave version)";
	case KG_ST_BAD_HEADER: return "malformed volume header";
	case KG_ST_BAD_ENVELOPE: return "the enclave could not open the password envelope";
	case KG_ST_UNSUPPORTED: return "unsupported volume parameters";
	case KG_ST_ALREADY: return "the volume is already unlocked";
	case KG_ST_LOCKED: return "no volume open";
	default: return "unknown status";
	}
}

/*
 * --size: decimal digits with an optional K, M, G or T (powers of 1024).
 * Refuses (with a message naming the option) anything else, zero, and
 * sizes that do not fit a file offset (off_t): no wrap-around.
 */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	unsigned long long v;
	uint64_t r;
	unsigned shift = 0;

	errno = 0;
	if (*s < '0' || *s > '9') /* strtoull takes "-1" and " 1" */
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		goto too_large;
	if (end == s)
		goto bad;
	if (*end && (u = strchr(units, toupper((unsigned char)*end))) != NULL) {
		shift = 10u * (unsigned)(u - units + 1);
		end++;
	}
	if (*end)
		goto bad;
	if (v == 0) {
		fprintf(stderr, "adyton-keyguard: --size %s: the size must not be zero\n", s);
		return -1;
	}
	if (v > (uint64_t)INT64_MAX >> shift)
		goto too_large;
	r = (uint64_t)v << shift;
	*out = r;
	return 0;
too_large:
	fprintf(stderr, "adyton-keyguard: --size %s: too large (at most %lld bytes)\n", s, (long long)INT64_MAX);
	return -1;
bad:
	fprintf(stderr, "adyton-keyguard: --size %s: expected a number of bytes with an optional K, M, G or T\n", s);
	return -1;
}

/* A decimal u32 option: digits only, no sign, no wrap-around. */
static int parse_u32(const char *opt, const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	fprintf(stderr, "adyton-keyguard: %s %s: expected a decimal number up to %u\n", opt, s, UINT32_MAX);
	return -1;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, 's'},   {"sector-size", required_argument, NULL, 'b'},
		{"iterations", required_argument, NULL, 'i'}, {"header", required_argument, NULL, 'H'},
		{"enclave", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0},
	};
	const char *header = NULL, *enclave = NULL;
	char self[PATH_MAX], enclave_dflt[PATH_MAX];
	uint64_t size = 256ull << 20;
	uint32_t sector = 4096, iter = KG_DEFAULT_ITERATIONS;
	char hdr_path[4096];
	uint8_t pub[KG_PUB_SIZE], in[16 + KG_ENV_MAX], out[4 + KG_HDR_MAX];
	size_t n = 0, env_len = 0;
	ady_enclave *e = NULL;
	ssize_t pw_len, pw2_len;
	int c, hfd = -1, vfd = -1, rc = 1;
	ady_cur cur;
	uint32_t st;
	ady_err err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size))
				return 2;
			break;
		case 'b':
			if (parse_u32("--sector-size", optarg, &sector))
				return 2;
			break;
		case 'i':
			if (parse_u32("--iterations", optarg, &iter))
				return 2;
			break;
		case 'H': header = optarg; break;
		case 'e': enclave = optarg; break;
		default: goto bad;
		}
	}
	if (optind + 1 != argc)
		goto bad;
	if ((sector != 512 && sector != 4096) || size % sector || iter < KG_MIN_ITERATIONS) {
		fprintf(stderr, "adyton-keyguard: --sector-size is 512 or 4096, --size a multiple of it, "
				"--iterations >= %u\n", KG_MIN_ITERATIONS);
		return 2;
	}
	if (!enclave) {
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[k < 0 ? 0 : k] = '\0';
		if (kg_enclave_path(self, KG_ENCLAVE_REL, enclave_dflt, sizeof(enclave_dflt))) {
			fprintf(stderr, "adyton-keyguard: path too long; give --enclave PATH\n");
			return 2;
		}
		enclave = enclave_dflt;
	}
	if (!header) {
		snprintf(hdr_path, sizeof(hdr_path), "%s.kgh", argv[optind]);
		header = hdr_path;
	}

	pw_len = read_secret("New password: ", sec->pw, sizeof(sec->pw));
	if (pw_len < 0) {
		fprintf(stderr, "adyton-keyguard: no password (empty or longer than %u bytes)\n", KG_SECRET_MAX);
		return 1;
	}
	if (isatty(STDIN_FILENO)) {
		pw2_len = read_secret("Repeat password: ", sec->pw2, sizeof(sec->pw2));
		if (pw2_len != pw_len || !ady_memeq_ct(sec->pw, sec->pw2, (size_t)pw_len)) {
			fprintf(stderr, "adyton-keyguard: the passwords differ\n");
			return 1;
		}
	}

	err = ady_enclave_open(enclave, NULL, &e);
	if (err) {
		fprintf(stderr, "adyton-keyguard: %s: %s\n", enclave, ady_strerror(err));
		return 1;
	}
	err = ady_ecall(e, KG_E_PUBKEY, NULL, 0, pub, sizeof(pub), &n);
	if (err || n != KG_PUB_SIZE)
		goto ecall_failed;
	for (int i = 0; i < 4; i++) {
		in[i] = (uint8_t)(sector >> (8 * i));
		in[4 + i] = (uint8_t)(iter >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		in[8 + i] = (uint8_t)(size >> (8 * i));
	err = kg_envelope_seal(pub, KG_PURPOSE_PASSWORD, sec->pw, (size_t)pw_len, in + 16, &env_len);
	wipe_secrets();
	if (err)
		goto ecall_failed;
	err = ady_ecall(e, KG_E_CREATE, in, 16 + env_len, out, sizeof(out), &n);
	if (err)
		goto ecall_failed;
	ady_cur_init(&cur, out, n);
	if ((err = ady_cur_u32le(&cur, &st)) != ADY_OK)
		goto ecall_failed;
	if (st != KG_ST_OK) {
		fprintf(stderr, "adyton-keyguard: %s\n", status_text(st));
		goto out;
	}
	hfd = open(header, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (hfd < 0 || write(hfd, out + 4, n - 4) != (ssize_t)(n - 4) || fsync(hfd) != 0) {
		fprintf(stderr, "adyton-keyguard: %s: %s\n", header, strerror(errno));
		goto out;
	}
	vfd = open(argv[optind], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (vfd < 0 || ftruncate(vfd, (off_t)size) != 0) {
		fprintf(stderr, "adyton-keyguard: %s: %s\n", argv[optind], strerror(errno));
		unlink(header);
		goto out;
	}
	printf("created %s (%llu bytes, %u-byte sectors, PBKDF2-HMAC-SHA256 x %u) with header %s\n", argv[optind],
	       (unsigned long long)size, sector, iter, header);
	rc = 0;
	goto out;
ecall_failed:
	fprintf(stderr, "adyton-keyguard: enclave call failed: %s\n", ady_strerror(err ? err : ADY_ERR_PROTOCOL));
out:
	if (hfd >= 0)
		close(hfd);
	if (vfd >= 0)
		close(vfd);
	ady_enclave_close(e);
	return rc;
bad:
	usage();
	return 2;
}

static int cmd_unlock(int argc, char **argv)
{
	static const struct option opts[] = {{"raw-key", no_argument, NULL, 'r'},
					     {"policy", required_argument, NULL, 'p'},
					     {"no-verify", no_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	const char *policy = NULL;
	int no_verify = 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t hello[5 + KG_PUB_SIZE], env[KG_ENV_MAX], lenb[4], reply[8];
	size_t env_len = 0, secret_len;
	int c, fd = -1, raw = 0, rc = 1;
	ady_cur cur;
	ssize_t n;
	uint32_t st, aerr;
	ady_err err;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': raw = 1; break;
		case 'p': policy = optarg; break;
		case 'n': no_verify = 1; break;
		default: goto bad;
		}
	}
	if (optind + 1 != argc || strlen(argv[optind]) >= sizeof(sa.sun_path) || (policy && no_verify))
		goto bad;
	strcpy(sa.sun_path, argv[optind]);

	if (raw) {
		n = read_secret("Volume key (128 hex digits): ", sec->key, sizeof(sec->key));
		if (n != 2 * KG_XTS_KEY_SIZE_BYTES) {
			fprintf(stderr, "adyton-keyguard: the key is 128 hex digits\n");
			return 1;
		}
		if (!ady_hex_decode((const char *)sec->key, (size_t)n, sec->pw, KG_XTS_KEY_SIZE_BYTES)) {
			fprintf(stderr, "adyton-keyguard: the key is 128 hex digits\n");
			return 1;
		}
		secret_len = KG_XTS_KEY_SIZE_BYTES;
	} else {
		n = read_secret("Password: ", sec->pw, sizeof(sec->pw));
		if (n < 0) {
			fprintf(stderr, "adyton-keyguard: no password (empty or longer than %u bytes)\n",
				KG_SECRET_MAX);
			return 1;
		}
		secret_len = (size_t)n;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "adyton-keyguard: %s: %s\n", sa.sun_path, strerror(errno));
		goto out;
	}
	if (kg_full_io(fd, hello, sizeof(hello), 0) || memcmp(hello, KG_SOCK_MAGIC, 4) != 0) {
		fprintf(stderr, "adyton-keyguard: %s does not speak the key guard unlock protocol\n", sa.sun_path);
		goto out;
	}
	if ((hello[4] == KG_TYPE_PLAIN) != raw) {
		fprintf(stderr, "adyton-keyguard: %s\n", raw ? "--raw-key is for plain volumes only"
							       : "this is a plain volume: use --raw-key");
		goto out;
	}
	if (policy) {
		if (kg_unlock_attest(fd, hello + 5, policy) != 0) {
			wipe_secrets();
			rc = 4;
			goto out;
		}
		fprintf(stderr, "adyton-keyguard: enclave verified under %s\n", policy);
	} else if (!no_verify) {
		fprintf(stderr, "adyton-keyguard: warning: the enclave is not verified (give --policy FILE)\n");
	}
	err = kg_envelope_seal(hello + 5, raw ? KG_PURPOSE_RAWKEY : KG_PURPOSE_PASSWORD, sec->pw, secret_len, env,
			       &env_len);
	wipe_secrets();
	if (err) {
		fprintf(stderr, "adyton-keyguard: the enclave key is not a P-256 point: %s\n", ady_strerror(err));
		goto out;
	}
	for (int i = 0; i < 4; i++)
		lenb[i] = (uint8_t)(env_len >> (8 * i));
	if (kg_full_io(fd, lenb, 4, 1) || kg_full_io(fd, env, env_len, 1) || kg_full_io(fd, reply, sizeof(reply), 0)) {
		fprintf(stderr, "adyton-keyguard: the filter closed the connection\n");
		goto out;
	}
	/* the filter's reply: status u32, the call's error u32 */
	ady_cur_init(&cur, reply, sizeof(reply));
	if (ady_cur_u32le(&cur, &st) || ady_cur_u32le(&cur, &aerr)) {
		fprintf(stderr, "adyton-keyguard: a short reply from the filter\n");
		goto out;
	}
	if (aerr) {
		fprintf(stderr, "adyton-keyguard: unlock failed: %s\n", ady_strerror((ady_err)aerr));
		goto out;
	}
	if (st != KG_ST_OK) {
		fprintf(stderr, "adyton-keyguard: %s\n", status_text(st));
		rc = st == KG_ST_WRONG_PASSWORD ? 3 : 1;
		goto out;
	}
	fprintf(stderr, "adyton-keyguard: unlocked\n");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
bad:
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (secrets_init() != 0) {
		perror("adyton-keyguard: mmap");
		return 1;
	}
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "unlock") == 0)
		return cmd_unlock(argc - 1, argv + 1);
	usage();
	return 2;
}
