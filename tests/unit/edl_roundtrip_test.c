/*
 * EDL round trips and boundary checks through a real enclave
 * (tests/enclaves/edl_enc.c built from tests/edl/edltest.edl) on the
 * backend ADYTON_BACKEND names: every attribute combination through the
 * generated stubs, then hand-made inputs and lying OCALL handlers against
 * the generated enclave-side code.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "adyton/cursor.h"
#include "edltest_u.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/edl_enc.signed"

static char last_log[128];
static int log_null;

/* ---- the OCALLs, with the declared signatures ---- */

void ocall_log(const char *msg)
{
	if (!msg)
		log_null++;
	else
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

int ocall_add(int a, int b) { return a + b; }

size_t ocall_fill(char *buf, size_t cap)
{
	static const char msg[] = "filled by the app";

	if (cap < sizeof(msg))
		return 0;
	memcpy(buf, msg, sizeof(msg));
	return sizeof(msg) - 1;
}

void ocall_points(struct point *pts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pts[i].x = -pts[i].x;
		pts[i].y = -pts[i].y;
	}
}

enum color ocall_color(enum color c) { return c == BLUE ? DARK : RED; }
double ocall_double(double x) { return x * 2; }

void ocall_string_inout(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

void ocall_liar(uint8_t *buf)
{
	for (int i = 0; i < 16; i++)
		buf[i] = (uint8_t)i;
}

uint64_t ocall_user_check(const void *p) { return (uint64_t)(uintptr_t)p; }

static int tagged_ok;
void ocall_in(const struct tagged *t, size_t n)
{
	tagged_ok = n == 2 && t[0].c == GREEN && t[0].bytes[2] == 3 && t[0].weight == 0.5 && t[1].c == DARK &&
		    t[1].bytes[0] == 4 && t[1].weight == -1.25;
}

/* ---- the OCALLs of tests/edl/edltest_lang.edl ---- */

void ocall_array(int v[4])
{
	for (int i = 0; i < 4; i++)
		v[i] = 7 + i;
}

/* The digest tests/enclaves/edl_enc.c computes. */
static uint64_t blob_digest(const struct blob *b, size_t n)
{
	uint64_t t = n;

	for (size_t i = 0; i < n; i++) {
		t = t * 1000003u + b[i].len + b[i].n;
		for (size_t j = 0; j < b[i].len; j++)
			t = t * 31u + b[i].data[j];
		for (uint64_t j = 0; j < b[i].n; j++)
			t = t * 31u + (uint16_t)b[i].vals[j];
		for (const char *s = b[i].name; s && *s; s++)
			t = t * 31u + (uint8_t)*s;
		t = t * 7u + (b[i].data != NULL) + 2u * (b[i].vals != NULL) + 4u * (b[i].name != NULL);
	}
	return t;
}

uint64_t ocall_deep(const struct blob *b)
{
	if (!b || strcmp(b->name, "enclave") != 0 || b->len != 3 || b->data[2] != 3 || b->vals[1] != 300)
		return 0;
	return blob_digest(b, 1);
}

size_t ocall_addrs(const void **a, size_t n)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i++)
		ok += a[i] == (const void *)(uintptr_t)((i + 1) * 0x1000);
	return ok;
}

size_t ocall_wstring(const wchar_t *w) { return w ? wcslen(w) : 0; }

