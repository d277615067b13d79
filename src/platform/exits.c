/*
 * exits.c - the platform exits' table (platform/platform.h): what each
 * exit reads and answers, how it crosses the daemon socket, and the
 * platform's answer.
 */
#include "platform/platform.h"

#include <string.h>
#include <sys/random.h>

#include "adyton/cursor.h"
#include "adyton/proto.h"
#include "platform/sign.h"

_Static_assert(ADY_PROTO_MAX_QUOTE == ADY_EXIT_QUOTE_MAX, "quote sizes agree");
/* inputs first, then outputs: what ady_platform_run copies in and back */
_Static_assert(offsetof(ady_exit_getkey, key) == sizeof(((ady_exit_getkey *)0)->keyrequest), "getkey: in, out");
_Static_assert(offsetof(ady_exit_report, report) == 576, "report: in, out");
_Static_assert(offsetof(ady_exit_quote, quote) == 96, "quote: in, out");

/*
 * The messages carry the io struct's fields by name: a request its inputs,
 * an answer its status and outputs.  ENCODER and DECODER write a row's
 * codec functions from its list of fields (X-macros below); EXTRA is one
 * more statement (an answer's status).  Message copies are wiped: some
 * carry keys.
 */
#define TO_MSG(f) memcpy(m.f, io->f, sizeof(m.f));
#define TO_IO(f) memcpy(io->f, m.f, sizeof(io->f));

#define ENCODER(name, IO, MSG, ENCODE, FIELDS, EXTRA)                                                                 \
	static ady_err name(const void *v, uint8_t *buf, size_t cap, size_t *len)                                     \
	{                                                                                                              \
		const IO *io = v;                                                                                      \
		MSG m;                                                                                                 \
		ady_err err;                                                                                           \
		FIELDS(TO_MSG)                                                                                         \
		EXTRA                                                                                                  \
		err = ENCODE(&m, buf, cap, len);                                                                       \
		ady_wipe(&m, sizeof(m));                                                                               \
		return err;                                                                                            \
	}

#define DECODER(name, IO, MSG, DECODE, FIELDS, EXTRA)                                                                 \
	static ady_err name(const uint8_t *p, size_t len, void *v)                                                    \
	{                                                                                                              \
		IO *io = v;                                                                                            \
		MSG m;                                                                                                 \
		ady_err err = DECODE(p, len, &m);                                                                      \
		if (!err) {                                                                                            \
			FIELDS(TO_IO)                                                                                  \
			EXTRA                                                                                          \
		}                                                                                                      \
		ady_wipe(&m, sizeof(m));                                                                               \
		return err;                                                                                            \
	}

#define GETKEY_IN(X) X(keyrequest)
#define GETKEY_OUT(X) X(key)
#define REPORT_IN(X) X(targetinfo) X(reportdata)
#define REPORT_OUT(X) X(report)
#define SEED_OUT(X) X(seed)
#define QUOTE_IN(X) X(reportdata) X(nonce)
#define STATUS_TO_MSG m.status = io->status;
#define STATUS_TO_IO io->status = m.status;

ENCODER(getkey_encode_req, ady_exit_getkey, ady_proto_getkey, ady_proto_encode_getkey, GETKEY_IN, )
DECODER(getkey_decode_req, ady_exit_getkey, ady_proto_getkey, ady_proto_decode_getkey, GETKEY_IN, )
ENCODER(getkey_encode_ans, ady_exit_getkey, ady_proto_key, ady_proto_encode_key, GETKEY_OUT, STATUS_TO_MSG)
DECODER(getkey_decode_ans, ady_exit_getkey, ady_proto_key, ady_proto_decode_key, GETKEY_OUT, STATUS_TO_IO)
ENCODER(report_encode_req, ady_exit_report, ady_proto_report, ady_proto_encode_report, REPORT_IN, )
DECODER(report_decode_req, ady_exit_report, ady_proto_report, ady_proto_decode_report, REPORT_IN, )
ENCODER(report_encode_ans, ady_exit_report, ady_proto_reported, ady_proto_encode_reported, REPORT_OUT, STATUS_TO_MSG)
DECODER(report_decode_ans, ady_exit_report, ady_proto_reported, ady_proto_decode_reported, REPORT_OUT, STATUS_TO_IO)
ENCODER(seed_encode_ans, ady_exit_seed, ady_proto_seeded, ady_proto_encode_seeded, SEED_OUT, STATUS_TO_MSG)
DECODER(seed_decode_ans, ady_exit_seed, ady_proto_seeded, ady_proto_decode_seeded, SEED_OUT, STATUS_TO_IO)
ENCODER(quote_encode_req, ady_exit_quote, ady_proto_quote, ady_proto_encode_quote, QUOTE_IN, )
DECODER(quote_decode_req, ady_exit_quote, ady_proto_quote, ady_proto_decode_quote, QUOTE_IN, )

/* EGETKEY: the key the request names, if this enclave is entitled to it. */
static void serve_getkey(const ady_platform_server *s, void *v)
{
	ady_exit_getkey *io = v;

	io->status = (uint32_t)ady_derive_key(s->platform, s->self, io->keyrequest, s->provision_allowed, io->key);
}

/* EREPORT: a report of this enclave that the target can verify. */
static void serve_report(const ady_platform_server *s, void *v)
{
	ady_exit_report *io = v;

	io->status = (uint32_t)ady_derive_report(s->platform, s->self, io->targetinfo, io->reportdata, io->report);
}

