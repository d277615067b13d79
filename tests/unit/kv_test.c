/* Unit tests of the "key = value" line reader (src/format/kv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "format/internal.h"

#define CAP 16u

/* Reads all of text (len bytes) into "key=val;" pairs; returns the error
 * and the line it names (or the line count at the end). */
static ady_err run(const char *text, size_t len, size_t cap, char *out, size_t outcap, unsigned *line)
{
	uint8_t buf[64];
	ady_kv kv;
	ady_kv_span key, val;
	size_t o = 0;

	assert_true(cap <= sizeof(buf));
	out[0] = '\0';
	ady_kv_init(&kv, text, len, buf, cap);
	while (ady_kv_next(&kv, &key, &val)) {
		assert_true(key.n > 0);
		assert_true(o + key.n + val.n + 3 <= outcap);
		memcpy(out + o, key.s, key.n);
		o += key.n;
		out[o++] = '=';
		memcpy(out + o, val.s, val.n);
		o += val.n;
		out[o++] = ';';
		out[o] = '\0';
	}
	*line = kv.line;
	return ady_kv_err(&kv);
}

#define RUN(text, got, line) run(text, sizeof(text) - 1, CAP, got, sizeof(got), line)

static void test_lines(void **state)
{
	char got[128];
	unsigned line;

	(void)state;
	assert_int_equal(run(NULL, 0, CAP, got, sizeof(got), &line), ADY_OK);
	assert_int_equal(line, 0);
	assert_string_equal(got, "");
	/* CRLF, tabs, blank and comment-only lines, no final newline. */
	assert_int_equal(RUN("a = 1\r\n\n  # c\r\n\tb_2=x \t\r\n\nc =", got, &line), ADY_OK);
	assert_string_equal(got, "a=1;b_2=x;c=;");
	assert_int_equal(line, 6);
	/* A trailing newline ends a line; it does not start another. */
	assert_int_equal(RUN("a=1\n", got, &line), ADY_OK);
	assert_int_equal(line, 1);
	assert_int_equal(RUN("a=1\n\n", got, &line), ADY_OK);
	assert_int_equal(line, 2);
	/* '#' starts a comment even inside a value. */
	assert_int_equal(RUN("a = x#y z\nb=1#", got, &line), ADY_OK);
	assert_string_equal(got, "a=x;b=1;");
}

static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
	} cases[] = {
		{ "= 1\n", 1 },          /* empty key */
		{ "a=1\n  =1\n", 2 },    /* empty key after blanks */
		{ "a 1\n", 1 },          /* no '=' */
		{ "a\n", 1 },            /* key alone */
		{ "A = 1\n", 1 },        /* keys are lower case */
		{ "a-b = 1\n", 1 },
		{ "a = 1 2\n", 1 },      /* one value */
		{ "a = b = c\n", 1 },
		{ "\n\na = \x01\n", 3 }, /* control byte */
		{ "a = 1\x7f\n", 1 },    /* DEL */
		{ "a = 1\v\n", 1 },      /* only space, tab and CR are blanks */
		{ "a = 1\f\n", 1 },
	};
	char got[128];
	unsigned line;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ady_err err = run(cases[i].text, strlen(cases[i].text), CAP, got, sizeof(got), &line);

		if (err != ADY_ERR_CONFIG || line != cases[i].line)
			print_error("case %zu: err %d line %u, want line %u\n", i, err, line, cases[i].line);
		assert_int_equal(err, ADY_ERR_CONFIG);
		assert_int_equal(line, cases[i].line);
	}
	/* Control bytes inside a comment are not looked at. */
	assert_int_equal(RUN("a = 1 # \x01\x7f\n", got, &line), ADY_OK);
}

