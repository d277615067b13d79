/* Unit tests of the launch/provisioning policy (src/format/policy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/policy.h"

#define H_A "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define H_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define H_C "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const uint8_t hash_a[32] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
				    0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
				    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

static void hash_of(const char *hex, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static ady_err parse(const char *text, ady_policy *p, unsigned *line)
{
	return ady_policy_parse(text, strlen(text), p, line);
}

static void test_good_file(void **state)
{
	static const char text[] = "# /etc/adyton/policy\n"
				   "\n"
				   "allow_debug  = yes   # developers' box\n"
				   "signer       = " H_A "\n"
				   "signer\t=\t" H_B "\r\n"
				   "provision    = " H_A "\n"
				   "provision    = " H_B ":7\n"
				   "   max_enclaves=10\n"
				   "max_memory   = 2G"; /* no final newline */
	ady_policy p;
	unsigned line = 99;
	uint8_t b[32], c[32];

	(void)state;
	hash_of(H_B, b);
	hash_of(H_C, c);
	assert_int_equal(parse(text, &p, &line), ADY_OK);
	assert_int_equal(line, 0);
	assert_true(p.allow_debug);
	assert_false(p.any_signer);
	assert_int_equal(p.nsigners, 2);
	assert_memory_equal(p.signers[0], hash_a, 32);
	assert_memory_equal(p.signers[1], b, 32);
	assert_int_equal(p.nprovision, 2);
	assert_memory_equal(p.provision[0].mrsigner, hash_a, 32);
	assert_true(p.provision[0].any_product);
	assert_memory_equal(p.provision[1].mrsigner, b, 32);
	assert_false(p.provision[1].any_product);
	assert_int_equal(p.provision[1].isvprodid, 7);
	assert_int_equal(p.max_enclaves, 10);
	assert_true(p.max_memory == 2ull << 30);

	/* The check functions on it. */
	assert_int_equal(ady_policy_check_launch(&p, hash_a, 0x4), ADY_OK);
	assert_int_equal(ady_policy_check_launch(&p, b, 0x6), ADY_OK); /* debug allowed */
	assert_int_equal(ady_policy_check_launch(&p, c, 0x4), ADY_ERR_PERMISSION);
	assert_true(ady_policy_may_provision(&p, hash_a, 0));
	assert_true(ady_policy_may_provision(&p, hash_a, 65535));
	assert_true(ady_policy_may_provision(&p, b, 7));
	assert_false(ady_policy_may_provision(&p, b, 8));
	assert_false(ady_policy_may_provision(&p, c, 7));
}

static void test_defaults(void **state)
{
	ady_policy p;
	unsigned line = 5;

	(void)state;
	assert_int_equal(ady_policy_parse(NULL, 0, &p, &line), ADY_OK);
	assert_int_equal(line, 0);
	assert_false(p.allow_debug);
	assert_false(p.any_signer);
	assert_int_equal(p.nsigners, 0);
	assert_int_equal(p.nprovision, 0);
	assert_int_equal(p.max_enclaves, 64);
	assert_true(p.max_memory == 1ull << 30); /* default bound (issue 11 item 9) */
	/* Nobody may launch, nobody is provisioned. */
	assert_int_equal(ady_policy_check_launch(&p, hash_a, 0), ADY_ERR_PERMISSION);
	assert_false(ady_policy_may_provision(&p, hash_a, 0));
	assert_int_equal(parse("\n# comments only\n  \t \n", &p, NULL), ADY_OK);
	assert_int_equal(p.nsigners, 0);
	assert_int_equal(ady_policy_parse("x", 1, NULL, NULL), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_policy_parse(NULL, 1, &p, NULL), ADY_ERR_INVALID_ARG);
}

static void test_embedded(void **state)
{
	ady_policy p;

	(void)state;
	memset(&p, 0xa5, sizeof(p));
	ady_policy_embedded(&p);
	assert_true(p.allow_debug);
	assert_true(p.any_signer);
	assert_int_equal(p.nsigners, 0);
	assert_int_equal(p.nprovision, 0);
	assert_int_equal(p.max_enclaves, 64);
	assert_true(p.max_memory == 1ull << 30); /* default bound (issue 11 item 9) */
	assert_int_equal(ady_policy_check_launch(&p, hash_a, 0x2), ADY_OK);
	assert_false(ady_policy_may_provision(&p, hash_a, 0));
}

