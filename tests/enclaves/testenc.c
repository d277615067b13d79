/*
 * The test enclave: one ECALL per runtime behaviour the host tests check.
 */
#include <bearssl.h>
#include <stdlib.h>
#include <string.h>

#include <adyton/enclave.h>
#include <adyton/layout.h>
#include <adyton/msbuf.h>

#include "testenc.h"

static uint32_t get_u32(const uint8_t *in, size_t in_len)
{
	uint32_t v = 0;

	if (in_len >= 4)
		v = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
	return v;
}

static ady_err echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (in_len > out_cap)
		return ADY_ERR_SHORT_BUFFER;
	if (in_len)
		memcpy(out, in, in_len);
	*out_len = in_len;
	return ADY_OK;
}

static ady_err do_abort(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out, (void)out_cap, (void)out_len;
	ady_abort("requested: %.*s", (int)in_len, in ? (const char *)in : "");
}

static ady_err ocall_echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return ady_ocall(T_O_ECHO, in, in_len, out, out_cap, out_len);
}

static ady_err ocall_nested(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out, (void)out_cap, (void)out_len;
	return ady_ocall(T_O_NESTED, in, in_len, NULL, 0, NULL);
}

/* Allocation patterns that exercise splitting, coalescing and reuse;
 * contents are checked after every step. */
static ady_err heap(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	enum { N = 64 };
	uint8_t *p[N] = {0};
	size_t sz[N];
	uint32_t x = 12345;

	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < N; i++) {
			x = x * 1103515245u + 12345u;
			if (p[i] && (x & 1)) {
				for (size_t k = 0; k < sz[i]; k++)
					if (p[i][k] != (uint8_t)(i + k))
						return ADY_ERR_MALFORMED;
				free(p[i]);
				p[i] = NULL;
			} else if (!p[i]) {
				sz[i] = (x >> 8) % 3000 + 1;
				p[i] = (x & 2) ? malloc(sz[i]) : calloc(1, sz[i]);
				if (!p[i])
					return ADY_ERR_NOMEM;
				for (size_t k = 0; k < sz[i]; k++)
					p[i][k] = (uint8_t)(i + k);
			} else if (sz[i] < 4096) {
				uint8_t *q = realloc(p[i], sz[i] * 2);
				if (!q)
					return ADY_ERR_NOMEM;
				for (size_t k = sz[i]; k < sz[i] * 2; k++)
					q[k] = (uint8_t)(i + k);
				p[i] = q;
				sz[i] *= 2;
			}
		}
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	/* Everything coalesced again: one big block must fit. */
	void *big = malloc(900 * 1024);
	if (!big)
		return ADY_ERR_NOMEM;
	free(big);
	return ADY_OK;
}

/* McGrew-Viega GCM test case 2: zero key, zero IV, one zero block. */
static ady_err gcm(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const uint8_t zero[16];
	const br_block_ctr_class *vt = br_aes_x86ni_ctr_get_vtable();
	br_aes_gen_ctr_keys keys;
	br_gcm_context gc;

	(void)in, (void)in_len;
	if (out_cap < 32)
		return ADY_ERR_SHORT_BUFFER;
	if (!vt)
		vt = &br_aes_ct64_ctr_vtable;
	vt->init(&keys.vtable, zero, 16);
	br_gcm_init(&gc, &keys.vtable, br_ghash_ctmul64);
	br_gcm_reset(&gc, zero, 12);
	br_gcm_flip(&gc);
	memcpy(out, zero, 16);
	br_gcm_run(&gc, 1, out, 16);
	br_gcm_get_tag(&gc, out + 16);
	*out_len = 32;
	return ADY_OK;
}

static ady_err smash(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	char buf[16];
	volatile size_t n = 64;

	(void)in, (void)in_len, (void)out_cap;
	for (size_t i = 0; i < n; i++)
		((volatile char *)buf)[i] = 'A';
	out[0] = (uint8_t)buf[1];
	*out_len = 1;
	return ADY_OK;
}

static ady_err out_len_lie(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len, (void)out;
	*out_len = out_cap + 1;
	return ADY_OK;
}

static ady_err ocall_index(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out, (void)out_cap, (void)out_len;
	return ady_ocall(get_u32(in, in_len), NULL, 0, NULL, 0, NULL);
}

static ady_err log_line(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	ady_log("log line %d", 42);
	return ADY_OK;
}

static ady_err fill(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len;
	for (size_t i = 0; i < out_cap; i++)
		out[i] = (uint8_t)i;
	*out_len = out_cap;
	return ADY_OK;
}

static ady_err ocall_big(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	static uint8_t big[1];
	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	return ady_ocall(T_O_ECHO, NULL, 0, big, (size_t)1 << 40, out_len);
}

static ady_err private_copies(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out_len;
	if (in && !ady_is_within_enclave(in, in_len))
		return ADY_ERR_RANGE;
	if (!ady_is_within_enclave(out, out_cap))
		return ADY_ERR_RANGE;
	return ADY_OK;
}

static ady_err status(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out, (void)out_cap, (void)out_len;
	return (ady_err)get_u32(in, in_len);
}

/*
 * A secret that exists only inside the enclave: 4 KiB of SHA-256 blocks,
 * block i = SHA-256("adyton-canary" | seed | i as one byte).  The test
 * computes the same bytes and searches the enclave host's memory for them.
 */
static uint8_t *secret;

