/*
 * src/platform/platform.h - the platform service's exits, in one table.
 *
 * An enclave asks its platform with a platform exit (adyton/msbuf.h:
 * EGETKEY, EREPORT, seed, quote) whose io struct lies in its own memory.
 * Every backend answers from the table below, one row per exit:
 *
 *   sim       serves in-process: ady_platform_run(row, io, ady_platform_serve_fn, &server)
 *   process,  forward (src/backend/platform.c): ady_platform_run with a function
 *   kvm       that sends row->encode_req as row->req_type to adytond and
 *             reads row->ans_type back through row->decode_ans
 *   adytond   dispatches the host's request by its type (ady_platform_op_by_msg):
 *             row->decode_req, row->serve, row->encode_ans (src/daemon/enclaves.c)
 *
 * so what an exit reads, what it answers, what crosses the daemon socket and
 * whether it carries secrets is written once.  The io struct's place is the
 * backend's to check, with ady_layout_writable (adyton/layout.h), before
 * anything is read from it.  Internal; not installed.
 */
#ifndef ADYTON_PLATFORM_PLATFORM_H
#define ADYTON_PLATFORM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "adyton/error.h"
#include "adyton/msbuf.h"
#include "platform/derive.h"

/* Any exit's io struct: scratch that fits every row. */
typedef union ady_platform_io {
	ady_exit_getkey getkey;
	ady_exit_report report;
	ady_exit_seed seed;
	ady_exit_quote quote;
} ady_platform_io;

/* What serves an enclave's exits: everything is the platform's record of
 * the enclave, never what the enclave says. */
typedef struct ady_platform_server {
	const ady_platform *platform;  /* root key and CPUSVN */
	const ady_identity *self;      /* the identity recorded at launch */
	bool provision_allowed;        /* PROVISION keys and quotes (adytond: the policy, per request) */
	EVP_PKEY *attest_key;          /* signs quotes; NULL: quotes refused with ADY_ERR_STATE */
	uint16_t cert_type;            /* ADY_QUOTE_CERT_* of the quotes */
	const uint8_t *cert;           /* their certification data, cert_len bytes */
	uint32_t cert_len;
} ady_platform_server;

typedef struct ady_platform_op ady_platform_op;

/* Fills the outputs of io (the row's io struct, inputs copied in, outputs
 * zero) for the row; returns an ady_err for the exit itself (the platform
 * did not answer), the answer's own status is in io. */
typedef ady_err (*ady_platform_fn)(const ady_platform_op *op, void *io, void *arg);

/* One platform exit. */
struct ady_platform_op {
	uint32_t op;           /* ADY_EXIT_* */
	const char *name;
	uint32_t io_size;      /* bytes of the io struct in enclave memory */
	uint32_t in_len;       /* inputs: io[0, in_len); outputs: io[in_len, io_size) */
	uint16_t req_type;     /* ADY_PROTO_* an enclave host sends adytond ... */
	uint16_t ans_type;     /* ... and the ADY_PROTO_* it answers */
	bool secret;           /* the outputs are key material: wiped wherever they pass */
	/* the platform's answer: outputs and status from the inputs */
	void (*serve)(const ady_platform_server *s, void *io);
	/* the request (inputs) and the answer (outputs, status) as messages
	 * (adyton/proto.h); decoders fail on malformed bytes and write only
	 * their half of io */
	ady_err (*encode_req)(const void *io, uint8_t *buf, size_t cap, size_t *len);
	ady_err (*decode_req)(const uint8_t *p, size_t len, void *io);
	ady_err (*encode_ans)(const void *io, uint8_t *buf, size_t cap, size_t *len);
	ady_err (*decode_ans)(const uint8_t *p, size_t len, void *io);
};

/* The row of exit op (ADY_EXIT_*), or NULL: not a platform exit. */
const ady_platform_op *ady_platform_op_find(uint64_t op);

/* The row whose request message is type, or NULL. */
const ady_platform_op *ady_platform_op_by_msg(uint16_t type);

/*
 * Runs exit op on the io struct at mem (op->io_size bytes the caller
 * checked with ady_layout_writable): copies the inputs in once, calls
 * fn(op, copy, arg), and only when it returns ADY_OK writes the outputs
 * back; a secret copy is wiped.  Returns what fn returned.  One thread at
 * a time per calling thread (the copy is per thread).
 */
ADY_MUST_CHECK ady_err ady_platform_run(const ady_platform_op *op, uint8_t *mem, ady_platform_fn fn, void *arg);

/* An ady_platform_fn that serves in-process: arg is an ady_platform_server. */
ady_err ady_platform_serve_fn(const ady_platform_op *op, void *io, void *arg);

/*
 * The sim platform (the sim backend, in-process): the public sim root
 * (ady_platform_sim) and a public attestation key whose quotes say
 * ADY_QUOTE_CERT_SIM, so a sim quote proves nothing and verifiers refuse it
 * unless told otherwise; PROVISION keys and quotes allowed (sim has no
 * launch policy).  plat is the caller's (ady_platform_sim fills it), self
 * the identity recorded from the verified image.  Should OpenSSL fail to
 * load the key, quotes are refused (ADY_ERR_STATE).
 */
void ady_platform_server_sim(ady_platform_server *out, const ady_platform *plat, const ady_identity *self);

#endif
