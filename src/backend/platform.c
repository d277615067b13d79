/*
 * Platform exits forwarded to adytond (backend/platform.h), row by row of
 * the exit table (platform/platform.h): ady_platform_run copies what the
 * enclave wrote out of its memory once, the row encodes it as its request,
 * and adytond's answer is decoded before a byte of it is written back.
 * Key material is wiped on the way.
 */
#include "backend/platform.h"

#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "backend/wire.h"
#include "platform/platform.h"

/* see platform.h */
ady_err ady_platform_call(ady_platform_link *p, uint16_t type, const uint8_t *req, size_t req_len, uint16_t want,
			  uint8_t *ans, size_t ans_cap, size_t *ans_len)
{
	ady_proto_hdr hd;
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

/* An ady_platform_fn: the exit's request to adytond, its answer into io. */
static ady_err forward(const ady_platform_op *op, void *io, void *arg)
{
	/* ~8 KiB: per thread, off the (small) host thread stacks */
	static __thread uint8_t ans[8 + ADY_PROTO_MAX_QUOTE];
	uint8_t req[1024];
	size_t len, ans_len;
	ady_err err;

	err = op->encode_req(io, req, sizeof(req), &len);
	if (!err)
		err = ady_platform_call(arg, op->req_type, req, len, op->ans_type, ans, sizeof(ans), &ans_len);
	if (!err)
		err = op->decode_ans(ans, ans_len, io);
	if (op->secret)
		ady_wipe(ans, sizeof(ans));
	return err;
}

/* see platform.h */
uint64_t ady_platform_exit(ady_platform_link *p, uint64_t op, uint64_t arg)
{
	const ady_platform_op *x = ady_platform_op_find(op);
	uint8_t *io;

	if (!x)
		return ADY_ERR_PROTOCOL;
	io = p->io(arg, x->io_size);
	return io ? ady_platform_run(x, io, forward, p) : ADY_ERR_RANGE;
}

/* see platform.h */
void ady_platform_report_abort(ady_platform_link *p, const uint8_t *slot, uint64_t msbuf_size)
{
	ady_msbuf_hdr hd;

	if (ady_msbuf_decode(slot, msbuf_size, &hd) != ADY_OK || hd.op != ADY_MSBUF_ABORT)
		return;
	ady_platform_report_reason(p, (const char *)slot + ADY_MSBUF_HEADER,
				   hd.in_len < ADY_PROTO_MAX_REASON ? (size_t)hd.in_len : ADY_PROTO_MAX_REASON);
}

/* see platform.h */
void ady_platform_report_reason(ady_platform_link *p, const char *reason, size_t n)
{
	ady_proto_aborted a = {0};
	uint8_t buf[4 + ADY_PROTO_MAX_REASON], ans[64];
	size_t len, ans_len;

	a.len = n < ADY_PROTO_MAX_REASON ? (uint32_t)n : ADY_PROTO_MAX_REASON;
	memcpy(a.reason, reason, a.len);
	/* best effort: the application hears of the abort either way */
	if (ady_proto_encode_aborted(&a, buf, sizeof(buf), &len) == ADY_OK &&
	    ady_platform_call(p, ADY_PROTO_ABORTED, buf, len, ADY_PROTO_STATUS, ans, sizeof(ans), &ans_len) != ADY_OK)
		return;
}
