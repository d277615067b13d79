/*
 * The EDL round-trip enclave: implements tests/edl/edltest.edl with the
 * declared signatures and checks what the generated stubs hand it.  Also
 * compiled for the host by tests/fuzz/fuzz_edl_unmarshal.c, so it uses
 * nothing of the runtime but the generated OCALL stubs.
 */
#include <stdlib.h>
#include <string.h>

#include "edltest_t.h"

double ecall_scalars(char c, signed char sc, unsigned char uc, short s, unsigned short us, int i, unsigned u, long l,
		     unsigned long ul, long long ll, unsigned long long ull, int8_t i8, int16_t i16, int32_t i32,
		     int64_t i64, uint8_t u8, uint16_t u16, uint32_t u32, uint64_t u64, size_t sz, wchar_t wc, float f,
		     double d, struct all_scalars *echo)
{
	*echo = (struct all_scalars){c, sc, uc, s, us, i, u, l, ul, ll, ull, i8, i16, i32, i64, u8, u16, u32, u64, sz, wc,
				     f, d};
	return (double)f + d;
}

int64_t ecall_neg(int64_t v) { return v == INT64_MIN ? v : -v; }
uint16_t ecall_u16(uint16_t v) { return (uint16_t)(v ^ 0xffffu); }
float ecall_half(float v) { return v / 2; }
char ecall_first(const char *s) { return s ? s[0] : '?'; }
size_t ecall_strlen(const char *s) { return s ? strlen(s) : (size_t)-1; }

void ecall_in(const uint8_t *buf, size_t len, uint64_t *sum)
{
	uint64_t t = 0;

	for (size_t i = 0; i < len; i++)
		t = t * 31 + buf[i];
	if (sum)
		*sum = t;
}

/* Returns how many bytes of the [out] buffer were not zero on entry. */
int ecall_out(uint8_t *buf, size_t len)
{
	int dirty = 0;

	for (size_t i = 0; i < len; i++) {
		dirty += buf[i] != 0;
		buf[i] = (uint8_t)(i ^ EDLTEST_MAGIC);
	}
	return dirty;
}

size_t ecall_in_out(int32_t *arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		arr[i] = (int32_t)((uint32_t)arr[i] * 2u); /* wraps, no UB on fuzzed input */
	return n;
}

void ecall_size_count(void *buf, size_t esz, uint32_t n)
{
	uint8_t *b = buf;
	size_t len = esz * n;

	for (size_t i = 0; i < len / 2; i++) {
		uint8_t t = b[i];
		b[i] = b[len - 1 - i];
		b[len - 1 - i] = t;
	}
}

int ecall_default_ptr(const int *a, int *b, int *c)
{
	if (!a || !b || !c)
		return -1;
	if (*b != 0)
		return -2; /* [out] must arrive zeroed */
	*b = (int)((unsigned)*a + 1u);
	*c = (int)((unsigned)*c * 2u);
	return 0;
}

