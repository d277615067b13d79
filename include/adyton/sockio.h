/*
 * sockio.h - the application side of adyton/sockio.edl: the two OCALLs
 * through which an enclave's TLS endpoint reads and writes the
 * application's socket.  libadyton defines them with the signatures
 * adyton-edl declares in NAME_u.h, so the generated OCALL table finds
 * them; nothing to write in the application.
 *
 * fd is the enclave's word: whatever descriptor it names is read or
 * written (the application hands the enclave only the sockets it means
 * it to use).  buf and its size are the generated stub's marshalling
 * buffer.  Both retry on EINTR; send never raises SIGPIPE.
 */
#ifndef ADYTON_SOCKIO_H
#define ADYTON_SOCKIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* recv(fd, buf, cap): bytes read, 0 at end of stream, -1 on error. */
long ocall_sockio_recv(int fd, uint8_t *buf, size_t cap);

/* send(fd, buf, len): bytes sent (> 0) or -1. */
long ocall_sockio_send(int fd, const uint8_t *buf, size_t len);

/* An observer of the bytes that cross (e.g. to record what the host
 * sees): called with each send's whole buffer before it is sent and with
 * each recv's bytes after they arrived.  NULL (the default) for none.
 * Process-wide; set it before the enclave starts using the socket. */
typedef void (*ady_sockio_tap_fn)(const void *bytes, size_t len);
void ady_sockio_set_tap(ady_sockio_tap_fn tap);

/* One accepted connection: 0 served, 1 failed (the loop goes on), -1 stop
 * (the callee has said why).  The fd is closed after it returns. */
typedef int (*ady_sockio_serve_fn)(void *arg, int fd);

/*
 * The host side of a loopback TLS server: listens on 127.0.0.1:port (0:
 * any free port), prints "listening on 127.0.0.1:PORT" to stdout, then
 * accepts count connections (0: forever) one at a time, hands each to
 * serve(arg, fd) and logs "PROG: connection N: served|failed" to stderr.
 * 0 once count connections were served; -1 when serve says stop or
 * listen/accept fail (then "PROG: listen|accept: REASON" on stderr).
 */
int ady_sockio_listen(const char *prog, uint16_t port, unsigned long count, ady_sockio_serve_fn serve,
		      void *arg);

#ifdef __cplusplus
}
#endif
#endif
