/*
 * The platform exits' table (src/platform/exits.c): one row per exit, the
 * rows' message codecs, ady_platform_run's copy discipline, and the rows'
 * answers against the derivation they serve.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/proto.h"
#include "adyton/quote.h"
#include "platform/platform.h"

static const uint64_t exit_ops[] = {ADY_EXIT_GETKEY, ADY_EXIT_REPORT, ADY_EXIT_SEED, ADY_EXIT_QUOTE};

static const ady_identity self = {
	.mrenclave = {1, 2, 3},
	.mrsigner = {4, 5, 6},
	.isvprodid = 7,
	.isvsvn = 3,
	.attributes = {.flags = ADY_SGX_FLAGS_INIT | ADY_SGX_FLAGS_DEBUG, .xfrm = 3},
};

static void fill(void *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = (uint8_t)(seed + i * 7);
}

/* One row per exit, found by op and by request type, never by anything else. */
static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(exit_ops) / sizeof(exit_ops[0]); i++) {
		const ady_platform_op *op = ady_platform_op_find(exit_ops[i]);

		assert_non_null(op);
		assert_int_equal(op->op, exit_ops[i]);
		assert_ptr_equal(ady_platform_op_by_msg(op->req_type), op);
		assert_null(ady_platform_op_by_msg(op->ans_type));
		assert_true(op->in_len < op->io_size && op->io_size <= sizeof(ady_platform_io));
		assert_non_null(op->serve);
	}
	assert_int_equal(ady_platform_op_find(ADY_EXIT_GETKEY)->io_size, sizeof(ady_exit_getkey));
	assert_int_equal(ady_platform_op_find(ADY_EXIT_QUOTE)->io_size, sizeof(ady_exit_quote));
	assert_true(ady_platform_op_find(ADY_EXIT_GETKEY)->secret && ady_platform_op_find(ADY_EXIT_SEED)->secret);
	assert_false(ady_platform_op_find(ADY_EXIT_REPORT)->secret || ady_platform_op_find(ADY_EXIT_QUOTE)->secret);
	assert_null(ady_platform_op_find(ADY_MSBUF_OCALL));
	assert_null(ady_platform_op_find(ADY_MSBUF_ABORT));
	assert_null(ady_platform_op_find(ADY_EXIT_GETKEY + (1ull << 32)));
	assert_null(ady_platform_op_by_msg(ADY_PROTO_LAUNCH));
	assert_null(ady_platform_op_by_msg(ADY_PROTO_ABORTED));
}

/* Request: the inputs and nothing else cross; answer: the outputs. */
static void test_codecs(void **state)
{
	static ady_platform_io a, b;
	static uint8_t buf[16384];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(exit_ops) / sizeof(exit_ops[0]); i++) {
		const ady_platform_op *op = ady_platform_op_find(exit_ops[i]);
		uint8_t *pa = (uint8_t *)&a, *pb = (uint8_t *)&b;

		fill(&a, sizeof(a), (uint8_t)i);
		/* an answer that is not OK carries nothing (adyton/proto.h) */
		switch (op->op) {
		case ADY_EXIT_GETKEY:
			a.getkey.status = ADY_OK;
			break;
		case ADY_EXIT_REPORT:
			a.report.status = ADY_OK;
			break;
		case ADY_EXIT_SEED:
			a.seed.status = ADY_OK;
			break;
		default:
			a.quote.status = ADY_OK;
			a.quote.quote_len = 100;
		}
		memset(&b, 0, sizeof(b));
		assert_int_equal(op->encode_req(&a, buf, sizeof(buf), &len), ADY_OK);
		assert_int_equal(op->decode_req(buf, len, &b), ADY_OK);
		assert_memory_equal(pa, pb, op->in_len);
		for (size_t j = op->in_len; j < op->io_size; j++)
			assert_int_equal(pb[j], 0);

		memset(&b, 0, sizeof(b));
		assert_int_equal(op->encode_ans(&a, buf, sizeof(buf), &len), ADY_OK);
		assert_int_equal(op->decode_ans(buf, len, &b), ADY_OK);
		for (size_t j = 0; j < op->in_len; j++)
			assert_int_equal(pb[j], 0);
		if (op->op == ADY_EXIT_QUOTE) {
			assert_int_equal(b.quote.quote_len, 100);
			assert_memory_equal(b.quote.quote, a.quote.quote, 100);
		} else {
			assert_memory_equal(pa + op->in_len, pb + op->in_len, op->io_size - op->in_len);
		}
		/* a truncated message is refused */
		if (len > 0)
			assert_int_not_equal(op->decode_ans(buf, len - 1, &b), ADY_OK);
	}
	/* SEED asks with nothing */
	assert_int_equal(ady_platform_op_find(ADY_EXIT_SEED)->decode_req(buf, 1, &b), ADY_ERR_PROTOCOL);
}

