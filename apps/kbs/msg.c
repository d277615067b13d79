/*
 * msg.c - the key broker's frames (msg.h): the one parser of broker
 * messages, shared by the broker, the host relay and the fuzz target.
 */
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "adyton/cursor.h"

int kbs_name_valid(const uint8_t *p, size_t len)
{
	if (len == 0 || len > KBS_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int known_type(uint16_t t)
{
	return t >= KBS_CHALLENGE && t <= KBS_OK;
}

/* see msg.h */
ady_err kbs_header_decode(const uint8_t hdr[static KBS_HEADER], uint16_t *type, uint32_t *body_len)
{
	ady_cur c;
	uint32_t magic, len;
	uint16_t t, flags;

	ady_cur_init(&c, hdr, KBS_HEADER);
	if (ady_cur_u32le(&c, &magic) || ady_cur_u16le(&c, &t) || ady_cur_u16le(&c, &flags) ||
	    ady_cur_u32le(&c, &len))
		return ady_cur_err(&c);
	if (magic != KBS_MAGIC || flags != 0 || !known_type(t))
		return ADY_ERR_MALFORMED;
	if (len > KBS_MAX_BODY)
		return ADY_ERR_TOO_LARGE;
	*type = t;
	*body_len = len;
	return ADY_OK;
}

/* Points s at n bytes of the cursor's input. */
static ady_err take(ady_cur *c, size_t n, const uint8_t **p)
{
	ady_err err;

	if (c->err)
		return c->err;
	if (n > c->len - c->off)
		return (c->err = ADY_ERR_TRUNCATED);
	*p = (const uint8_t *)c->p + c->off;
	err = ady_cur_skip(c, n);
	return err;
}

static ady_err str16(ady_cur *c, size_t max, kbs_str *s)
{
	uint16_t n;
	ady_err err = ady_cur_u16le(c, &n);

	if (err)
		return err;
	if (n > max)
		return ADY_ERR_MALFORMED;
	s->len = n;
	return take(c, n, &s->p);
}

static ady_err blob32(ady_cur *c, size_t max, kbs_str *s)
{
	uint32_t n;
	ady_err err = ady_cur_u32le(c, &n);

	if (err)
		return err;
	if (n > max)
		return ADY_ERR_MALFORMED;
	s->len = n;
	return take(c, n, &s->p);
}

static ady_err name(ady_cur *c, kbs_str *s)
{
	ady_err err = str16(c, KBS_MAX_NAME, s);

	if (err)
		return err;
	return kbs_name_valid(s->p, s->len) ? ADY_OK : ADY_ERR_MALFORMED;
}

/* Text a person reads (reasons, policies): printable ASCII, tab, newline. */
static int text_valid(const kbs_str *s)
{
	for (size_t i = 0; i < s->len; i++) {
		uint8_t ch = s->p[i];
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch > 0x7e)
			return 0;
	}
	return 1;
}

static ady_err kind(ady_cur *c, uint8_t *k)
{
	ady_err err = ady_cur_u8(c, k);

	if (err)
		return err;
	return (*k == KBS_KIND_SECRET || *k == KBS_KIND_CONFIG) ? ADY_OK : ADY_ERR_MALFORMED;
}

static ady_err flag(ady_cur *c, uint8_t *f)
{
	ady_err err = ady_cur_u8(c, f);

	if (err)
		return err;
	return *f <= 1 ? ADY_OK : ADY_ERR_MALFORMED;
}

static ady_err body_decode(ady_cur *c, kbs_msg *m)
{
	ady_err err = ADY_OK;

	switch (m->type) {
	case KBS_CHALLENGE:
		err = name(c, &m->name);
		break;
	case KBS_NONCE_MSG:
		err = take(c, KBS_NONCE, &m->nonce);
		break;
	case KBS_FETCH:
		if ((err = name(c, &m->name)) || (err = take(c, KBS_NONCE, &m->nonce)) ||
		    (err = take(c, KBS_PUB, &m->pub)) || (err = blob32(c, KBS_MAX_QUOTE, &m->quote)))
			break;
		if (m->pub[0] != 0x04 || m->quote.len == 0)
			err = ADY_ERR_MALFORMED;
		break;
	case KBS_RELEASE:
		if ((err = kind(c, &m->kind)) || (err = take(c, KBS_PUB, &m->pub)) || (err = take(c, KBS_IV, &m->iv)) ||
		    (err = blob32(c, KBS_MAX_DATA + KBS_TAG, &m->ct)))
			break;
		if (m->pub[0] != 0x04 || m->ct.len < KBS_TAG)
			err = ADY_ERR_MALFORMED;
		break;
	case KBS_ERROR:
		if ((err = ady_cur_u32le(c, &m->code)) || (err = str16(c, KBS_MAX_REASON, &m->reason)))
			break;
		if (!text_valid(&m->reason))
			err = ADY_ERR_MALFORMED;
		break;
	case KBS_PUT:
		if ((err = take(c, KBS_TOKEN, &m->token)) || (err = name(c, &m->name)) || (err = kind(c, &m->kind)) ||
		    (err = blob32(c, KBS_MAX_POLICY, &m->policy)) || (err = blob32(c, KBS_MAX_DATA, &m->data)))
			break;
		if (!text_valid(&m->policy))
			err = ADY_ERR_MALFORMED;
		break;
	case KBS_REVOKE:
	case KBS_GET_POLICY:
		if (!(err = take(c, KBS_TOKEN, &m->token)))
			err = name(c, &m->name);
		break;
	case KBS_POLICY:
		if ((err = kind(c, &m->kind)) || (err = flag(c, &m->revoked)) ||
		    (err = blob32(c, KBS_MAX_POLICY, &m->policy)))
			break;
		if (!text_valid(&m->policy))
			err = ADY_ERR_MALFORMED;
		break;
	case KBS_LIST:
		err = take(c, KBS_TOKEN, &m->token);
		break;
	case KBS_LISTING: {
		size_t start;
		if ((err = ady_cur_u32le(c, &m->count)))
			break;
		if (m->count > KBS_MAX_LIST) {
			err = ADY_ERR_MALFORMED;
			break;
		}
		start = c->off;
		for (uint32_t i = 0; i < m->count && !err; i++) {
			kbs_str n;
			uint8_t k, r;
			if (!(err = name(c, &n)) && !(err = kind(c, &k)))
				err = flag(c, &r);
		}
		if (!err) {
			m->list.p = (const uint8_t *)c->p + start;
			m->list.len = c->off - start;
		}
		break;
	}
	case KBS_OK:
		break;
	default:
		err = ADY_ERR_MALFORMED;
	}
	if (err)
		return err;
	return ady_cur_left(c) == 0 ? ADY_OK : ADY_ERR_MALFORMED;
}

/* see msg.h */
ady_err kbs_msg_decode(const uint8_t *frame, size_t len, kbs_msg *m)
{
	ady_cur c;
	uint32_t body_len;
	uint16_t type;
	ady_err err;

	memset(m, 0, sizeof(*m));
	if (!frame || len < KBS_HEADER)
		return ADY_ERR_TRUNCATED;
	err = kbs_header_decode(frame, &type, &body_len);
	if (err)
		return err;
	if (len - KBS_HEADER != body_len)
		return len - KBS_HEADER < body_len ? ADY_ERR_TRUNCATED : ADY_ERR_MALFORMED;
	ady_cur_init(&c, frame + KBS_HEADER, body_len);
	m->type = type;
	err = body_decode(&c, m);
	if (err)
		memset(m, 0, sizeof(*m));
	return err;
}

/* see msg.h */
int kbs_list_next(const kbs_msg *m, size_t *off, kbs_str *n, uint8_t *k, uint8_t *r)
{
	ady_cur c;

	ady_cur_init(&c, m->list.p, m->list.len);
	if (*off >= m->list.len || ady_cur_seek(&c, *off) || name(&c, n) || kind(&c, k) || flag(&c, r))
		return 0;
	*off = c.off;
	return 1;
}

/* see msg.h */
ady_err kbs_config_validate(const uint8_t *p, size_t len)
{
	ady_cur c;

	ady_cur_init(&c, p, len);
	while (ady_cur_left(&c)) {
		uint8_t tag;
		uint16_t n;
		uint32_t flen;
		if (ady_cur_u8(&c, &tag) || ady_cur_u16le(&c, &n))
			return ady_cur_err(&c);
		if (tag < 1 || tag > 3 || n == 0)
			return ADY_ERR_MALFORMED;
		{
			const uint8_t *s = c.p + c.off;
			if (ady_cur_skip(&c, n))
				return ady_cur_err(&c);
			const uint8_t *eq = memchr(s, '=', n);
			/* An environment entry is KEY=VALUE with a KEY. */
			if (memchr(s, 0, n) || (tag == 2 && (!eq || eq == s)))
				return ADY_ERR_MALFORMED;
		}
		if (tag == 3 && (ady_cur_u32le(&c, &flen) || ady_cur_skip(&c, flen)))
			return ady_cur_err(&c);
	}
	return ady_cur_err(&c);
}

/* Strings and blobs with their length prefix, on the format layer's
 * bounded writer (adyton/cursor.h). */
static void put_str16(ady_wr *w, const kbs_str *s)
{
	ady_wr_u16le(w, (uint16_t)s->len);
	ady_wr_bytes(w, s->p, s->len);
}

static void put_blob32(ady_wr *w, const kbs_str *s)
{
	ady_wr_u32le(w, (uint32_t)s->len);
	ady_wr_bytes(w, s->p, s->len);
}

static void body_encode(ady_wr *w, const kbs_msg *m)
{
	switch (m->type) {
	case KBS_CHALLENGE:
		put_str16(w, &m->name);
		break;
	case KBS_NONCE_MSG:
		ady_wr_bytes(w, m->nonce, KBS_NONCE);
		break;
	case KBS_FETCH:
		put_str16(w, &m->name);
		ady_wr_bytes(w, m->nonce, KBS_NONCE);
		ady_wr_bytes(w, m->pub, KBS_PUB);
		put_blob32(w, &m->quote);
		break;
	case KBS_RELEASE:
		ady_wr_u8(w, m->kind);
		ady_wr_bytes(w, m->pub, KBS_PUB);
		ady_wr_bytes(w, m->iv, KBS_IV);
		put_blob32(w, &m->ct);
		break;
	case KBS_ERROR:
		ady_wr_u32le(w, m->code);
		put_str16(w, &m->reason);
		break;
	case KBS_PUT:
		ady_wr_bytes(w, m->token, KBS_TOKEN);
		put_str16(w, &m->name);
		ady_wr_u8(w, m->kind);
		put_blob32(w, &m->policy);
		put_blob32(w, &m->data);
		break;
	case KBS_REVOKE:
	case KBS_GET_POLICY:
		ady_wr_bytes(w, m->token, KBS_TOKEN);
		put_str16(w, &m->name);
		break;
	case KBS_POLICY:
		ady_wr_u8(w, m->kind);
		ady_wr_u8(w, m->revoked);
		put_blob32(w, &m->policy);
		break;
	case KBS_LIST:
		ady_wr_bytes(w, m->token, KBS_TOKEN);
		break;
	case KBS_LISTING:
		ady_wr_u32le(w, m->count);
		ady_wr_bytes(w, m->list.p, m->list.len);
		break;
	default:
		break;
	}
}

/* see msg.h */
ady_err kbs_msg_encode(const kbs_msg *m, uint8_t **out, size_t *out_len)
{
	ady_wr w;
	uint8_t *buf;
	size_t body;
	kbs_msg check;
	ady_err err;

	*out = NULL;
	if (!known_type(m->type))
		return ADY_ERR_INVALID_ARG;
	/* a counting pass (no buffer): ady_wr_len is what the body needs */
	ady_wr_init(&w, NULL, 0);
	body_encode(&w, m);
	body = ady_wr_len(&w);
	if (body > KBS_MAX_BODY)
		return ADY_ERR_INVALID_ARG;
	buf = malloc(KBS_HEADER + body);
	if (!buf)
		return ADY_ERR_NOMEM;
	ady_wr_init(&w, buf, KBS_HEADER + body);
	ady_wr_u32le(&w, KBS_MAGIC);
	ady_wr_u16le(&w, m->type);
	ady_wr_u16le(&w, 0);
	ady_wr_u32le(&w, (uint32_t)body);
	body_encode(&w, m);
	/* What we would refuse to read, we do not send. */
	err = ady_wr_err(&w);
	if (!err && ady_wr_len(&w) == KBS_HEADER + body)
		err = kbs_msg_decode(buf, KBS_HEADER + body, &check);
	else if (!err)
		err = ADY_ERR_INVALID_ARG;
	if (err) {
		free(buf);
		return ADY_ERR_INVALID_ARG;
	}
	*out_len = KBS_HEADER + body;
	*out = buf;
	return ADY_OK;
}

static ssize_t fd_read(void *ctx, void *p, size_t n)
{
	return read(*(int *)ctx, p, n);
}

static ssize_t fd_write(void *ctx, const void *p, size_t n)
{
	return send(*(int *)ctx, p, n, MSG_NOSIGNAL);
}

static ady_err read_all(const kbs_io *io, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = io->read(io->ctx, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return ADY_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return ADY_OK;
}

/* see msg.h */
ady_err kbs_frame_read_io(const kbs_io *io, uint8_t **frame, size_t *len)
{
	uint8_t hdr[KBS_HEADER], *buf;
	uint32_t body_len;
	uint16_t type;
	ady_err err;

	*frame = NULL;
	err = read_all(io, hdr, sizeof(hdr));
	if (err)
		return err;
	err = kbs_header_decode(hdr, &type, &body_len);
	if (err)
		return err;
	buf = malloc(KBS_HEADER + (size_t)body_len);
	if (!buf)
		return ADY_ERR_NOMEM;
	memcpy(buf, hdr, KBS_HEADER);
	err = read_all(io, buf + KBS_HEADER, body_len);
	if (err) {
		free(buf);
		return err;
	}
	*len = KBS_HEADER + (size_t)body_len;
	*frame = buf;
	return ADY_OK;
}

/* see msg.h */
ady_err kbs_frame_write_io(const kbs_io *io, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = io->write(io->ctx, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return ADY_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return ADY_OK;
}

/* see msg.h */
ady_err kbs_frame_read(int fd, uint8_t **frame, size_t *len)
{
	kbs_io io = {&fd, fd_read, fd_write};

	return kbs_frame_read_io(&io, frame, len);
}

/* see msg.h */
ady_err kbs_frame_write(int fd, const uint8_t *p, size_t n)
{
	kbs_io io = {&fd, fd_read, fd_write};

	return kbs_frame_write_io(&io, p, n);
}

/* see msg.h */
int kbs_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 30};
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* see msg.h */
ady_err kbs_call(int fd, const kbs_msg *req, uint8_t **frame, kbs_msg *resp)
{
	kbs_io io = {&fd, fd_read, fd_write};

	return kbs_call_io(&io, req, frame, resp);
}

/* see msg.h */
ady_err kbs_call_io(const kbs_io *io, const kbs_msg *req, uint8_t **frame, kbs_msg *resp)
{
	uint8_t *out;
	size_t out_len, len;
	ady_err err;

	*frame = NULL;
	err = kbs_msg_encode(req, &out, &out_len);
	if (err)
		return err;
	err = kbs_frame_write_io(io, out, out_len);
	free(out);
	if (err)
		return err;
	err = kbs_frame_read_io(io, frame, &len);
	if (err)
		return err;
	err = kbs_msg_decode(*frame, len, resp);
	if (err) {
		free(*frame);
		*frame = NULL;
	}
	return err;
}
