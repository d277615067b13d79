/*
 * sockio.c - the untrusted half of adyton/sockio.edl (adyton/sockio.h):
 * recv and send on the socket the enclave's TLS endpoint names.
 */
#include <errno.h>
#include <sys/socket.h>

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
