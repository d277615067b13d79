/*
 * adyton-cleanroom: the clean room's host program (README.md).
 *
 *   adyton-cleanroom serve --policy QPOLICY [--backend B] [--port N] [--count N] [--cert FILE] [IMAGE]
 *   adyton-cleanroom upload --connect HOST:PORT --verifier-policy VPOLICY --query-policy QPOLICY
 *                           --provider NAME FILE.csv
 *   adyton-cleanroom query  --connect HOST:PORT --verifier-policy VPOLICY --query-policy QPOLICY QUERY
 *
 * serve runs the enclave and moves TLS records between it and its clients.
 * upload and query are a provider's (or an analyst's) side: before sending
 * anything they check, with OpenSSL and libadyton-verify, that the peer is
 * the enclave the verifier policy names (RA-TLS certificate), that it runs
 * the query policy they expect, and a fresh quote over their nonce that
 * binds the TLS key and that policy.
 *
 * Exit status: 0 done; 1 the enclave refused the request (the reason is
 * printed); 2 usage or I/O; 3 this side refused the enclave (evidence or
 * query policy), nothing was sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <adyton/host.h>
#include <adyton/sockio.h>
#include <adyton/ratls.h>

#include "cleanroom_u.h"
#include "engine.h"
#include "proto.h"

/* Seconds a peer may stall a connection (both sides). */
#define CR_IO_TIMEOUT 30

#ifndef CR_ENCLAVE_REL
#define CR_ENCLAVE_REL "../lib/adyton"
#endif

int cr_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* A whole file, at most max bytes; NULL with a message otherwise. */
static uint8_t *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "adyton-cleanroom: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	if (!buf || ferror(f) || n > max) {
		fprintf(stderr, "adyton-cleanroom: %s: %s\n", path, buf && n > max ? "too large" : "cannot read");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* ---- serve: the application around the enclave ---- */

static int usage(void)
{
	fprintf(stderr,
		"usage: adyton-cleanroom serve --policy QPOLICY [--backend auto|sim|process|kvm] [--port N] [--count N]\n"
		"                              [--cert FILE] [IMAGE]\n"
		"       adyton-cleanroom upload --connect HOST:PORT --verifier-policy VPOLICY --query-policy QPOLICY\n"
		"                              --provider NAME FILE.csv\n"
		"       adyton-cleanroom query --connect HOST:PORT --verifier-policy VPOLICY --query-policy QPOLICY QUERY\n");
	return 2;
}