void ocall_note(struct note *nt)
{
	nt->tag = (int32_t)((uint32_t)nt->tag + 1u);
	for (uint32_t j = 0; j < nt->len; j++)
		nt->text[j] ^= 0xff;
	for (char *c = nt->title; c && *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	nt->len = 0;
	nt->text = NULL;
}

/* ocall_note's reply with one nested byte less than was sent. */
static ady_err raw_note_short(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			      size_t *out_len)
{
	(void)ctx;
	if (in_len > out_cap + 1 || in_len < 2)
		return ADY_ERR_PROTOCOL;
	/* the request is present(1) + the element + nested data: echo it */
	memcpy(out, in + 1, in_len - 1);
	*out_len = in_len - 2;
	return ADY_OK;
}

/* ocall_note's reply claiming other nested lengths. */
static ady_err raw_note_lengths(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
				size_t *out_len)
{
	(void)ctx;
	if (in_len != out_cap + 1)
		return ADY_ERR_PROTOCOL;
	memcpy(out, in + 1, in_len - 1);
	ady_put_u64le(out + 9, 3); /* text: 3 instead of 4 */
	*out_len = out_cap;
	return ADY_OK;
}

/* ocall_note's reply with the title's terminator overwritten. */
static ady_err raw_note_unterminated(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
				     size_t *out_len)
{
	(void)ctx;
	if (in_len != out_cap + 1)
		return ADY_ERR_PROTOCOL;
	memcpy(out, in + 1, in_len - 1);
	out[out_cap - 1] = 'x';
	*out_len = out_cap;
	return ADY_OK;
}

/* ---- misbehaving raw handlers ---- */

static int liar_mode;

static ady_err raw_liar(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)ctx, (void)in, (void)in_len;
	for (size_t i = 0; i < out_cap; i++)
		out[i] = (uint8_t)i;
	switch (liar_mode) {
	case 0:
		*out_len = out_cap;
		return ADY_OK;
	case 1:
		*out_len = out_cap + 1; /* longer than the buffer */
		return ADY_OK;
	case 2:
		*out_len = out_cap - 1;
		return ADY_OK;
	case 3:
		*out_len = 0;
		return ADY_OK;
	default:
		return ADY_ERR_IO;
	}
}

static ady_err raw_color(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)ctx, (void)in, (void)in_len;
	if (out_cap != 4)
		return ADY_ERR_PROTOCOL;
	ady_put_u32le(out, 99); /* not an enumerator of enum color */
	*out_len = 4;
	return ADY_OK;
}

static ady_enclave *open_with(const ady_ocall_fn *table)
{
	ady_enclave_opts opts = {.ocalls = table, .nocalls = EDLTEST_OCALL_COUNT};
	ady_enclave *e = NULL;
	ady_err err = ady_enclave_open(IMAGE, &opts, &e);

	if (err)
		fail_msg("ady_enclave_open(%s): %s", IMAGE, ady_strerror(err));
	return e;
}

static ady_enclave *open_test(void) { return open_with(edltest_ocall_table); }

static void test_scalars(void **state)
{
	ady_enclave *e = open_test();
	struct all_scalars x;
	double r = 0;
	int64_t n = 0;
	uint16_t u = 0;
	float h = 0;

	(void)state;
	memset(&x, 0x77, sizeof(x));
	assert_int_equal(ecall_scalars(e, &r, -1, -2, 250, -300, 60000, -70000, 4000000000u, -5000000000L,
				       17000000000UL, INT64_MIN, UINT64_MAX, -8, -16000, INT32_MIN, INT64_MAX, 200, 65535,
				       0xdeadbeefu, 0x0123456789abcdefULL, SIZE_MAX, L'\u20ac', 1.25f, -1e300, &x),
			 ADY_OK);
	assert_true(r == 1.25 + -1e300);
	assert_int_equal(x.c, -1);
	assert_int_equal(x.sc, -2);
	assert_int_equal(x.uc, 250);
	assert_int_equal(x.s, -300);
	assert_int_equal(x.us, 60000);
	assert_int_equal(x.i, -70000);
	assert_int_equal(x.u, 4000000000u);
	assert_true(x.l == -5000000000L);
	assert_true(x.ul == 17000000000UL);
	assert_true(x.ll == INT64_MIN);
	assert_true(x.ull == UINT64_MAX);
	assert_int_equal(x.i8, -8);
	assert_int_equal(x.i16, -16000);
	assert_true(x.i32 == INT32_MIN);
	assert_true(x.i64 == INT64_MAX);
	assert_int_equal(x.u8, 200);
	assert_int_equal(x.u16, 65535);
	assert_true(x.u32 == 0xdeadbeefu);
	assert_true(x.u64 == 0x0123456789abcdefULL);
	assert_true(x.sz == SIZE_MAX);
	assert_true(x.wc == L'\u20ac');
	assert_true(x.f == 1.25f);
	assert_true(x.d == -1e300);

	assert_int_equal(ecall_neg(e, &n, -42), ADY_OK);
	assert_int_equal(n, 42);
	assert_int_equal(ecall_u16(e, &u, 0x1234), ADY_OK);
	assert_int_equal(u, 0xedcb);
	assert_int_equal(ecall_half(e, &h, 3.0f), ADY_OK);
	assert_true(h == 1.5f);
	/* retval may be NULL */
	assert_int_equal(ecall_neg(e, NULL, 1), ADY_OK);
	ady_enclave_close(e);
}

