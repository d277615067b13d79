/*
 * adyton-kbs: the key broker (README.md).
 *
 *   adyton-kbs serve --socket PATH --db PATH --audit PATH --token-file PATH [--nonce-ttl SECONDS]
 *   adyton-kbs put NAME --policy FILE (--secret-file FILE | [--argv ARG]... [--env K=V]... [--file PATH=LOCAL]...)
 *   adyton-kbs get-policy NAME | revoke NAME | list
 * The admin commands take --socket PATH and --token-file PATH too.
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
#include <unistd.h>

#include "adyton/cursor.h"
#include "broker.h"
#include "msg.h"
#include "store.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: adyton-kbs serve --socket PATH --db PATH --audit PATH --token-file PATH [--nonce-ttl S]\n"
		"       adyton-kbs put NAME --policy FILE (--secret-file FILE | [--argv A]... [--env K=V]... "
		"[--file PATH=LOCAL]...)\n"
		"       adyton-kbs get-policy NAME | revoke NAME | list\n"
		"       (admin commands: --socket PATH --token-file PATH)\n");
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

/* The token file: 64 hex digits (and an optional newline), owner-only. */
static int token_load(const char *path, int create, uint8_t token[static KBS_TOKEN])
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
		if (write(fd, text, 2 * KBS_TOKEN + 1) != 2 * KBS_TOKEN + 1 || fsync(fd))
			goto fail;
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
		fprintf(stderr, "adyton-kbs: %s: not a token (64 hex digits)\n", path);
		return -1;
	}
	return 0;
fail:
	fprintf(stderr, "adyton-kbs: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
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
static void linger_close(int fd)
{
	struct timeval tv = {.tv_sec = 1};
	uint8_t sink[4096];
	size_t total = 0;
	ssize_t n;

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (total < KBS_MAX_BODY && (n = read(fd, sink, sizeof(sink))) > 0)
		total += (size_t)n;
}

/*
 * Connections are served each on its own thread, so that a slow or idle
 * peer holds only its own (each is timed out after 10 s of silence);
 * requests are handled one at a time under broker_lock (the store, the
 * nonces, the audit log's order).  At most MAX_CONNS at once: more are
 * closed at once, with an audit line.
 */
#define MAX_CONNS 64
static pthread_mutex_t broker_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned conns;

static void serve_conn(kbs_broker *b, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct timeval tv = {.tv_sec = 10};
	char peer[64] = "unknown";

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		snprintf(peer, sizeof(peer), "pid:%d,uid:%u", (int)cred.pid, (unsigned)cred.uid);
	/* A peer that stalls mid-frame does not hold the broker. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		uint8_t *frame = NULL, *resp = NULL;
		size_t len = 0, rlen = 0;
		int close_after = 0;
		ady_err err = kbs_frame_read(fd, &frame, &len);

		if (err == ADY_ERR_IO)
			return;
		if (err) {
			/* A header we refuse: answer once, then end the session
			 * (the rest of the stream cannot be framed). */
			static const char why[] = "malformed message";
			kbs_msg m = {.type = KBS_ERROR, .code = ADY_ERR_MALFORMED};
			m.reason.p = (const uint8_t *)why;
			m.reason.len = sizeof(why) - 1;
			kbs_audit(b, "refuse", "resource=- reason=\"malformed frame header (%s)\" peer=%s",
				  ady_strerror(err), peer);
			if (kbs_msg_encode(&m, &resp, &rlen) == ADY_OK && kbs_frame_write(fd, resp, rlen))
				kbs_audit(b, "error", "answer not delivered peer=%s", peer);
			free(resp);
			linger_close(fd);
			return;
		}
		pthread_mutex_lock(&broker_lock);
		err = kbs_broker_handle(b, frame, len, peer, &resp, &rlen, &close_after);
		pthread_mutex_unlock(&broker_lock);
		free(frame);
		if (err || kbs_frame_write(fd, resp, rlen)) {
			free(resp);
			return;
		}
		free(resp);
		if (close_after) {
			linger_close(fd);
			return;
		}
	}
}

typedef struct conn {
	kbs_broker *b;
	int fd;
} conn;

static void *conn_main(void *arg)
{
	conn c = *(conn *)arg;

	free(arg);
	serve_conn(c.b, c.fd);
	close(c.fd);
	__atomic_sub_fetch(&conns, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

/* A thread for connection fd, which it closes; signals stay with the
 * accepting thread (SIGTERM must interrupt its accept). */
static void spawn_conn(kbs_broker *b, int fd)
{
	conn *c = malloc(sizeof(*c));
	sigset_t all, old;
	pthread_attr_t at;
	pthread_t t;
	int rc = -1;

	if (__atomic_add_fetch(&conns, 1, __ATOMIC_ACQ_REL) > MAX_CONNS || !c) {
		kbs_audit(b, "refuse", "resource=- reason=\"more than %u connections\"", MAX_CONNS);
		goto fail;
	}
	c->b = b;
	c->fd = fd;
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
fail:
	free(c);
	close(fd);
	__atomic_sub_fetch(&conns, 1, __ATOMIC_ACQ_REL);
}

static int cmd_serve(int argc, char **argv)
{
	const char *sock = NULL, *db = NULL, *audit = NULL, *tokf = NULL;
	kbs_broker b = {.audit_fd = -1, .nonce_ttl = 60};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction sig = {.sa_handler = on_term};
	int ls, ret = 1;
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
		else if (!strcmp(argv[i], "--nonce-ttl")) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end || v == 0 || v > 3600)
				return usage();
			b.nonce_ttl = (unsigned)v;
		} else
			return usage();
	}
	if (!sock || !db || !audit || !tokf || strlen(sock) >= sizeof(sa.sun_path))
		return usage();
	if (token_load(tokf, 1, b.token))
		return 1;
	b.audit_fd = open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (b.audit_fd < 0) {
		fprintf(stderr, "adyton-kbs: %s: %s\n", audit, strerror(errno));
		return 1;
	}
	err = kbs_store_open(db, &b.store);
	if (err) {
		fprintf(stderr, "adyton-kbs: store %s: %s\n", db, ady_strerror(err));
		close(b.audit_fd);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	strcpy(sa.sun_path, sock);
	unlink(sock);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 64)) {
		fprintf(stderr, "adyton-kbs: %s: %s\n", sock, strerror(errno));
		goto out;
	}
	kbs_audit(&b, "start", "socket=%s", sock);
	while (!stop) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "adyton-kbs: accept: %s\n", strerror(errno));
			goto out;
		}
		spawn_conn(&b, fd);
	}
	/* Connections in progress end within their 10 s timeouts; the store
	 * stays open until they have. */
	for (int i = 0; i < 1200 && __atomic_load_n(&conns, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	pthread_mutex_lock(&broker_lock);
	kbs_audit(&b, "stop", "socket=%s", sock);
	ret = 0;
out:
	if (ls >= 0) {
		close(ls);
		unlink(sock);
	}
	kbs_store_close(b.store);
	close(b.audit_fd);
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
	int fd = -1, ret = 1, config = 0;
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
	fd = kbs_connect(sock);
	if (fd < 0) {
		fprintf(stderr, "adyton-kbs: %s: %s\n", sock, strerror(errno));
		goto out;
	}
	err = kbs_call(fd, &req, &frame, &resp);
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
	if (fd >= 0)
		close(fd);
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