static void test_check_launch(void **state)
{
	ady_policy p;
	uint8_t b[32];

	(void)state;
	hash_of(H_B, b);
	assert_int_equal(parse("signer = any\n", &p, NULL), ADY_OK);
	assert_true(p.any_signer);
	assert_int_equal(ady_policy_check_launch(&p, b, 0x4), ADY_OK);
	/* DEBUG refused unless allow_debug, even for "any". */
	assert_int_equal(ady_policy_check_launch(&p, b, 0x2), ADY_ERR_PERMISSION);
	assert_int_equal(ady_policy_check_launch(&p, b, 0x6), ADY_ERR_PERMISSION);
	assert_int_equal(parse("signer = any\nallow_debug = no\n", &p, NULL), ADY_OK);
	assert_int_equal(ady_policy_check_launch(&p, b, 0x2), ADY_ERR_PERMISSION);
	assert_int_equal(parse("signer = " H_A "\nallow_debug = yes\n", &p, NULL), ADY_OK);
	assert_int_equal(ady_policy_check_launch(&p, hash_a, 0x2), ADY_OK);
	assert_int_equal(ady_policy_check_launch(&p, b, 0x2), ADY_ERR_PERMISSION);
	assert_int_equal(ady_policy_check_launch(&p, b, 0), ADY_ERR_PERMISSION);
	/* Uppercase and lowercase hex are the same hash. */
	assert_int_equal(parse("signer = ffeeddccbbaa99887766554433221100FFEEDDCCBBAA99887766554433221100", &p, NULL),
			 ADY_OK);
	assert_int_equal(ady_policy_check_launch(&p, b, 0), ADY_OK);
	assert_int_equal(ady_policy_check_launch(NULL, b, 0), ADY_ERR_INVALID_ARG);
	assert_false(ady_policy_may_provision(NULL, b, 0));
}

static void test_limits(void **state)
{
	char text[32 * 80 + 200];
	size_t n = 0;
	ady_policy p;
	unsigned line = 0;

	(void)state;
	for (unsigned i = 0; i < ADY_POLICY_MAX_SIGNERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "signer = %064x\n", i);
	assert_int_equal(ady_policy_parse(text, n, &p, &line), ADY_OK);
	assert_int_equal(p.nsigners, ADY_POLICY_MAX_SIGNERS);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "signer = %064x\n", 99u);
	assert_int_equal(ady_policy_parse(text, n, &p, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, ADY_POLICY_MAX_SIGNERS + 1);

	n = 0;
	for (unsigned i = 0; i < ADY_POLICY_MAX_SIGNERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "provision = %064x:%u\n", 5u, i);
	assert_int_equal(ady_policy_parse(text, n, &p, &line), ADY_OK);
	assert_int_equal(p.nprovision, ADY_POLICY_MAX_SIGNERS);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "provision = %064x\n", 5u);
	assert_int_equal(ady_policy_parse(text, n, &p, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, ADY_POLICY_MAX_SIGNERS + 1);

	assert_int_equal(parse("max_enclaves = 4294967295\nmax_memory = 17179869183G\n", &p, NULL), ADY_OK);
	assert_int_equal(p.max_enclaves, UINT32_MAX);
	assert_true(p.max_memory == 17179869183ull << 30);
	assert_int_equal(parse("max_memory = 18446744073709551615\nmax_enclaves = 0\n", &p, NULL), ADY_OK);
	assert_true(p.max_memory == UINT64_MAX);
	assert_int_equal(p.max_enclaves, 0);
	assert_int_equal(parse("max_memory = 64K", &p, NULL), ADY_OK);
	assert_true(p.max_memory == 64 << 10);
	assert_int_equal(parse("max_memory = 3M", &p, NULL), ADY_OK);
	assert_true(p.max_memory == 3 << 20);
	assert_int_equal(parse("provision = " H_C ":0\nprovision = " H_C ":65535\n", &p, NULL), ADY_OK);
	assert_int_equal(p.provision[1].isvprodid, 65535);
}

static void test_not_nul_terminated(void **state)
{
	char text[] = "max_enclaves = 12X";
	ady_policy p;

	(void)state;
	assert_int_equal(ady_policy_parse(text, strlen(text) - 1, &p, NULL), ADY_OK);
	assert_int_equal(p.max_enclaves, 12);
	assert_int_equal(ady_policy_parse(text, strlen(text), &p, NULL), ADY_ERR_CONFIG);
}