static void test_nul(void **state)
{
	static const char nul[] = "a = 1\0\n";
	static const char nulcomment[] = "a = 1 #\0\n";
	char got[32];
	unsigned line;

	(void)state;
	assert_int_equal(RUN(nul, got, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 1);
	assert_int_equal(RUN(nulcomment, got, &line), ADY_OK);
	assert_string_equal(got, "a=1;");
}

static void test_long_lines(void **state)
{
	char text[200], got[64];
	unsigned line;

	(void)state;
	/* Exactly CAP bytes of content (the CR counts) fits ... */
	assert_int_equal(RUN("a = 01234567890\r\n", got, &line), ADY_OK);
	assert_string_equal(got, "a=01234567890;");
	/* ... one more does not, even if it is a blank. */
	assert_int_equal(RUN("a = 01234567890 \r\n", got, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 1);
	assert_int_equal(RUN("a=1\nb = 01234567890123\n", got, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 2);
	/* A long comment is not content. */
	memset(text, '#', sizeof(text));
	memcpy(text, "a = 1 ", 6);
	assert_int_equal(run(text, sizeof(text), CAP, got, sizeof(got), &line), ADY_OK);
	assert_string_equal(got, "a=1;");
}

static void test_fail_is_sticky(void **state)
{
	static const char text[] = "a=1\nb=2\nc=3\n";
	uint8_t buf[CAP];
	ady_kv kv;
	ady_kv_span key, val;

	(void)state;
	ady_kv_init(&kv, text, sizeof(text) - 1, buf, sizeof(buf));
	assert_true(ady_kv_next(&kv, &key, &val));
	assert_true(ady_kv_next(&kv, &key, &val));
	assert_true(ady_kv_is(key, "b"));
	ady_kv_fail(&kv);
	assert_false(ady_kv_next(&kv, &key, &val));
	assert_int_equal(ady_kv_err(&kv), ADY_ERR_CONFIG);
	assert_int_equal(kv.line, 2);
}

static ady_kv_span sp(const char *s) { return (ady_kv_span){ (const uint8_t *)s, strlen(s) }; }

static void test_values(void **state)
{
	uint64_t v = 7;
	uint8_t h[3];
	bool b = false;

	(void)state;
	assert_true(ady_kv_is(sp("abc"), "abc"));
	assert_false(ady_kv_is(sp("ab"), "abc"));
	assert_false(ady_kv_is(sp("abcd"), "abc"));

	assert_true(ady_kv_bool(sp("yes"), &b) && b);
	assert_true(ady_kv_bool(sp("no"), &b) && !b);
	assert_false(ady_kv_bool(sp("YES"), &b) || ady_kv_bool(sp("1"), &b) || ady_kv_bool(sp(""), &b));

	assert_true(ady_kv_number(sp("0"), false, UINT64_MAX, &v) && v == 0);
	assert_true(ady_kv_number(sp("0042"), false, 42, &v) && v == 42);
	assert_true(ady_kv_number(sp("18446744073709551615"), false, UINT64_MAX, &v) && v == UINT64_MAX);
	assert_true(ady_kv_number(sp("2K"), true, UINT64_MAX, &v) && v == 2048);
	assert_true(ady_kv_number(sp("3M"), true, UINT64_MAX, &v) && v == 3ull << 20);
	assert_true(ady_kv_number(sp("4G"), true, UINT64_MAX, &v) && v == 4ull << 30);
	assert_true(ady_kv_number(sp("17179869183G"), true, UINT64_MAX, &v) && v == 17179869183ull << 30);
	v = 7;
	assert_false(ady_kv_number(sp(""), false, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("43"), false, 42, &v));
	assert_false(ady_kv_number(sp("18446744073709551616"), false, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("17179869184G"), true, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("2K"), false, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("2k"), true, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("2KK"), true, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("K"), true, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("+1"), false, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("-1"), false, UINT64_MAX, &v));
	assert_false(ady_kv_number(sp("0x10"), false, UINT64_MAX, &v));
	assert_true(v == 7);

	assert_true(ady_kv_hex(sp("00aBfF"), h, 3));
	assert_true(h[0] == 0x00 && h[1] == 0xab && h[2] == 0xff);
	assert_false(ady_kv_hex(sp("00aBf"), h, 3));
	assert_false(ady_kv_hex(sp("00aBfF0"), h, 3));
	assert_false(ady_kv_hex(sp("00aBfF00"), h, 3));
	assert_false(ady_kv_hex(sp("00aBfg"), h, 3));
	assert_false(ady_kv_hex(sp(""), h, 3));
	assert_true(ady_kv_hex(sp(""), h, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_fail_is_sticky),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