void ecall_string_inout(char *s)
{
	for (; s && *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

uint64_t ecall_user_check(void *p) { return (uint64_t)(uintptr_t)p; }

int ecall_structs(struct point p, const struct point *pts, size_t n, struct rect *bbox, struct tagged *tags)
{
	struct rect r = {p, p};

	for (size_t i = 0; i < n; i++) {
		if (pts[i].x < r.lo.x)
			r.lo.x = pts[i].x;
		if (pts[i].y < r.lo.y)
			r.lo.y = pts[i].y;
		if (pts[i].x > r.hi.x)
			r.hi.x = pts[i].x;
		if (pts[i].y > r.hi.y)
			r.hi.y = pts[i].y;
	}
	*bbox = r;
	for (int i = 0; i < 2; i++) {
		tags[i].c = tags[i].c == RED ? BLUE : RED;
		for (int k = 0; k < 3; k++)
			tags[i].bytes[k] = (uint8_t)(tags[i].bytes[k] + 1);
		tags[i].weight *= 2;
	}
	return (int)n;
}

enum color ecall_enum(enum color c, enum color *next)
{
	*next = c == RED ? GREEN : c == GREEN ? BLUE : c == BLUE ? DARK : RED;
	return c;
}

int ecall_literal(const uint16_t *four, uint8_t *eight)
{
	for (int i = 0; i < 4; i++) {
		eight[2 * i] = (uint8_t)four[i];
		eight[2 * i + 1] = (uint8_t)(four[i] >> 8);
	}
	return 4;
}

int ecall_null_ok(const uint8_t *p, size_t len)
{
	(void)len;
	return p == NULL;
}

int ecall_signed_count(const uint8_t *p, int n)
{
	int t = 0;

	for (int i = 0; i < n; i++)
		t += p[i];
	return t;
}

/* Sums the buffer again and again: an application thread that writes its
 * own buffer during the call must not change what the enclave sees. */
uint64_t ecall_consistent(const uint8_t *buf, size_t len)
{
	uint64_t first = 0;

	for (int round = 0; round < 64; round++) {
		uint64_t t = 0;
		for (size_t i = 0; i < len; i++)
			t += ((const volatile uint8_t *)buf)[i];
		if (round == 0)
			first = t;
		else if (t != first)
			return UINT64_MAX;
	}
	return first;
}

void ecall_const_value(const int v, int *r) { *r = (int)((unsigned)v * 3u); }

int ecall_imported_named(int v) { return (int)((unsigned)v + 1000u); }

void ecall_private(void) {}

/* Runs every OCALL; returns 0 or the number of the first failed step. */
int ecall_ocalls(void)
{
	char buf[32], s[] = "mixed Case";
	struct point pts[3] = {{1, 2}, {3, 4}, {-5, 6}};
	struct tagged t[2] = {{GREEN, {1, 2, 3}, 0.5}, {DARK, {4, 5, 6}, -1.25}};
	enum color c = RED;
	int sum = 0;
	size_t n = 0;
	double d = 0;
	uint64_t uc = 0;

	if (ocall_log("hello from the enclave") != ADY_OK)
		return 1;
	if (ocall_add(&sum, 40, 2) != ADY_OK || sum != 42)
		return 2;
	if (ocall_fill(&n, buf, sizeof(buf)) != ADY_OK)
		return 3;
	/* a length from the application is only its word: check it */
	if (n >= sizeof(buf) || buf[n] != '\0' || strcmp(buf, "filled by the app") != 0)
		return 4;
	if (ocall_points(pts, 3) != ADY_OK || pts[0].x != -1 || pts[1].y != -4 || pts[2].x != 5)
		return 5;
	if (ocall_color(&c, BLUE) != ADY_OK || c != DARK)
		return 6;
	if (ocall_double(&d, 1.5) != ADY_OK || d != 3.0)
		return 7;
	if (ocall_string_inout(s) != ADY_OK || strcmp(s, "MIXED CASE") != 0)
		return 8;
	if (ocall_user_check(&uc, &sum) != ADY_OK || uc != (uint64_t)(uintptr_t)&sum)
		return 9;
	if (ocall_in(t, 2) != ADY_OK)
		return 10;
	if (ocall_log(NULL) != ADY_OK)
		return 11;
	return 0;
}

/* The application's ocall_liar handler misbehaves as the test tells it;
 * returns what the generated stub made of it (and checks the buffer was
 * left alone unless the call succeeded). */
int ecall_ocall_liar(int mode)
{
	uint8_t buf[16];
	enum color c = RED;
	ady_err err;

	memset(buf, 0xee, sizeof(buf));
	if (mode == 100) {
		err = ocall_color(&c, GREEN);
		return err ? err : c == RED ? 0 : -1;
	}
	err = ocall_liar(buf);
	if (err) {
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i] != 0xee)
				return -1;
		return err;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != (uint8_t)i)
			return -2;
	return 0;
}

/* ---- tests/edl/edltest_lang.edl ---- */

int ecall_arrays(int a[4], int b[2][3], int c[3], const union num u[2])
{
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			b[i][j] = (int)((unsigned)a[i] * 10u + (unsigned)j);
	for (int i = 0; i < 3; i++)
		c[i] = (int)((unsigned)c[i] * 2u);
	return (int)((unsigned)a[0] + (unsigned)a[1] + (unsigned)a[2] + (unsigned)a[3] + (unsigned)u[0].i +
		     (unsigned)u[1].b[11]);
}

