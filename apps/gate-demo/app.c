/*
 * The gate demo application (README.md): starts the enclave and carries
 * what the gate and the enclave say to each other (the nonce in, the
 * quote and public key out, the certificate in), then hands the enclave a
 * connected socket per HTTPS GET.  The TLS client runs inside the
 * enclave; this program only moves bytes (adyton/sockio.h) and
 * never holds the private key.
 *
 *   gate-demo --connect HOST:PORT --server-ca FILE [--server-name NAME]
 *             [--backend B] [--record FILE] [IMAGE]
 *
 * Commands, one per line on standard input, each answered by one line
 * "ok ..." or "error ..." on standard output:
 *   key NONCE QUOTE_FILE PUBKEY_FILE   a key pair and quote for the gate's
 *                                      challenge (hex); writes the quote and
 *                                      the public key (PEM) for `adyton-gate issue`
 *   cert FILE                          the certificate the gate issued (PEM)
 *   server-ca FILE                     pin another server CA (PEM) from now on
 *   server-name NAME                   expect another name in the server's certificate
 *   get [PATH [FILE]]                  one GET (default /); the response to
 *                                      FILE, or to standard output before the line
 *   quit
 * IMAGE defaults to gate-demo-enclave.signed next to this program.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <adyton/cursor.h>
#include <adyton/host.h>
#include <adyton/sockio.h>

#ifndef GATE_DEMO_ENCLAVE_REL
#define GATE_DEMO_ENCLAVE_REL "../lib/adyton"
#endif

/* The test build (tests/gate.cmake) uses the test enclave's interface,
 * which is this one plus an ECALL that exports the key for ground truth. */
#ifdef GATE_DEMO_TEST
#include "gate_demo_test_u.h"
#define OCALL_TABLE gate_demo_test_ocall_table
#define OCALL_COUNT GATE_DEMO_TEST_OCALL_COUNT
#define IMAGE_NAME "gate_demo_test_enc.signed"
#else
#include "gate_demo_u.h"
#define OCALL_TABLE gate_demo_ocall_table
#define OCALL_COUNT GATE_DEMO_OCALL_COUNT
#define IMAGE_NAME "gate-demo-enclave.signed"
#endif

#define QUOTE_CAP 8192u
#define RESP_CAP 32768u

/* --record: every byte this program handed to or got from the enclave,
 * in order (what the host sees). */
static FILE *rec;

static void record(const void *p, size_t n)
{
	if (rec && n)
		fwrite(p, 1, n, rec);
}

static int usage(void)
{
	fprintf(stderr, "usage: gate-demo --connect HOST:PORT --server-ca FILE [--server-name NAME]\n"
			"                 [--backend auto|sim|process|kvm] [--record FILE] [IMAGE]\n"
			"       then commands on standard input: key NONCE QUOTE PUBKEY | cert FILE | server-ca FILE |\n"
			"       server-name NAME | get [PATH [FILE]] | quit\n");
	return 2;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok;
}

/* The point as a SubjectPublicKeyInfo PEM, which `adyton-gate issue
 * --pubkey` reads. */
static int write_pub(const char *path, const uint8_t pub[65])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	OSSL_PARAM pp[3];
	FILE *f = NULL;
	int ok;

	pp[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	pp[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 65);
	pp[2] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, pp) == 1 &&
	     (f = fopen(path, "w")) != NULL && PEM_write_PUBKEY(f, k) == 1;
	if (f && fclose(f) != 0)
		ok = 0;
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* The first certificate of a PEM file as DER (*der: OPENSSL_free). */
static int load_cert_der(const char *path, unsigned char **der, int *len)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	*der = NULL;
	*len = x ? i2d_X509(x, der) : -1;
	X509_free(x);
	return *len > 0;
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

typedef struct demo {
	ady_enclave *e;
	char host[256], port[16];
	char server_name[256];
} demo;

