/*
 * libFuzzer target: random marshalling-buffer contents into the generated
 * enclave-side code of tests/edl/edltest.edl (edltest_t.c with the test
 * enclave's functions, compiled for the host).  Input:
 *   u8 ECALL index | u16 LE output capacity | u16 LE input length | input |
 *   then OCALL replies, each: u8 status | u16 LE length | bytes
 * The fake ady_ocall below answers the generated OCALL stubs from those
 * replies, so their reply decoders are fuzzed too.  ASan finds any access
 * outside what the generated code allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <adyton/enclave.h>

extern const ady_ecall_table ady_ecall_table_;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *script;
static size_t script_len;

static size_t take(size_t n, const uint8_t **p)
{
	if (n > script_len)
		n = script_len;
	*p = script;
	script += n;
	script_len -= n;
	return n;
}

ady_err ady_ocall(uint32_t index, const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
	const uint8_t *p;
	size_t n;
	uint8_t status;

	(void)index;
	if (out_len)
		*out_len = 0;
	if ((in_len && !in) || (out_cap && (!out || !out_len)))
		abort(); /* the generated stubs never break the contract */
	if (in_len)
		(void)((const volatile uint8_t *)in)[in_len - 1];
	if (take(1, &p) < 1)
		return ADY_ERR_IO;
	status = p[0];
	if (take(2, &p) < 2)
		return ADY_ERR_IO;
	n = (size_t)p[0] | (size_t)p[1] << 8;
	n = take(n, &p);
	if (status)
		return status;
	/* the runtime refuses replies above out_cap (ADY_ERR_PROTOCOL) */
	if (n > out_cap)
		return ADY_ERR_PROTOCOL;
	if (n)
		memcpy(out, p, n);
	*out_len = n;
	return ADY_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = NULL, *out;
	size_t in_len, out_cap, out_len = 0;
	uint32_t idx;
	ady_err err;

	if (size < 5)
		return 0;
	idx = data[0] % ady_ecall_table_.count;
	out_cap = (size_t)data[1] | (size_t)data[2] << 8;
	in_len = (size_t)data[3] | (size_t)data[4] << 8;
	data += 5;
	size -= 5;
	if (in_len > size)
		in_len = size;
	/* exact-size private copies, as the runtime hands them over */
	if (in_len && !(in = malloc(in_len)))
		return 0;
	if (in_len)
		memcpy(in, data, in_len);
	out = calloc(1, out_cap ? out_cap : 1);
	if (!out) {
		free(in);
		return 0;
	}
	script = data + in_len;
	script_len = size - in_len;
	err = ady_ecall_table_.fns[idx](in, in_len, out, out_cap, &out_len);
	if (err == ADY_OK && out_len > out_cap)
		abort();
	free(out);
	free(in);
	return 0;
}
