/*
 * wire.c - frames, base64 and TLS plumbing of the agent protocol (wire.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "wire.h"

static int ssl_write_all(SSL *ssl, const void *p, size_t n)
{
	while (n) {
		size_t w = 0;

		if (SSL_write_ex(ssl, p, n, &w) != 1)
			return 0;
		p = (const uint8_t *)p + w;
		n -= w;
	}
	return 1;
}

static int ssl_read_all(SSL *ssl, void *p, size_t n)
{
	while (n) {
		size_t r = 0;

		if (SSL_read_ex(ssl, p, n, &r) != 1)
			return 0;
		p = (uint8_t *)p + r;
		n -= r;
	}
	return 1;
}

/* see wire.h */
int gate_wire_send(SSL *ssl, const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	uint8_t hdr[4];
	int ok;

	if (!s || n > GATE_WIRE_MAX) {
		free(s);
		return 0;
	}
	hdr[0] = (uint8_t)(n >> 24), hdr[1] = (uint8_t)(n >> 16), hdr[2] = (uint8_t)(n >> 8), hdr[3] = (uint8_t)n;
	ok = ssl_write_all(ssl, hdr, 4) && ssl_write_all(ssl, s, n);
	free(s);
	return ok;
}

/* see wire.h */
json_t *gate_wire_recv(SSL *ssl, char *err, size_t cap)
{
	uint8_t hdr[4];
	uint32_t n;
	char *buf;
	json_t *o;
	json_error_t je;

	if (!ssl_read_all(ssl, hdr, 4)) {
		if (err)
			snprintf(err, cap, "connection closed before a frame");
		return NULL;
	}
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	/* The cap before the allocation. */
	if (n == 0 || n > GATE_WIRE_MAX) {
		if (err)
			snprintf(err, cap, "frame of %u bytes (1 to %u allowed)", n, GATE_WIRE_MAX);
		return NULL;
	}
	buf = malloc(n);
	if (!buf || !ssl_read_all(ssl, buf, n)) {
		if (err)
			snprintf(err, cap, "%s", buf ? "connection closed inside a frame" : "out of memory");
		free(buf);
		return NULL;
	}
	o = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (!o || !json_is_object(o)) {
		if (err)
			snprintf(err, cap, "not a JSON object: %s", o ? "another type" : je.text);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* see wire.h */
char *gate_b64(const uint8_t *p, size_t n)
{
	char *s;

	if (n > (size_t)INT32_MAX / 2)
		return NULL;
	s = malloc(4 * ((n + 2) / 3) + 1);
	if (s)
		EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* see wire.h */
uint8_t *gate_unb64(const char *s, size_t *n)
{
	size_t len = s ? strlen(s) : 0, pad = 0;
	uint8_t *p;
	int r;

	if (!s || len % 4 || len > (size_t)INT32_MAX)
		return NULL;
	p = malloc(len / 4 * 3 + 1);
	if (!p)
		return NULL;
	/* EVP_DecodeBlock counts padding as zero bytes: take them off. */
	r = EVP_DecodeBlock(p, (const unsigned char *)s, (int)len);
	if (r < 0) {
		free(p);
		return NULL;
	}
	if (len && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	*n = (size_t)r - pad;
	return p;
}

static int split(const char *addr, char *host, size_t cap, const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t hl;

	if (!colon || colon == addr || !colon[1])
		return 0;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[' && colon[-1] == ']')
		addr++, hl -= 2;
	if (hl >= cap)
		return 0;
	memcpy(host, addr, hl);
	host[hl] = 0;
	*port = colon + 1;
	return 1;
}

/* see wire.h */
int gate_tcp_connect(const char *addr, int timeout_s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	struct timeval tv = {.tv_sec = timeout_s};
	char host[256];
	const char *port;
	int fd = -1;

	if (!split(addr, host, sizeof(host), &port) || getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EINVAL;
		return -1;
	}
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* see wire.h */
int gate_tcp_listen(const char *addr)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
	char host[256];
	const char *port;
	int fd = -1, one = 1;

	if (!split(addr, host, sizeof(host), &port) || getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* see wire.h */
SSL_CTX *gate_tls_ctx(int server, const char *cert, const char *key, const char *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "TLS: certificate %s / key %s: unreadable or not a pair\n", cert, key);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		fprintf(stderr, "TLS: CA %s: unreadable\n", ca);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return ctx;
fail:
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(ctx);
	return NULL;
}
