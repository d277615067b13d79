/*
 * sockio.c - BearSSL's low-level I/O through adyton/sockio.edl's OCALLs
 * (adyton/sockio_enclave.h).  The OCALL stubs are the enclave's own
 * (generated from its EDL, which imports sockio.edl); this file is linked
 * only into enclaves that call it.
 */
#include <adyton/enclave.h>
#include <adyton/sockio_enclave.h>

/* As adyton-edl declares them in NAME_t.h. */
ady_err ocall_sockio_recv(long *ady_retval, int fd, uint8_t *buf, size_t cap);
ady_err ocall_sockio_send(long *ady_retval, int fd, const uint8_t *buf, size_t len);

/* One OCALL moves at most this much: well inside the marshalling slot. */
#define IO_CHUNK 16384u

/* Writes the engine may need to get close_notify and the records before it
 * out: each moves up to IO_CHUNK, the engine's output is one record. */
#define CLOSE_WRITES 16

/* see adyton/sockio_enclave.h */
int ady_sockio_read(void *ctx, unsigned char *buf, size_t len)
{
	long got = -1;

	if (len > IO_CHUNK)
		len = IO_CHUNK;
	if (ocall_sockio_recv(&got, *(const int *)ctx, buf, len) != ADY_OK || got <= 0 || (unsigned long)got > len)
		return -1;
	return (int)got;
}

/* see adyton/sockio_enclave.h */
int ady_sockio_write(void *ctx, const unsigned char *buf, size_t len)
{
	long put = -1;

	if (len > IO_CHUNK)
		len = IO_CHUNK;
	if (ocall_sockio_send(&put, *(const int *)ctx, buf, len) != ADY_OK || put <= 0 || (unsigned long)put > len)
		return -1;
	return (int)put;
}

/* see adyton/sockio_enclave.h */
void ady_sockio_init(br_sslio_context *io, br_ssl_engine_context *eng, int *fd)
{
	br_sslio_init(io, eng, ady_sockio_read, fd, ady_sockio_write, fd);
}

/* see adyton/sockio_enclave.h */
void ady_sockio_close(br_sslio_context *io)
{
	br_ssl_engine_close(io->engine);
	for (int i = 0; i < CLOSE_WRITES; i++) {
		unsigned char *buf;
		size_t len;
		int w;

		if (!(br_ssl_engine_current_state(io->engine) & BR_SSL_SENDREC))
			break;
		buf = br_ssl_engine_sendrec_buf(io->engine, &len);
		w = io->low_write(io->write_context, buf, len);
		if (w < 0)
			break;
		br_ssl_engine_sendrec_ack(io->engine, (size_t)w);
	}
}