static void test_strings(void **state)
{
	ady_enclave *e = open_test();
	char c = 0, s[] = "Hello, edl";
	size_t n = 0;

	(void)state;
	assert_int_equal(ecall_first(e, &c, "xyz"), ADY_OK);
	assert_int_equal(c, 'x');
	assert_int_equal(ecall_strlen(e, &n, "four"), ADY_OK);
	assert_int_equal(n, 4);
	assert_int_equal(ecall_strlen(e, &n, ""), ADY_OK);
	assert_int_equal(n, 0);
	/* a NULL [string] arrives as NULL */
	assert_int_equal(ecall_strlen(e, &n, NULL), ADY_OK);
	assert_true(n == (size_t)-1);
	assert_int_equal(ecall_string_inout(e, s), ADY_OK);
	assert_string_equal(s, "HELLO, EDL");
	ady_enclave_close(e);
}

static void test_buffers(void **state)
{
	ady_enclave *e = open_test();
	uint8_t buf[300], sc[12];
	int32_t arr[5] = {1, -2, 3, -4, 2000000000};
	uint64_t sum = 0, expect = 0;
	int dirty = -1, a = 41, b = 99, c = 5, r = 0;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7);
		expect = expect * 31 + buf[i];
	}
	assert_int_equal(ecall_in(e, buf, sizeof(buf), &sum), ADY_OK);
	assert_true(sum == expect);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(ecall_out(e, &dirty, buf, sizeof(buf)), ADY_OK);
	assert_int_equal(dirty, 0); /* [out] buffers arrive zeroed, not with our 0xff */
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], (uint8_t)(i ^ 0x5a));
	assert_int_equal(ecall_in_out(e, &n, arr, 5), ADY_OK);
	assert_int_equal(n, 5);
	assert_int_equal(arr[1], -4);
	assert_int_equal(arr[4], (int32_t)4000000000u);
	for (int i = 0; i < 12; i++)
		sc[i] = (uint8_t)i;
	assert_int_equal(ecall_size_count(e, sc, 4, 3), ADY_OK);
	for (int i = 0; i < 12; i++)
		assert_int_equal(sc[i], 11 - i);
	assert_int_equal(ecall_default_ptr(e, &r, &a, &b, &c), ADY_OK);
	assert_int_equal(r, 0);
	assert_int_equal(b, 42);
	assert_int_equal(c, 10);
	assert_int_equal(ecall_const_value(e, 7, &r), ADY_OK);
	assert_int_equal(r, 21);
	{
		uint16_t four[4] = {0x0102, 0x0304, 0x0506, 0x0708};
		uint8_t eight[8] = {0};
		assert_int_equal(ecall_literal(e, &r, four, eight), ADY_OK);
		assert_int_equal(r, 4);
		assert_int_equal(eight[0], 0x02);
		assert_int_equal(eight[7], 0x07);
	}
	/* NULL with size 0 is fine and arrives as NULL; so does non-NULL with size 0 */
	assert_int_equal(ecall_null_ok(e, &r, NULL, 0), ADY_OK);
	assert_int_equal(r, 1);
	assert_int_equal(ecall_null_ok(e, &r, buf, 0), ADY_OK);
	assert_int_equal(r, 1);
	assert_int_equal(ecall_null_ok(e, &r, buf, 1), ADY_OK);
	assert_int_equal(r, 0);
	assert_int_equal(ecall_signed_count(e, &r, buf, 3), ADY_OK);
	{
		uint64_t p = 0;
		int local;
		assert_int_equal(ecall_user_check(e, &p, &local), ADY_OK);
		assert_true(p == (uint64_t)(uintptr_t)&local);
	}
	assert_int_equal(ecall_imported_named(e, &r, 1), ADY_OK);
	assert_int_equal(r, 1001);
	ady_enclave_close(e);
}

