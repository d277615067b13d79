/*
 * nbdkit-adyton-filter: serves the plaintext view of a key guard volume.
 *
 *   nbdkit --filter=adyton file disk.img volume=disk.img [header=disk.img.kgh]
 *          [type=auto|native|luks1|plain] [sector=512|4096] [socket=PATH] [enclave=PATH]
 *
 * The filter starts the keyguard enclave and listens on a UNIX socket
 * (default VOLUME.unlock) for `adyton-keyguard unlock`: the tool gets the
 * enclave's ephemeral public key and sends back an envelope only the
 * enclave can open; the filter forwards it and never sees the password
 * or the volume key.  Only the same user (or root) may connect (mode
 * 0600 and SO_PEERCRED).  Until a volume is unlocked, NBD connections are
 * refused, and every connection first checks that the plugin serves the
 * volume volume= names (kg_prepare).  Each NBD read or write becomes one
 * KG_E_CRYPT ECALL per msbuf-sized chunk (1 MiB) in a marshalling slot
 * the request holds (libadyton's zero-copy slot API), several at once on
 * the enclave's thread slots.  Write-zeroes is emulated by nbdkit through
 * the filter's pwrite (encrypted zeros); trim is not offered
 * (kg_can_trim), and block status shows the whole volume as data
 * (kg_can_extents).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-filter.h>

#include "adyton/cursor.h"
#include "adyton/host.h"
#include "adyton/luks1.h"
#include "enclave_path.h"
#include "keyguard.h"
#include "sockio.h"

#ifndef KG_ENCLAVE_REL
#define KG_ENCLAVE_REL "../../adyton" /* from lib/nbdkit/filters to the installed enclave */
#endif

enum { TYPE_AUTO = 0 };

static struct {
	char *volume, *header, *sock, *enclave;
	int type;
	uint32_t plain_sector;
	uint8_t *hdr; /* native header file */
	size_t hdr_len;
	uint8_t phdr[ADY_LUKS1_PHDR_SIZE];
	ady_luks1_hdr luks;

	ady_enclave *e;
	uint8_t pub[KG_PUB_SIZE];
	size_t chunk; /* data bytes per KG_E_CRYPT */
	int lfd;
	pthread_t thr;
	bool thr_started;
	pthread_mutex_t rmw; /* serialises read-modify-write of partial sectors */

	int unlocked; /* atomic; the fields below are set before it */
	uint32_t sector;
	uint64_t data_offset;
	uint64_t volume_size; /* native: the size the sealed header records */
} g = {.lfd = -1, .rmw = PTHREAD_MUTEX_INITIALIZER};

static void kg_unload(void)
{
	free(g.volume);
	free(g.header);
	free(g.sock);
	free(g.enclave);
	free(g.hdr);
}

static int set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = strdup(value);
	return *dst ? 0 : -1;
}

/* nbdkit changes to / when it forks into the background: every path is
 * made absolute while the user's working directory still applies. */
static int set_path(char **dst, const char *value)
{
	free(*dst);
	*dst = nbdkit_absolute_path(value);
	return *dst ? 0 : -1;
}

