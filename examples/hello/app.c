/*
 * The hello application: starts the hello enclave, calls into it, serves
 * its print OCALL.
 *
 *   hello [--backend auto|sim|process|kvm] [IMAGE]
 *
 * IMAGE defaults to hello-enclave.signed next to this program.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <adyton/host.h>

#include "hello_u.h"

/* The OCALL, with the signature hello.edl declares. */
void ocall_print(const char *text)
{
	printf("  [ocall print] %s\n", text ? text : "");
}

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
	ady_enclave_opts opts = {.ocalls = hello_ocall_table, .nocalls = HELLO_OCALL_COUNT};
	char image[PATH_MAX];
	const char *path = NULL;
	ady_enclave *e;
	ady_enclave_info info;
	char greeting[256];
	uint8_t digest[32];
	int len = -1;
	ady_err err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
			if (ady_backend_parse(argv[++i], &opts.backend) != ADY_OK) {
				fprintf(stderr, "hello: unknown backend %s\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			fprintf(stderr, "usage: hello [--backend auto|sim|process|kvm] [IMAGE]\n");
			return 2;
		}
	}
	if (!path) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			n = 0;
		self[n] = '\0';
		snprintf(image, sizeof(image), "%s/hello-enclave.signed", dirname(self));
		path = image;
	}

	err = ady_enclave_open(path, &opts, &e);
	if (err) {
		const char *why = NULL;
		if (err == ADY_ERR_BACKEND && !ady_backend_available(opts.backend, &why) && why)
			fprintf(stderr, "hello: %s\n", why);
		fprintf(stderr, "hello: cannot start enclave %s: %s\n", path, ady_strerror(err));
		return 1;
	}
	ady_enclave_get_info(e, &info);
	printf("enclave %s on the %s backend\n  MRENCLAVE ", path, ady_backend_name(info.backend));
	hex(info.mrenclave, 32);
	printf("\n  MRSIGNER  ");
	hex(info.mrsigner, 32);
	printf("\n  ISVPRODID %u ISVSVN %u%s\n", info.isvprodid, info.isvsvn,
	       info.backend == ADY_BACKEND_SIM ? " (sim: DEBUG, not isolated)" : "");

	/* The generated stubs: ady_err NAME(enclave, &retval, declared arguments). */
	err = ecall_greet(e, &len, "world", greeting, sizeof(greeting));
	if (err || len < 0 || (size_t)len >= sizeof(greeting)) {
		fprintf(stderr, "hello: greet: %s\n", err ? ady_strerror(err) : "refused");
		goto fail;
	}
	printf("ecall greet -> \"%.*s\"\n", len, greeting);

	err = ecall_sha256(e, (const uint8_t *)"abc", 3, digest);
	if (err) {
		fprintf(stderr, "hello: sha256: %s\n", ady_strerror(err));
		goto fail;
	}
	printf("ecall sha256(\"abc\") -> ");
	hex(digest, sizeof(digest));
	printf("\n");

	ady_enclave_close(e);
	return 0;
fail:
	ady_enclave_close(e);
	return 1;
}
