#include <stdio.h>
#include <string.h>

#include <adyton/host.h>

int main(int argc, char **argv)
{
	ady_enclave *e;
	uint8_t in[8] = {40, 0, 0, 0, 2, 0, 0, 0}, out[4];
	size_t n;
	ady_err err;

	if (argc != 2)
		return 2;
	err = ady_enclave_open(argv[1], NULL, &e);
	if (err) {
		fprintf(stderr, "oot-app: %s\n", ady_strerror(err));
		return 1;
	}
	err = ady_ecall(e, 0, in, sizeof(in), out, sizeof(out), &n);
	ady_enclave_close(e);
	if (err || n != 4) {
		fprintf(stderr, "oot-app: ecall: %s\n", ady_strerror(err));
		return 1;
	}
	printf("40 + 2 = %u\n", out[0] | out[1] << 8 | out[2] << 16 | (unsigned)out[3] << 24);
	return 0;
}
