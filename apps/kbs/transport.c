/*
 * transport.c - UNIX and TLS connections to the broker (transport.h).
 */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TLS_PREFIX "kbs+tls://"

__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!why || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

static ssize_t ssl_read(void *ctx, void *p, size_t n)
{
	size_t got = 0;

	return SSL_read_ex(ctx, p, n, &got) == 1 ? (ssize_t)got : -1;
}

static ssize_t ssl_write(void *ctx, const void *p, size_t n)
{
	size_t put = 0;

	return SSL_write_ex(ctx, p, n, &put) == 1 ? (ssize_t)put : -1;
}

static ssize_t fd_read(void *ctx, void *p, size_t n)
{
	return read(*(int *)ctx, p, n);
}

static ssize_t fd_write(void *ctx, const void *p, size_t n)
{
	return send(*(int *)ctx, p, n, MSG_NOSIGNAL);
}

/* see transport.h */
void kbs_conn_plain(int fd, kbs_conn *c)
{
	c->fd = fd;
	c->ssl = NULL;
	c->io.ctx = &c->fd;
	c->io.read = fd_read;
	c->io.write = fd_write;
}

/* see transport.h */
int kbs_tls_url(const char *where, char *host, size_t host_cap, char *port, size_t port_cap)
{
	const char *h, *colon, *end;
	size_t hl;

	if (strncmp(where, TLS_PREFIX, sizeof(TLS_PREFIX) - 1))
		return -1;
	h = where + sizeof(TLS_PREFIX) - 1;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || end[1] != ':')
			return -1;
		h++;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - h);
	}
	if (hl == 0 || hl >= host_cap || !colon[1] || strlen(colon + 1) >= port_cap ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
	struct timeval tv = {.tv_sec = 30};
	int fd = -1, one = 1;

	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* see transport.h */
ady_err kbs_conn_open(const char *where, const char *ca, kbs_conn *c, char *why, size_t why_cap)
{
	char host[256], port[8], err_text[160];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509_VERIFY_PARAM *vp;
	int fd;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (!where || !*where) {
		say(why, why_cap, "no broker given");
		return ADY_ERR_INVALID_ARG;
	}
	if (strncmp(where, TLS_PREFIX, sizeof(TLS_PREFIX) - 1)) {
		if (!strncmp(where, "unix:", 5))
			where += 5;
		else if (strstr(where, "://")) {
			say(why, why_cap, "'%.200s': not a broker address (PATH, unix:PATH, kbs+tls://HOST:PORT)", where);
			return ADY_ERR_INVALID_ARG;
		}
		fd = kbs_connect(where);
		if (fd < 0) {
			say(why, why_cap, "broker unreachable at '%.200s': %s", where, strerror(errno));
			return ADY_ERR_IO;
		}
		kbs_conn_plain(fd, c);
		return ADY_OK;
	}
	if (kbs_tls_url(where, host, sizeof(host), port, sizeof(port))) {
		say(why, why_cap, "'%.200s': not kbs+tls://HOST:PORT", where);
		return ADY_ERR_INVALID_ARG;
	}
	if (!ca || !*ca) {
		say(why, why_cap, "%.200s: TLS needs the broker's CA (--ca FILE, $ADYTON_KBS_CA)", where);
		return ADY_ERR_INVALID_ARG;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	/* Only the pinned CA: never the system's trust store. */
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		say(why, why_cap, "%.200s: cannot load the CA file %.200s", where, ca);
		SSL_CTX_free(ctx);
		return ADY_ERR_INVALID_ARG;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = tcp_connect(host, port);
	if (fd < 0) {
		say(why, why_cap, "broker unreachable at '%.200s': %s", where, strerror(errno));
		SSL_CTX_free(ctx);
		return ADY_ERR_IO;
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the session holds its own reference */
	vp = ssl ? SSL_get0_param(ssl) : NULL;
	/* The certificate must name the host of the URL (an IP address
	 * against its IP SANs, a name against its DNS SANs). */
	if (!vp || (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1 &&
		    (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1)) ||
	    SSL_set_fd(ssl, fd) != 1) {
		say(why, why_cap, "%.200s: TLS setup failed", where);
		SSL_free(ssl);
		close(fd);
		return ADY_ERR_CRYPTO;
	}
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);
		ERR_error_string_n(ERR_peek_last_error(), err_text, sizeof(err_text));
		say(why, why_cap, "%.200s: TLS handshake refused: %s", where,
		    vr != X509_V_OK ? X509_verify_cert_error_string(vr) : err_text);
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		return ADY_ERR_CRYPTO;
	}
	c->fd = fd;
	c->ssl = ssl;
	c->io.ctx = ssl;
	c->io.read = ssl_read;
	c->io.write = ssl_write;
	return ADY_OK;
}

/* see transport.h */
ady_err kbs_conn_accept_tls(SSL_CTX *ctx, int fd, kbs_conn *c)
{
	SSL *ssl = SSL_new(ctx);

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		return ADY_ERR_CRYPTO;
	}
	c->ssl = ssl;
	c->io.ctx = ssl;
	c->io.read = ssl_read;
	c->io.write = ssl_write;
	return ADY_OK;
}

/* see transport.h */
SSL_CTX *kbs_tls_server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		char text[160];
		ERR_error_string_n(ERR_peek_last_error(), text, sizeof(text));
		fprintf(stderr, "adyton-kbs: TLS certificate %s / key %s: %s\n", cert, key, text);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* see transport.h */
void kbs_conn_close(kbs_conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