static void test_structs_enums(void **state)
{
	ady_enclave *e = open_test();
	struct point pts[3] = {{5, -1}, {-7, 2}, {3, 9}};
	struct rect bbox;
	struct tagged tags[2] = {{RED, {1, 2, 3}, 1.5}, {DARK, {254, 255, 0}, -2}};
	enum color c = RED, next = RED;
	int r = 0;

	(void)state;
	memset(&bbox, 0, sizeof(bbox));
	assert_int_equal(ecall_structs(e, &r, (struct point){0, 0}, pts, 3, &bbox, tags), ADY_OK);
	assert_int_equal(r, 3);
	assert_int_equal(bbox.lo.x, -7);
	assert_int_equal(bbox.lo.y, -1);
	assert_int_equal(bbox.hi.x, 5);
	assert_int_equal(bbox.hi.y, 9);
	assert_int_equal(tags[0].c, BLUE);
	assert_int_equal(tags[1].c, RED);
	assert_int_equal(tags[1].bytes[0], 255);
	assert_int_equal(tags[1].bytes[1], 0);
	assert_true(tags[0].weight == 3.0 && tags[1].weight == -4.0);
	assert_int_equal(ecall_enum(e, &c, BLUE, &next), ADY_OK);
	assert_int_equal(c, BLUE);
	assert_int_equal(next, DARK);
	/* an enum value the EDL does not declare is refused by the enclave */
	assert_int_equal(ecall_enum(e, &c, (enum color)1, &next), ADY_ERR_MALFORMED);
	assert_int_equal(next, DARK); /* untouched */
	ady_enclave_close(e);
}

static void test_ocalls(void **state)
{
	ady_enclave *e = open_test();
	int r = -1;

	(void)state;
	log_null = 0;
	tagged_ok = 0;
	assert_int_equal(ecall_ocalls(e, &r), ADY_OK);
	assert_int_equal(r, 0);
	assert_string_equal(last_log, "hello from the enclave");
	assert_int_equal(log_null, 1);
	assert_int_equal(tagged_ok, 1);
	ady_enclave_close(e);
}

/* ---- boundary tests: hand-made inputs against the generated enclave side ---- */

static ady_err raw(ady_enclave *e, uint32_t idx, const uint8_t *in, size_t in_len, size_t out_cap)
{
	uint8_t out[256];
	size_t n = 0;

	return ady_ecall(e, idx, in, in_len, out, out_cap, &n);
}

static void test_null_with_size(void **state)
{
	ady_enclave *e = open_test();
	uint64_t sum = 7;
	uint8_t in[10] = {0};
	int r;

	(void)state;
	/* refused by the application-side stub ... */
	assert_int_equal(ecall_in(e, NULL, 16, &sum), ADY_ERR_INVALID_ARG);
	assert_int_equal(ecall_in(e, (const uint8_t *)"x", 1, NULL), ADY_ERR_INVALID_ARG);
	assert_int_equal(ecall_default_ptr(e, &r, NULL, &r, &r), ADY_ERR_INVALID_ARG);
	assert_true(sum == 7);
	/* ... and by the enclave: ecall_in = present(0) len(16) sum-present(1) */
	in[0] = 0;
	ady_put_u64le(in + 1, 16);
	in[9] = 1;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_in, in, 10, 8), ADY_ERR_INVALID_ARG);
	/* [out] pointer absent: nothing to write to */
	in[0] = 1;
	ady_put_u64le(in + 1, 0);
	in[9] = 0;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_in, in, 10, 8), ADY_ERR_INVALID_ARG);
	/* a presence byte that is neither 0 nor 1 */
	in[0] = 2;
	in[9] = 1;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_in, in, 10, 8), ADY_ERR_MALFORMED);
	ady_enclave_close(e);
}

static void test_overflow(void **state)
{
	ady_enclave *e = open_test();
	uint8_t in[14] = {0}, b[4] = {0};
	size_t n = 0;
	int r;

	(void)state;
	/* application side */
	assert_int_equal(ecall_size_count(e, b, SIZE_MAX / 2 + 1, 2), ADY_ERR_OVERFLOW);
	assert_int_equal(ecall_in_out(e, &n, (int32_t *)b, SIZE_MAX / 2), ADY_ERR_OVERFLOW);
	assert_int_equal(ecall_signed_count(e, &r, b, -1), ADY_ERR_INVALID_ARG);
	/* enclave side: ecall_size_count = present(1) esz(u64) n(u32) */
	in[0] = 1;
	ady_put_u64le(in + 1, (uint64_t)1 << 40);
	ady_put_u32le(in + 9, 1u << 30);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_size_count, in, 13, 0), ADY_ERR_OVERFLOW);
	/* no overflow, but far more than the input holds: refused before allocating */
	ady_put_u64le(in + 1, (uint64_t)1 << 30);
	ady_put_u32le(in + 9, 16);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_size_count, in, 13, 0), ADY_ERR_TRUNCATED);
	/* ecall_in_out = present(1) n(u64): n * 4 overflows */
	ady_put_u64le(in + 1, UINT64_MAX / 2);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_in_out, in, 9, 8), ADY_ERR_OVERFLOW);
	/* ecall_signed_count = present(1) n(i32 = -5) */
	ady_put_u32le(in + 1, (uint32_t)-5);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_signed_count, in, 5, 4), ADY_ERR_INVALID_ARG);
	/* ecall_out = present(1) len(u64): more output than the caller accepts */
	ady_put_u64le(in + 1, 1000);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_out, in, 9, 100), ADY_ERR_SHORT_BUFFER);
	ady_enclave_close(e);
}

