/* Unit tests of ady_sockio_listen (src/host/sockio.c): the loopback
 * listen/accept loop the RA-TLS apps share. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "adyton/sockio.h"

/* A port that was free a moment ago (ls >= 0: still held, listening). */
static uint16_t loopback_port(int *ls)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &salen), 0);
	if (ls) {
		assert_int_equal(listen(s, 1), 0);
		*ls = s;
	} else {
		close(s);
	}
	return ntohs(sa.sin_port);
}

static uint16_t client_port;
static int client_n;

/* Connects client_n times (retrying until the loop listens), one byte each. */
static void *client(void *arg)
{
	(void)arg;
	for (int i = 0; i < client_n; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int s = -1;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(client_port);
		for (int tries = 0; tries < 500; tries++) {
			const struct timespec ms = {.tv_nsec = 10000000};
			s = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				break;
			close(s);
			s = -1;
			nanosleep(&ms, NULL);
		}
		if (s < 0)
			return NULL;
		(void)!write(s, "x", 1);
		close(s);
	}
	return NULL;
}

static int calls;
static int answers[4];

static int serve(void *arg, int fd)
{
	char c = 0;

	assert_ptr_equal(arg, &calls);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	return answers[calls++];
}

static int run(unsigned long count, int nclients)
{
	pthread_t t;
	int r;

	calls = 0;
	client_port = loopback_port(NULL);
	client_n = nclients;
	assert_int_equal(pthread_create(&t, NULL, client, NULL), 0);
	r = ady_sockio_listen("sockio_listen_test", client_port, count, serve, &calls);
	pthread_join(t, NULL);
	return r;
}

static void test_serves_count(void **state)
{
	(void)state;
	/* A failed connection does not end the loop: count is what ends it. */
	answers[0] = 1;
	answers[1] = 0;
	assert_int_equal(run(2, 2), 0);
	assert_int_equal(calls, 2);
}

static void test_stop(void **state)
{
	(void)state;
	answers[0] = -1;
	assert_int_equal(run(3, 1), -1);
	assert_int_equal(calls, 1);
}

static void test_port_taken(void **state)
{
	int ls;
	uint16_t port = loopback_port(&ls);

	(void)state;
	calls = 0;
	assert_int_equal(ady_sockio_listen("sockio_listen_test", port, 1, serve, &calls), -1);
	assert_int_equal(calls, 0);
	close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serves_count),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_port_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