static int write_cert(ady_enclave *e, const char *path)
{
	static uint8_t der[16384];
	int len = -1;
	FILE *f;

	if (ecall_cr_cert(e, &len, der, sizeof(der)) != ADY_OK || len <= 0) {
		fprintf(stderr, "adyton-cleanroom: cannot read the certificate\n");
		return -1;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(der, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "adyton-cleanroom: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* One connection (ady_sockio_listen): one at a time, so a peer that
 * stalls is cut off (recv fails, the enclave ends the session) instead of
 * holding up the others. */
static int serve_conn(void *arg, int fd)
{
	const struct timeval io_timeout = {.tv_sec = CR_IO_TIMEOUT};
	int ret = -1;
	ady_err err;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof(io_timeout)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof(io_timeout)))
		fprintf(stderr, "adyton-cleanroom: setsockopt: %s\n", strerror(errno));
	err = ecall_cr_serve((ady_enclave *)arg, &ret, fd);
	if (err) {
		fprintf(stderr, "adyton-cleanroom: serve: %s\n", ady_strerror(err));
		return -1;
	}
	return ret == 0 ? 0 : 1;
}

static int serve(int argc, char **argv)
{
	ady_enclave_opts opts = {.ocalls = cleanroom_ocall_table, .nocalls = CLEANROOM_OCALL_COUNT};
	const char *path = NULL, *cert_path = NULL, *policy_path = NULL;
	char image[PATH_MAX];
	unsigned long port = 0, count = 0;
	ady_enclave *e;
	uint8_t *policy;
	size_t plen;
	cr_policy pol;
	cr_error perr;
	int ret = -1, status = 1;
	ady_err err;

	for (int i = 0; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
			if (ady_backend_parse(argv[++i], &opts.backend) != ADY_OK)
				return usage();
		} else if ((strcmp(argv[i], "--port") == 0 || strcmp(argv[i], "--count") == 0) && i + 1 < argc) {
			unsigned long v = strtoul(argv[i + 1], &end, 10);
			if (*end || argv[i + 1][0] == '\0' || (argv[i][2] == 'p' && v > 65535))
				return usage();
			*(argv[i][2] == 'p' ? &port : &count) = v;
			i++;
		} else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc) {
			cert_path = argv[++i];
		} else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy_path = argv[++i];
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			return usage();
		}
	}
	if (!policy_path)
		return usage();
	policy = slurp(policy_path, CR_POLICY_MAX, &plen);
	if (!policy)
		return 2;
	/* The enclave parses it again (that parse is the one that counts);
	 * this one only names the line for the operator. */
	if (cr_policy_parse((const char *)policy, plen, &pol, &perr)) {
		fprintf(stderr, "adyton-cleanroom: %s: %s\n", policy_path, perr.msg);
		free(policy);
		return 2;
	}
	if (!path) {
		char self[PATH_MAX], *dir;
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n < 0 ? 0 : n] = '\0';
		dir = dirname(self);
		snprintf(image, sizeof(image), "%s/cleanroom-enclave.signed", dir);
		if (access(image, R_OK) != 0)
			snprintf(image, sizeof(image), "%s/%s/cleanroom-enclave.signed", dir, CR_ENCLAVE_REL);
		path = image;
	}
	err = ady_enclave_open(path, &opts, &e);
	if (err) {
		fprintf(stderr, "adyton-cleanroom: cannot start enclave %s: %s\n", path, ady_strerror(err));
		free(policy);
		return 1;
	}
	err = ecall_cr_init(e, &ret, policy, plen);
	free(policy);
	if (!err && ret == ADY_ERR_PERMISSION) {
		ady_enclave_info info;
		char signer[65];
		ady_enclave_get_info(e, &info);
		hex(info.mrsigner, 32, signer);
		fprintf(stderr,
			"adyton-cleanroom: the daemon's policy does not let the clean room get quotes; provision its\n"
			"signer in the daemon's policy (provision = %s), as apps/ratls-demo/README.md shows\n",
			signer);
		goto out;
	}
	if (err || ret != 0) {
		fprintf(stderr, "adyton-cleanroom: the enclave did not start: %s\n",
			err ? ady_strerror(err) : ret < 0 ? "policy refused" : ady_strerror((ady_err)ret));
		goto out;
	}
	if (cert_path && write_cert(e, cert_path))
		goto out;

	if (ady_sockio_listen("adyton-cleanroom", (uint16_t)port, count, serve_conn, e) == 0)
		status = 0;
out:
	ady_enclave_close(e);
	return status;
}

/* ---- upload and query: a provider's side ---- */

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	ady_ratls_ctx rc;
	ady_vpolicy vpol;
	cr_policy qp;              /* the query policy this side expects */
	char canon[CR_POLICY_MAX];
	int canon_len;
};

static int dial(const char *hostport)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	int fd = -1;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
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

static int ssl_write_all(SSL *ssl, const void *p, size_t n)
{
	size_t done;

	return SSL_write_ex(ssl, p, n, &done) == 1 && done == n ? 0 : -1;
}

static int ssl_read_all(SSL *ssl, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		size_t got;
		if (SSL_read_ex(ssl, b, n, &got) != 1)
			return -1;
		b += got;
		n -= got;
	}
	return 0;
}

/* One request, one reply (malloc'd into *out, NUL-terminated). */
static int roundtrip(struct client *c, uint8_t type, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		     uint8_t *status, uint8_t **out, size_t *out_len)
{
	uint8_t hdr[CR_HDR];
	uint32_t len = (uint32_t)(an + bn), rlen;

	hdr[0] = type;
	hdr[1] = (uint8_t)len;
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)(len >> 16);
	hdr[4] = (uint8_t)(len >> 24);
	if (ssl_write_all(c->ssl, hdr, sizeof(hdr)) || (an && ssl_write_all(c->ssl, a, an)) ||
	    (bn && ssl_write_all(c->ssl, b, bn)) || ssl_read_all(c->ssl, hdr, sizeof(hdr)))
		return -1;
	rlen = (uint32_t)hdr[1] | (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3] << 16 | (uint32_t)hdr[4] << 24;
	if (hdr[0] > CR_ST_REFUSED || rlen > CR_REPLY_MAX)
		return -1;
	*out = malloc(rlen + 1);
	if (!*out || ssl_read_all(c->ssl, *out, rlen)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[rlen] = '\0';
	*status = hdr[0];
	*out_len = rlen;
	return 0;
}

static void client_close(struct client *c)
{
	if (c->ssl)
		SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	SSL_CTX_free(c->ctx);
}