static void test_unterminated_string(void **state)
{
	ady_enclave *e = open_test();
	uint8_t in[32] = {0};

	(void)state;
	/* ecall_strlen = present(1) len(u64) bytes */
	in[0] = 1;
	ady_put_u64le(in + 1, 5);
	memcpy(in + 9, "hello", 5);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 14, 8), ADY_ERR_MALFORMED);
	/* terminated: fine */
	ady_put_u64le(in + 1, 6);
	in[14] = 0;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 15, 8), ADY_OK);
	/* a length beyond the input */
	ady_put_u64le(in + 1, 1000);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 15, 8), ADY_ERR_TRUNCATED);
	ady_put_u64le(in + 1, UINT64_MAX);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 15, 8), ADY_ERR_TRUNCATED);
	/* present with length 0, absent with a length */
	ady_put_u64le(in + 1, 0);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 9, 8), ADY_ERR_MALFORMED);
	in[0] = 0;
	ady_put_u64le(in + 1, 6);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 15, 8), ADY_ERR_MALFORMED);
	/* trailing bytes, truncated input */
	in[0] = 1;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 16, 8), ADY_ERR_MALFORMED);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_strlen, in, 5, 8), ADY_ERR_TRUNCATED);
	/* private ECALLs are never callable (nested calls are refused) */
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_private, NULL, 0, 0), ADY_ERR_PERMISSION);
	ady_enclave_close(e);
}

typedef struct {
	uint8_t *buf;
	size_t len;
	int stop;
} mutator;

