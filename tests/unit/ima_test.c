/*
 * The IMA measurement-list decoder (adyton/ima.h): entries built as the
 * kernel writes them decode, for each template; every layout rule broken
 * one at a time is refused with its error; the real kernel logs of
 * ../shared/vectors/ima-qemu decode entry for entry like their ascii twin;
 * security.ima v2 and TPMT_SIGNATURE decode and refuse what they must.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/ima.h"

typedef struct buf {
	uint8_t b[4096];
	size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put32(buf *b, uint32_t v)
{
	uint8_t x[4];

	ady_put_u32le(x, v);
	put(b, x, 4);
}

static void field(buf *b, const void *p, size_t n)
{
	put32(b, (uint32_t)n);
	put(b, p, n);
}

/* Template data of ima-ng/ima-sig/ima-buf. */
static void ng_data(buf *d, const char *alg, uint8_t fill, size_t dlen, const char *path, const void *extra,
		    size_t elen, int with_extra)
{
	uint8_t dig[80];
	size_t al = strlen(alg);

	memcpy(dig, alg, al);
	dig[al] = ':';
	dig[al + 1] = 0;
	memset(dig + al + 2, fill, dlen);
	field(d, dig, al + 2 + dlen);
	field(d, path, strlen(path) + 1);
	if (with_extra)
		field(d, extra, elen);
}

static void entry(buf *b, const char *tmpl, uint8_t th, const buf *data)
{
	uint8_t h[20];

	memset(h, th, 20);
	put32(b, 10);
	put(b, h, 20);
	field(b, tmpl, strlen(tmpl));
	field(b, data->b, data->n);
}

static ady_err decode1(const buf *b, ady_ima_entry *e)
{
	ady_cur c;
	ady_err err;

	ady_cur_init(&c, b->b, b->n);
	err = ady_ima_decode(&c, e);
	if (!err)
		assert_int_equal(ady_cur_left(&c), 0);
	return err;
}

static void test_ng(void **state)
{
	buf d = {0}, b = {0};
	ady_ima_entry e;

	(void)state;
	ng_data(&d, "sha256", 0xab, 32, "/usr/bin/ls", NULL, 0, 0);
	entry(&b, "ima-ng", 0x11, &d);
	assert_int_equal(decode1(&b, &e), ADY_OK);
	assert_int_equal(e.pcr, 10);
	assert_int_equal(e.tmpl, ADY_IMA_TEMPLATE_NG);
	assert_int_equal(e.alg, ADY_IMA_ALG_SHA256);
	assert_string_equal(e.alg_name, "sha256");
	assert_int_equal(e.digest_len, 32);
	assert_int_equal(e.digest[0], 0xab);
	assert_int_equal(e.name_len, 11);
	assert_memory_equal(e.name, "/usr/bin/ls", 11);
	assert_int_equal(e.data_len, d.n);
	assert_memory_equal(e.data, d.b, d.n);
	assert_false(e.violation);
	assert_int_equal(e.end, b.n);
}

static void test_sig_and_buf(void **state)
{
	buf d = {0}, b = {0}, d2 = {0}, b2 = {0};
	ady_ima_entry e;

	(void)state;
	ng_data(&d, "sha1", 0x01, 20, "/x", "\x03\x02", 2, 1);
	entry(&b, "ima-sig", 0x22, &d);
	assert_int_equal(decode1(&b, &e), ADY_OK);
	assert_int_equal(e.tmpl, ADY_IMA_TEMPLATE_SIG);
	assert_int_equal(e.extra_len, 2);
	assert_memory_equal(e.extra, "\x03\x02", 2);

	/* an unsigned file: an empty sig field */
	ng_data(&d2, "sha512", 0x02, 64, ".ima", "", 0, 1);
	entry(&b2, "ima-buf", 0x33, &d2);
	assert_int_equal(decode1(&b2, &e), ADY_OK);
	assert_int_equal(e.tmpl, ADY_IMA_TEMPLATE_BUF);
	assert_int_equal(e.extra_len, 0);
	assert_int_equal(e.digest_len, 64);
}

static void test_ima_template(void **state)
{
	buf b = {0};
	uint8_t dig[20];
	ady_ima_entry e;

	(void)state;
	memset(dig, 0x44, 20);
	put32(&b, 10);
	put(&b, dig, 20);
	field(&b, "ima", 3);
	put(&b, dig, 20); /* d: no length */
	field(&b, "/bin/sh", 7);
	assert_int_equal(decode1(&b, &e), ADY_OK);
	assert_int_equal(e.tmpl, ADY_IMA_TEMPLATE_IMA);
	assert_int_equal(e.name_len, 7);
	assert_memory_equal(e.name, "/bin/sh", 7);
	assert_int_equal(e.data_len, 31);
	assert_int_equal(e.alg, ADY_IMA_ALG_SHA1);
}

