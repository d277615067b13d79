/*
 * Unit tests of MRENCLAVE (src/format/measure.c): the record stream is
 * assembled here independently (hand-derived page list, records written
 * byte by byte) and hashed with OpenSSL SHA-256, then compared with
 * ady_measure_enclave through a sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "adyton/layout.h"
#include "adyton/measure.h"
#include "elf_builder.h"

#define PAGE 4096u

static uint8_t img[TB_SIZE];
static ady_elf elf;
static ady_layout lay;

static void sink_update(void *ctx, const void *data, size_t len)
{
	assert_int_equal(EVP_DigestUpdate(ctx, data, len), 1);
}

static void hex(const char *what, const uint8_t h[32])
{
	fprintf(stderr, "%s: ", what);
	for (int i = 0; i < 32; i++)
		fprintf(stderr, "%02x", h[i]);
	fprintf(stderr, "\n");
}

static void test_records(void **state)
{
	uint8_t rec[64], want[64];

	(void)state;
	ady_measure_ecreate(rec, 1, 0x0102030405060708ull);
	memset(want, 0, sizeof(want));
	memcpy(want, "ECREATE\0", 8);
	want[8] = 1;
	for (int i = 0; i < 8; i++)
		want[12 + i] = (uint8_t)(8 - i);
	assert_memory_equal(rec, want, 64);

	ady_measure_eadd(rec, 0x5000, 0x203);
	memset(want, 0, sizeof(want));
	memcpy(want, "EADD\0\0\0\0", 8);
	want[9] = 0x50;
	want[16] = 0x03;
	want[17] = 0x02;
	assert_memory_equal(rec, want, 64);

	ady_measure_eextend(rec, 0x1234500);
	memset(want, 0, sizeof(want));
	memcpy(want, "EEXTEND\0", 8);
	want[8] = 0x00;
	want[9] = 0x45;
	want[10] = 0x23;
	want[11] = 0x01;
	assert_memory_equal(rec, want, 64);
}

/* One expected added page, derived by hand from adyton/layout.h. */
struct page {
	uint64_t offset, flags;
	int extend;
};

static size_t expected_pages(struct page *p)
{
	size_t n = 0;

#define ADD(o, f, e) (p[n].offset = (o), p[n].flags = (f), p[n].extend = (e), n++)
	/* image: R page 0, R+X 0x1000, R 0x2000, RW 0x3000-0x5000 */
	ADD(0x0000, 0x201, 1);
	ADD(0x1000, 0x205, 1);
	ADD(0x2000, 0x201, 1);
	ADD(0x3000, 0x203, 1);
	ADD(0x4000, 0x203, 1);
	ADD(0x5000, 0x201, 1);          /* layout page */
	/* guard 0x6000; heap 2 pages, not extended */
	ADD(0x7000, 0x203, 0);
	ADD(0x8000, 0x203, 0);
	/* guard 0x9000; stack 0xa000; guard 0xb000 */
	ADD(0xa000, 0x203, 0);
	ADD(0xc000, 0x100, 1);          /* TCS, no permission bits */
	ADD(0xd000, 0x203, 1);          /* SSA x2 */
	ADD(0xe000, 0x203, 1);
	ADD(0xf000, 0x203, 1);          /* thread data */
	/* final guard 0x10000: end 0x11000, size 0x20000 */
#undef ADD
	return n;
}

