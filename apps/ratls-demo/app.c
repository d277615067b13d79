/*
 * The RA-TLS demo application: starts the enclave, has it make its
 * attested certificate, and hands it each accepted TCP connection.  The
 * TLS server itself runs inside the enclave; this program only moves
 * bytes (libadyton serves its socket OCALLs, adyton/sockio.h).
 *
 *   ratls-demo [--backend B] [--port N] [--count N] [--cert FILE] [IMAGE]
 *
 * Listens on 127.0.0.1:N (0: any free port; the port is printed as
 * "listening on 127.0.0.1:PORT"), serves N connections (0: forever),
 * writes the certificate (DER) to FILE if asked.  IMAGE defaults to
 * ratls-demo-enclave.signed next to this program.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <adyton/host.h>
#include <adyton/sockio.h>

#ifndef RATLS_ENCLAVE_REL
#define RATLS_ENCLAVE_REL "../lib/adyton"
#endif

#include "ratls_demo_u.h"

/* One connection (ady_sockio_listen). */
static int serve_conn(void *arg, int fd)
{
	int ret = -1;
	ady_err err = ecall_ratls_serve((ady_enclave *)arg, &ret, fd);

	if (err) {
		fprintf(stderr, "ratls-demo: serve: %s\n", ady_strerror(err));
		return -1;
	}
	return ret == 0 ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: ratls-demo [--backend auto|sim|process|kvm] [--port N] [--count N] [--cert FILE] [IMAGE]\n");
	return 2;
}

static int write_cert(ady_enclave *e, const char *path)
{
	static uint8_t der[16384];
	int len = -1;
	FILE *f;

	if (ecall_ratls_cert(e, &len, der, sizeof(der)) != ADY_OK || len <= 0) {
		fprintf(stderr, "ratls-demo: cannot read the certificate\n");
		return -1;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(der, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "ratls-demo: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	ady_enclave_opts opts = {.ocalls = ratls_demo_ocall_table, .nocalls = RATLS_DEMO_OCALL_COUNT};
	const char *path = NULL, *cert_path = NULL;
	char image[PATH_MAX];
	unsigned long port = 0, count = 0;
	ady_enclave *e;
	int ret = -1, status = 1;
	ady_err err;

	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
			if (ady_backend_parse(argv[++i], &opts.backend) != ADY_OK)
				return usage();
		} else if ((strcmp(argv[i], "--port") == 0 || strcmp(argv[i], "--count") == 0) && i + 1 < argc) {
			unsigned long v = strtoul(argv[i + 1], &end, 10);
			if (*end || argv[i + 1][0] == '\0' || (argv[i][2] == 'p' && v > 65535))
				return usage();
			*(argv[i][2] == 'p' ? &port : &count) = v;
			i++;
		} else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc) {
			cert_path = argv[++i];
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			return usage();
		}
	}
	if (!path) {
		/* Next to this program (the build tree), else installed. */
		char self[PATH_MAX], *dir;
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n < 0 ? 0 : n] = '\0';
		dir = dirname(self);
		snprintf(image, sizeof(image), "%s/ratls-demo-enclave.signed", dir);
		if (access(image, R_OK) != 0)
			snprintf(image, sizeof(image), "%s/%s/ratls-demo-enclave.signed", dir, RATLS_ENCLAVE_REL);
		path = image;
	}

	err = ady_enclave_open(path, &opts, &e);
	if (err) {
		fprintf(stderr, "ratls-demo: cannot start enclave %s: %s\n", path, ady_strerror(err));
		return 1;
	}
	err = ecall_ratls_init(e, &ret);
	if (!err && ret == ADY_ERR_PERMISSION) {
		/* The quote needs a PROVISION key, which a daemon gives only to
		 * the signers its policy names: the per-user daemon names none. */
		ady_enclave_info info;
		char signer[65];
		ady_enclave_get_info(e, &info);
		for (int i = 0; i < 32; i++)
			snprintf(signer + 2 * i, 3, "%02x", info.mrsigner[i]);
		fprintf(stderr,
			"ratls-demo: the daemon's policy does not let this enclave get quotes (its signer is not\n"
			"provisioned).  Start a daemon whose policy provisions it and point the demo at it:\n"
			"  printf 'signer = any\\nprovision = %s\\n' > ratls.policy\n"
			"  adytond --socket \"$XDG_RUNTIME_DIR/ratls.sock\" --state-dir ~/.local/state/adyton-ratls \\\n"
			"          --policy ratls.policy &\n"
			"  ADYTON_SOCKET=\"$XDG_RUNTIME_DIR/ratls.sock\" ratls-demo\n"
			"(see apps/ratls-demo/README.md)\n",
			signer);
		goto out;
	}
	if (err || ret != 0) {
		fprintf(stderr, "ratls-demo: no RA-TLS certificate: %s\n",
			ady_strerror(err ? err : (ady_err)ret));
		goto out;
	}
	if (cert_path && write_cert(e, cert_path))
		goto out;

	if (ady_sockio_listen("ratls-demo", (uint16_t)port, count, serve_conn, e) == 0)
		status = 0;
out:
	ady_enclave_close(e);
	return status;
}
