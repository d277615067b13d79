/*
 * sockio_enclave.h - BearSSL's low-level I/O over the application's
 * socket, inside an enclave whose EDL imports adyton/sockio.edl (the two
 * OCALLs; the application serves them with libadyton, adyton/sockio.h).
 * In libadyton-trts.
 *
 * The application's answers are its word: a count above what was asked
 * is refused as an error, since the generated code does not check return
 * values (docs/edl.md).  Each OCALL moves at most 16 KiB, well inside the
 * marshalling slot; BearSSL asks again for the rest.
 */
#ifndef ADYTON_SOCKIO_ENCLAVE_H
#define ADYTON_SOCKIO_ENCLAVE_H

#include <bearssl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* br_sslio_init(io, eng, ady_sockio_read, fd, ady_sockio_write, fd):
 * *fd (an int, the application's descriptor) must outlive io. */
void ady_sockio_init(br_sslio_context *io, br_ssl_engine_context *eng, int *fd);

/* BearSSL's low_read / low_write; ctx points to the descriptor (int).
 * Bytes moved (> 0), or -1: the OCALL failed, the stream ended, or the
 * application answered an impossible count. */
int ady_sockio_read(void *ctx, unsigned char *buf, size_t len);
int ady_sockio_write(void *ctx, const unsigned char *buf, size_t len);

/* Ends the connection: close_notify and whatever records are pending go
 * out (a bounded number of writes through io's low_write), and it stops.
 * Unlike br_sslio_close it neither waits for the peer's close_notify nor
 * reads what the peer still sends: br_sslio_close spins when the peer
 * left unread application data, and a peer that broke the protocol or
 * went away must not keep the enclave.  Application data written with
 * br_sslio_write goes out first (the engine flushes it before the
 * alert).  br_ssl_engine_last_error(io->engine) tells what happened. */
void ady_sockio_close(br_sslio_context *io);

#ifdef __cplusplus
}
#endif
#endif