static ady_err keep_secret(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)out, (void)out_cap, (void)out_len;
	if (in_len != 16)
		return ADY_ERR_INVALID_ARG;
	if (!secret)
		secret = malloc(4096);
	if (!secret)
		return ADY_ERR_NOMEM;
	for (unsigned i = 0; i < 4096 / 32; i++) {
		br_sha256_context c;
		uint8_t idx = (uint8_t)i;
		br_sha256_init(&c);
		br_sha256_update(&c, "adyton-canary", 13);
		br_sha256_update(&c, in, 16);
		br_sha256_update(&c, &idx, 1);
		br_sha256_out(&c, secret + 32 * i);
	}
	return ADY_OK;
}

static ady_err raw_syscall(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	long ret = 39; /* getpid */

	(void)in, (void)in_len, (void)out, (void)out_cap, (void)out_len;
	__asm__ volatile("syscall" : "+a"(ret) : : "rcx", "r11", "memory");
	return ADY_OK;
}

static ady_err wild(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint64_t addr = 0;

	(void)out, (void)out_cap, (void)out_len;
	if (in_len != 8)
		return ADY_ERR_INVALID_ARG;
	for (int i = 0; i < 8; i++)
		addr |= (uint64_t)in[i] << (8 * i);
	*(volatile uint64_t *)(uintptr_t)addr = 0x4141414141414141ull;
	return ADY_OK;
}

static uint64_t get_u64(const uint8_t *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)in[i] << (8 * i);
	return v;
}

static void put_u64(uint8_t *out, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* Addresses for the isolation tests: its own code, and heap bytes that
 * hold a `ret` instruction (which must never run: the heap is not X). */
static uint8_t *ret_on_heap;

static ady_err where(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)in, (void)in_len;
	if (out_cap < 16)
		return ADY_ERR_SHORT_BUFFER;
	if (!ret_on_heap)
		ret_on_heap = malloc(64);
	if (!ret_on_heap)
		return ADY_ERR_NOMEM;
	memset(ret_on_heap, 0xc3, 64);
	put_u64(out, (uint64_t)(uintptr_t)&echo);
	put_u64(out + 8, (uint64_t)(uintptr_t)ret_on_heap);
	*out_len = 16;
	return ADY_OK;
}

static ady_err read_at(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (in_len != 8)
		return ADY_ERR_INVALID_ARG;
	if (out_cap < 8)
		return ADY_ERR_SHORT_BUFFER;
	put_u64(out, *(volatile uint64_t *)(uintptr_t)get_u64(in));
	*out_len = 8;
	return ADY_OK;
}

static ady_err jump(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	void (*fn)(void);

	(void)out, (void)out_cap, (void)out_len;
	if (in_len != 8)
		return ADY_ERR_INVALID_ARG;
	fn = (void (*)(void))(uintptr_t)get_u64(in);
	fn();
	return ADY_OK;
}

static ady_err self_report(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const uint8_t data[64] = {'s', 'e', 'l', 'f'};
	ady_err err;

	(void)in, (void)in_len;
	if (out_cap < 432)
		return ADY_ERR_SHORT_BUFFER;
	err = ady_create_report(NULL, data, out);
	if (!err)
		*out_len = 432;
	return err;
}

/* The runtime's raw exit and its view of the layout (src/trts/internal.h):
 * T_PLAT_IO asks the platform directly, with io structs where no runtime
 * call would put them. */
#pragma GCC visibility push(hidden)
uint64_t ady_trts_exit(ady_thread_data *td, uint64_t op, uint64_t arg);
ady_thread_data *ady_trts_current(void);
const ady_layout_desc *ady_trts_layout(void);
uintptr_t ady_trts_base(void);
#pragma GCC visibility pop

static ady_err plat_io(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	const ady_layout_desc *d = ady_trts_layout();
	uintptr_t base = ady_trts_base(), at;
	uint32_t op = get_u32(in, in_len), place = in_len >= 8 ? get_u32(in + 4, 4) : ~0u;
	void *heap_io = NULL;
	uint64_t rc;

	(void)out, (void)out_cap, (void)out_len;
	if (in_len != 8 || (op != ADY_EXIT_GETKEY && op != ADY_EXIT_REPORT))
		return ADY_ERR_INVALID_ARG;
	switch (place) {
	case T_IO_HEAP:
		heap_io = calloc(1, sizeof(ady_exit_report));
		if (!heap_io)
			return ADY_ERR_NOMEM;
		at = (uintptr_t)heap_io;
		break;
	case T_IO_CODE:
		at = (uintptr_t)plat_io & ~(uintptr_t)0xfff;
		break;
	case T_IO_TCS:
		at = base + d->thread[0].tcs;
		break;
	case T_IO_LAYOUT:
		at = (uintptr_t)d;
		break;
	case T_IO_HEAP_END:
		at = base + d->heap_offset + d->heap_size - 16;
		break;
	case T_IO_OUTSIDE:
		at = base + d->size + 4096;
		break;
	default:
		return ADY_ERR_INVALID_ARG;
	}
	rc = ady_trts_exit(ady_trts_current(), op, (uint64_t)at);
	free(heap_io);
	return (ady_err)rc;
}

ADY_ECALLS(echo, do_abort, ocall_echo, ocall_nested, heap, gcm, smash, out_len_lie, ocall_index, log_line, fill,
	   ocall_big, private_copies, status, keep_secret, raw_syscall, wild, where, read_at, jump, self_report, plat_io);