static void *mutate(void *arg)
{
	mutator *m = arg;
	uint8_t v = 0;

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		v++;
		for (size_t i = 0; i < m->len; i++)
			__atomic_store_n(&m->buf[i], v, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_concurrent_mutation(void **state)
{
	ady_enclave *e = open_test();
	mutator m = {.len = 32768};
	pthread_t t;

	(void)state;
	m.buf = calloc(1, m.len);
	assert_non_null(m.buf);
	assert_int_equal(pthread_create(&t, NULL, mutate, &m), 0);
	for (int i = 0; i < 20; i++) {
		uint64_t sum = 0;
		assert_int_equal(ecall_consistent(e, &sum, m.buf, m.len), ADY_OK);
		assert_true(sum != UINT64_MAX); /* the enclave saw one unchanging copy */
	}
	__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	free(m.buf);
	ady_enclave_close(e);
}

static void test_ocall_lies(void **state)
{
	ady_ocall_fn table[EDLTEST_OCALL_COUNT];
	ady_enclave *e;
	int r = -99;

	(void)state;
	memcpy(table, edltest_ocall_table, sizeof(table));
	table[EDLTEST_OCALL_ocall_liar] = raw_liar;
	table[EDLTEST_OCALL_ocall_color] = raw_color;
	e = open_with(table);
	liar_mode = 0;
	assert_int_equal(ecall_ocall_liar(e, &r, 0), ADY_OK);
	assert_int_equal(r, 0);
	/* a length larger than the buffer: refused, the buffer untouched */
	liar_mode = 1;
	assert_int_equal(ecall_ocall_liar(e, &r, 0), ADY_OK);
	assert_int_equal(r, ADY_ERR_SHORT_BUFFER);
	/* shorter than the declared [out] size: the generated stub refuses */
	liar_mode = 2;
	assert_int_equal(ecall_ocall_liar(e, &r, 0), ADY_OK);
	assert_int_equal(r, ADY_ERR_PROTOCOL);
	liar_mode = 3;
	assert_int_equal(ecall_ocall_liar(e, &r, 0), ADY_OK);
	assert_int_equal(r, ADY_ERR_PROTOCOL);
	liar_mode = 4;
	assert_int_equal(ecall_ocall_liar(e, &r, 0), ADY_OK);
	assert_int_equal(r, ADY_ERR_IO);
	/* an enum return value outside the declared enumerators */
	assert_int_equal(ecall_ocall_liar(e, &r, 100), ADY_OK);
	assert_int_equal(r, ADY_ERR_MALFORMED);
	ady_enclave_close(e);
}

/* ---- tests/edl/edltest_lang.edl ---- */

static void test_lang(void **state)
{
	ady_enclave *e = open_test();
	int a[4] = {1, 2, 3, 4}, b[2][3], c[3] = {5, 6, -7}, r = 0;
	union num u[2], v, o;
	uint8_t bytes[10];
	edl_arr_t arr = {1, 2, 3, 4, 5};
	wchar_t ws[] = L"abc\u00e9z";
	uint8_t data[3] = {9, 8, 7};
	int16_t vals[3] = {-2, 0, 1000};
	struct blob blobs[3] = {{3, data, 3, vals, (char *)"first"}, {0, NULL, 0, NULL, NULL}, {1, data, 0, NULL, (char *)""}};
	uint64_t d = 0, x = 0;
	size_t n = 0;

	(void)state;
	memset(b, 0x55, sizeof(b));
	memset(u, 0, sizeof(u));
	u[0].i = 100;
	u[1].b[11] = 9;
	assert_int_equal(ecall_arrays(e, &r, a, b, c, u), ADY_OK);
	assert_int_equal(r, 1 + 2 + 3 + 4 + 100 + 9);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			assert_int_equal(b[i][j], a[i] * 10 + j);
	assert_int_equal(c[0], 10);
	assert_int_equal(c[2], -14);

	memset(&v, 0, sizeof(v));
	v.u = 0x1122334455667788u;
	v.b[8] = 0x41;
	v.b[11] = 0x42;
	memset(&o, 0xee, sizeof(o));
	assert_int_equal(ecall_union(e, &x, v, &o), ADY_OK);
	assert_true(x == 0x1122334455667788u);
	assert_true(o.u == ~0x1122334455667788u);
	assert_int_equal(o.b[8], 0x42);
	assert_int_equal(o.b[11], 0x42);

	for (int i = 0; i < 10; i++)
		bytes[i] = (uint8_t)(i + 1);
	assert_int_equal(ecall_isptr(e, &n, bytes, sizeof(bytes)), ADY_OK);
	assert_int_equal(n, 55);
	assert_int_equal(ecall_isary(e, &r, arr), ADY_OK);
	assert_int_equal(r, 1);
	assert_int_equal(arr[1], 102);
	assert_int_equal(arr[4], 405);
	assert_int_equal(ecall_isary_uc(e, &x, arr), ADY_OK);
	assert_true(x == (uint64_t)(uintptr_t)arr);

	assert_int_equal(ecall_wstring(e, &n, L"h\u00e9llo"), ADY_OK);
	assert_int_equal(n, 5);
	assert_int_equal(ecall_wstring(e, &n, NULL), ADY_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ecall_wstring_inout(e, ws), ADY_OK);
	assert_true(wcscmp(ws, L"ABC\u00e9Z") == 0);

	assert_int_equal(ecall_deep(e, &d, blobs, 3), ADY_OK);
	assert_true(d == blob_digest(blobs, 3));
	/* refused before the call: a nested NULL with a size, counts that overflow */
	blobs[1].len = 5;
	assert_int_equal(ecall_deep(e, &d, blobs, 3), ADY_ERR_INVALID_ARG);
	blobs[1].len = 0;
	blobs[0].n = UINT64_MAX / 2 + 1;
	assert_int_equal(ecall_deep(e, &d, blobs, 1), ADY_ERR_OVERFLOW);
	blobs[0].n = 3;
	assert_int_equal(ecall_deep(e, &d, blobs, SIZE_MAX / 8), ADY_ERR_OVERFLOW);

	assert_int_equal(ecall_lang_ocalls(e, &r, 0), ADY_OK);
	assert_int_equal(r, 0);
	ady_enclave_close(e);
}

/* Deep copy [in, out]: nested contents and the plain members come back,
 * the caller's pointers and nested sizes stay. */
static void test_lang_deep_inout(void **state)
{
	ady_enclave *e = open_test();
	uint8_t t0[3] = {1, 2, 3}, t1[1] = {0x80};
	char s0[] = "first", s1[] = "Zz9";
	struct note nt[3] = {{-1, 3, t0, s0}, {100, 0, NULL, NULL}, {7, 1, t1, s1}};
	int r = 0;

	(void)state;
	assert_int_equal(ecall_note(e, &r, nt, 3), ADY_OK);
	assert_int_equal(r, 3);
	assert_int_equal(nt[0].tag, 0);
	assert_int_equal(nt[1].tag, 101);
	assert_int_equal(nt[2].tag, 8);
	assert_int_equal(nt[0].len, 3);
	assert_ptr_equal(nt[0].text, t0);
	assert_int_equal(t0[0], 0xfe);
	assert_int_equal(t0[2], 0xfc);
	assert_int_equal(t1[0], 0x7f);
	assert_string_equal(s0, "FIRST");
	assert_string_equal(s1, "ZZ9");
	assert_null(nt[1].text);
	/* the same over an OCALL, and replies that lie about the nested data */
	assert_int_equal(ecall_lang_ocalls(e, &r, 0), ADY_OK);
	assert_int_equal(r, 0);
	ady_enclave_close(e);
}

static void test_lang_deep_inout_lies(void **state)
{
	static const ady_ocall_fn liars[] = {raw_note_short, raw_note_lengths, raw_note_unterminated};
	static const int want[] = {ADY_ERR_PROTOCOL, ADY_ERR_PROTOCOL, ADY_ERR_MALFORMED};
	ady_ocall_fn table[EDLTEST_OCALL_COUNT];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		ady_enclave *e;
		int r = -99;
		memcpy(table, edltest_ocall_table, sizeof(table));
		table[EDLTEST_OCALL_ocall_note] = liars[i];
		e = open_with(table);
		assert_int_equal(ecall_lang_ocalls(e, &r, 2), ADY_OK);
		assert_int_equal(r, want[i]);
		ady_enclave_close(e);
	}
}

/* Hand-made inputs against the generated enclave side of the new
 * constructs. */
static void test_lang_boundaries(void **state)
{
	ady_enclave *e = open_test();
	uint8_t in[200] = {0};
	size_t k;

	(void)state;
	/* ecall_arrays: four present bytes, then a[4], c[3], u[2] (12 bytes each) */
	memset(in, 1, 4);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_arrays, in, 4 + 16 + 12 + 24, 4 + 24 + 12), ADY_OK);
	/* an array pointing at too little memory */
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_arrays, in, 4 + 16 + 12 + 23, 4 + 24 + 12), ADY_ERR_TRUNCATED);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_arrays, in, 4 + 10, 4 + 24 + 12), ADY_ERR_TRUNCATED);
	/* a NULL array (its size is never 0) */
	in[0] = 0;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_arrays, in, 4 + 12 + 24, 4 + 24 + 12), ADY_ERR_INVALID_ARG);
	/* an [out] array larger than the caller accepts */
	in[0] = 1;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_arrays, in, 4 + 16 + 12 + 24, 4 + 24 + 11), ADY_ERR_SHORT_BUFFER);

	/* ecall_wstring = present(1) len(u64) bytes: whole wchar_t, terminated */
	memset(in, 0, sizeof(in));
	in[0] = 1;
	ady_put_u64le(in + 1, 6);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_wstring, in, 15, 8), ADY_ERR_MALFORMED);
	ady_put_u64le(in + 1, 8);
	in[9] = 'a';
	in[13] = 'b';
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_wstring, in, 17, 8), ADY_ERR_MALFORMED);
	in[13] = 0;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_wstring, in, 17, 8), ADY_OK);

	/* ecall_deep = present(1) n(u64), then per blob: len(8) data(1+8) n(8)
	 * vals(1+8) name(1+8), then the nested bytes */
