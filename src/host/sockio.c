/*
 * sockio.c - the untrusted half of adyton/sockio.edl (adyton/sockio.h):
 * recv and send on the socket the enclave's TLS endpoint names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adyton/sockio.h"

static ady_sockio_tap_fn tap;

/* see adyton/sockio.h */
void ady_sockio_set_tap(ady_sockio_tap_fn fn)
{
	tap = fn;
}

/* see adyton/sockio.h */
long ocall_sockio_recv(int fd, uint8_t *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(fd, buf, cap, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0 && tap)
		tap(buf, (size_t)n);
	return n < 0 ? -1 : (long)n;
}

/* see adyton/sockio.h */
long ocall_sockio_send(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (tap && len)
		tap(buf, len);
	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n <= 0 ? -1 : (long)n;
}

/* see adyton/sockio.h */
int ady_sockio_listen(const char *prog, uint16_t port, unsigned long count, ady_sockio_serve_fn serve,
		      void *arg)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	unsigned long served = 0;
	int ls, one = 1, status = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 8) ||
	    getsockname(ls, (struct sockaddr *)&sa, &salen)) {
		fprintf(stderr, "%s: listen: %s\n", prog, strerror(errno));
		goto out;
	}
	printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
	fflush(stdout);
	while (count == 0 || served < count) {
		int r, fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
			goto out;
		}
		r = serve(arg, fd);
		close(fd);
		served++;
		if (r < 0)
			goto out;
		fprintf(stderr, "%s: connection %lu: %s\n", prog, served, r == 0 ? "served" : "failed");
	}
	status = 0;
out:
	if (ls >= 0)
		close(ls);
	return status;
}