static int kg_config(nbdkit_next_config *next, nbdkit_backend *nxdata, const char *key, const char *value)
{
	if (strcmp(key, "volume") == 0)
		return set_path(&g.volume, value);
	if (strcmp(key, "header") == 0)
		return set_path(&g.header, value);
	if (strcmp(key, "socket") == 0)
		return set_path(&g.sock, value);
	if (strcmp(key, "enclave") == 0)
		return set_path(&g.enclave, value);
	if (strcmp(key, "type") == 0) {
		if (strcmp(value, "auto") == 0)
			g.type = TYPE_AUTO;
		else if (strcmp(value, "native") == 0)
			g.type = KG_TYPE_NATIVE;
		else if (strcmp(value, "luks1") == 0)
			g.type = KG_TYPE_LUKS1;
		else if (strcmp(value, "plain") == 0)
			g.type = KG_TYPE_PLAIN;
		else {
			nbdkit_error("adyton: type=%s: expected auto, native, luks1 or plain", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "sector") == 0) {
		if (strcmp(value, "512") && strcmp(value, "4096")) {
			nbdkit_error("adyton: sector=%s: expected 512 or 4096", value);
			return -1;
		}
		g.plain_sector = (uint32_t)atoi(value);
		return 0;
	}
	return next(nxdata, key, value);
}

static int read_file(const char *path, uint8_t **out, size_t *len, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t *p;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0 || (uint64_t)sb.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	p = malloc((size_t)sb.st_size);
	if (!p || pread(fd, p, (size_t)sb.st_size, 0) != sb.st_size) {
		free(p);
		close(fd);
		errno = EIO;
		return -1;
	}
	close(fd);
	*out = p;
	*len = (size_t)sb.st_size;
	return 0;
}

#define LUKS_MAGIC "LUKS\xba\xbe"

/* Whether a phdr is a well-formed LUKS1 header apart from its magic. */
static bool luks_but_magic(const uint8_t *phdr)
{
	uint8_t copy[ADY_LUKS1_PHDR_SIZE];
	ady_luks1_hdr h;

	memcpy(copy, phdr, sizeof(copy));
	memcpy(copy, LUKS_MAGIC, 6);
	return ady_luks1_decode(copy, sizeof(copy), &h) == ADY_OK;
}

static int kg_config_complete(nbdkit_next_config_complete *next, nbdkit_backend *nxdata)
{
	char buf[4096];
	bool auto_native = false;

	if (!g.volume) {
		nbdkit_error("adyton: volume=PATH is required (the volume file the plugin serves)");
		return -1;
	}
	if (!g.header) {
		snprintf(buf, sizeof(buf), "%s.kgh", g.volume);
		if (set_string(&g.header, buf))
			return -1;
	}
	if (!g.sock) {
		snprintf(buf, sizeof(buf), "%s.unlock", g.volume);
		if (set_string(&g.sock, buf))
			return -1;
	}
	if (!g.enclave) {
		/* Next to this module (the build tree) or where it is installed. */
		Dl_info dl;
		char *self = dladdr((void *)kg_config_complete, &dl) && dl.dli_fname
				     ? nbdkit_realpath(dl.dli_fname) : NULL;
		int r = self ? kg_enclave_path(self, KG_ENCLAVE_REL, buf, sizeof(buf)) : -1;
		free(self);
		if (r || set_path(&g.enclave, buf)) {
			nbdkit_error("adyton: cannot find the keyguard enclave: give enclave=PATH");
			return -1;
		}
	}
	if (g.type == TYPE_AUTO || g.type == KG_TYPE_LUKS1) {
		int fd = open(g.volume, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? pread(fd, g.phdr, sizeof(g.phdr), 0) : -1;
		if (fd >= 0)
			close(fd);
		if (n < 0) {
			nbdkit_error("adyton: %s: %m", g.volume);
			return -1;
		}
		if (n == (ssize_t)sizeof(g.phdr) && memcmp(g.phdr, LUKS_MAGIC, 6) == 0)
			g.type = KG_TYPE_LUKS1;
		else if (n == (ssize_t)sizeof(g.phdr) && luks_but_magic(g.phdr)) {
			/* Not a native volume with a missing header: say what it is. */
			nbdkit_error("adyton: %s: damaged LUKS header: the LUKS magic (bytes 0-5) is wrong but the "
				     "rest is a LUKS1 header; restore the header (cryptsetup luksHeaderRestore)",
				     g.volume);
			return -1;
		} else if (g.type == KG_TYPE_LUKS1) {
			nbdkit_error("adyton: %s is not a LUKS volume (no LUKS magic)", g.volume);
			return -1;
		}
	}
	if (g.type == TYPE_AUTO) {
		auto_native = true;
		g.type = KG_TYPE_NATIVE;
	}
	switch (g.type) {
	case KG_TYPE_NATIVE:
		if (read_file(g.header, &g.hdr, &g.hdr_len, KG_HDR_MAX)) {
			if (auto_native && errno == ENOENT)
				nbdkit_error("adyton: %s does not start with the LUKS magic and has no native header "
					     "(%s: %m): if it is a LUKS volume, its header is damaged; a native volume "
					     "needs the header adyton-keyguard create wrote (header=PATH)",
					     g.volume, g.header);
			else
				nbdkit_error("adyton: %s: %m (the native volume's header; create volumes with "
					     "adyton-keyguard create)", g.header);
			return -1;
		}
		if (g.hdr_len < 32 || memcmp(g.hdr, KG_HDR_MAGIC, 8) != 0) {
			nbdkit_error("adyton: %s is not a key guard volume header", g.header);
			return -1;
		}
		break;
	case KG_TYPE_LUKS1: {
		/* Parsed here only to find the key slots; the enclave parses and
		 * checks the same bytes again for itself. */
		ady_err err = ady_luks1_decode(g.phdr, sizeof(g.phdr), &g.luks);
		if (err) {
			nbdkit_error("adyton: %s: LUKS1 header refused: %s", g.volume, ady_strerror(err));
			return -1;
		}
		break;
	}
	case KG_TYPE_PLAIN:
		if (!g.plain_sector) {
			nbdkit_error("adyton: type=plain needs sector=512 or sector=4096");
			return -1;
		}
		break;
	default:
		return -1;
	}
	return next(nxdata);
}

#define kg_config_help                                                                                    \
	"volume=PATH      (required) the volume file the plugin serves\n"                                     \
	"header=PATH      native volume header (default VOLUME.kgh)\n"                                        \
	"type=auto|native|luks1|plain   (default auto: LUKS1 if the volume says so, else native)\n"          \
	"sector=512|4096  sector size of a plain volume\n"                                                    \
	"socket=PATH      unlock socket for adyton-keyguard unlock (default VOLUME.unlock)\n"                 \
	"enclave=PATH     the signed keyguard enclave"

static int kg_thread_model(void) { return NBDKIT_THREAD_MODEL_PARALLEL; }

/* The first u32 of p (n bytes) through the public cursor; false when
 * there is none. */
static bool take_u32(const uint8_t *p, size_t n, uint32_t *v)
{
	ady_cur c;

	ady_cur_init(&c, p, n);
	return ady_cur_u32le(&c, v) == ADY_OK;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Forwards one envelope to the enclave: *status gets KG_ST_*, the
 * return value the call's own error. */
static ady_err unlock_with(const uint8_t *env, size_t env_len, uint32_t *status)
{
	uint8_t out[16];
	size_t n = 0;
	uint8_t *in = NULL;
	size_t in_len;
	ady_err err = ADY_OK;

	*status = KG_ST_BAD_HEADER;
	switch (g.type) {
	case KG_TYPE_NATIVE:
		in_len = 4 + g.hdr_len + env_len;
		in = malloc(in_len);
		if (!in)
			return ADY_ERR_NOMEM;
		put32(in, (uint32_t)g.hdr_len);
		memcpy(in + 4, g.hdr, g.hdr_len);
		memcpy(in + 4 + g.hdr_len, env, env_len);
		err = ady_ecall(g.e, KG_E_OPEN_NATIVE, in, in_len, out, sizeof(out), &n);
		if (!err) {
			/* status; on KG_ST_OK exactly sector u32, volume size u64 */
			ady_cur c;
			uint32_t sector;
			uint64_t size;

			ady_cur_init(&c, out, n);
			if (ady_cur_u32le(&c, status) != ADY_OK)
				*status = KG_ST_BAD_HEADER;
			else if (*status == KG_ST_OK && ady_cur_u32le(&c, &sector) == ADY_OK &&
				 ady_cur_u64le(&c, &size) == ADY_OK && ady_cur_left(&c) == 0) {
				g.sector = sector;
				g.data_offset = 0;
				g.volume_size = size;
			}
		}
		break;
	case KG_TYPE_PLAIN:
		in_len = 4 + env_len;
		in = malloc(in_len);
		if (!in)
			return ADY_ERR_NOMEM;
		put32(in, g.plain_sector);
		memcpy(in + 4, env, env_len);
		err = ady_ecall(g.e, KG_E_OPEN_PLAIN, in, in_len, out, sizeof(out), &n);
		if (!err && take_u32(out, n, status)) {
			if (*status == KG_ST_OK) {
				g.sector = g.plain_sector;
				g.data_offset = 0;
			}
		}
		break;
	case KG_TYPE_LUKS1: {
		int fd = open(g.volume, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ADY_ERR_IO;
		*status = KG_ST_WRONG_PASSWORD;
		for (uint32_t s = 0; s < ADY_LUKS1_SLOTS && *status == KG_ST_WRONG_PASSWORD && !err; s++) {
			const ady_luks1_slot *sl = &g.luks.slot[s];
			uint64_t msize;
			if (sl->active != ADY_LUKS1_SLOT_ENABLED)
				continue;
			msize = ady_luks1_material_size(&g.luks, sl);
			in_len = 4 + ADY_LUKS1_PHDR_SIZE + msize + env_len;
			free(in);
			in = malloc(in_len);
			if (!in) {
				err = ADY_ERR_NOMEM;
				break;
			}
			put32(in, s);
			memcpy(in + 4, g.phdr, ADY_LUKS1_PHDR_SIZE);
			if (pread(fd, in + 4 + ADY_LUKS1_PHDR_SIZE, msize,
				  (off_t)((uint64_t)sl->material_offset * ADY_LUKS1_SECTOR)) != (ssize_t)msize) {
				err = ADY_ERR_IO;
				break;
			}
			memcpy(in + 4 + ADY_LUKS1_PHDR_SIZE + msize, env, env_len);
			err = ady_ecall(g.e, KG_E_OPEN_LUKS1, in, in_len, out, sizeof(out), &n);
			if (!err) {
				/* status; on KG_ST_OK exactly the payload offset u32 */
				ady_cur c;
				uint32_t off;

				ady_cur_init(&c, out, n);
				if (ady_cur_u32le(&c, status) != ADY_OK)
					*status = KG_ST_BAD_HEADER;
				else if (*status == KG_ST_OK && ady_cur_u32le(&c, &off) == ADY_OK && ady_cur_left(&c) == 0) {
					g.sector = ADY_LUKS1_SECTOR;
					g.data_offset = (uint64_t)off * ADY_LUKS1_SECTOR;
				}
			}
		}
		close(fd);
		break;
	}
	default:
		break;
	}
	free(in);
	if (!err && *status == KG_ST_OK)
		__atomic_store_n(&g.unlocked, 1, __ATOMIC_RELEASE);
	return err;
}

/* Answers a quote request on the unlock socket: reads the tool's nonce,
 * sends u32 ady_err || u32 len || the enclave's quote over its unlock key.
 * -1 when the connection failed. */
static int send_quote(int fd)
{
	static uint8_t q[8 + KG_QUOTE_MAX]; /* only the unlock thread uses it */
	uint8_t nonce[32];
	size_t n = 0;
	ady_err err;

	if (kg_full_io(fd, nonce, sizeof(nonce), 0))
		return -1;
	err = ady_ecall(g.e, KG_E_QUOTE, nonce, sizeof(nonce), q + 8, KG_QUOTE_MAX, &n);
	if (err) {
		nbdkit_error("adyton: unlock: no quote for the enclave: %s", ady_strerror(err));
		n = 0;
	}
	put32(q, (uint32_t)err);
	put32(q + 4, (uint32_t)n);
	return kg_full_io(fd, q, 8 + n, 1);
}

/* Only the user nbdkit runs as (or root) may unlock: the socket is also
 * 0600, but it is chmod-ed after bind() and a directory may be shared. */
static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t n = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) == 0 && n == sizeof(cr) &&
	       (cr.uid == geteuid() || cr.uid == 0);
}

/* The unlock socket: one client at a time, short timeouts, a length cap
 * before anything is read. */
static void *unlock_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct timeval tv = {.tv_sec = 30};
		uint8_t hello[5 + KG_PUB_SIZE], lenb[4], env[KG_ENV_MAX], reply[8];
		uint32_t env_len, status = KG_ST_ALREADY;
		ady_err err = ADY_OK;
		int fd = accept4(g.lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		if (!peer_allowed(fd)) {
			nbdkit_error("adyton: unlock socket: a connection from another user refused");
			goto next;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		memcpy(hello, KG_SOCK_MAGIC, 4);
		hello[4] = (uint8_t)g.type;
		memcpy(hello + 5, g.pub, KG_PUB_SIZE);
		if (kg_full_io(fd, hello, sizeof(hello), 1) || kg_full_io(fd, lenb, 4, 0))
			goto next;
		(void)take_u32(lenb, sizeof(lenb), &env_len);
		if (env_len == KG_SOCK_QUOTE) {
			/* The tool attests the enclave before it sends anything. */
			if (send_quote(fd) || kg_full_io(fd, lenb, 4, 0))
				goto next;
			(void)take_u32(lenb, sizeof(lenb), &env_len);
		}
		if (env_len < KG_ENV_OVERHEAD || env_len > KG_ENV_MAX || kg_full_io(fd, env, env_len, 0))
			goto next;
		if (!__atomic_load_n(&g.unlocked, __ATOMIC_ACQUIRE)) {
			err = unlock_with(env, env_len, &status);
			if (err)
				nbdkit_error("adyton: unlock: %s", ady_strerror(err));
			else if (status == KG_ST_OK)
				nbdkit_debug("adyton: volume unlocked");
			else
				nbdkit_error("adyton: unlock refused (status %u)", status);
		}
		put32(reply, status);
		put32(reply + 4, (uint32_t)err);
		(void)kg_full_io(fd, reply, sizeof(reply), 1);
	next:
		close(fd);
	}
}

/* After nbdkit forked into the background: threads and the enclave's
 * host process belong to the serving process. */
static int kg_after_fork(nbdkit_backend *backend)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ady_enclave_info info;
	size_t n = 0;
	ady_err err;

	(void)backend;
	err = ady_enclave_open(g.enclave, NULL, &g.e);
	if (err) {
		nbdkit_error("adyton: %s: %s", g.enclave, ady_strerror(err));
		return -1;
	}
	ady_enclave_get_info(g.e, &info);
	if (info.msbuf_size < 64 + KG_CTL_SIZE + 4096) {
		nbdkit_error("adyton: enclave slot too small");
		return -1;
	}
	g.chunk = (size_t)(info.msbuf_size - 64 - KG_CTL_SIZE) / 4096 * 4096;
	err = ady_ecall(g.e, KG_E_PUBKEY, NULL, 0, g.pub, sizeof(g.pub), &n);
	if (err || n != KG_PUB_SIZE) {
		nbdkit_error("adyton: enclave key: %s", ady_strerror(err ? err : ADY_ERR_PROTOCOL));
		return -1;
	}
	if (strlen(g.sock) >= sizeof(sa.sun_path)) {
		nbdkit_error("adyton: socket path too long: %s", g.sock);
		return -1;
	}
	strcpy(sa.sun_path, g.sock);
	unlink(g.sock);
	g.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g.lfd < 0 || bind(g.lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(g.sock, 0600) != 0 ||
	    listen(g.lfd, 4) != 0) {
		nbdkit_error("adyton: unlock socket %s: %m", g.sock);
		return -1;
	}
	if (pthread_create(&g.thr, NULL, unlock_thread, NULL) != 0) {
		nbdkit_error("adyton: unlock thread: %m");
		return -1;
	}
	g.thr_started = true;
	nbdkit_debug("adyton: %s backend, waiting for adyton-keyguard unlock %s", ady_backend_name(info.backend),
		     g.sock);
	return 0;
}

static void kg_cleanup(nbdkit_backend *backend)
{
	uint8_t out[4];
	size_t n;

	(void)backend;
	if (g.thr_started) {
		shutdown(g.lfd, SHUT_RDWR);
		pthread_cancel(g.thr);
		pthread_join(g.thr, NULL);
		g.thr_started = false;
	}
	if (g.lfd >= 0) {
		close(g.lfd);
		unlink(g.sock);
		g.lfd = -1;
	}
	if (g.e) {
		if (ady_ecall(g.e, KG_E_LOCK, NULL, 0, out, sizeof(out), &n))
			nbdkit_debug("adyton: lock failed (the enclave is closed anyway)");
		ady_enclave_close(g.e);
		g.e = NULL;
	}
}

/* While locked, nbdkit 1.32 answers a failed open with a bare
 * NBD_REP_ERR_UNKNOWN ("No such file or directory"), no text: the export
 * list (what `nbdinfo --list` and nbdinfo's own suggestion show) says
 * why, and the server log does too. */
static int kg_list_exports(nbdkit_next_list_exports *next, nbdkit_backend *nxdata, int readonly, int is_tls,
			   struct nbdkit_exports *exports)
{
	char desc[4200];

	(void)is_tls;
	if (__atomic_load_n(&g.unlocked, __ATOMIC_ACQUIRE))
		return next(nxdata, readonly, exports);
	/* The name too: nbdinfo --list prints the name of an export it
	 * cannot open, not its description. */
	snprintf(desc, sizeof(desc), "locked: run adyton-keyguard unlock %s", g.sock);
	return nbdkit_add_export(exports, desc, desc);
}

static void *kg_open(nbdkit_next_open *next, nbdkit_context *ctx, int readonly, const char *exportname,
		     int is_tls)
{
	(void)is_tls;
	if (!__atomic_load_n(&g.unlocked, __ATOMIC_ACQUIRE)) {
		nbdkit_error("adyton: the volume is locked: run adyton-keyguard unlock %s", g.sock);
		return NULL;
	}
	if (next(ctx, readonly, exportname) == -1)
		return NULL;
	return NBDKIT_HANDLE_NOT_NEEDED;
}

/*
 * volume= says which file's header unlocked the enclave; the plugin says
 * which bytes are served.  They must be the same volume, or another file
 * would be read and written under this volume's key.  Checked on every
 * connection, before any request: a LUKS1 volume's header as the plugin
 * serves it must be the one the key came from; a native volume's size
 * must be the one its sealed header records (its header is a separate
 * file, so that is all the plugin's bytes can be held to), and no
 * native or plain volume starts with the LUKS magic.
 */
static int kg_prepare(nbdkit_next *next, void *handle, int readonly)
{
	uint8_t phdr[ADY_LUKS1_PHDR_SIZE];
	int64_t size = next->get_size(next);
	int err = 0;

	(void)handle, (void)readonly;
	if (size < 0)
		return -1;
	if ((uint64_t)size < sizeof(phdr)) {
		if (g.type == KG_TYPE_LUKS1) {
			nbdkit_error("adyton: the plugin serves %" PRId64 " bytes, less than %s's LUKS header: "
				     "volume= must name the volume the plugin serves", size, g.volume);
			return -1;
		}
		memset(phdr, 0, sizeof(phdr));
	} else if (next->pread(next, phdr, sizeof(phdr), 0, 0, &err) == -1) {
		nbdkit_error("adyton: reading the volume's first bytes through the plugin: %s", strerror(err));
		return -1;
	}
	switch (g.type) {
	case KG_TYPE_LUKS1:
		if (memcmp(phdr, g.phdr, sizeof(phdr)) != 0) {
			nbdkit_error("adyton: the plugin does not serve %s: its LUKS header differs from the one "
				     "the volume was unlocked with; volume= must name the volume the plugin serves",
				     g.volume);
			return -1;
		}
		break;
	case KG_TYPE_NATIVE:
		if ((uint64_t)size != g.volume_size) {
			nbdkit_error("adyton: the plugin serves %" PRId64 " bytes but the header %s is for a "
				     "%" PRIu64 "-byte volume: volume= (and header=) must name the volume the "
				     "plugin serves", size, g.header, g.volume_size);
			return -1;
		}
		/* fall through */
	case KG_TYPE_PLAIN:
		if (memcmp(phdr, LUKS_MAGIC, 6) == 0) {
			nbdkit_error("adyton: the plugin serves a LUKS volume, but %s was opened as a %s volume: "
				     "volume= must name the volume the plugin serves", g.volume,
				     g.type == KG_TYPE_NATIVE ? "native" : "plain");
			return -1;
		}
		break;
	default:
		return -1;
	}
	return 0;
}

static int64_t kg_get_size(nbdkit_next *next, void *handle)
{
	int64_t size = next->get_size(next);

	(void)handle;
	if (size < 0)
		return -1;
	if ((uint64_t)size < g.data_offset) {
		nbdkit_error("adyton: the volume is shorter than its LUKS header");
		return -1;
	}
	return (int64_t)(((uint64_t)size - g.data_offset) / g.sector * g.sector);
}

static int kg_can_extents(nbdkit_next *next, void *handle)
{
	(void)next, (void)handle;
	return 0; /* the plugin's holes are not the plaintext's */
}

/* An NBD trim may discard the plugin's bytes (punch holes, or nothing at
 * all): a trimmed range would read back as the decryption of zeros or of
 * stale ciphertext, an unaligned trim would change the rest of its
 * sectors, and holes would show which sectors are unused.  nbdkit's luks
 * filter does not offer trim either; write zeros instead (NBD_CMD_WRITE_ZEROES
 * is emulated below by writing encrypted zeros). */
static int kg_can_trim(nbdkit_next *next, void *handle)
{
	(void)next, (void)handle;
	return 0;
}

static int kg_can_zero(nbdkit_next *next, void *handle)
{
	(void)next, (void)handle;
	return NBDKIT_ZERO_EMULATE; /* zeros must be written encrypted */
}

static int kg_can_fast_zero(nbdkit_next *next, void *handle)
{
	(void)next, (void)handle;
	return 0;
}

/* Takes one of the enclave's marshalling slots for this request: the
 * plugin reads ciphertext straight into it and the enclave decrypts it
 * there (bulk ECALL, in place), or plaintext is copied in once and the
 * plugin writes the ciphertext from it, so each request costs one copy. */
static int slot_open(ady_ecall_slot *s, int *err)
{
	ady_err e = ady_ecall_slot_open(g.e, s);

	if (e) {
		nbdkit_error("adyton: enclave: %s", ady_strerror(e));
		*err = EIO;
		return -1;
	}
	return 0;
}

/* En/decrypts s->data[0, n) in place: whole sectors starting at
 * plaintext offset off. */
static int crypt_slot(ady_ecall_slot *s, size_t n, uint64_t off, uint32_t op, int *err)
{
	uint64_t sector = off / g.sector;
	uint8_t *ctl = s->data + n;
	size_t got = 0;
	ady_err e;

	for (int i = 0; i < 8; i++)
		ctl[i] = (uint8_t)(sector >> (8 * i));
	put32(ctl + 8, op);
	put32(ctl + 12, 0);
	e = ady_ecall_slot_call(s, KG_E_CRYPT, n + KG_CTL_SIZE, n, &got);
	if (e || got != n) {
		nbdkit_error("adyton: enclave %s: %s", op == KG_OP_ENCRYPT ? "encrypt" : "decrypt",
			     ady_strerror(e ? e : ADY_ERR_PROTOCOL));
		*err = EIO;
		return -1;
	}
	return 0;
}

static int kg_pread(nbdkit_next *next, void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags,
		    int *err)
{
	uint64_t a = offset / g.sector * g.sector, end = offset + count;
	uint64_t b_end = (end + g.sector - 1) / g.sector * g.sector;
	uint8_t *dst = buf;
	ady_ecall_slot s;
	int r = -1;

	(void)handle;
	if (slot_open(&s, err))
		return -1;
	while (a < b_end) {
		size_t n = b_end - a < g.chunk ? (size_t)(b_end - a) : g.chunk;
		uint64_t lo = a > offset ? a : offset, hi = a + n < end ? a + n : end;

		if (next->pread(next, s.data, (uint32_t)n, g.data_offset + a, flags, err) == -1 ||
		    crypt_slot(&s, n, a, KG_OP_DECRYPT, err))
			goto close_slot;
		memcpy(dst + (lo - offset), s.data + (lo - a), (size_t)(hi - lo));
		a += n;
	}
	r = 0;
close_slot:
	ady_ecall_slot_close(&s);
	return r;
}

static int kg_pwrite(nbdkit_next *next, void *handle, const void *buf, uint32_t count, uint64_t offset,
		     uint32_t flags, int *err)
{
	uint64_t a = offset / g.sector * g.sector, end = offset + count;
	uint64_t b_end = (end + g.sector - 1) / g.sector * g.sector;
	const uint8_t *src = buf;
	ady_ecall_slot s;
	int r = 0;

	(void)handle;
	if (slot_open(&s, err))
		return -1;
	while (a < b_end && r == 0) {
		size_t n = b_end - a < g.chunk ? (size_t)(b_end - a) : g.chunk;
		bool whole = a >= offset && a + n <= end;

		if (whole) {
			memcpy(s.data, src + (a - offset), n);
			r = crypt_slot(&s, n, a, KG_OP_ENCRYPT, err) ||
					    next->pwrite(next, s.data, (uint32_t)n, g.data_offset + a, flags, err) == -1
				    ? -1
				    : 0;
		} else {
			/* A partial sector: decrypt, patch, encrypt, under one lock
			 * so concurrent partial writes to one sector both land. */
			uint64_t lo = a > offset ? a : offset, hi = a + n < end ? a + n : end;
			r = -1;
			pthread_mutex_lock(&g.rmw);
			if (next->pread(next, s.data, (uint32_t)n, g.data_offset + a, 0, err) != -1 &&
			    !crypt_slot(&s, n, a, KG_OP_DECRYPT, err)) {
				memcpy(s.data + (lo - a), src + (lo - offset), (size_t)(hi - lo));
				if (!crypt_slot(&s, n, a, KG_OP_ENCRYPT, err) &&
				    next->pwrite(next, s.data, (uint32_t)n, g.data_offset + a, flags, err) != -1)
					r = 0;
			}
			pthread_mutex_unlock(&g.rmw);
		}
		a += n;
	}
	ady_ecall_slot_close(&s);
	return r;
}

static int kg_cache(nbdkit_next *next, void *handle, uint32_t count, uint64_t offset, uint32_t flags, int *err)
{
	(void)handle;
	return next->cache(next, count, g.data_offset + offset, flags, err);
}

static struct nbdkit_filter filter = {
	.name = "adyton",
	.longname = "adyton key guard filter",
	.description = "disk encryption with the key held in an adyton enclave",
	.unload = kg_unload,
	.config = kg_config,
	.config_complete = kg_config_complete,
	.config_help = kg_config_help,
	.thread_model = kg_thread_model,
	.after_fork = kg_after_fork,
	.cleanup = kg_cleanup,
	.list_exports = kg_list_exports,
	.open = kg_open,
	.prepare = kg_prepare,
	.get_size = kg_get_size,
	.can_trim = kg_can_trim,
	.can_extents = kg_can_extents,
	.can_zero = kg_can_zero,
	.can_fast_zero = kg_can_fast_zero,
	.pread = kg_pread,
	.pwrite = kg_pwrite,
	.cache = kg_cache,
};

/* nbdkit looks this up by name; the macro defines it without a prototype. */
struct nbdkit_filter *filter_init(void);
NBDKIT_REGISTER_FILTER(filter)
