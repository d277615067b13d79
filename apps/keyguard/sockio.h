/* apps/keyguard/sockio.h - whole reads and writes on the unlock socket
 * (filter and adyton-keyguard). */
#ifndef KG_SOCKIO_H
#define KG_SOCKIO_H

#include <stddef.h>

/* Sends (writing) or receives exactly len bytes on the stream socket fd,
 * retrying after EINTR; never raises SIGPIPE.  0, or -1 when the peer
 * closed, a timeout expired or the socket failed. */
int kg_full_io(int fd, void *buf, size_t len, int writing);

#endif