static void test_violation(void **state)
{
	buf d = {0}, b = {0}, d2 = {0}, b2 = {0};
	ady_ima_entry e;

	(void)state;
	ng_data(&d, "sha256", 0, 32, "/root/w", NULL, 0, 0);
	entry(&b, "ima-ng", 0, &d);
	assert_int_equal(decode1(&b, &e), ADY_OK);
	assert_true(e.violation);
	/* a zero template hash over a real digest is not a violation */
	ng_data(&d2, "sha256", 7, 32, "/root/w", NULL, 0, 0);
	entry(&b2, "ima-ng", 0, &d2);
	assert_int_equal(decode1(&b2, &e), ADY_ERR_MALFORMED);
}

static void test_refusals(void **state)
{
	ady_ima_entry e;
	ady_cur c;

	(void)state;
	{ /* every truncation of a good entry */
		buf d = {0}, b = {0};

		ng_data(&d, "sha256", 1, 32, "/a", NULL, 0, 0);
		entry(&b, "ima-ng", 1, &d);
		for (size_t n = 0; n < b.n; n++) {
			ady_cur_init(&c, b.b, n);
			assert_int_equal(ady_ima_decode(&c, &e), ADY_ERR_TRUNCATED);
			assert_int_equal(e.pcr, 0);
		}
	}
	{ /* unknown template */
		buf d = {0}, b = {0};

		ng_data(&d, "sha256", 1, 32, "/a", NULL, 0, 0);
		entry(&b, "ima-modsig", 1, &d);
		assert_int_equal(decode1(&b, &e), ADY_ERR_UNSUPPORTED);
	}
	{ /* template name too long / empty */
		buf b = {0};

		put32(&b, 10);
		put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
		put32(&b, 16);
		assert_int_equal(decode1(&b, &e), ADY_ERR_TOO_LARGE);
		b.n -= 4;
		put32(&b, 0);
		assert_int_equal(decode1(&b, &e), ADY_ERR_MALFORMED);
	}
	{ /* unknown digest algorithm; wrong digest length */
		buf d = {0}, b = {0}, d2 = {0}, b2 = {0};

		ng_data(&d, "sm9", 1, 32, "/a", NULL, 0, 0);
		entry(&b, "ima-ng", 1, &d);
		assert_int_equal(decode1(&b, &e), ADY_ERR_UNSUPPORTED);
		ng_data(&d2, "sha256", 1, 20, "/a", NULL, 0, 0);
		entry(&b2, "ima-ng", 1, &d2);
		assert_int_equal(decode1(&b2, &e), ADY_ERR_MALFORMED);
	}
	{ /* path with a NUL inside, path without NUL */
		buf d = {0}, b = {0};
		uint8_t dig[40] = "sha1:";

		field(&d, dig, 25);
		field(&d, "/a\0b", 5);
		entry(&b, "ima-ng", 1, &d);
		assert_int_equal(decode1(&b, &e), ADY_ERR_MALFORMED);
		d.n = 0, b.n = 0;
		field(&d, dig, 25);
		field(&d, "/ab", 3);
		entry(&b, "ima-ng", 1, &d);
		assert_int_equal(decode1(&b, &e), ADY_ERR_MALFORMED);
	}
	{ /* bytes left over in the template data; ima-ng with a third field */
		buf d = {0}, b = {0};

		ng_data(&d, "sha1", 1, 20, "/a", "x", 1, 1);
		entry(&b, "ima-ng", 1, &d);
		assert_int_equal(decode1(&b, &e), ADY_ERR_MALFORMED);
	}
	{ /* a data length over the cap is refused before anything else */
		buf b = {0};

		put32(&b, 10);
		put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
		field(&b, "ima-ng", 6);
		put32(&b, ADY_IMA_MAX_DATA + 1);
		assert_int_equal(decode1(&b, &e), ADY_ERR_TOO_LARGE);
	}
	{ /* "ima" name longer than the kernel's 255 */
		buf b = {0};
		char name[256];

		memset(name, 'a', sizeof(name));
		put32(&b, 10);
		put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
		field(&b, "ima", 3);
		put(&b, "aaaaaaaaaaaaaaaaaaaa", 20);
		field(&b, name, 256);
		assert_int_equal(decode1(&b, &e), ADY_ERR_TOO_LARGE);
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

#define VEC ADY_TEST_VECTORS "/ima-qemu"

/* Each binary entry agrees with its ascii line: PCR, template hash,
 * template, alg:digest, path (and ima-sig's signature hex). */
static void check_log(const char *dir, const char *snap, unsigned want)
{
	char path[512];
	size_t blen, alen;
	uint8_t *bin, *asc;
	ady_cur c;
	unsigned n = 0;
	char *line, *save = NULL;

	snprintf(path, sizeof(path), VEC "/%s/%s/binary_runtime_measurements", dir, snap);
	bin = slurp(path, &blen);
	snprintf(path, sizeof(path), VEC "/%s/%s/ascii_runtime_measurements", dir, snap);
	asc = slurp(path, &alen);
	if (!bin || !asc) {
		free(bin);
		free(asc);
		skip();
	}
	ady_cur_init(&c, bin, blen);
	line = strtok_r((char *)asc, "\n", &save);
	while (ady_cur_left(&c)) {
		ady_ima_entry e;
		char th[41], dig[2 * ADY_IMA_MAX_DIGEST + 1], want_line[2048], sighex[1200] = "";

		assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
		assert_non_null(line);
		ady_hex_encode(e.template_hash, 20, th);
		ady_hex_encode(e.digest, e.digest_len, dig);
		if (e.tmpl == ADY_IMA_TEMPLATE_SIG && e.extra_len && e.extra_len < 590)
			ady_hex_encode(e.extra, e.extra_len, sighex);
		snprintf(want_line, sizeof(want_line), "%u %s %s %s:%s %.*s%s%s", e.pcr, th, ady_ima_template_name(e.tmpl),
			 e.alg_name, dig, (int)e.name_len, e.name, e.tmpl == ADY_IMA_TEMPLATE_SIG ? " " : "", sighex);
		assert_string_equal(line, want_line);
		n++;
		line = strtok_r(NULL, "\n", &save);
	}
	assert_null(line);
	assert_int_equal(n, want);
	free(bin);
	free(asc);
}

static void test_real_logs(void **state)
{
	(void)state;
	check_log("ima-ng", "q1", 80);
	check_log("ima-ng", "q2", 82);
	check_log("ima-sig", "q1", 80);
	check_log("ima-sig", "q2", 82);
}

static void test_sigv2(void **state)
{
	size_t len;
	uint8_t *hex, raw[600];
	ady_ima_sigv2 s;

	(void)state;
	hex = slurp(VEC "/ima-signing/ima-signed-hello.security.ima.hex", &len);
	if (!hex)
		skip();
	while (len && (hex[len - 1] == '\n' || hex[len - 1] == ' '))
		len--;
	assert_true(len / 2 <= sizeof(raw));
	assert_true(ady_hex_decode((const char *)hex, len, raw, len / 2));
	assert_int_equal(ady_ima_sigv2_decode(raw, len / 2, &s), ADY_OK);
	assert_int_equal(s.hash_algo, 4); /* HASH_ALGO_SHA256 */
	assert_int_equal(s.sig_len, 256);
	assert_int_equal(ady_ima_sigv2_decode(raw, len / 2 - 1, &s), ADY_ERR_MALFORMED);
	assert_int_equal(ady_ima_sigv2_decode(raw, 5, &s), ADY_ERR_TRUNCATED);
	raw[1] = 1;
	assert_int_equal(ady_ima_sigv2_decode(raw, len / 2, &s), ADY_ERR_UNSUPPORTED);
	free(hex);
}

static void test_tpmt_signature(void **state)
{
	static const char *const names[] = {VEC "/ima-ng/q1/quote-rsa.sig", VEC "/ima-ng/q1/quote-ecc.sig"};
	ady_tpmt_signature s;

	(void)state;
	for (int i = 0; i < 2; i++) {
		size_t len;
		uint8_t *p = slurp(names[i], &len);

		if (!p)
			skip();
		assert_int_equal(ady_tpmt_signature_decode(p, len, &s), ADY_OK);
		assert_int_equal(s.hash_alg, ADY_TPM_ALG_SHA256);
		if (i == 0) {
			assert_int_equal(s.sig_alg, ADY_TPM_ALG_RSASSA);
			assert_int_equal(s.a_len, 256);
			assert_null(s.b);
		} else {
			assert_int_equal(s.sig_alg, ADY_TPM_ALG_ECDSA);
			assert_int_equal(s.a_len, 32);
			assert_int_equal(s.b_len, 32);
		}
		for (size_t n = 0; n < len; n++)
			assert_int_not_equal(ady_tpmt_signature_decode(p, n, &s), ADY_OK);
		p[len - 1] ^= 0;
		{
			uint8_t *q = malloc(len + 1);

			memcpy(q, p, len);
			q[len] = 0;
			assert_int_equal(ady_tpmt_signature_decode(q, len + 1, &s), ADY_ERR_MALFORMED);
			q[3] = 0x0c; /* SHA-384 */
			assert_int_equal(ady_tpmt_signature_decode(q, len, &s), ADY_ERR_UNSUPPORTED);
			q[3] = 0x0b;
			q[1] = 0x16; /* RSAPSS */
			assert_int_equal(ady_tpmt_signature_decode(q, len, &s), ADY_ERR_UNSUPPORTED);
			free(q);
		}
		free(p);
	}
}

int main(void)
{
	FILE *probe = fopen(VEC "/README.md", "r");
	int failed;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ng),
		cmocka_unit_test(test_sig_and_buf),
		cmocka_unit_test(test_ima_template),
		cmocka_unit_test(test_violation),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_real_logs),
		cmocka_unit_test(test_sigv2),
		cmocka_unit_test(test_tpmt_signature),
	};
	if (probe)
		fclose(probe);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && !probe) {
		fprintf(stderr, "skip: no IMA vectors at %s (the synthetic cases passed)\n", VEC);
		return 77;
	}
	return failed;
}
