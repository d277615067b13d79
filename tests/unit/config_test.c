/* Unit tests of the enclave config (src/format/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/config.h"

static ady_err parse(const char *text, ady_config *cfg, unsigned *line)
{
	return ady_config_parse(text, strlen(text), cfg, line);
}

static void test_defaults(void **state)
{
	ady_config cfg;

	(void)state;
	ady_config_defaults(&cfg);
	assert_true(cfg.heap_size == ADY_CONFIG_DEFAULT_HEAP);
	assert_true(cfg.stack_size == ADY_CONFIG_DEFAULT_STACK);
	assert_true(cfg.msbuf_size == ADY_CONFIG_DEFAULT_MSBUF);
	assert_int_equal(cfg.threads, ADY_CONFIG_DEFAULT_THREADS);
	assert_int_equal(cfg.isvprodid, 0);
	assert_int_equal(cfg.isvsvn, 0);
	assert_int_equal(cfg.flags, 0);
	assert_int_equal(ady_config_validate(&cfg), ADY_OK);
}

static void test_good_file(void **state)
{
	static const char text[] = "# enclave.conf\n"
				   "\n"
				   "heap      = 2M      # bytes\n"
				   "stack\t=\t128K\n"
				   "threads   = 4\r\n"
				   "msbuf     = 8192\n"
				   "isvprodid = 65535\n"
				   "   isvsvn=7\n"
				   "debug     = 1"; /* no final newline */
	ady_config cfg;
	unsigned line = 99;

	(void)state;
	assert_int_equal(parse(text, &cfg, &line), ADY_OK);
	assert_int_equal(line, 0);
	assert_true(cfg.heap_size == 2ull << 20);
	assert_true(cfg.stack_size == 128ull << 10);
	assert_int_equal(cfg.threads, 4);
	assert_true(cfg.msbuf_size == 8192);
	assert_int_equal(cfg.isvprodid, 65535);
	assert_int_equal(cfg.isvsvn, 7);
	assert_int_equal(cfg.flags, ADY_CONFIG_DEBUG);
}

static void test_empty_is_defaults(void **state)
{
	ady_config cfg, def;

	(void)state;
	ady_config_defaults(&def);
	assert_int_equal(ady_config_parse(NULL, 0, &cfg, NULL), ADY_OK);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	assert_int_equal(parse("\n\n# only comments\n   \n", &cfg, NULL), ADY_OK);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	assert_int_equal(parse("heap = 1G", &cfg, NULL), ADY_OK);
	assert_true(cfg.heap_size == 1ull << 30);
}

static void test_not_nul_terminated(void **state)
{
	char text[] = "threads = 2X";
	ady_config cfg;

	(void)state;
	/* The length ends the text, not a NUL: "X" is outside. */
	assert_int_equal(ady_config_parse(text, strlen(text) - 1, &cfg, NULL), ADY_OK);
	assert_int_equal(cfg.threads, 2);
}

struct bad {
	const char *text;
	unsigned line;
};

static void test_errors_with_lines(void **state)
{
	static const struct bad cases[] = {
		{ "bogus = 1\n", 1 },                          /* unknown key */
		{ "heap = 1M\n\nheap = 2M\n", 3 },             /* duplicate */
		{ "# c\nthreads 2\n", 2 },                     /* missing '=' */
		{ "threads = 2 3\n", 1 },                      /* trailing garbage */
		{ "threads = 2x\n", 1 },
		{ "threads = \n", 1 },                         /* no value */
		{ " = 2\n", 1 },                               /* no key */
		{ "threads = 0\n", 1 },
		{ "threads = 65\n", 1 },
		{ "threads = 1K\n", 1 },                       /* suffix on a count */
		{ "heap = 4097\n", 1 },                        /* not a page multiple */
		{ "heap = 0\n", 1 },
		{ "heap = 17G\n", 1 },                         /* above ADY_CONFIG_MAX_HEAP */
		{ "stack = 2G\n", 1 },
		{ "msbuf = 512M\n", 1 },
		{ "heap = 1k\n", 1 },                          /* suffixes are upper case */
		{ "heap = 1T\n", 1 },
		{ "heap = -4096\n", 1 },
		{ "heap = 0x1000\n", 1 },
		{ "heap = 18446744073709551616\n", 1 },        /* 2^64 */
		{ "heap = 18446744073709551615G\n", 1 },       /* overflows with the suffix */
		{ "isvprodid = 65536\n", 1 },
		{ "isvsvn = 70000\n", 1 },
		{ "debug = 2\n", 1 },
		{ "\n\n\n\ndebug = yes\n", 5 },
		{ "Heap = 1M\n", 1 },                          /* keys are case-sensitive */
		{ "heap == 1M\n", 1 },
		{ "heap = 1M = 2M\n", 1 },
	};
	ady_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned line = 12345;
		ady_err err = parse(cases[i].text, &cfg, &line);

		if (err != ADY_ERR_CONFIG || line != cases[i].line)
			print_error("case %zu (%s): err %d line %u\n", i, cases[i].text, err, line);
		assert_int_equal(err, ADY_ERR_CONFIG);
		assert_int_equal(line, cases[i].line);
	}
}

static void test_control_bytes_and_long_lines(void **state)
{
	char text[600];
	ady_config cfg;
	unsigned line;

	(void)state;
	memcpy(text, "heap = 1M\nthreads = 1\0\n", 24);
	assert_int_equal(ady_config_parse(text, 24, &cfg, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 2);

	/* A long comment is fine, a long value is not. */
	memset(text, ' ', sizeof(text));
	text[0] = '#';
	assert_int_equal(ady_config_parse(text, sizeof(text), &cfg, &line), ADY_OK);
	memset(text, '1', sizeof(text));
	memcpy(text, "heap = ", 7);
	assert_int_equal(ady_config_parse(text, sizeof(text), &cfg, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 1);
}

static void test_validate(void **state)
{
	ady_config cfg;

	(void)state;
	assert_int_equal(ady_config_validate(NULL), ADY_ERR_INVALID_ARG);
	ady_config_defaults(&cfg);
	cfg.flags = 2;
	assert_int_equal(ady_config_validate(&cfg), ADY_ERR_CONFIG);
	ady_config_defaults(&cfg);
	cfg.threads = 0;
	assert_int_equal(ady_config_validate(&cfg), ADY_ERR_CONFIG);
	ady_config_defaults(&cfg);
	cfg.stack_size = 100;
	assert_int_equal(ady_config_validate(&cfg), ADY_ERR_CONFIG);
	ady_config_defaults(&cfg);
	cfg.msbuf_size = 0;
	assert_int_equal(ady_config_validate(&cfg), ADY_ERR_CONFIG);
	ady_config_defaults(&cfg);
	cfg.heap_size = ADY_CONFIG_MAX_HEAP;
	cfg.threads = ADY_MAX_THREADS;
	assert_int_equal(ady_config_validate(&cfg), ADY_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_empty_is_defaults),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_errors_with_lines),
		cmocka_unit_test(test_control_bytes_and_long_lines),
		cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
