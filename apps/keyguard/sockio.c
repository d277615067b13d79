/* Whole reads and writes on the unlock socket; see sockio.h. */
#include "sockio.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>

/* see sockio.h */
int kg_full_io(int fd, void *buf, size_t len, int writing)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}
