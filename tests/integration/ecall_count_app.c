/*
 * An application that makes a known number of ECALLs and exits, for
 * metrics_test.py's counting checks (issue 15): it opens the test enclave
 * (tests/enclaves/testenc.h) on BACKEND and serves lines of stdin:
 *
 *   e N   N ECALLs of T_ECHO (no exit)
 *   o N   N ECALLs of T_OCALL_ECHO (one OCALL exit each)
 *   l N   N ECALLs of T_LOG (one log exit each)
 *   p N   N ECALLs of T_PLAT_IO with EREPORT (one platform exit each)
 *
 * answering "ok" after each (or "FAIL ..." and exit 1); at end of input it
 * closes the enclave and exits 0.
 *
 * usage: ecall_count_app IMAGE process|kvm
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "adyton/host.h"
#include "adyton/msbuf.h"
#include "testenc.h"

static ady_err o_echo(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)ctx;
	if (in_len > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	memcpy(out, in, in_len);
	*out_len = in_len;
	return ADY_OK;
}

static ady_err o_nested(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)ctx, (void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	return ADY_ERR_INVALID_ARG;
}

static void quiet(void *ctx, const char *line, size_t len) { (void)ctx, (void)line, (void)len; }

int main(int argc, char **argv)
{
	static const ady_ocall_fn ocalls[T_O_COUNT] = {o_echo, o_nested};
	ady_enclave_opts opts = {.ocalls = ocalls, .nocalls = T_O_COUNT, .log = quiet};
	uint8_t in[8], out[64];
	char line[64], op;
	unsigned long n;
	ady_enclave *e;
	ady_err err;

	if (argc != 3 || ady_backend_parse(argv[2], &opts.backend) != ADY_OK) {
		fprintf(stderr, "usage: ecall_count_app IMAGE process|kvm\n");
		return 2;
	}
	err = ady_enclave_open(argv[1], &opts, &e);
	if (err) {
		printf("FAIL open: %s\n", ady_strerror(err));
		return 1;
	}
	printf("ok\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%c %lu", &op, &n) != 2) {
			printf("FAIL bad line\n");
			return 1;
		}
		for (unsigned long i = 0; i < n; i++) {
			size_t out_len = 0, in_len = 1;
			uint32_t index;

			memset(in, 0, sizeof(in));
			in[0] = 'x';
			switch (op) {
			case 'e': index = T_ECHO; break;
			case 'o': index = T_OCALL_ECHO; break;
			case 'l': index = T_LOG; in_len = 0; break;
			case 'p':
				index = T_PLAT_IO;
				in[0] = (uint8_t)ADY_EXIT_REPORT; /* u32 LE op, then u32 LE place T_IO_HEAP = 0 */
				in_len = 8;
				break;
			default:
				printf("FAIL unknown op %c\n", op);
				return 1;
			}
			err = ady_ecall(e, index, in, in_len, out, sizeof(out), &out_len);
			if (err) {
				printf("FAIL ecall %c #%lu: %s\n", op, i, ady_strerror(err));
				return 1;
			}
		}
		printf("ok\n");
		fflush(stdout);
	}
	ady_enclave_close(e);
	return 0;
}
