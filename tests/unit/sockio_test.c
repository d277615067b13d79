/* Unit tests of libadyton's half of adyton/sockio.edl (src/host/sockio.c):
 * the OCALLs' return values, the tap, and no SIGPIPE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "adyton/sockio.h"

static uint8_t seen[64];
static size_t seen_len;

static void tap(const void *p, size_t n)
{
	assert_true(seen_len + n <= sizeof(seen));
	memcpy(seen + seen_len, p, n);
	seen_len += n;
}

static void test_send_recv_tap(void **state)
{
	int sv[2];
	uint8_t buf[16];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	seen_len = 0;
	ady_sockio_set_tap(tap);
	assert_int_equal(ocall_sockio_send(sv[0], (const uint8_t *)"hello", 5), 5);
	assert_int_equal(ocall_sockio_recv(sv[1], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	/* What was sent, then what was received: the host's view, in order. */
	assert_int_equal(seen_len, 10);
	assert_memory_equal(seen, "hellohello", 10);
	ady_sockio_set_tap(NULL);
	assert_int_equal(ocall_sockio_send(sv[0], (const uint8_t *)"x", 1), 1);
	assert_int_equal(ocall_sockio_recv(sv[1], buf, sizeof(buf)), 1);
	assert_int_equal(seen_len, 10);
	/* End of stream is 0, not an error. */
	close(sv[0]);
	assert_int_equal(ocall_sockio_recv(sv[1], buf, sizeof(buf)), 0);
	close(sv[1]);
}

static void test_errors(void **state)
{
	int sv[2];
	uint8_t buf[4];

	(void)state;
	assert_int_equal(ocall_sockio_recv(-1, buf, sizeof(buf)), -1);
	assert_int_equal(ocall_sockio_send(-1, buf, sizeof(buf)), -1);
	/* A peer that went away: -1, and the process is not killed by SIGPIPE. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(ocall_sockio_send(sv[0], (const uint8_t *)"x", 1), -1);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_recv_tap),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