static void test_known_answer(void **state)
{
	ady_config cfg;
	struct page pages[32];
	size_t npages;
	uint8_t *mem, rec[64], want[32], got[32];
	unsigned int len;
	EVP_MD_CTX *ref, *ctx;
	ady_hash_sink sink;

	(void)state;
	tb_build(img);
	assert_int_equal(ady_elf_decode(img, sizeof(img), &elf), ADY_OK);
	ady_config_defaults(&cfg);
	cfg.heap_size = 2 * PAGE;
	cfg.stack_size = PAGE;
	cfg.threads = 1;
	assert_int_equal(ady_layout_build(&elf, &cfg, &lay), ADY_OK);
	assert_true(lay.size == 0x20000);
	mem = calloc(1, lay.size);
	assert_non_null(mem);
	assert_int_equal(ady_layout_fill(&lay, &elf, img, sizeof(img), mem, lay.size), ADY_OK);

	/* the reference stream */
	ref = EVP_MD_CTX_new();
	assert_non_null(ref);
	assert_int_equal(EVP_DigestInit_ex(ref, EVP_sha256(), NULL), 1);
	memset(rec, 0, sizeof(rec));
	memcpy(rec, "ECREATE", 8);
	rec[8] = 1;                       /* SSAFRAMESIZE */
	rec[12 + 2] = 0x02;               /* SIZE = 0x20000 */
	EVP_DigestUpdate(ref, rec, 64);
	npages = expected_pages(pages);
	for (size_t i = 0; i < npages; i++) {
		memset(rec, 0, sizeof(rec));
		memcpy(rec, "EADD", 4);
		for (int b = 0; b < 8; b++) {
			rec[8 + b] = (uint8_t)(pages[i].offset >> (8 * b));
			rec[16 + b] = (uint8_t)(pages[i].flags >> (8 * b));
		}
		EVP_DigestUpdate(ref, rec, 64);
		if (!pages[i].extend)
			continue;
		for (uint64_t c = 0; c < PAGE; c += 256) {
			uint64_t off = pages[i].offset + c;

			memset(rec, 0, sizeof(rec));
			memcpy(rec, "EEXTEND", 7);
			for (int b = 0; b < 8; b++)
				rec[8 + b] = (uint8_t)(off >> (8 * b));
			EVP_DigestUpdate(ref, rec, 64);
			EVP_DigestUpdate(ref, mem + off, 256);
		}
	}
	assert_int_equal(EVP_DigestFinal_ex(ref, want, &len), 1);
	EVP_MD_CTX_free(ref);

	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	sink.ctx = ctx;
	sink.update = sink_update;
	assert_int_equal(ady_measure_enclave(&lay, mem, lay.size - 1, &sink), ADY_ERR_RANGE);
	assert_int_equal(ady_measure_enclave(&lay, mem, lay.size, &sink), ADY_OK);
	assert_int_equal(EVP_DigestFinal_ex(ctx, got, &len), 1);
	EVP_MD_CTX_free(ctx);

	if (memcmp(want, got, 32) != 0) {
		hex("expected", want);
		hex("measured", got);
	}
	assert_memory_equal(want, got, 32);
	free(mem);
}

struct visit {
	struct page seen[32];
	size_t n;
};

static void on_page(void *user, uint64_t offset, uint64_t secinfo, bool extended)
{
	struct visit *v = user;

	assert_true(v->n < 32);
	v->seen[v->n].offset = offset;
	v->seen[v->n].flags = secinfo;
	v->seen[v->n].extend = extended;
	v->n++;
}

static void test_pages(void **state)
{
	struct page want[32];
	struct visit v = { .n = 0 };
	size_t n;

	(void)state;
	/* lay from the known-answer test */
	ady_layout_pages(&lay, on_page, &v);
	n = expected_pages(want);
	assert_int_equal(v.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(v.seen[i].offset == want[i].offset);
		assert_true(v.seen[i].flags == want[i].flags);
		assert_int_equal(v.seen[i].extend, want[i].extend);
	}
}

static void count(void *ctx, const void *data, size_t len)
{
	(void)data;
	*(size_t *)ctx += len;
}

static void test_bad_layout(void **state)
{
	static ady_layout bad;
	static uint8_t mem[0x20000];
	size_t total = 0;
	ady_hash_sink sink = { &total, count };

	(void)state;
	bad = lay;
	bad.region[3].offset = 0x2000; /* overlaps the previous region */
	assert_int_equal(ady_measure_enclave(&bad, mem, sizeof(mem), &sink), ADY_ERR_RANGE);
	bad = lay;
	bad.region[bad.nregions - 1].size = 0x100000; /* past SIZE */
	assert_int_equal(ady_measure_enclave(&bad, mem, sizeof(mem), &sink), ADY_ERR_RANGE);
	bad = lay;
	bad.region[0].offset = 0x10; /* not page aligned */
	assert_int_equal(ady_measure_enclave(&bad, mem, sizeof(mem), &sink), ADY_ERR_RANGE);
	assert_int_equal(total, 0); /* nothing hashed before the checks */
	assert_int_equal(ady_measure_enclave(&lay, mem, sizeof(mem), NULL), ADY_ERR_INVALID_ARG);
	/* 1 ECREATE + 13 EADD + 10 extended pages x 16 x (64 + 256) */
	assert_int_equal(ady_measure_enclave(&lay, mem, sizeof(mem), &sink), ADY_OK);
	assert_int_equal(total, 64 + 13 * 64 + 10 * 16 * (64 + 256));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_bad_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
