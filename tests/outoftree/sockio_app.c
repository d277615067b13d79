/* The application side of adyton/sockio.edl from libadyton, out of tree:
 * the enclave writes to one end of a socket pair, this reads the other. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <adyton/host.h>

#include "oot_sockio_u.h"

int main(int argc, char **argv)
{
	ady_enclave_opts opts = {.ocalls = oot_sockio_ocall_table, .nocalls = OOT_SOCKIO_OCALL_COUNT};
	ady_enclave *e;
	char buf[16];
	int sv[2], ret = -1;
	ssize_t n;
	ady_err err;

	if (argc != 2 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	err = ady_enclave_open(argv[1], &opts, &e);
	if (err) {
		fprintf(stderr, "oot-sockio-app: %s\n", ady_strerror(err));
		return 1;
	}
	err = ecall_hello(e, &ret, sv[0]);
	ady_enclave_close(e);
	n = read(sv[1], buf, sizeof(buf));
	if (err || ret != 5 || n != 5) {
		fprintf(stderr, "oot-sockio-app: %s, %d, %zd\n", ady_strerror(err), ret, n);
		return 1;
	}
	printf("%.5s\n", buf);
	return 0;
}