static void cmd_key(demo *d, char *nonce_hex, char *quote_path, char *pub_path)
{
	static uint8_t quote[QUOTE_CAP];
	uint8_t nonce[32], pub[65];
	int ret = 0;
	ady_err err;

	if (!nonce_hex || !quote_path || !pub_path || strlen(nonce_hex) != 64 || !ady_hex_decode(nonce_hex, 64, nonce, 32)) {
		printf("error key: usage: key NONCE(64 hex digits) QUOTE_FILE PUBKEY_FILE\n");
		return;
	}
	record(nonce, sizeof(nonce));
	err = ecall_keyquote(d->e, &ret, nonce, pub, quote, sizeof(quote));
	if (err || ret <= 0) {
		printf("error key: %s\n", ady_strerror(err ? err : (ady_err)-ret));
		return;
	}
	record(pub, sizeof(pub));
	record(quote, (size_t)ret);
	if (!write_file(quote_path, quote, (size_t)ret) || !write_pub(pub_path, pub)) {
		printf("error key: cannot write %s / %s\n", quote_path, pub_path);
		return;
	}
	printf("ok key quote=%d bytes\n", ret);
}

static void cmd_cert(demo *d, const char *path)
{
	unsigned char *der = NULL;
	int len, ret = -1;
	ady_err err;

	if (!path) {
		printf("error cert: usage: cert FILE\n");
		return;
	}
	if (!load_cert_der(path, &der, &len)) {
		printf("error cert: %s: no PEM certificate\n", path);
		return;
	}
	record(der, (size_t)len);
	err = ecall_set_cert(d->e, &ret, der, (size_t)len);
	OPENSSL_free(der);
	if (err)
		printf("error cert: %s\n", ady_strerror(err));
	else if (ret != 0)
		printf("error cert: the enclave refused it (%s)\n",
		       ret < 0 ? "not for its key, or no key yet" : "BearSSL X.509 error");
	else
		printf("ok cert\n");
}

/* The server CA, the enclave's one trust anchor (PEM). */
static int set_server_ca(demo *d, const char *path, const char **why)
{
	unsigned char *der = NULL;
	int len, ret = -1;
	ady_err err;

	if (!load_cert_der(path, &der, &len)) {
		*why = "no PEM certificate";
		return 0;
	}
	record(der, (size_t)len);
	err = ecall_set_server_ca(d->e, &ret, der, (size_t)len);
	OPENSSL_free(der);
	*why = err ? ady_strerror(err) : "the enclave refused it (not a CA, or an unsupported key)";
	return !err && ret == 0;
}

static void cmd_get(demo *d, const char *path, const char *out)
{
	static uint8_t resp[RESP_CAP];
	size_t len = 0;
	int fd, ret = -1;
	ady_err err;

	if (!path)
		path = "/";
	fd = connect_to(d->host, d->port);
	if (fd < 0) {
		printf("error get: connect %s:%s: %s\n", d->host, d->port, strerror(errno));
		return;
	}
	record(path, strlen(path));
	err = ecall_https_get(d->e, &ret, fd, d->server_name, path, (uint64_t)time(NULL), resp, sizeof(resp), &len);
	close(fd);
	if (err) {
		printf("error get: %s\n", ady_strerror(err));
		return;
	}
	if (ret < 0) {
		printf("error get: the enclave has no key, certificate or server CA yet, or the path is bad\n");
		return;
	}
	record(resp, len);
	if (out) {
		if (!write_file(out, resp, len)) {
			printf("error get: cannot write %s\n", out);
			return;
		}
	} else {
		fwrite(resp, 1, len, stdout);
		putchar('\n');
	}
	/* tls: 0 = closed with close_notify; else BearSSL's error code
	 * (bearssl_ssl.h: 31 BR_ERR_IO, 62 BR_ERR_X509_NOT_TRUSTED, ...). */
	printf("ok get bytes=%zu tls=%d\n", len, ret);
}

static int image_path(char *buf, size_t cap)
{
	char self[PATH_MAX], *dir;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n < 0 ? 0 : n] = '\0';
	dir = dirname(self);
	snprintf(buf, cap, "%s/%s", dir, IMAGE_NAME);
	if (access(buf, R_OK) != 0)
		snprintf(buf, cap, "%s/%s/%s", dir, GATE_DEMO_ENCLAVE_REL, IMAGE_NAME);
	return 0;
}

