/*
 * transport.h - how the broker's clients (the relay, the admin commands)
 * reach it, and how the broker serves a TCP connection: a UNIX socket,
 * or TLS over TCP (OpenSSL) with the broker's certificate checked
 * against one pinned CA and the host name of the URL.
 *
 *   PATH | unix:PATH            a UNIX stream socket
 *   kbs+tls://HOST:PORT         TLS 1.2+ over TCP; HOST a name or an IPv4
 *                               / [IPv6] address the certificate must name
 *
 * TLS protects the admin token and hides which resources are asked for;
 * releases are end-to-end encrypted to the enclave either way.
 */
#ifndef ADYTON_KBS_TRANSPORT_H
#define ADYTON_KBS_TRANSPORT_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "adyton/error.h"
#include "msg.h"

typedef struct kbs_conn {
	int fd;
	SSL *ssl;                    /* NULL on a UNIX socket */
	kbs_io io;
} kbs_conn;

/*
 * Connects to where (above), with a 30 s I/O timeout.  ca: a PEM file of
 * the CA the broker's certificate must chain to (required for TLS; the
 * system's trust store is never used).  On failure why (may be NULL)
 * gets a line for the operator: ADY_ERR_INVALID_ARG (not a URL this
 * knows, no CA for TLS), ADY_ERR_IO (no connection), ADY_ERR_CRYPTO (the
 * handshake failed: a certificate the CA did not sign, another name).
 */
ADY_MUST_CHECK ady_err kbs_conn_open(const char *where, const char *ca, kbs_conn *c, char *why, size_t why_cap);

/* Server side: TLS on an accepted TCP connection (SSL_accept). */
ADY_MUST_CHECK ady_err kbs_conn_accept_tls(SSL_CTX *ctx, int fd, kbs_conn *c);
/* Server side: an accepted UNIX connection. */
void kbs_conn_plain(int fd, kbs_conn *c);

/* A server context: certificate chain and key (PEM files).  NULL on
 * failure (the OpenSSL reason is printed to stderr). */
SSL_CTX *kbs_tls_server_ctx(const char *cert, const char *key);

/* Closes the connection (and the TLS session: close_notify). */
void kbs_conn_close(kbs_conn *c);

/* Splits "kbs+tls://HOST:PORT": host (without brackets) and port.
 * Returns 0, or -1 when where is not of that form. */
int kbs_tls_url(const char *where, char *host, size_t host_cap, char *port, size_t port_cap);

#endif
