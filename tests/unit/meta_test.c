/* Unit tests of the signature note descriptor (src/format/meta.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/meta.h"

static void sigstruct(ady_sgx_sigstruct *ss, const ady_config *cfg)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss->header, ady_sigstruct_header, 12);
	memcpy(ss->header2, ady_sigstruct_header2, 16);
	ss->exponent = 3;
	ss->date = 0x20240101;
	for (int i = 0; i < 384; i++)
		ss->modulus[i] = (uint8_t)(i + 1);
	ss->attributes.flags = ADY_SGX_FLAGS_MODE64BIT | ((cfg->flags & ADY_CONFIG_DEBUG) ? ADY_SGX_FLAGS_DEBUG : 0);
	ss->attributes.xfrm = ADY_SGX_XFRM_LEGACY;
	ss->isvprodid = cfg->isvprodid;
	ss->isvsvn = cfg->isvsvn;
	memset(ss->enclavehash, 0x5e, 32);
}

static void config(ady_config *cfg)
{
	ady_config_defaults(cfg);
	cfg->heap_size = 8u << 20;
	cfg->stack_size = 256u << 10;
	cfg->threads = 3;
	cfg->msbuf_size = 1u << 20;
	cfg->isvprodid = 0x1122;
	cfg->isvsvn = 0x0304;
	cfg->flags = ADY_CONFIG_DEBUG;
}

static void test_round_trip(void **state)
{
	uint8_t buf[ADY_META_SIZE];
	ady_config cfg, got;
	ady_sgx_sigstruct ss, gotss;

	(void)state;
	config(&cfg);
	sigstruct(&ss, &cfg);
	assert_int_equal(ady_meta_encode(&cfg, &ss, buf, sizeof(buf)), ADY_OK);
	assert_memory_equal(buf, "ADYMETA1", 8);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[44], 0x22);
	assert_memory_equal(buf + ADY_META_SIGSTRUCT_OFFSET, &ss, sizeof(ss));
	assert_int_equal(ady_meta_decode(buf, sizeof(buf), &got, &gotss), ADY_OK);
	assert_memory_equal(&got, &cfg, sizeof(cfg));
	assert_memory_equal(&gotss, &ss, sizeof(ss));
	/* Either output may be NULL. */
	assert_int_equal(ady_meta_decode(buf, sizeof(buf), NULL, NULL), ADY_OK);
}

static void test_longer_descriptor(void **state)
{
	uint8_t buf[ADY_META_SIZE + 64];
	ady_config cfg;
	ady_sgx_sigstruct ss;

	(void)state;
	config(&cfg);
	sigstruct(&ss, &cfg);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ady_meta_encode(&cfg, &ss, buf, sizeof(buf)), ADY_OK);
	assert_int_equal(ady_meta_decode(buf, sizeof(buf), NULL, NULL), ADY_OK);
	buf[ADY_META_SIZE + 10] = 1;
	assert_int_equal(ady_meta_decode(buf, sizeof(buf), NULL, NULL), ADY_ERR_MALFORMED);
}

static void test_unsigned(void **state)
{
	uint8_t buf[ADY_META_SIZE];
	ady_config cfg;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ady_meta_decode(buf, sizeof(buf), &cfg, NULL), ADY_ERR_UNSIGNED);
	assert_int_equal(ady_meta_decode(buf, sizeof(buf) - 1, &cfg, NULL), ADY_ERR_TRUNCATED);
}

static void test_short_buffer(void **state)
{
	uint8_t buf[ADY_META_SIZE];
	ady_config cfg;
	ady_sgx_sigstruct ss;

	(void)state;
	config(&cfg);
	sigstruct(&ss, &cfg);
	assert_int_equal(ady_meta_encode(&cfg, &ss, buf, sizeof(buf) - 1), ADY_ERR_SHORT_BUFFER);
	cfg.threads = 0;
	assert_int_equal(ady_meta_encode(&cfg, &ss, buf, sizeof(buf)), ADY_ERR_CONFIG);
}

static ady_err mutate(size_t off, uint8_t v)
{
	uint8_t buf[ADY_META_SIZE];
	ady_config cfg;
	ady_sgx_sigstruct ss;

	config(&cfg);
	sigstruct(&ss, &cfg);
	if (ady_meta_encode(&cfg, &ss, buf, sizeof(buf)) != ADY_OK)
		return -1;
	buf[off] = v;
	return ady_meta_decode(buf, sizeof(buf), &cfg, &ss);
}

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(mutate(0, 'X'), ADY_ERR_MALFORMED);       /* magic */
	assert_int_equal(mutate(8, 2), ADY_ERR_MALFORMED);         /* version */
	assert_int_equal(mutate(12, 1), ADY_ERR_MALFORMED);        /* reserved */
	assert_int_equal(mutate(52, 1), ADY_ERR_MALFORMED);
	assert_int_equal(mutate(63, 1), ADY_ERR_MALFORMED);
	assert_int_equal(mutate(1872, 1), ADY_ERR_MALFORMED);      /* tail */
	assert_int_equal(mutate(ADY_META_SIZE - 1, 1), ADY_ERR_MALFORMED);
	assert_int_equal(mutate(40, 0), ADY_ERR_CONFIG);           /* threads = 0 */
	assert_int_equal(mutate(16, 1), ADY_ERR_CONFIG);           /* heap not a page multiple */
	assert_int_equal(mutate(48, 3), ADY_ERR_CONFIG);           /* unknown flag */
	assert_int_equal(mutate(64, 7), ADY_ERR_SIGSTRUCT);        /* SIGSTRUCT header */
	assert_int_equal(mutate(64 + 512, 17), ADY_ERR_SIGSTRUCT); /* exponent */
}

static void test_identity_mismatch(void **state)
{
	(void)state;
	assert_int_equal(mutate(44, 0x23), ADY_ERR_META);          /* isvprodid */
	assert_int_equal(mutate(46, 0x05), ADY_ERR_META);          /* isvsvn */
	assert_int_equal(mutate(48, 0), ADY_ERR_META);             /* debug off, SIGSTRUCT debug */
	assert_int_equal(mutate(64 + 1024, 0), ADY_ERR_META);      /* SIGSTRUCT.ISVPRODID */
	assert_int_equal(mutate(64 + 1026, 9), ADY_ERR_META);      /* SIGSTRUCT.ISVSVN */
	assert_int_equal(mutate(64 + 928, 0x04), ADY_ERR_META);    /* ATTRIBUTES.DEBUG off */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_longer_descriptor),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_identity_mismatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