int main(int argc, char **argv)
{
	ady_enclave_opts opts = {.ocalls = OCALL_TABLE, .nocalls = OCALL_COUNT};
	const char *path = NULL, *connect_arg = NULL, *ca_path = NULL, *rec_path = NULL;
	char image[PATH_MAX], line[4096];
	demo d = {0};
	const char *why = NULL;
	int status = 1;
	ady_err err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
			if (ady_backend_parse(argv[++i], &opts.backend) != ADY_OK)
				return usage();
		} else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
			connect_arg = argv[++i];
		} else if (strcmp(argv[i], "--server-ca") == 0 && i + 1 < argc) {
			ca_path = argv[++i];
		} else if (strcmp(argv[i], "--server-name") == 0 && i + 1 < argc) {
			if (strlen(argv[++i]) >= sizeof(d.server_name))
				return usage();
			strcpy(d.server_name, argv[i]);
		} else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
			rec_path = argv[++i];
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			return usage();
		}
	}
	if (!connect_arg || !ca_path)
		return usage();
	{
		const char *colon = strrchr(connect_arg, ':');
		size_t hl = colon ? (size_t)(colon - connect_arg) : 0;
		if (!colon || hl == 0 || hl >= sizeof(d.host) || !colon[1] || strlen(colon + 1) >= sizeof(d.port))
			return usage();
		memcpy(d.host, connect_arg, hl);
		strcpy(d.port, colon + 1);
	}
	if (!d.server_name[0])
		strcpy(d.server_name, d.host);
	if (!path) {
		image_path(image, sizeof(image));
		path = image;
	}
	if (rec_path && !(rec = fopen(rec_path, "wb"))) {
		fprintf(stderr, "gate-demo: --record %s: %s\n", rec_path, strerror(errno));
		return 1;
	}
	/* The TLS records the enclave moves through libadyton's socket OCALLs. */
	if (rec)
		ady_sockio_set_tap(record);

	err = ady_enclave_open(path, &opts, &d.e);
	if (err) {
		fprintf(stderr, "gate-demo: cannot start enclave %s: %s\n", path, ady_strerror(err));
		goto out;
	}
	if (!set_server_ca(&d, ca_path, &why)) {
		fprintf(stderr, "gate-demo: --server-ca %s: %s\n", ca_path, why);
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
		char *a1 = cmd ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		char *a2 = a1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		char *a3 = a2 ? strtok_r(NULL, " \t\r\n", &save) : NULL;

		if (!cmd)
			continue;
		if (!strcmp(cmd, "quit"))
			break;
		if (!strcmp(cmd, "key"))
			cmd_key(&d, a1, a2, a3);
		else if (!strcmp(cmd, "cert"))
			cmd_cert(&d, a1);
		else if (!strcmp(cmd, "server-ca")) {
			if (!a1)
				printf("error server-ca: usage: server-ca FILE\n");
			else if (set_server_ca(&d, a1, &why))
				printf("ok server-ca\n");
			else
				printf("error server-ca: %s: %s\n", a1, why);
		} else if (!strcmp(cmd, "server-name")) {
			if (!a1 || strlen(a1) >= sizeof(d.server_name)) {
				printf("error server-name: usage: server-name NAME\n");
			} else {
				strcpy(d.server_name, a1);
				printf("ok server-name\n");
			}
		} else if (!strcmp(cmd, "get"))
			cmd_get(&d, a1, a2);
#ifdef GATE_DEMO_TEST
		else if (!strcmp(cmd, "export-key")) {
			/* Ground truth for the test's memory scan, asked for only
			 * after the scan: the test enclave's extra ECALL. */
			uint8_t k[32];
			int r = -1;
			char hex[65];
			if (a1 && ecall_test_export_key(d.e, &r, k) == ADY_OK && r == 0) {
				ady_hex_encode(k, 32, hex);
				printf(write_file(a1, hex, 64) ? "ok export-key\n" : "error export-key: write\n");
			} else {
				printf("error export-key\n");
			}
		}
#endif
		else
			printf("error %s: unknown command\n", cmd);
		fflush(stdout);
		if (rec)
			fflush(rec);
	}
	status = 0;
out:
	if (rec)
		fclose(rec);
	ady_enclave_close(d.e);
	return status;
}
