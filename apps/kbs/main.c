/*
 * adyton-kbs: the key broker (README.md).
 *
 *   adyton-kbs serve [--socket PATH] [--listen HOST:PORT --tls-cert FILE --tls-key FILE]
 *                    --db PATH --audit PATH --token-file PATH --master-key PATH [--nonce-ttl SECONDS]
 *                    [--challenge-rate PER-SECOND] [--max-conns N] [--max-conns-per-peer N]
 *                    [--gate-state STATE]
 *   adyton-kbs put NAME --policy FILE (--secret-file FILE | [--argv ARG]... [--env K=V]... [--file PATH=LOCAL]...)
 *   adyton-kbs get-policy NAME | revoke NAME | list
 * The admin commands take --socket PATH|kbs+tls://HOST:PORT, --ca FILE and
 * --token-file PATH too.
 *
 * The admin credential is a 32-byte token in a file only its owner reads
 * (0600, made by the first `serve`); the broker refuses a token file that
 * others can read.  Exit: 0, 1 refused/failed, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>

#include "adyton/cursor.h"
#include "broker.h"
#include "msg.h"
#include "store.h"
#include "transport.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: adyton-kbs serve [--socket PATH] [--listen HOST:PORT --tls-cert FILE --tls-key FILE]\n"
		"                        --db PATH --audit PATH --token-file PATH --master-key PATH [--nonce-ttl S]\n"
		"                        [--challenge-rate PER-S] [--max-conns N] [--max-conns-per-peer N]\n"
		"                        [--gate-state STATE]\n"
		"       adyton-kbs put NAME --policy FILE (--secret-file FILE | [--argv A]... [--env K=V]... "
		"[--file PATH=LOCAL]...)\n"
		"       adyton-kbs get-policy NAME | revoke NAME | list\n"
		"       (admin commands: --socket PATH|kbs+tls://HOST:PORT [--ca FILE] --token-file PATH)\n");
	return 2;
}

static uint8_t *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	*len = n;
	return buf;
}

/* A key file (the admin token, the master key): 64 hex digits (and an
 * optional newline), owner-only. */