/*
 * Connects and checks the enclave: the RA-TLS certificate under the
 * verifier policy, then a fresh quote over our nonce whose report data is
 * SHA-256(the TLS key) || SHA-256(the query policy we expect).  0, or the
 * exit status (3: refused, 2: I/O), with the reason printed.
 */
static int client_open(struct client *c, const char *hostport, const char *vpath, const char *qpath)
{
	static ady_verify_report rep;
	uint8_t *text, nonce[CR_NONCE], pub[65], *reply = NULL, status;
	size_t len, publen = 0, rlen, en;
	unsigned line = 0;
	cr_policy *qp = &c->qp;
	cr_error perr;
	EVP_PKEY *pk;
	ady_vpolicy fresh;
	char mr[65];
	const struct timeval io_timeout = {.tv_sec = CR_IO_TIMEOUT};

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	text = slurp(vpath, 65536, &len);
	if (!text)
		return 2;
	if (ady_vpolicy_parse((const char *)text, len, &c->vpol, &line) != ADY_OK) {
		fprintf(stderr, "adyton-cleanroom: %s:%u: not a verifier policy\n", vpath, line);
		free(text);
		return 2;
	}
	free(text);
	text = slurp(qpath, CR_POLICY_MAX, &len);
	if (!text)
		return 2;
	if (cr_policy_parse((const char *)text, len, qp, &perr)) {
		fprintf(stderr, "adyton-cleanroom: %s: %s\n", qpath, perr.msg);
		free(text);
		return 2;
	}
	free(text);
	c->canon_len = cr_policy_canonical(qp, c->canon, sizeof(c->canon));
	if (c->canon_len < 0)
		return 2;

	c->rc.policy = &c->vpol;
	c->ctx = SSL_CTX_new(TLS_client_method());
	c->fd = dial(hostport);
	if (c->fd >= 0 && (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof(io_timeout)) ||
			   setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof(io_timeout)))) {
		close(c->fd);
		c->fd = -1;
	}
	if (!c->ctx || c->fd < 0 || !(c->ssl = SSL_new(c->ctx)) || SSL_set_fd(c->ssl, c->fd) != 1) {
		fprintf(stderr, "adyton-cleanroom: cannot connect to %s\n", hostport);
		return 2;
	}
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, ady_ratls_verify);
	if (ady_ratls_ssl_set(c->ssl, &c->rc) != ADY_OK)
		return 2;
	if (SSL_connect(c->ssl) != 1) {
		if (c->rc.done && !c->rc.report.accepted) {
			printf("refused: the enclave's evidence: %s\n", c->rc.report.reason);
			return 3;
		}
		fprintf(stderr, "adyton-cleanroom: TLS handshake failed\n");
		ERR_print_errors_fp(stderr);
		return 2;
	}

	/* The key the enclave's quote binds: the certificate's P-256 point. */
	pk = SSL_get0_peer_certificate(c->ssl) ? X509_get0_pubkey(SSL_get0_peer_certificate(c->ssl)) : NULL;
	if (!pk || EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub),
						   &publen) != 1 || publen != sizeof(pub)) {
		printf("refused: the enclave's certificate has no P-256 key\n");
		return 3;
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return 2;
	if (roundtrip(c, CR_MSG_ATTEST, nonce, sizeof(nonce), NULL, 0, &status, &reply, &rlen)) {
		fprintf(stderr, "adyton-cleanroom: no answer to the attestation request\n");
		return 2;
	}
	if (status != CR_ST_OK || rlen < 4) {
		printf("refused: the enclave made no fresh quote: %s\n", status == CR_ST_REFUSED ? (char *)reply : "");
		free(reply);
		return 3;
	}
	en = (size_t)reply[0] | (size_t)reply[1] << 8 | (size_t)reply[2] << 16 | (size_t)reply[3] << 24;
	if (en > rlen - 4) {
		printf("refused: the enclave's attestation answer is malformed\n");
		free(reply);
		return 3;
	}
	if (en != (size_t)c->canon_len || memcmp(reply + 4, c->canon, en) != 0) {
		printf("refused: the enclave runs another query policy than ours; it states:\n%.*s", (int)en,
		       (char *)reply + 4);
		free(reply);
		return 3;
	}
	fresh = c->vpol;
	fresh.want_report_data = true;
	SHA256(pub, sizeof(pub), fresh.report_data);
	SHA256((const uint8_t *)c->canon, (size_t)c->canon_len, fresh.report_data + 32);
	if (ady_verify_quote(reply + 4 + en, rlen - 4 - en, &fresh, nonce, &rep) != ADY_OK) {
		printf("refused: the enclave's fresh quote: check '%s' failed\n", rep.failed ? rep.failed : "?");
		free(reply);
		return 3;
	}
	free(reply);
	hex(rep.quote.body.mrenclave, 32, mr);
	fprintf(stderr, "adyton-cleanroom: verified the clean room: MRENCLAVE %s, query policy k = %u\n", mr, qp->k);
	return 0;
}

