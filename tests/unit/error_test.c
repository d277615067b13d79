/* Unit tests of ady_strerror (src/format/error.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/error.h"

static void test_every_code_named(void **state)
{
	const char *unknown = ady_strerror(-1);

	(void)state;
	assert_non_null(unknown);
	assert_string_equal(ady_strerror(ADY_OK), "success");
	/* Every code error.h defines (the ranges it uses) has its own name. */
	for (int e = 1; e < ADY_ERR_MAX_; e++) {
		const char *s = ady_strerror(e);

		assert_non_null(s);
		if ((e >= 1 && e <= ADY_ERR_CRYPTO) || (e >= ADY_ERR_ELF_MAGIC && e <= ADY_ERR_KEY) ||
		    (e >= ADY_ERR_ECALL_INDEX && e <= ADY_ERR_QUOTA)) {
			assert_true(strcmp(s, unknown) != 0);
			for (int f = 1; f < e; f++)
				assert_true(strcmp(s, ady_strerror(f)) != 0);
		} else {
			assert_string_equal(s, unknown);
		}
	}
	assert_string_equal(ady_strerror(ADY_ERR_ELF_OVERLAP), "ELF segments overlap");
	assert_string_equal(ady_strerror(ADY_ERR_MAX_), unknown);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
