/* Unit tests of the enclave's half of adyton/sockio.edl
 * (src/trts/sockio.c), built for the host: the application's answers to
 * the two OCALLs are stubs here, so that every answer it could give is
 * tried.  The close is tested end to end (sockio_close_test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../src/trts/sockio.c"

/* What the stub OCALLs do: the call's result, the application's answer,
 * and what they were asked. */
static ady_err call_err;
static long answer;
static int asked_fd;
static size_t asked_len;

ady_err ocall_sockio_recv(long *ady_retval, int fd, uint8_t *buf, size_t cap)
{
	(void)buf;
	asked_fd = fd;
	asked_len = cap;
	if (call_err)
		return call_err;
	*ady_retval = answer;
	return ADY_OK;
}

ady_err ocall_sockio_send(long *ady_retval, int fd, const uint8_t *buf, size_t len)
{
	(void)buf;
	asked_fd = fd;
	asked_len = len;
	if (call_err)
		return call_err;
	*ady_retval = answer;
	return ADY_OK;
}

static unsigned char big[40000];

static void test_read(void **state)
{
	int fd = 7;

	(void)state;
	call_err = ADY_OK;
	answer = 100;
	assert_int_equal(ady_sockio_read(&fd, big, 1000), 100);
	assert_int_equal(asked_fd, 7);
	assert_int_equal(asked_len, 1000);
	/* One OCALL moves at most 16 KiB. */
	answer = 16384;
	assert_int_equal(ady_sockio_read(&fd, big, sizeof(big)), 16384);
	assert_int_equal(asked_len, 16384);
	/* End of stream, the application's error, an impossible count, a
	 * failed call: all -1 to BearSSL. */
	answer = 0;
	assert_int_equal(ady_sockio_read(&fd, big, 10), -1);
	answer = -1;
	assert_int_equal(ady_sockio_read(&fd, big, 10), -1);
	answer = 11;
	assert_int_equal(ady_sockio_read(&fd, big, 10), -1);
	answer = 16385;
	assert_int_equal(ady_sockio_read(&fd, big, sizeof(big)), -1);
	answer = 5;
	call_err = ADY_ERR_IO;
	assert_int_equal(ady_sockio_read(&fd, big, 10), -1);
	call_err = ADY_OK;
}

static void test_write(void **state)
{
	int fd = 9;

	(void)state;
	call_err = ADY_OK;
	answer = 10;
	assert_int_equal(ady_sockio_write(&fd, big, 10), 10);
	assert_int_equal(asked_fd, 9);
	answer = 3;
	assert_int_equal(ady_sockio_write(&fd, big, 10), 3);
	answer = 16384;
	assert_int_equal(ady_sockio_write(&fd, big, sizeof(big)), 16384);
	assert_int_equal(asked_len, 16384);
	answer = 0;
	assert_int_equal(ady_sockio_write(&fd, big, 10), -1);
	answer = 11;
	assert_int_equal(ady_sockio_write(&fd, big, 10), -1);
	answer = 10;
	call_err = ADY_ERR_IO;
	assert_int_equal(ady_sockio_write(&fd, big, 10), -1);
	call_err = ADY_OK;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