#define BLOB(off, len, dp, dl, nn, vp, vl, np, nl)                                                          \
	do {                                                                                                 \
		ady_put_u64le(in + (off), (len));                                                            \
		in[(off) + 8] = (dp);                                                                        \
		ady_put_u64le(in + (off) + 9, (dl));                                                         \
		ady_put_u64le(in + (off) + 17, (nn));                                                        \
		in[(off) + 25] = (vp);                                                                       \
		ady_put_u64le(in + (off) + 26, (vl));                                                        \
		in[(off) + 34] = (np);                                                                       \
		ady_put_u64le(in + (off) + 35, (nl));                                                        \
	} while (0)
	memset(in, 0, sizeof(in));
	in[0] = 1;
	ady_put_u64le(in + 1, 1);
	k = 9 + 43;
	BLOB(9, 4, 1, 4, 2, 1, 4, 1, 3);
	memcpy(in + k, "\1\2\3\4\5\0\6\0ab", 11);
	in[k + 10] = 0;
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_OK);
	/* trailing bytes, a missing nested byte */
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 12, 8), ADY_ERR_MALFORMED);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 10, 8), ADY_ERR_TRUNCATED);
	/* a nested string without its terminator */
	in[k + 10] = 'c';
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_MALFORMED);
	in[k + 10] = 0;
	/* a length other than the sibling says */
	BLOB(9, 4, 1, 5, 2, 1, 4, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_MALFORMED);
	BLOB(9, 4, 1, 4, 2, 1, 3, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_MALFORMED);
	/* NULL with a non-zero size; absent with a length; a bad present byte */
	BLOB(9, 4, 0, 0, 2, 1, 4, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 7, 8), ADY_ERR_INVALID_ARG);
	BLOB(9, 4, 0, 4, 2, 1, 4, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_MALFORMED);
	BLOB(9, 4, 2, 4, 2, 1, 4, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_MALFORMED);
	/* a present string of length 0 */
	BLOB(9, 4, 1, 4, 2, 1, 4, 1, 0);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 8, 8), ADY_ERR_MALFORMED);
	/* sizes that overflow: count * element size, and the sum of the nested lengths */
	BLOB(9, 4, 1, 4, UINT64_MAX / 2 + 1, 1, 0, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_OVERFLOW);
	BLOB(9, UINT64_MAX / 2 + 1, 1, UINT64_MAX / 2 + 1, UINT64_MAX / 4 + 1, 1, UINT64_MAX / 2 + 1, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_OVERFLOW);
	/* nested lengths beyond the input */
	BLOB(9, UINT64_MAX - 100, 1, UINT64_MAX - 100, 2, 1, 4, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_TRUNCATED);
	BLOB(9, 4000, 1, 4000, 2, 1, 4, 1, 3);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_TRUNCATED);
	/* a blob count whose fixed part is not there */
	ady_put_u64le(in + 1, 1000);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_TRUNCATED);
	ady_put_u64le(in + 1, UINT64_MAX);
	assert_int_equal(raw(e, EDLTEST_ECALL_ecall_deep, in, k + 11, 8), ADY_ERR_OVERFLOW);
