/* Framed messages over SOCK_SEQPACKET; see wire.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/wire.h"

static ady_err send_flags(int sock, uint16_t type, const uint8_t *payload, size_t len, int fd, int flags)
{
	uint8_t hdr[ADY_PROTO_HEADER];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, len}};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	ssize_t n;

	if (len > ADY_PROTO_MAX_PAYLOAD)
		return ADY_ERR_TOO_LARGE;
	ady_proto_encode_header(hdr, type, (uint32_t)len);
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? ADY_ERR_BUSY : ADY_ERR_IO;
	return (size_t)n == sizeof(hdr) + len ? ADY_OK : ADY_ERR_IO;
}

/* see wire.h */
ady_err ady_wire_send(int sock, uint16_t type, const uint8_t *payload, size_t len, int fd)
{
	return send_flags(sock, type, payload, len, fd, 0);
}

/* see wire.h */
ady_err ady_wire_trysend(int sock, uint16_t type, const uint8_t *payload, size_t len, int fd)
{
	return send_flags(sock, type, payload, len, fd, MSG_DONTWAIT);
}

/* see wire.h */
ady_err ady_wire_recv(int sock, ady_proto_hdr *h, uint8_t *buf, size_t cap, int *fd)
{
	uint8_t hdr[ADY_PROTO_HEADER];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {buf, cap}};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	int got = -1, extra = 0;
	ady_err err;
	ssize_t n;

	if (fd)
		*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ADY_ERR_IO;
	if (n == 0) {
		errno = 0;
		return ADY_ERR_IO;
	}
	/* Collect descriptors first so that none leaks on any error path. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < 0) {
				got = f;
			} else {
				close(f);
				extra = 1;
			}
		}
	}
	err = ADY_OK;
	if (extra || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(hdr))
		err = ADY_ERR_PROTOCOL;
	if (!err)
		err = ady_proto_decode_header(hdr, h);
	if (!err && h->length != (size_t)n - sizeof(hdr))
		err = ADY_ERR_PROTOCOL;
	if (err || !fd) {
		if (got >= 0)
			close(got);
		return err;
	}
	*fd = got;
	return ADY_OK;
}