static ady_err write_outputs(const ady_platform_op *op, void *io, void *arg)
{
	uint8_t *p = io;
	const uint8_t *mem = arg;

	/* the copy holds the inputs, and zeros where the outputs go */
	assert_memory_equal(p, mem, op->in_len);
	for (size_t j = op->in_len; j < op->io_size; j++)
		assert_int_equal(p[j], 0);
	memset(p, 0xee, op->in_len); /* never written back */
	memset(p + op->in_len, 0xaa, op->io_size - op->in_len);
	return ADY_OK;
}

static ady_err refuse(const ady_platform_op *op, void *io, void *arg)
{
	(void)arg;
	memset(io, 0xaa, op->io_size);
	return ADY_ERR_DAEMON;
}

/* Inputs copied in once; outputs back only when the platform answered. */
static void test_run(void **state)
{
	static uint8_t mem[sizeof(ady_platform_io)], before[sizeof(mem)];

	(void)state;
	for (size_t i = 0; i < sizeof(exit_ops) / sizeof(exit_ops[0]); i++) {
		const ady_platform_op *op = ady_platform_op_find(exit_ops[i]);

		fill(mem, sizeof(mem), (uint8_t)(i + 1));
		memcpy(before, mem, sizeof(mem));
		assert_int_equal(ady_platform_run(op, mem, write_outputs, mem), ADY_OK);
		assert_memory_equal(mem, before, op->in_len);
		for (size_t j = op->in_len; j < op->io_size; j++)
			assert_int_equal(mem[j], 0xaa);
		assert_memory_equal(mem + op->io_size, before + op->io_size, sizeof(mem) - op->io_size);

		memcpy(mem, before, sizeof(mem));
		assert_int_equal(ady_platform_run(op, mem, refuse, NULL), ADY_ERR_DAEMON);
		assert_memory_equal(mem, before, sizeof(mem));
	}
}

/* The rows serve what the derivation and the quote signer make. */
static void test_serve(void **state)
{
	static ady_platform_io io;
	ady_platform plat;
	ady_platform_server srv;
	ady_quote q;
	uint8_t key[16];

	(void)state;
	ady_platform_sim(&plat);
	ady_platform_server_sim(&srv, &plat, &self);
	assert_non_null(srv.attest_key);

	memset(&io, 0, sizeof(io));
	io.getkey.keyrequest[0] = ADY_KEYNAME_SEAL;
	io.getkey.keyrequest[2] = ADY_KEYPOLICY_MRENCLAVE;
	assert_int_equal(ady_platform_serve_fn(ady_platform_op_find(ADY_EXIT_GETKEY), &io, &srv), ADY_OK);
	assert_int_equal(io.getkey.status, ADY_OK);
	assert_int_equal(ady_derive_key(&plat, &self, io.getkey.keyrequest, true, key), ADY_OK);
	assert_memory_equal(io.getkey.key, key, 16);
	/* a key this enclave may not have: refused in the status */
	io.getkey.keyrequest[0] = ADY_KEYNAME_EINITTOKEN;
	assert_int_equal(ady_platform_serve_fn(ady_platform_op_find(ADY_EXIT_GETKEY), &io, &srv), ADY_OK);
	assert_int_equal(io.getkey.status, ADY_ERR_PERMISSION);

	memset(&io, 0, sizeof(io));
	fill(io.quote.reportdata, 64, 9);
	assert_int_equal(ady_platform_serve_fn(ady_platform_op_find(ADY_EXIT_QUOTE), &io, &srv), ADY_OK);
	assert_int_equal(io.quote.status, ADY_OK);
	assert_int_equal(ady_quote_decode(io.quote.quote, io.quote.quote_len, &q), ADY_OK);
	assert_int_equal(q.cert_type, ADY_QUOTE_CERT_SIM);
	assert_memory_equal(q.body.mrenclave, self.mrenclave, 32);
	assert_memory_equal(q.body.reportdata, io.quote.reportdata, 64);
	assert_true(q.body.attributes.flags & ADY_SGX_FLAGS_DEBUG);

	/* adytond's rules: no attestation key, or a policy that refuses */
	srv.attest_key = NULL;
	assert_int_equal(ady_platform_serve_fn(ady_platform_op_find(ADY_EXIT_QUOTE), &io, &srv), ADY_OK);
	assert_int_equal(io.quote.status, ADY_ERR_STATE);
	assert_int_equal(io.quote.quote_len, 0);
	ady_platform_server_sim(&srv, &plat, &self);
	srv.provision_allowed = false;
	assert_int_equal(ady_platform_serve_fn(ady_platform_op_find(ADY_EXIT_QUOTE), &io, &srv), ADY_OK);
	assert_int_equal(io.quote.status, ADY_ERR_PERMISSION);

	memset(&io, 0, sizeof(io));
	assert_int_equal(ady_platform_serve_fn(ady_platform_op_find(ADY_EXIT_SEED), &io, &srv), ADY_OK);
	assert_int_equal(io.seed.status, ADY_OK);
	memset(key, 0, sizeof(key));
	assert_memory_not_equal(io.seed.seed, key, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_codecs),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_serve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
