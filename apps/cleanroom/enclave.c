/*
 * The clean room enclave: an RA-TLS server (BearSSL, the certificate of
 * adyton/ratls_enclave.h) that takes datasets from the providers its query
 * policy names and answers the fixed queries of engine.h with aggregates.
 * The protocol is proto.h; the application only moves TLS records.
 */
#include <bearssl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/sockio_enclave.h>
#include <adyton/ratls_enclave.h>

#include "cleanroom_t.h"
#include "engine.h"
#include "proto.h"

/* Too large for the enclave stack: static, one connection at a time
 * (threads = 1 in enclave.conf). */
static ady_ratls_cert cert;
static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
static cr_room room;
static char canon[CR_POLICY_MAX];
static size_t canon_len;
static uint8_t report_data[64];
static uint8_t reply[CR_HDR + CR_REPLY_MAX];
static int ready;

int cr_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = ady_vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, out);
}

int ecall_cr_init(const uint8_t *text, size_t len)
{
	cr_policy pol;
	cr_error perr;
	int n;
	ady_err err;

	if (ready)
		return 0;
	if (cr_policy_parse((const char *)text, len, &pol, &perr)) {
		ady_log("cleanroom: %s", perr.msg);
		return -1;
	}
	n = cr_policy_canonical(&pol, canon, sizeof(canon));
	if (n < 0)
		return -1;
	canon_len = (size_t)n;
	err = ady_ratls_cert_init(&cert);
	if (err) {
		ady_log("cleanroom: no certificate: %s", ady_strerror(err));
		return (int)err;
	}
	/* What every quote of this room binds: its TLS key and its policy. */
	sha256(cert.pub, sizeof(cert.pub), report_data);
	sha256(canon, canon_len, report_data + 32);
	cr_room_init(&room, &pol);
	ready = 1;
	return 0;
}

int ecall_cr_cert(uint8_t *der, size_t cap)
{
	if (!ready || cert.der_len > cap)
		return -1;
	memcpy(der, cert.der, cert.der_len);
	return (int)cert.der_len;
}

static int send_reply(br_sslio_context *io, uint8_t status, size_t len)
{
	reply[0] = status;
	reply[1] = (uint8_t)len;
	reply[2] = (uint8_t)(len >> 8);
	reply[3] = (uint8_t)(len >> 16);
	reply[4] = (uint8_t)(len >> 24);
	if (br_sslio_write_all(io, reply, CR_HDR + len) || br_sslio_flush(io))
		return -1;
	return 0;
}

static int refuse(br_sslio_context *io, const char *why)
{
	size_t n = strlen(why);

	if (n > CR_REPLY_MAX)
		n = CR_REPLY_MAX;
	memcpy(reply + CR_HDR, why, n);
	return send_reply(io, CR_ST_REFUSED, n);
}

static int do_attest(br_sslio_context *io, const uint8_t *p, size_t n)
{
	uint8_t *q = reply + CR_HDR + 4 + canon_len;
	size_t qlen = 0;
	ady_err err;

	if (n != CR_NONCE)
		return refuse(io, "attest: the nonce is 32 bytes");
	err = ady_get_quote(report_data, p, q, CR_REPLY_MAX - 4 - canon_len, &qlen);
	if (err)
		return refuse(io, "attest: the platform made no quote");
	reply[CR_HDR] = (uint8_t)canon_len;
	reply[CR_HDR + 1] = (uint8_t)(canon_len >> 8);
	reply[CR_HDR + 2] = 0;
	reply[CR_HDR + 3] = 0;
	memcpy(reply + CR_HDR + 4, canon, canon_len);
	return send_reply(io, CR_ST_OK, 4 + canon_len + qlen);
}

static int do_upload(br_sslio_context *io, const uint8_t *p, size_t n)
{
	char name[CR_NAME_MAX + 1];
	cr_error err;
	ady_cur c;
	uint8_t nl;

	ady_cur_init(&c, p, n);
	if (ady_cur_u8(&c, &nl) || nl == 0 || nl > CR_NAME_MAX || ady_cur_bytes(&c, name, nl))
		return refuse(io, "upload: no provider name");
	name[nl] = '\0';
	if (strlen(name) != nl)
		return refuse(io, "upload: no provider name");
	if (cr_room_upload(&room, name, p + c.off, n - c.off, (char *)reply + CR_HDR, CR_REPLY_MAX, &err))
		return refuse(io, err.msg);
	return send_reply(io, CR_ST_OK, strlen((char *)reply + CR_HDR));
}

/* Every answer and refusal of a query has the same length on the wire
 * (text, then zeros up to CR_ANSWER_PAD), so that the host, which sees the
 * TLS records, does not learn which counts were suppressed or how many
 * digits the others have. */
static int do_query(br_sslio_context *io, const uint8_t *p, size_t n)
{
	cr_error err;
	int len = cr_room_query(&room, (const char *)p, n, (char *)reply + CR_HDR, CR_ANSWER_PAD, &err);
	uint8_t st = CR_ST_OK;

	if (len < 0) {
		size_t m = strlen(err.msg);
		memset(reply + CR_HDR, 0, CR_ANSWER_PAD);
		memcpy(reply + CR_HDR, err.msg, m < CR_ANSWER_PAD ? m : CR_ANSWER_PAD - 1);
		st = CR_ST_REFUSED;
	}
	return send_reply(io, st, CR_ANSWER_PAD);
}

/* One request; 1 when the connection should end (closed, or the framing
 * is broken), -1 on an I/O error. */
static int serve_one(br_sslio_context *io)
{
	uint8_t hdr[CR_HDR], type;
	uint32_t len;
	uint8_t *payload;
	ady_cur c;
	int r;

	if (br_sslio_read_all(io, hdr, sizeof(hdr)))
		return 1;
	ady_cur_init(&c, hdr, sizeof(hdr));
	if (ady_cur_u8(&c, &type) || ady_cur_u32le(&c, &len))
		return -1;
	switch (type) {
	case CR_MSG_ATTEST:
	case CR_MSG_UPLOAD:
	case CR_MSG_QUERY:
		break;
	default:
		refuse(io, "unknown request type");
		return 1;
	}
	/* The cap comes before the allocation. */
	if (len > CR_REQ_MAX) {
		refuse(io, "request longer than the upload limit (1 MiB of CSV)");
		return 1;
	}
	payload = malloc(len ? len : 1);
	if (!payload) {
		refuse(io, "out of memory");
		return 1;
	}
	if (br_sslio_read_all(io, payload, len)) {
		free(payload);
		return -1;
	}
	if (type == CR_MSG_ATTEST)
		r = do_attest(io, payload, len);
	else if (type == CR_MSG_UPLOAD)
		r = do_upload(io, payload, len);
	else
		r = do_query(io, payload, len);
	ady_wipe(payload, len);
	free(payload);
	ady_wipe(reply, sizeof(reply));
	return r;
}

int ecall_cr_serve(int fd)
{
	br_sslio_context io;
	int r, err;

	if (!ready)
		return -1;
	if (ady_ratls_server_start(&sc, &cert, iobuf, sizeof(iobuf)) != ADY_OK)
		return -1;
	ady_sockio_init(&io, &sc.eng, &fd);
	while ((r = serve_one(&io)) == 0)
		;
	if (r == 1)
		ady_sockio_close(&io);
	err = br_ssl_engine_last_error(&sc.eng);
	if (r < 0 || (err && err != BR_ERR_IO)) {
		ady_log("cleanroom: connection ended with BearSSL error %d", err);
		return -1;
	}
	return 0;
}
