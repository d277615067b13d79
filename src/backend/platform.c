/*
 * Platform exits forwarded to adytond (backend/platform.h).  Everything the
 * enclave wrote is copied out of its memory once, into a message the
 * format layer encodes; everything adytond answers is decoded before a byte
 * of it is written back.  Key material is wiped from the stack on the way.
 */
#include "backend/platform.h"

#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "backend/wire.h"

_Static_assert(ADY_PROTO_MAX_QUOTE == ADY_EXIT_QUOTE_MAX, "quote sizes agree");

ady_err ady_platform_call(ady_platform *p, uint16_t type, const uint8_t *req, size_t req_len, uint16_t want,
			  uint8_t *ans, size_t ans_cap, size_t *ans_len)
{
	ady_msg_hdr hd;
	ady_err err;

	pthread_mutex_lock(&p->lock);
	err = ady_wire_send(p->daemon_fd, type, req, req_len, -1);
	if (!err)
		err = ady_wire_recv(p->daemon_fd, &hd, ans, ans_cap, NULL);
	pthread_mutex_unlock(&p->lock);
	if (err)
		return ADY_ERR_DAEMON;
	if (hd.type != want)
		return ADY_ERR_PROTOCOL;
	*ans_len = hd.length;
	return ADY_OK;
}

static uint64_t getkey(ady_platform *p, ady_exit_getkey *io)
{
	uint8_t req[1024], ans[512];
	ady_msg_getkey m;
	ady_msg_key k;
	size_t len, ans_len;
	ady_err err;

	memcpy(m.keyrequest, io->keyrequest, sizeof(m.keyrequest));
	err = ady_msg_encode_getkey(&m, req, sizeof(req), &len);
	if (!err)
		err = ady_platform_call(p, ADY_MSG_GETKEY, req, len, ADY_MSG_KEY, ans, sizeof(ans), &ans_len);
	if (!err)
		err = ady_msg_decode_key(ans, ans_len, &k);
	if (!err) {
		memcpy(io->key, k.key, sizeof(io->key));
		io->status = k.status;
	}
	ady_wipe(&k, sizeof(k));
	ady_wipe(ans, sizeof(ans));
	return err;
}

static uint64_t report(ady_platform *p, ady_exit_report *io)
{
	uint8_t req[1024], ans[512];
	ady_msg_report m;
	ady_msg_reported r;
	size_t len, ans_len;
	ady_err err;

	memcpy(m.targetinfo, io->targetinfo, sizeof(m.targetinfo));
	memcpy(m.reportdata, io->reportdata, sizeof(m.reportdata));
	err = ady_msg_encode_report(&m, req, sizeof(req), &len);
	if (!err)
		err = ady_platform_call(p, ADY_MSG_REPORT, req, len, ADY_MSG_REPORTED, ans, sizeof(ans), &ans_len);
	if (!err)
		err = ady_msg_decode_reported(ans, ans_len, &r);
	if (!err) {
		memcpy(io->report, r.report, sizeof(io->report));
		io->status = r.status;
	}
	return err;
}

static uint64_t seed(ady_platform *p, ady_exit_seed *io)
{
	uint8_t ans[512];
	ady_msg_seeded s;
	size_t ans_len;
	ady_err err;

	err = ady_platform_call(p, ADY_MSG_SEED, NULL, 0, ADY_MSG_SEEDED, ans, sizeof(ans), &ans_len);
	if (!err)
		err = ady_msg_decode_seeded(ans, ans_len, &s);
	if (!err) {
		memcpy(io->seed, s.seed, sizeof(io->seed));
		io->status = s.status;
	}
	ady_wipe(&s, sizeof(s));
	ady_wipe(ans, sizeof(ans));
	return err;
}

static uint64_t quote(ady_platform *p, ady_exit_quote *io)
{
	/* ~8 KiB each: per thread, off the (small) host thread stacks */
	static __thread ady_msg_quoted q;
	static __thread uint8_t ans[8 + ADY_PROTO_MAX_QUOTE];
	uint8_t req[1024];
	ady_msg_quote m;
	size_t len, ans_len;
	ady_err err;

	memcpy(m.reportdata, io->reportdata, sizeof(m.reportdata));
	memcpy(m.nonce, io->nonce, sizeof(m.nonce));
	err = ady_msg_encode_quote(&m, req, sizeof(req), &len);
	if (!err)
		err = ady_platform_call(p, ADY_MSG_QUOTE, req, len, ADY_MSG_QUOTED, ans, sizeof(ans), &ans_len);
	if (!err)
		err = ady_msg_decode_quoted(ans, ans_len, &q);
	if (!err) {
		memcpy(io->quote, q.quote, q.len);
		io->quote_len = q.len;
		io->status = q.status;
	}
	return err;
}

uint64_t ady_platform_exit(ady_platform *p, uint64_t op, uint64_t arg)
{
	void *io;

	switch (op) {
	case ADY_EXIT_GETKEY:
		return (io = p->io(arg, sizeof(ady_exit_getkey))) ? getkey(p, io) : ADY_ERR_RANGE;
	case ADY_EXIT_REPORT:
		return (io = p->io(arg, sizeof(ady_exit_report))) ? report(p, io) : ADY_ERR_RANGE;
	case ADY_EXIT_SEED:
		return (io = p->io(arg, sizeof(ady_exit_seed))) ? seed(p, io) : ADY_ERR_RANGE;
	case ADY_EXIT_QUOTE:
		return (io = p->io(arg, sizeof(ady_exit_quote))) ? quote(p, io) : ADY_ERR_RANGE;
	default:
		return ADY_ERR_PROTOCOL;
	}
}

void ady_platform_report_abort(ady_platform *p, const uint8_t *slot, uint64_t msbuf_size)
{
	ady_msg_aborted a = {0};
	ady_ms_hdr hd;
	uint8_t buf[4 + ADY_PROTO_MAX_REASON], ans[64];
	size_t len, ans_len;

	if (ady_ms_decode(slot, msbuf_size, &hd) != ADY_OK || hd.op != ADY_MS_ABORT)
		return;
	a.len = hd.in_len < ADY_PROTO_MAX_REASON ? (uint32_t)hd.in_len : ADY_PROTO_MAX_REASON;
	memcpy(a.reason, slot + ADY_MS_HEADER, a.len);
	/* best effort: the application hears of the abort either way */
	if (ady_msg_encode_aborted(&a, buf, sizeof(buf), &len) == ADY_OK &&
	    ady_platform_call(p, ADY_MSG_ABORTED, buf, len, ADY_MSG_STATUS, ans, sizeof(ans), &ans_len) != ADY_OK)
		return;
}