static int key_load(const char *path, int create, uint8_t token[static KBS_TOKEN], const char *what)
{
	char text[2 * KBS_TOKEN + 2];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == ENOENT && create) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || RAND_bytes(token, KBS_TOKEN) != 1)
			goto fail;
		ady_hex_encode(token, KBS_TOKEN, text);
		text[2 * KBS_TOKEN] = '\n';
		if (write(fd, text, 2 * KBS_TOKEN + 1) != 2 * KBS_TOKEN + 1 || fsync(fd)) {
			OPENSSL_cleanse(text, sizeof(text));
			goto fail;
		}
		OPENSSL_cleanse(text, sizeof(text));
		close(fd);
		return 0;
	}
	if (fd < 0 || fstat(fd, &st))
		goto fail;
	if (st.st_mode & 077) {
		fprintf(stderr, "adyton-kbs: %s: readable by others (chmod 600 it)\n", path);
		close(fd);
		return -1;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n == 2 * KBS_TOKEN + 1 && text[2 * KBS_TOKEN] == '\n')
		n--;
	if (n != 2 * KBS_TOKEN || ady_hex_decode(text, (size_t)n, token, KBS_TOKEN) != 1) {
		OPENSSL_cleanse(text, sizeof(text));
		fprintf(stderr, "adyton-kbs: %s: not a %s (64 hex digits)\n", path, what);
		return -1;
	}
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
fail:
	fprintf(stderr, "adyton-kbs: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int token_load(const char *path, int create, uint8_t token[static KBS_TOKEN])
{
	return key_load(path, create, token, "token");
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* After a refusal that ends the session: the peer gets to read the
 * answer (closing on unread input would reset the connection and drop
 * it), but only for a moment and a bounded amount. */
static void linger_close(kbs_conn *c)
{
	struct timeval tv = {.tv_sec = 1};
	uint8_t sink[4096];
	size_t total = 0;
	ssize_t n;

	if (c->ssl)
		SSL_shutdown(c->ssl);
	else
		shutdown(c->fd, SHUT_WR);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (total < KBS_MAX_BODY && (n = c->io.read(c->io.ctx, sink, sizeof(sink))) > 0)
		total += (size_t)n;
}

/*
 * Limits (README.md, "Limits"), per peer: a UNIX peer is its uid, a TCP
 * peer its IP address.  The table is bounded (PEER_TABLE entries); when
 * it is full the least recently seen peer without a connection gives
 * its entry up (a new peer starts with a full bucket, so eviction never
 * blocks anyone, it only forgets).  MAX_CONNS <= PEER_TABLE, so there is
 * always an entry without a connection to evict.
 */
#define PEER_TABLE 1024
#define MAX_CONNS_CAP PEER_TABLE
typedef struct peer_ent {
	char key[64];
	unsigned conns;
	double tokens;               /* challenges the peer may ask for now */
	double last;                 /* when tokens was computed (CLOCK_MONOTONIC s) */
} peer_ent;

static struct {
	unsigned max_conns;          /* --max-conns, default 64 */
	unsigned max_per_peer;       /* --max-conns-per-peer, default 16 */
	double rate;                 /* --challenge-rate per second, default 50; 0: none */
} lim = {64, 16, 50};

static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static peer_ent peers[PEER_TABLE];
static unsigned conns;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Under peers_lock: the peer's entry, made if new. */
static peer_ent *peer_get(const char *key)
{
	peer_ent *free_ent = NULL, *lru = NULL;

	for (size_t i = 0; i < PEER_TABLE; i++) {
		peer_ent *p = &peers[i];
		if (p->key[0] && !strcmp(p->key, key))
			return p;
		if (!p->key[0]) {
			if (!free_ent)
				free_ent = p;
		} else if (p->conns == 0 && (!lru || p->last < lru->last)) {
			lru = p;
		}
	}
	if (!free_ent)
		free_ent = lru;
	if (!free_ent)
		return NULL;
	snprintf(free_ent->key, sizeof(free_ent->key), "%s", key);
	free_ent->conns = 0;
	free_ent->tokens = lim.rate;
	free_ent->last = now_s();
	return free_ent;
}

/* A token bucket per peer: lim.rate challenges a second, bursts of as many. */
static int challenge_allowed(const char *key)
{
	peer_ent *p;
	double t;
	int ok = 0;

	if (lim.rate <= 0)
		return 1;
	pthread_mutex_lock(&peers_lock);
	p = peer_get(key);
	if (p) {
		t = now_s();
		p->tokens += (t - p->last) * lim.rate;
		if (p->tokens > lim.rate)
			p->tokens = lim.rate;
		p->last = t;
		if (p->tokens >= 1) {
			p->tokens -= 1;
			ok = 1;
		}
	}
	pthread_mutex_unlock(&peers_lock);
	return ok;
}

/* Takes a connection slot for the peer; 0 when a limit says no (why). */
static int conn_take(const char *key, const char **why)
{
	peer_ent *p;
	int ok = 0;

	pthread_mutex_lock(&peers_lock);
	p = peer_get(key);
	if (conns >= lim.max_conns)
		*why = "connections";
	else if (!p || p->conns >= lim.max_per_peer)
		*why = "connections from this peer";
	else {
		p->conns++;
		p->last = now_s();
		conns++;
		ok = 1;
	}
	pthread_mutex_unlock(&peers_lock);
	return ok;
}

static void conn_give(const char *key)
{
	peer_ent *p;

	pthread_mutex_lock(&peers_lock);
	p = peer_get(key);
	if (p && p->conns)
		p->conns--;
	conns--;
	pthread_mutex_unlock(&peers_lock);
}

/*
 * Connections are served each on its own thread, so that a slow or idle
 * peer holds only its own (each is timed out after 10 s of silence, the
 * TLS handshake included); requests are handled one at a time under the
 * broker's lock (the store, the nonces, the audit log's order), and wait
 * for their flush together (kbs_broker_serve: group commit).
 */

typedef struct conn {
	kbs_broker *b;
	SSL_CTX *tls;                /* NULL: a UNIX connection */
	int fd;
	char peer[96];               /* for the audit log */
	char key[64];                /* for the limits */
} conn;

static void serve_conn(conn *cn)
{
	kbs_broker *b = cn->b;
	const char *peer = cn->peer;
	kbs_conn c;

	if (cn->tls) {
		if (kbs_conn_accept_tls(cn->tls, cn->fd, &c)) {
			kbs_audit(b, "refuse", "resource=- reason=\"TLS handshake failed\" peer=%s", peer);
			return;
		}
	} else {
		kbs_conn_plain(cn->fd, &c);
	}
	for (;;) {
		uint8_t *frame = NULL, *resp = NULL;
		size_t len = 0, rlen = 0;
		int close_after = 0;
		uint16_t type = 0;
		uint32_t body_len = 0;
		ady_err err = kbs_frame_read_io(&c.io, &frame, &len);

		if (err == ADY_ERR_IO)
			break;
		if (err) {
			/* A header we refuse: answer once, then end the session
			 * (the rest of the stream cannot be framed). */
			static const char why[] = "malformed message";
			kbs_msg m = {.type = KBS_ERROR, .code = ADY_ERR_MALFORMED};
			m.reason.p = (const uint8_t *)why;
			m.reason.len = sizeof(why) - 1;
			kbs_audit(b, "refuse", "resource=- reason=\"malformed frame header (%s)\" peer=%s",
				  ady_strerror(err), peer);
			if (kbs_msg_encode(&m, &resp, &rlen) == ADY_OK && kbs_frame_write_io(&c.io, resp, rlen))
				kbs_audit(b, "error", "answer not delivered peer=%s", peer);
			free(resp);
			linger_close(&c);
			break;
		}
		if (kbs_header_decode(frame, &type, &body_len) == ADY_OK && type == KBS_CHALLENGE &&
		    !challenge_allowed(cn->key)) {
			static const char why[] = "challenge rate limit";
			kbs_msg m = {.type = KBS_ERROR, .code = ADY_ERR_BUSY};
			m.reason.p = (const uint8_t *)why;
			m.reason.len = sizeof(why) - 1;
			kbs_audit(b, "refuse", "resource=- reason=\"challenge rate limit\" peer=%s", peer);
			err = kbs_msg_encode(&m, &resp, &rlen);
		} else {
			err = kbs_broker_serve(b, frame, len, peer, &resp, &rlen, &close_after);
		}
		free(frame);
		if (err || kbs_frame_write_io(&c.io, resp, rlen)) {
			free(resp);
			break;
		}
		free(resp);
		if (close_after) {
			linger_close(&c);
			break;
		}
	}
	c.fd = -1; /* conn_main closes it */
	kbs_conn_close(&c);
}

static void *conn_main(void *arg)
{
	conn *c = arg;

	serve_conn(c);
	close(c->fd);
	conn_give(c->key);
	free(c);
	return NULL;
}

/* Who is on fd: the audit log's name for the peer and the limits' key. */
static void peer_of(int fd, int tcp, conn *c)
{
	snprintf(c->peer, sizeof(c->peer), "unknown");
	snprintf(c->key, sizeof(c->key), "unknown");
	if (tcp) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char ip[INET6_ADDRSTRLEN] = "?";
		unsigned port = 0;
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
			if (ss.ss_family == AF_INET) {
				struct sockaddr_in *in = (struct sockaddr_in *)&ss;
				inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
				port = ntohs(in->sin_port);
			} else if (ss.ss_family == AF_INET6) {
				struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
				inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof(ip));
				port = ntohs(in->sin6_port);
			}
		}
		snprintf(c->peer, sizeof(c->peer), "tcp:%s:%u", ip, port);
		snprintf(c->key, sizeof(c->key), "ip:%s", ip);
	} else {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
			snprintf(c->peer, sizeof(c->peer), "pid:%d,uid:%u", (int)cred.pid, (unsigned)cred.uid);
			snprintf(c->key, sizeof(c->key), "uid:%u", (unsigned)cred.uid);
		}
	}
}