static void test_errors_with_lines(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
	} cases[] = {
		{ "bogus = 1\n", 1 },
		{ "\n\nSigner = any\n", 3 },                               /* keys are lowercase */
		{ "allow_debug = yes\nallow_debug = no\n", 2 },            /* duplicate scalar */
		{ "max_enclaves = 1\n# x\nmax_enclaves = 1\n", 3 },
		{ "max_memory = 1\nmax_memory = 1\n", 2 },
		{ "allow_debug = 1\n", 1 },
		{ "allow_debug = YES\n", 1 },
		{ "allow_debug =\n", 1 },
		{ "signer = " H_A "0\n", 1 },                              /* 65 digits */
		{ "signer = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n", 1 }, /* 63 */
		{ "signer = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg\n", 1 },
		{ "signer = 0x112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 1 },
		{ "signer =\n", 1 },
		{ "signer = " H_A "\nsigner = any\n", 2 },                  /* any after hashes */
		{ "signer = any\n\nsigner = " H_A "\n", 3 },                /* hashes after any */
		{ "signer = any\nsigner = any\n", 2 },
		{ "signer = " H_A "\nsigner = " H_A "\n", 2 },              /* duplicate hash */
		{ "signer = ANY\n", 1 },
		{ "signer = " H_A " " H_B "\n", 1 },                       /* trailing garbage */
		{ "signer = " H_A " x\n", 1 },
		{ "signer " H_A "\n", 1 },                                  /* no '=' */
		{ "= " H_A "\n", 1 },                                       /* no key */
		{ "signer = = " H_A "\n", 1 },
		{ "provision = " H_A ":\n", 1 },
		{ "provision = " H_A ":65536\n", 1 },
		{ "provision = " H_A ":-1\n", 1 },
		{ "provision = " H_A ":1:2\n", 1 },
		{ "provision = " H_A ":0x1\n", 1 },
		{ "provision = :1\n", 1 },
		{ "provision = any\n", 1 },
		{ "provision = " H_A "\nprovision = " H_A "\n", 2 },
		{ "max_enclaves = 4294967296\n", 1 },
		{ "max_enclaves = -1\n", 1 },
		{ "max_enclaves = 1K\n", 1 },
		{ "max_enclaves = \n", 1 },
		{ "max_memory = 1T\n", 1 },
		{ "max_memory = 17179869184G\n", 1 },
		{ "max_memory = 18446744073709551616\n", 1 },
		{ "max_memory = K\n", 1 },
		{ "max_memory = 1KK\n", 1 },
		{ "# ok\nmax_memory = 1\x01\n", 2 },                        /* control byte */
		{ "max_memory = 1\x7f\n", 1 },
	};
	ady_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned line = 0;
		ady_err err;

		memset(&p, 0x5a, sizeof(p));
		err = parse(cases[i].text, &p, &line);
		if (err != ADY_ERR_CONFIG || line != cases[i].line)
			print_error("case %zu \"%s\": err %d line %u, want line %u\n", i, cases[i].text, err, line,
				    cases[i].line);
		assert_int_equal(err, ADY_ERR_CONFIG);
		assert_int_equal(line, cases[i].line);
		/* A failed parse leaves the output alone. */
		assert_int_equal(p.max_enclaves, 0x5a5a5a5a);
	}
}

