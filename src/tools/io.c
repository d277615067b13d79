/* see io.h */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "io.h"

/* see io.h */
ady_err ady_tool_write_all(int fd, const void *data, size_t len, off_t off)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ADY_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return ADY_OK;
}
