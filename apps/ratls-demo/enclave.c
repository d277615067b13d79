/*
 * The RA-TLS demo enclave: an ECDSA P-256 key and a self-signed
 * certificate carrying this enclave's quote (adyton/ratls_enclave.h), and
 * a TLS 1.2 server on BearSSL's engine.  The application only moves
 * opaque record bytes between its socket and the engine
 * (adyton/sockio.edl); the private key and the session keys stay here.
 */
#include <bearssl.h>
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/sockio_enclave.h>
#include <adyton/ratls_enclave.h>

#include "ratls_demo_t.h"

/* Larger than a small enclave stack: static, one connection at a time
 * (threads = 1 in enclave.conf). */
static ady_ratls_cert cert;
static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
static int ready;

int ecall_ratls_init(void)
{
	ady_err err;

	if (ready)
		return 0;
	err = ady_ratls_cert_init(&cert);
	if (err) {
		ady_log("ratls: no certificate: %s", ady_strerror(err));
		return (int)err;
	}
	ready = 1;
	return 0;
}

int ecall_ratls_cert(uint8_t *der, size_t cap)
{
	if (!ready || cert.der_len > cap)
		return -1;
	memcpy(der, cert.der, cert.der_len);
	return (int)cert.der_len;
}

static int request_complete(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n')
			return 1;
		if (i + 3 < n && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return 1;
	}
	return 0;
}

int ecall_ratls_serve(int fd)
{
	static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
				   "hello from inside the enclave over RA-TLS\n";
	br_sslio_context io;
	uint8_t req[1024];
	size_t n = 0;
	int err;

	if (!ready)
		return -1;
	if (ady_ratls_server_start(&sc, &cert, iobuf, sizeof(iobuf)) != ADY_OK)
		return -1;
	ady_sockio_init(&io, &sc.eng, &fd);
	while (!request_complete(req, n) && n < sizeof(req)) {
		int r = br_sslio_read(&io, req + n, sizeof(req) - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (n > 0 && br_sslio_write_all(&io, resp, sizeof(resp) - 1) == 0)
		ady_sockio_close(&io);
	err = br_ssl_engine_last_error(&sc.eng);
	if (err || n == 0) {
		ady_log("ratls: connection ended with BearSSL error %d", err);
		return -1;
	}
	return 0;
}