static void test_nul_and_long_lines(void **state)
{
	static const char nul[] = "max_enclaves = 1\0\n";
	char text[1100];
	ady_policy p;
	unsigned line = 0;

	(void)state;
	assert_int_equal(ady_policy_parse(nul, sizeof(nul) - 1, &p, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 1);
	/* A long comment is fine; long content is not. */
	memset(text, ' ', sizeof(text));
	memcpy(text, "max_enclaves = 3 #", 18);
	assert_int_equal(ady_policy_parse(text, sizeof(text), &p, &line), ADY_OK);
	assert_int_equal(p.max_enclaves, 3);
	memset(text, ' ', sizeof(text));
	memcpy(text + sizeof(text) - 16, "max_enclaves = 3", 16);
	assert_int_equal(ady_policy_parse(text, sizeof(text), &p, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 1);
}

static void test_epc(void **state)
{
	ady_policy p;
	unsigned line = 0;

	(void)state;
	assert_int_equal(parse("signer = any\n", &p, &line), ADY_OK);
	assert_true(p.epc == 0); /* not configured: adytond's default */
	assert_int_equal(parse("epc = 4G\n", &p, &line), ADY_OK);
	assert_true(p.epc == 4ull << 30);
	assert_int_equal(parse("epc = 1200K\n", &p, &line), ADY_OK);
	assert_true(p.epc == 1200 * 1024);
	static const char *const bad[] = { "epc = 0\n", "epc = 4097\n", "epc = 2K\n", "epc = 4G\nepc = 1G\n",
					   "epc = -1\n", "epc = 4T\n", "epc pool = 4G\n", "epc =\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.epc = 77;
		if (parse(bad[i], &p, &line) != ADY_ERR_CONFIG)
			fail_msg("accepted: %s", bad[i]);
		assert_true(p.epc == 77);
	}
}

static void test_tenants(void **state)
{
	static const char text[] = "signer = any\n"
				   "tenant acme = uid:1001,gid:2000,memory:512M,enclaves:4\n"
				   "tenant  globex   =  gid:3000,uid:1002,uid:1003   # no limits of its own\n"
				   "tenant t_9 = uid:0\n";
	ady_policy p;
	unsigned line = 0;
	const ady_policy_tenant *t;

	(void)state;
	assert_int_equal(parse(text, &p, &line), ADY_OK);
	assert_int_equal(p.ntenants, 3);
	t = &p.tenants[0];
	assert_string_equal(t->name, "acme");
	assert_int_equal(t->nuids, 1);
	assert_int_equal(t->uids[0], 1001);
	assert_int_equal(t->ngids, 1);
	assert_int_equal(t->gids[0], 2000);
	assert_true(t->max_memory == 512ull << 20);
	assert_int_equal(t->max_enclaves, 4);
	t = &p.tenants[1];
	assert_string_equal(t->name, "globex");
	assert_int_equal(t->nuids, 2);
	assert_int_equal(t->uids[1], 1003);
	assert_true(t->max_memory == 0);
	assert_int_equal(t->max_enclaves, 0);

	/* uid first, then the primary gid, else none */
	assert_string_equal(ady_policy_tenant_of(&p, 1001, 3000)->name, "acme");
	assert_string_equal(ady_policy_tenant_of(&p, 1002, 2000)->name, "globex");
	assert_string_equal(ady_policy_tenant_of(&p, 4242, 2000)->name, "acme");
	assert_string_equal(ady_policy_tenant_of(&p, 4242, 3000)->name, "globex");
	assert_string_equal(ady_policy_tenant_of(&p, 0, 0)->name, "t_9");
	assert_null(ady_policy_tenant_of(&p, 4242, 4242));
	assert_null(ady_policy_tenant_of(NULL, 1001, 2000));
}

static void test_tenant_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
	} cases[] = {
		{ "tenant = uid:1\n", 1 },                       /* no name */
		{ "tenant Acme = uid:1\n", 1 },                  /* upper case */
		{ "tenant a-b = uid:1\n", 1 },                   /* not a key character: no '=' found */
		{ "tenant aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = uid:1\n", 1 }, /* 32 bytes */
		{ "tenant a b = uid:1\n", 1 },                   /* two words */
		{ "tenant a = memory:1G\n", 1 },                 /* nobody belongs */
		{ "tenant a = \n", 1 },
		{ "tenant a = uid:1,\n", 1 },                    /* empty item */
		{ "tenant a = ,uid:1\n", 1 },
		{ "tenant a = uid:x\n", 1 },
		{ "tenant a = uid:-1\n", 1 },
		{ "tenant a = uid:4294967295\n", 1 },            /* (uid_t)-1: nobody's uid */
		{ "tenant a = uid:1,uid:1\n", 1 },
		{ "tenant a = uid:1,memory:1G,memory:2G\n", 1 },
		{ "tenant a = uid:1,enclaves:1,enclaves:1\n", 1 },
		{ "tenant a = uid:1,memory:0\n", 1 },
		{ "tenant a = uid:1,memory:5000\n", 1 },         /* not 4 KiB pages */
		{ "tenant a = uid:1,enclaves:0\n", 1 },
		{ "tenant a = uid:1,cpus:4\n", 1 },
		{ "tenant a = uid\n", 1 },
		{ "tenant a = uid:1\ntenant a = uid:2\n", 2 },  /* name twice */
		{ "tenant a = uid:1\ntenant b = uid:1\n", 2 },  /* uid in two tenants */
		{ "tenant a = gid:7\ntenant b = uid:7,gid:7\n", 2 },
		{ "max_memory acme = 1G\n", 1 },                 /* a word only tenant takes */
	};
	ady_policy p;
	unsigned line = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p.ntenants = 0x5a;
		if (parse(cases[i].text, &p, &line) != ADY_ERR_CONFIG)
			fail_msg("accepted: %s", cases[i].text);
		assert_int_equal(line, cases[i].line);
		assert_int_equal(p.ntenants, 0x5a);
	}
	/* 17 uids in one tenant, 33 tenants */
	char text[2048];
	size_t n = (size_t)snprintf(text, sizeof(text), "tenant a = uid:1");
	for (int i = 2; i <= 17; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, ",uid:%d", i);
	assert_int_equal(parse(text, &p, &line), ADY_ERR_CONFIG);
	text[n - 7] = '\0'; /* 16 */
	assert_int_equal(parse(text, &p, &line), ADY_OK);
	n = 0;
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "tenant t%d = uid:%d\n", i, i);
	assert_int_equal(parse(text, &p, &line), ADY_ERR_CONFIG);
	assert_int_equal(line, 33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_check_launch),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_errors_with_lines),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_epc),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_tenant_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