uint64_t ecall_union(union num v, union num *o)
{
	o->u = ~v.u;
	o->b[8] = (uint8_t)(v.b[8] + 1);
	o->b[11] = v.b[11];
	return v.u;
}

size_t ecall_isptr(edl_buf_t buf, size_t len)
{
	size_t t = 0;

	for (size_t i = 0; i < len; i++)
		t += ((const uint8_t *)buf)[i];
	return t;
}

int ecall_isary(edl_arr_t a)
{
	for (int i = 0; i < 5; i++)
		a[i] = (int)((unsigned)a[i] + (unsigned)i * 100u);
	return a[0];
}

uint64_t ecall_isary_uc(edl_arr_t a) { return (uint64_t)(uintptr_t)a; }

size_t ecall_wstring(const wchar_t *w)
{
	size_t n = 0;

	while (w && w[n])
		n++;
	return n;
}

void ecall_wstring_inout(wchar_t *w)
{
	for (; w && *w; w++)
		if (*w >= L'a' && *w <= L'z')
			*w = *w - L'a' + L'A';
}

/* The same digest tests/unit/edl_roundtrip_test.c computes. */
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

uint64_t ecall_deep(const struct blob *b, size_t n) { return blob_digest(b, n); }

/* Both sides do the same to a note: what comes back is checked. */
static void note_change(struct note *nt)
{
	nt->tag = (int32_t)((uint32_t)nt->tag + 1u);
	for (uint32_t j = 0; j < nt->len; j++)
		nt->text[j] ^= 0xff;
	for (char *c = nt->title; c && *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	nt->len = 0;      /* a nested size: never copied back */
	nt->text = NULL;  /* nor a pointer */
}

int ecall_note(struct note *nt, size_t n)
{
	for (size_t i = 0; i < n; i++)
		note_change(&nt[i]);
	return (int)n;
}

/* mode 0: every OCALL of edltest_lang.edl, 0 or the failed step;
 * mode 1: what the generated stub made of the ocall_array reply (the
 * array untouched unless ADY_OK). */
int ecall_lang_ocalls(int mode)
{
	int v[4] = {-1, -1, -1, -1};
	uint8_t data[3] = {1, 2, 3};
	int16_t vals[2] = {-1, 300};
	struct blob b = {sizeof(data), data, 2, vals, (char *)"enclave"};
	const void *addrs[3] = {(const void *)0x1000, (const void *)0x2000, (const void *)0x3000};
	uint64_t d = 0;
	size_t n = 0;
	ady_err err;

	if (mode == 2) { /* ocall_note with a lying reply: everything untouched */
		uint8_t text[4] = {1, 2, 3, 4};
		char title[] = "abc";
		struct note nt = {5, 4, text, title};
		err = ocall_note(&nt);
		if (nt.tag != 5 || nt.len != 4 || nt.text != text || text[0] != 1 || strcmp(title, "abc") != 0)
			return -1;
		return err;
	}
	if (mode == 1) {
		err = ocall_array(v);
		if (err) {
			for (int i = 0; i < 4; i++)
				if (v[i] != -1)
					return -1;
			return err;
		}
		return v[0] == 7 && v[3] == 10 ? 0 : -2;
	}
	if (ocall_array(v) != ADY_OK || v[0] != 7 || v[1] != 8 || v[2] != 9 || v[3] != 10)
		return 1;
	if (ocall_deep(&d, &b) != ADY_OK || d != blob_digest(&b, 1))
		return 2;
	if (ocall_addrs(&n, addrs, 3) != ADY_OK || n != 3)
		return 3;
	if (ocall_wstring(&n, L"wide\u20ac") != ADY_OK || n != 5)
		return 4;
	/* a nested NULL with a size: refused before the call */
	b.data = NULL;
	if (ocall_deep(&d, &b) != ADY_ERR_INVALID_ARG)
		return 5;
	{
		uint8_t text[4] = {1, 2, 3, 4};
		char title[] = "abc";
		struct note nt = {5, 4, text, title};
		if (ocall_note(&nt) != ADY_OK || nt.tag != 6 || nt.len != 4 || nt.text != text || text[0] != 0xfe ||
		    text[3] != 0xfb || strcmp(title, "ABC") != 0)
			return 6;
	}
	return 0;
}