/* A thread for connection fd, which it closes; signals stay with the
 * accepting thread (SIGTERM must interrupt its poll). */
static void spawn_conn(kbs_broker *b, SSL_CTX *tls, int fd)
{
	struct timeval tv = {.tv_sec = 10};
	conn *c = calloc(1, sizeof(*c));
	const char *why = NULL;
	sigset_t all, old;
	pthread_attr_t at;
	pthread_t t;
	int rc = -1;

	if (!c) {
		close(fd);
		return;
	}
	peer_of(fd, tls != NULL, c);
	if (!conn_take(c->key, &why)) {
		kbs_audit(b, "refuse", "resource=- reason=\"too many %s\" peer=%s", why, c->peer);
		free(c);
		close(fd);
		return;
	}
	c->b = b;
	c->tls = tls;
	c->fd = fd;
	/* A peer that stalls mid-frame (or mid-handshake) does not hold the broker. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &at, conn_main, c);
		pthread_attr_destroy(&at);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return;
	fprintf(stderr, "adyton-kbs: pthread_create failed\n");
	conn_give(c->key);
	free(c);
	close(fd);
}

/* HOST:PORT (IPv6 in brackets) to a listening TCP socket. */
static int tcp_listen(const char *hp)
{
	char host[256], port[8], url[300];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res;
	int fd = -1, one = 1;

	snprintf(url, sizeof(url), "kbs+tls://%s", hp);
	if (kbs_tls_url(url, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "adyton-kbs: --listen %s: not HOST:PORT\n", hp);
		return -1;
	}
	if (getaddrinfo(host, port, &hints, &res)) {
		fprintf(stderr, "adyton-kbs: --listen %s: unknown address\n", hp);
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		fprintf(stderr, "adyton-kbs: --listen %s: %s\n", hp, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	const char *sock = NULL, *db = NULL, *audit = NULL, *tokf = NULL, *mkf = NULL, *listen_at = NULL,
		   *cert = NULL, *key = NULL;
	kbs_broker b = {.audit_fd = -1, .nonce_ttl = 60};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction sig = {.sa_handler = on_term};
	uint8_t master[KBS_MASTER_KEY];
	SSL_CTX *tls = NULL;
	int ls = -1, ts = -1, ret = 1;
	unsigned long v;
	ady_err err;

	for (int i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--socket"))
			sock = argv[++i];
		else if (!strcmp(argv[i], "--db"))
			db = argv[++i];
		else if (!strcmp(argv[i], "--audit"))
			audit = argv[++i];
		else if (!strcmp(argv[i], "--token-file"))
			tokf = argv[++i];
		else if (!strcmp(argv[i], "--master-key"))
			mkf = argv[++i];
		else if (!strcmp(argv[i], "--gate-state"))
			b.gate_state = argv[++i];
		else if (!strcmp(argv[i], "--listen"))
			listen_at = argv[++i];
		else if (!strcmp(argv[i], "--tls-cert"))
			cert = argv[++i];
		else if (!strcmp(argv[i], "--tls-key"))
			key = argv[++i];
		else if (!strcmp(argv[i], "--nonce-ttl")) {
			if (parse_uint(argv[++i], 3600, &v) || v == 0)
				return usage();
			b.nonce_ttl = (unsigned)v;
		} else if (!strcmp(argv[i], "--challenge-rate")) {
			if (parse_uint(argv[++i], 1000000, &v))
				return usage();
			lim.rate = (double)v;
		} else if (!strcmp(argv[i], "--max-conns")) {
			if (parse_uint(argv[++i], MAX_CONNS_CAP, &v) || v == 0)
				return usage();
			lim.max_conns = (unsigned)v;
		} else if (!strcmp(argv[i], "--max-conns-per-peer")) {
			if (parse_uint(argv[++i], MAX_CONNS_CAP, &v) || v == 0)
				return usage();
			lim.max_per_peer = (unsigned)v;
		} else
			return usage();
	}
	if ((!sock && !listen_at) || !db || !audit || !tokf || !mkf || (sock && strlen(sock) >= sizeof(sa.sun_path)) ||
	    (listen_at && (!cert || !key)) || (!listen_at && (cert || key)))
		return usage();
	if (token_load(tokf, 1, b.token) || key_load(mkf, 1, master, "master key"))
		return 1;
	if (listen_at && !(tls = kbs_tls_server_ctx(cert, key)))
		return 1;
	b.audit_fd = open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (b.audit_fd < 0 || kbs_broker_init(&b)) {
		fprintf(stderr, "adyton-kbs: %s: %s\n", audit, strerror(errno));
		SSL_CTX_free(tls);
		return 1;
	}
	err = kbs_store_open(db, &b.store);
	if (!err) {
		err = kbs_store_set_master_key(b.store, master);
		/* Flushed by kbs_broker_serve's group commit from now on. */
		if (!err && kbs_store_defer_sync(b.store))
			err = ADY_ERR_IO;
		if (err == ADY_ERR_CRYPTO)
			fprintf(stderr, "adyton-kbs: %s: the master key %s is not this store's (its check does not "
					"open): refusing to serve\n", db, mkf);
		else if (err)
			fprintf(stderr, "adyton-kbs: store %s: %s\n", db, ady_strerror(err));
	} else {
		fprintf(stderr, "adyton-kbs: store %s: %s\n", db, ady_strerror(err));
	}
	OPENSSL_cleanse(master, sizeof(master));
	if (err)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	if (sock) {
		strcpy(sa.sun_path, sock);
		unlink(sock);
		ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 64)) {
			fprintf(stderr, "adyton-kbs: %s: %s\n", sock, strerror(errno));
			goto out;
		}
	}
	if (listen_at && (ts = tcp_listen(listen_at)) < 0)
		goto out;
	kbs_audit(&b, "start", "socket=%s listen=%s", sock ? sock : "-", listen_at ? listen_at : "-");
	if (kbs_store_sync(b.store) || fdatasync(b.audit_fd) || atomic_load(&b.audit_lost)) {
		fprintf(stderr, "adyton-kbs: audit log or store cannot be flushed\n");
		goto out;
	}
	while (!stop) {
		struct pollfd pf[2] = {{.fd = ls, .events = POLLIN}, {.fd = ts, .events = POLLIN}};
		int n = poll(pf, 2, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "adyton-kbs: poll: %s\n", strerror(errno));
			goto out;
		}
		for (int i = 0; i < 2; i++) {
			int fd;
			if (!(pf[i].revents & POLLIN))
				continue;
			fd = accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				spawn_conn(&b, i ? tls : NULL, fd);
			else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				fprintf(stderr, "adyton-kbs: accept: %s\n", strerror(errno));
		}
	}
	/* Connections in progress end within their 10 s timeouts; the store
	 * stays open until they have. */
	for (int i = 0; i < 1200; i++) {
		unsigned n;
		pthread_mutex_lock(&peers_lock);
		n = conns;
		pthread_mutex_unlock(&peers_lock);
		if (!n)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&b.lock);
	kbs_audit(&b, "stop", "socket=%s listen=%s", sock ? sock : "-", listen_at ? listen_at : "-");
	ret = kbs_store_sync(b.store) || fdatasync(b.audit_fd) ? 1 : 0;
out:
	if (ls >= 0) {
		close(ls);
		unlink(sock);
	}
	if (ts >= 0)
		close(ts);
	kbs_store_close(b.store);
	close(b.audit_fd);
	SSL_CTX_free(tls);
	OPENSSL_cleanse(b.token, sizeof(b.token));
	return ret;
}