struct copts {
	const char *connect, *vpolicy, *qpolicy, *provider, *arg;
};

static int parse_client(int argc, char **argv, struct copts *o, int need_provider)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc)
			o->connect = argv[++i];
		else if (strcmp(argv[i], "--verifier-policy") == 0 && i + 1 < argc)
			o->vpolicy = argv[++i];
		else if (strcmp(argv[i], "--query-policy") == 0 && i + 1 < argc)
			o->qpolicy = argv[++i];
		else if (need_provider && strcmp(argv[i], "--provider") == 0 && i + 1 < argc)
			o->provider = argv[++i];
		else if (!o->arg && (argv[i][0] != '-' || argv[i][1] == '\0'))
			o->arg = argv[i];
		else
			return -1;
	}
	if (!o->connect || !o->vpolicy || !o->qpolicy || !o->arg || (need_provider && !o->provider))
		return -1;
	return 0;
}

static int finish(struct client *c, int rc, uint8_t status, uint8_t *reply)
{
	if (rc) {
		fprintf(stderr, "adyton-cleanroom: the connection broke\n");
		client_close(c);
		return 2;
	}
	if (status == CR_ST_OK)
		fputs((char *)reply, stdout);
	else
		printf("refused by the clean room: %s\n", (char *)reply);
	free(reply);
	client_close(c);
	return status == CR_ST_OK ? 0 : 1;
}

static int upload(int argc, char **argv)
{
	struct copts o;
	struct client c;
	uint8_t *csv, *reply = NULL, status = 0, nl;
	size_t len, rlen;
	int rc;

	if (parse_client(argc, argv, &o, 1))
		return usage();
	if (strlen(o.provider) == 0 || strlen(o.provider) > CR_NAME_MAX)
		return usage();
	/* Read before connecting, so a file we cannot read sends nothing. */
	csv = slurp(o.arg, CR_UPLOAD_MAX, &len);
	if (!csv)
		return 2;
	rc = client_open(&c, o.connect, o.vpolicy, o.qpolicy);
	if (rc) {
		client_close(&c);
		OPENSSL_cleanse(csv, len);
		free(csv);
		return rc;
	}
	/* Our own policy must name us: otherwise the rules we checked are not
	 * the ones our data would be under. */
	for (uint32_t i = 0;; i++) {
		if (i == c.qp.nproviders) {
			printf("refused: the query policy names no provider \"%s\"; nothing sent\n", o.provider);
			client_close(&c);
			OPENSSL_cleanse(csv, len);
			free(csv);
			return 3;
		}
		if (strcmp(c.qp.provider[i].name, o.provider) == 0)
			break;
	}
	nl = (uint8_t)strlen(o.provider);
	{
		uint8_t *payload = malloc(1 + nl + len);
		if (!payload) {
			client_close(&c);
			free(csv);
			return 2;
		}
		payload[0] = nl;
		memcpy(payload + 1, o.provider, nl);
		memcpy(payload + 1 + nl, csv, len);
		rc = roundtrip(&c, CR_MSG_UPLOAD, payload, 1 + nl + len, NULL, 0, &status, &reply, &rlen);
		OPENSSL_cleanse(payload, 1 + nl + len);
		free(payload);
	}
	OPENSSL_cleanse(csv, len);
	free(csv);
	return finish(&c, rc, status, reply);
}

static int query(int argc, char **argv)
{
	struct copts o;
	struct client c;
	uint8_t *reply = NULL, status = 0;
	size_t rlen;
	int rc;

	if (parse_client(argc, argv, &o, 0))
		return usage();
	rc = client_open(&c, o.connect, o.vpolicy, o.qpolicy);
	if (rc) {
		client_close(&c);
		return rc;
	}
	rc = roundtrip(&c, CR_MSG_QUERY, (const uint8_t *)o.arg, strlen(o.arg), NULL, 0, &status, &reply, &rlen);
	return finish(&c, rc, status, reply);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "upload") == 0)
		return upload(argc - 2, argv + 2);
	if (strcmp(argv[1], "query") == 0)
		return query(argc - 2, argv + 2);
	return usage();
}
