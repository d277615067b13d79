/*
 * The enclave's parser of configuration resources (src/trts/kbs_config.c,
 * adyton/kbs.h), built for the host: argv / environment / files come out
 * NUL-terminated and in order, lookups work, and every malformed input
 * the broker's validator (apps/kbs/msg.c kbs_config_validate) refuses is
 * refused here too, with *cfg zeroed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/kbs.h"
#include "msg.h"

static size_t ent(uint8_t *p, uint8_t tag, const char *s, size_t n)
{
	p[0] = tag;
	p[1] = (uint8_t)n;
	p[2] = (uint8_t)(n >> 8);
	memcpy(p + 3, s, n);
	return 3 + n;
}

static size_t file_ent(uint8_t *p, const char *path, const char *content, size_t clen)
{
	size_t o = ent(p, 3, path, strlen(path));

	p[o] = (uint8_t)clen;
	p[o + 1] = (uint8_t)(clen >> 8);
	p[o + 2] = 0;
	p[o + 3] = 0;
	memcpy(p + o + 4, content, clen);
	return o + 4 + clen;
}

static void test_parse(void **state)
{
	uint8_t b[256];
	size_t n = 0;
	ady_kbs_config cfg;
	const ady_kbs_file *f;

	(void)state;
	n += ent(b + n, 1, "/bin/app", 8);
	n += ent(b + n, 2, "MODE=prod", 9);
	n += ent(b + n, 1, "--verbose", 9);
	n += file_ent(b + n, "/etc/app.conf", "a\0b", 3);
	n += ent(b + n, 2, "EMPTY=", 6);
	n += file_ent(b + n, "/empty", "", 0);
	assert_int_equal(kbs_config_validate(b, n), ADY_OK);
	assert_int_equal(ady_kbs_config_parse(b, n, &cfg), ADY_OK);
	assert_int_equal(cfg.argc, 2);
	assert_string_equal(cfg.argv[0], "/bin/app");
	assert_string_equal(cfg.argv[1], "--verbose");
	assert_null(cfg.argv[2]);
	assert_int_equal(cfg.envc, 2);
	assert_string_equal(cfg.envp[0], "MODE=prod");
	assert_null(cfg.envp[2]);
	assert_string_equal(ady_kbs_config_getenv(&cfg, "MODE"), "prod");
	assert_string_equal(ady_kbs_config_getenv(&cfg, "EMPTY"), "");
	assert_null(ady_kbs_config_getenv(&cfg, "MOD"));
	assert_null(ady_kbs_config_getenv(&cfg, "MODE=prod"));
	assert_int_equal(cfg.nfiles, 2);
	f = ady_kbs_config_file(&cfg, "/etc/app.conf");
	assert_non_null(f);
	assert_int_equal(f->len, 3);
	assert_memory_equal(f->data, "a\0b", 3);
	/* The parsed copy is the enclave's own, not the input buffer. */
	assert_true(f->data < b || f->data >= b + sizeof(b));
	assert_int_equal(ady_kbs_config_file(&cfg, "/empty")->len, 0);
	assert_null(ady_kbs_config_file(&cfg, "/etc"));
	ady_kbs_config_free(&cfg);
	assert_null(cfg.argv);
	ady_kbs_config_free(&cfg);
	/* Empty: a valid configuration with nothing in it. */
	assert_int_equal(ady_kbs_config_parse(NULL, 0, &cfg), ADY_OK);
	assert_int_equal(cfg.argc + cfg.envc + cfg.nfiles, 0);
	assert_null(cfg.argv[0]);
	assert_null(cfg.envp[0]);
	ady_kbs_config_free(&cfg);
}

static void refused(const uint8_t *b, size_t n, ady_err want)
{
	ady_kbs_config cfg;

	assert_int_not_equal(kbs_config_validate(b, n), ADY_OK);
	memset(&cfg, 0x55, sizeof(cfg));
	assert_int_equal(ady_kbs_config_parse(b, n, &cfg), want);
	assert_null(cfg.argv);
	assert_null(cfg.mem_);
	assert_int_equal(cfg.argc, 0);
}

static void test_malformed(void **state)
{
	uint8_t b[256];
	size_t n;

	(void)state;
	refused((const uint8_t *)"\x04\x01\x00" "x", 4, ADY_ERR_MALFORMED);  /* unknown tag */
	refused((const uint8_t *)"\x00\x01\x00" "x", 4, ADY_ERR_MALFORMED);  /* tag 0 */
	refused((const uint8_t *)"\x01\x00\x00", 3, ADY_ERR_MALFORMED);   /* empty argv element */
	refused((const uint8_t *)"\x01\x02\x00" "a\0", 5, ADY_ERR_MALFORMED); /* NUL inside */
	refused((const uint8_t *)"\x02\x03\x00" "abc", 6, ADY_ERR_MALFORMED); /* env without '=' */
	refused((const uint8_t *)"\x02\x02\x00" "=x", 5, ADY_ERR_MALFORMED);  /* env without a key */
	refused((const uint8_t *)"\x01\x05\x00" "abc", 6, ADY_ERR_TRUNCATED); /* string past the end */
	refused((const uint8_t *)"\x01\x01", 2, ADY_ERR_TRUNCATED);        /* length cut */
	n = ent(b, 3, "/f", 2);
	refused(b, n, ADY_ERR_TRUNCATED);                                  /* file without its length */
	b[n] = 9;
	b[n + 1] = b[n + 2] = b[n + 3] = 0;
	refused(b, n + 4 + 3, ADY_ERR_TRUNCATED);                          /* content cut */
	b[n + 3] = 0xff;
	refused(b, n + 4, ADY_ERR_TRUNCATED);                              /* a 4 GiB file */
	/* Good entries, then one bad: nothing of the good ones is kept. */
	n = ent(b, 1, "/bin/app", 8);
	n += ent(b + n, 9, "x", 1);
	refused(b, n, ADY_ERR_MALFORMED);
}

static void test_too_large(void **state)
{
	static uint8_t big[ADY_KBS_MAX_DATA + 1];
	ady_kbs_config cfg;

	(void)state;
	assert_int_equal(ady_kbs_config_parse(big, sizeof(big), &cfg), ADY_ERR_TOO_LARGE);
	assert_null(cfg.argv);
	assert_int_equal(ady_kbs_config_parse(NULL, 1, &cfg), ADY_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