#undef BLOB
	ady_enclave_close(e);
}

/* An OCALL returning more (or less) than its declared [out] array. */
static void test_lang_ocall_lies(void **state)
{
	ady_ocall_fn table[EDLTEST_OCALL_COUNT];
	ady_enclave *e;
	int r = -99;

	(void)state;
	memcpy(table, edltest_ocall_table, sizeof(table));
	table[EDLTEST_OCALL_ocall_array] = raw_liar;
	e = open_with(table);
	liar_mode = 1;
	assert_int_equal(ecall_lang_ocalls(e, &r, 1), ADY_OK);
	assert_int_equal(r, ADY_ERR_SHORT_BUFFER);
	liar_mode = 2;
	assert_int_equal(ecall_lang_ocalls(e, &r, 1), ADY_OK);
	assert_int_equal(r, ADY_ERR_PROTOCOL);
	ady_enclave_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),          cmocka_unit_test(test_strings),
		cmocka_unit_test(test_buffers),          cmocka_unit_test(test_structs_enums),
		cmocka_unit_test(test_ocalls),           cmocka_unit_test(test_null_with_size),
		cmocka_unit_test(test_overflow),         cmocka_unit_test(test_unterminated_string),
		cmocka_unit_test(test_concurrent_mutation), cmocka_unit_test(test_ocall_lies),
		cmocka_unit_test(test_lang),            cmocka_unit_test(test_lang_boundaries),
		cmocka_unit_test(test_lang_ocall_lies),   cmocka_unit_test(test_lang_deep_inout),
		cmocka_unit_test(test_lang_deep_inout_lies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