/* Seed material for the enclave's own generator. */
static void serve_seed(const ady_platform_server *s, void *v)
{
	ady_exit_seed *io = v;

	(void)s;
	io->status = getrandom(io->seed, sizeof(io->seed), 0) == (ssize_t)sizeof(io->seed) ? ADY_OK : ADY_ERR_IO;
}

/* SEED asks with an empty message. */
static ady_err seed_encode_req(const void *v, uint8_t *buf, size_t cap, size_t *len)
{
	(void)v, (void)buf, (void)cap;
	*len = 0;
	return ADY_OK;
}

static ady_err seed_decode_req(const uint8_t *p, size_t len, void *v)
{
	(void)p, (void)v;
	return len == 0 ? ADY_OK : ADY_ERR_PROTOCOL;
}

/* A quote: the REPORTBODY from the recorded identity, signed by the
 * server's attestation key; only reportdata and the verifier's nonce come
 * from the enclave. */
static void serve_quote(const ady_platform_server *s, void *v)
{
	static __thread ady_quote q; /* 8 KiB: off the (small) host thread stacks */
	ady_exit_quote *io = v;
	ady_sgx_report_body body;
	size_t len = 0;
	ady_err err;

	if (!s->attest_key) {
		err = ADY_ERR_STATE;
	} else if (!s->provision_allowed) {
		err = ADY_ERR_PERMISSION;
	} else {
		ady_quote_body(&body, s->self->mrenclave, s->self->mrsigner, s->self->isvprodid, s->self->isvsvn,
			       &s->self->attributes, s->self->miscselect, s->platform->cpusvn, io->reportdata);
		err = ady_quote_make(s->attest_key, &body, io->nonce, s->cert_type, s->cert, s->cert_len, &q, io->quote,
				     sizeof(io->quote), &len);
	}
	io->quote_len = err ? 0 : (uint32_t)len;
	io->status = (uint32_t)err;
}

static ady_err quote_encode_ans(const void *v, uint8_t *buf, size_t cap, size_t *len)
{
	static __thread ady_proto_quoted q;
	const ady_exit_quote *io = v;

	if (io->quote_len > sizeof(q.quote))
		return ADY_ERR_RANGE;
	q.status = io->status;
	q.len = io->quote_len;
	memcpy(q.quote, io->quote, io->quote_len);
	return ady_proto_encode_quoted(&q, buf, cap, len);
}

static ady_err quote_decode_ans(const uint8_t *p, size_t len, void *v)
{
	static __thread ady_proto_quoted q;
	ady_exit_quote *io = v;
	ady_err err = ady_proto_decode_quoted(p, len, &q);

	if (!err) {
		memcpy(io->quote, q.quote, q.len);
		io->quote_len = q.len;
		io->status = q.status;
	}
	return err;
}

#define ROW(OP, NAME, TYPE, IN_LEN, REQ, ANS, SECRET, fn)                                                             \
	{.op = OP, .name = NAME, .io_size = sizeof(TYPE), .in_len = IN_LEN, .req_type = REQ, .ans_type = ANS,         \
	 .secret = SECRET, .serve = serve_##fn, .encode_req = fn##_encode_req, .decode_req = fn##_decode_req,         \
	 .encode_ans = fn##_encode_ans, .decode_ans = fn##_decode_ans}

/* The platform exits: op, name, io struct, inputs, request, answer, secret. */
static const ady_platform_op ops[] = {
	ROW(ADY_EXIT_GETKEY, "getkey", ady_exit_getkey, offsetof(ady_exit_getkey, key), ADY_PROTO_GETKEY, ADY_PROTO_KEY,
	    true, getkey),
	ROW(ADY_EXIT_REPORT, "report", ady_exit_report, offsetof(ady_exit_report, report), ADY_PROTO_REPORT,
	    ADY_PROTO_REPORTED, false, report),
	ROW(ADY_EXIT_SEED, "seed", ady_exit_seed, 0, ADY_PROTO_SEED, ADY_PROTO_SEEDED, true, seed),
	ROW(ADY_EXIT_QUOTE, "quote", ady_exit_quote, offsetof(ady_exit_quote, quote), ADY_PROTO_QUOTE, ADY_PROTO_QUOTED,
	    false, quote),
};

/* see platform/platform.h */
const ady_platform_op *ady_platform_op_find(uint64_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return &ops[i];
	return NULL;
}

/* see platform/platform.h */
const ady_platform_op *ady_platform_op_by_msg(uint16_t type)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].req_type == type)
			return &ops[i];
	return NULL;
}

/* see platform/platform.h */
ady_err ady_platform_run(const ady_platform_op *op, uint8_t *mem, ady_platform_fn fn, void *arg)
{
	/* 8 KiB: per thread, off the (small) host thread stacks */
	static __thread ady_platform_io io;
	uint8_t *p = (uint8_t *)&io;
	ady_err err;

	/* Copy once (the enclave may change its memory meanwhile), then serve
	 * from the copy; only the outputs go back. */
	memcpy(p, mem, op->in_len);
	memset(p + op->in_len, 0, op->io_size - op->in_len);
	err = fn(op, p, arg);
	if (!err)
		memcpy(mem + op->in_len, p + op->in_len, op->io_size - op->in_len);
	if (op->secret)
		ady_wipe(p, op->io_size);
	return err;
}

/* see platform/platform.h */
ady_err ady_platform_serve_fn(const ady_platform_op *op, void *io, void *arg)
{
	op->serve(arg, io);
	return ADY_OK;
}