/* Configuration entries (msg.h, kbs_config_validate). */
static int cfg_add(uint8_t **buf, size_t *len, uint8_t tag, const char *s, const uint8_t *content, size_t clen)
{
	size_t n = strlen(s), need = 3 + n + (tag == 3 ? 4 + clen : 0);
	uint8_t *p;

	if (n == 0 || n > 0xffff || *len + need > KBS_MAX_DATA)
		return -1;
	p = realloc(*buf, *len + need);
	if (!p)
		return -1;
	p[*len] = tag;
	ady_put_u16le(p + *len + 1, (uint16_t)n);
	memcpy(p + *len + 3, s, n);
	if (tag == 3) {
		ady_put_u32le(p + *len + 3 + n, (uint32_t)clen);
		if (clen)
			memcpy(p + *len + 7 + n, content, clen);
	}
	*buf = p;
	*len += need;
	return 0;
}

static int cmd_admin(const char *cmd, int argc, char **argv)
{
	const char *sock = NULL, *tokf = NULL, *policy_path = NULL, *secret_path = NULL, *name = NULL;
	uint8_t token[KBS_TOKEN], *data = NULL, *policy = NULL, *frame = NULL;
	size_t data_len = 0, policy_len = 0;
	kbs_msg req = {0}, resp;
	const char *ca = getenv("ADYTON_KBS_CA");
	char why[300];
	kbs_conn c = {.fd = -1};
	int ret = 1, config = 0;
	ady_err err;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			if (name)
				goto usage;
			name = a;
			continue;
		}
		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(a, "--socket"))
			sock = argv[++i];
		else if (!strcmp(a, "--ca"))
			ca = argv[++i];
		else if (!strcmp(a, "--token-file"))
			tokf = argv[++i];
		else if (!strcmp(a, "--policy") && !strcmp(cmd, "put"))
			policy_path = argv[++i];
		else if (!strcmp(a, "--secret-file") && !strcmp(cmd, "put"))
			secret_path = argv[++i];
		else if ((!strcmp(a, "--argv") || !strcmp(a, "--env")) && !strcmp(cmd, "put")) {
			config = 1;
			if ((a[2] == 'e' && !strchr(argv[i + 1], '=')) ||
			    cfg_add(&data, &data_len, a[2] == 'a' ? 1 : 2, argv[i + 1], NULL, 0))
				goto usage;
			i++;
		} else if (!strcmp(a, "--file") && !strcmp(cmd, "put")) {
			char *eq = strchr(argv[++i], '=');
			uint8_t *content;
			size_t clen;
			config = 1;
			if (!eq)
				goto usage;
			*eq = '\0';
			content = read_file(eq + 1, KBS_MAX_DATA, &clen);
			if (!content) {
				fprintf(stderr, "adyton-kbs: %s: %s\n", eq + 1, strerror(errno));
				goto out;
			}
			if (cfg_add(&data, &data_len, 3, argv[i], content, clen)) {
				free(content);
				goto usage;
			}
			free(content);
		} else
			goto usage;
	}
	if (!sock || !tokf || (strcmp(cmd, "list") ? !name : !!name))
		goto usage;
	if (name && !kbs_name_valid((const uint8_t *)name, strlen(name))) {
		fprintf(stderr, "adyton-kbs: %s: a name is 1..128 of [A-Za-z0-9._-]\n", name);
		goto out;
	}
	if (!strcmp(cmd, "put")) {
		if (!policy_path || (secret_path && config) || (!secret_path && !config))
			goto usage;
		policy = read_file(policy_path, KBS_MAX_POLICY, &policy_len);
		if (!policy) {
			fprintf(stderr, "adyton-kbs: %s: %s\n", policy_path, strerror(errno));
			goto out;
		}
		if (secret_path) {
			data = read_file(secret_path, KBS_MAX_DATA, &data_len);
			if (!data) {
				fprintf(stderr, "adyton-kbs: %s: %s\n", secret_path, strerror(errno));
				goto out;
			}
		}
		req.type = KBS_PUT;
		req.kind = config ? KBS_KIND_CONFIG : KBS_KIND_SECRET;
		req.policy.p = policy;
		req.policy.len = policy_len;
		req.data.p = data ? data : (const uint8_t *)"";
		req.data.len = data_len;
	} else if (!strcmp(cmd, "revoke")) {
		req.type = KBS_REVOKE;
	} else if (!strcmp(cmd, "get-policy")) {
		req.type = KBS_GET_POLICY;
	} else {
		req.type = KBS_LIST;
	}
	if (token_load(tokf, 0, token))
		goto out;
	req.token = token;
	if (name) {
		req.name.p = (const uint8_t *)name;
		req.name.len = strlen(name);
	}
	err = kbs_conn_open(sock, ca, &c, why, sizeof(why));
	if (err) {
		fprintf(stderr, "adyton-kbs: %s\n", why);
		goto out;
	}
	err = kbs_call_io(&c.io, &req, &frame, &resp);
	if (err == ADY_ERR_INVALID_ARG) {
		fprintf(stderr, "adyton-kbs: the request is not valid (text policy, sizes: README.md)\n");
		goto out;
	}
	if (err) {
		fprintf(stderr, "adyton-kbs: broker: %s\n", ady_strerror(err));
		goto out;
	}
	switch (resp.type) {
	case KBS_ERROR:
		fprintf(stderr, "adyton-kbs: refused: %.*s\n", (int)resp.reason.len, (const char *)resp.reason.p);
		goto out;
	case KBS_OK:
		if (req.type != KBS_PUT && req.type != KBS_REVOKE)
			break;
		ret = 0;
		goto out;
	case KBS_POLICY:
		if (req.type != KBS_GET_POLICY)
			break;
		printf("# kind: %s%s\n", resp.kind == KBS_KIND_CONFIG ? "config" : "secret", resp.revoked ? ", REVOKED" : "");
		fwrite(resp.policy.p, 1, resp.policy.len, stdout);
		ret = 0;
		goto out;
	case KBS_LISTING: {
		size_t off = 0;
		kbs_str n;
		uint8_t k, r;
		if (req.type != KBS_LIST)
			break;
		while (kbs_list_next(&resp, &off, &n, &k, &r))
			printf("%.*s\t%s\t%s\n", (int)n.len, (const char *)n.p, k == KBS_KIND_CONFIG ? "config" : "secret",
			       r ? "revoked" : "active");
		ret = 0;
		goto out;
	}
	default:
		break;
	}
	fprintf(stderr, "adyton-kbs: unexpected answer type %u\n", resp.type);
	goto out;
usage:
	ret = usage();
out:
	kbs_conn_close(&c);
	free(frame);
	free(policy);
	if (data) {
		OPENSSL_cleanse(data, data_len);
		free(data);
	}
	OPENSSL_cleanse(token, sizeof(token));
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "put") || !strcmp(argv[1], "get-policy") || !strcmp(argv[1], "revoke") ||
	    !strcmp(argv[1], "list"))
		return cmd_admin(argv[1], argc - 2, argv + 2);
	return usage();
}
