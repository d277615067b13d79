/*
 * A small RA-TLS client (tests/ratls.cmake): connects to HOST:PORT with
 * OpenSSL, verifies the peer with ady_ratls_verify() under the verifier
 * policy FILE, sends a request and prints the response.
 *
 *   ratls_client HOST PORT POLICY
 *
 * Exit 0: accepted and a response read; 1: refused (the failed check and
 * the reason are printed: "refused: <check>: <why>"); 2: usage or I/O.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "adyton/ratls.h"

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	static ady_ratls_ctx rc;
	static ady_vpolicy pol;
	static char text[65536];
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	FILE *f;
	size_t n;
	unsigned line = 0;
	int fd = -1, status = 2, r;
	char buf[4096];

	if (argc != 4) {
		fprintf(stderr, "usage: ratls_client HOST PORT POLICY\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	if (!f)
		return 2;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	if (ady_vpolicy_parse(text, n, &pol, &line) != ADY_OK) {
		fprintf(stderr, "ratls_client: %s:%u: bad policy\n", argv[3], line);
		return 2;
	}
	rc.policy = &pol;
	ctx = SSL_CTX_new(TLS_client_method());
	fd = dial(argv[1], argv[2]);
	if (!ctx || fd < 0 || !(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1) {
		fprintf(stderr, "ratls_client: cannot connect\n");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, ady_ratls_verify);
	if (ady_ratls_ssl_set(ssl, &rc) != ADY_OK)
		goto out;
	if (SSL_connect(ssl) != 1) {
		if (rc.done && !rc.report.accepted) {
			printf("refused: %s\n", rc.report.reason);
			if (rc.report.quote_failed)
				printf("quote check failed: %s\n", rc.report.quote_failed);
			status = 1;
		} else {
			fprintf(stderr, "ratls_client: handshake failed\n");
			ERR_print_errors_fp(stderr);
		}
		goto out;
	}
	printf("%s\n", rc.report.reason);
	if (SSL_write(ssl, req, (int)sizeof(req) - 1) <= 0)
		goto out;
	while ((r = SSL_read(ssl, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, stdout);
	status = 0;
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	return status;
}
