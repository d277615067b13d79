/*
 * The key broker's store (apps/kbs/store.h) on SQLite, or on PostgreSQL
 * when $KBS_TEST_PG holds a libpq connection string to a server where a
 * database may be created (tests/integration/kbs_pg_test.sh): resources
 * (replace, revoke, list), nonces (each taken once, for its own name,
 * before it expires), and two handles on one database file taking the
 * same nonce: exactly one wins.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "test_state.h"

static char dir[64];
static char path[512];

/* A fresh database per test: on PostgreSQL, dropped and created again. */
static int setup(void **state)
{
	char sqlite[sizeof(dir) + 8];

	(void)state;
	strcpy(dir, "/tmp/kbs_store_test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sqlite, sizeof(sqlite), "%s/kbs.db", dir);
	return test_state_where("KBS_TEST_PG", "kbs_store_test", sqlite, path, sizeof(path)) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const uint8_t mkey[KBS_MASTER_KEY] = {0x6b, 0x62, 0x73, 1, 2, 3};

/* Opens the store with the test's master key (put/get need one). */
static ady_err open_keyed(kbs_store **s)
{
	ady_err err = kbs_store_open(path, s);

	if (!err && (err = kbs_store_set_master_key(*s, mkey)) != ADY_OK) {
		kbs_store_close(*s);
		*s = NULL;
	}
	return err;
}

static int collect(void *ctx, const char *name, uint8_t kind, bool revoked)
{
	char *out = ctx;
	char line[160];

	snprintf(line, sizeof(line), "%s:%u:%d;", name, kind, revoked);
	strcat(out, line);
	return 0;
}

static void test_resources(void **state)
{
	kbs_store *s;
	kbs_resource r;
	char listing[512] = "";

	(void)state;
	assert_int_equal(kbs_store_open(path, &s), ADY_OK);
	/* No master key: nothing is stored or read in clear. */
	assert_int_equal(kbs_store_put(s, "b", 1, "p", (const uint8_t *)"s1", 2), ADY_ERR_CONFIG);
	assert_int_equal(kbs_store_get(s, "b", &r), ADY_ERR_CONFIG);
	assert_int_equal(kbs_store_set_master_key(s, mkey), ADY_OK);
	assert_int_equal(kbs_store_get(s, "a", &r), ADY_ERR_RANGE);
	assert_int_equal(kbs_store_revoke(s, "a"), ADY_ERR_RANGE);
	assert_int_equal(kbs_store_put(s, "b", 1, "mrenclave = x\n", (const uint8_t *)"s1", 2), ADY_OK);
	assert_int_equal(kbs_store_put(s, "a", 2, "p", (const uint8_t *)"", 0), ADY_OK);
	assert_int_equal(kbs_store_get(s, "b", &r), ADY_OK);
	assert_int_equal(r.kind, 1);
	assert_false(r.revoked);
	assert_string_equal(r.policy, "mrenclave = x\n");
	assert_int_equal(r.data_len, 2);
	assert_memory_equal(r.data, "s1", 2);
	kbs_resource_fini(&r);
	assert_int_equal(kbs_store_revoke(s, "b"), ADY_OK);
	assert_int_equal(kbs_store_get(s, "b", &r), ADY_OK);
	assert_true(r.revoked);
	kbs_resource_fini(&r);
	assert_int_equal(kbs_store_list(s, collect, listing), ADY_OK);
	assert_string_equal(listing, "a:2:0;b:1:1;");
	/* A put replaces the resource and lifts the revocation. */
	assert_int_equal(kbs_store_put(s, "b", 1, "q", (const uint8_t *)"s2!", 3), ADY_OK);
	assert_int_equal(kbs_store_get(s, "b", &r), ADY_OK);
	assert_false(r.revoked);
	assert_int_equal(r.data_len, 3);
	assert_string_equal(r.policy, "q");
	kbs_resource_fini(&r);
	kbs_store_close(s);
	/* Persistent. */
	assert_int_equal(open_keyed(&s), ADY_OK);
	assert_int_equal(kbs_store_get(s, "a", &r), ADY_OK);
	assert_int_equal(r.kind, 2);
	assert_int_equal(r.data_len, 0);
	kbs_resource_fini(&r);
	kbs_store_close(s);
}

static void test_nonces(void **state)
{
	uint8_t n1[32] = {1}, n2[32] = {2}, n3[32] = {3}, n4[32] = {4};
	kbs_nonce_state st;
	kbs_store *s;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(open_keyed(&s), ADY_OK);
	assert_int_equal(kbs_store_nonce_add(s, n1, "a", now + 1000), ADY_OK);
	assert_int_equal(kbs_store_nonce_add(s, n2, "a", now + 1000), ADY_OK);
	assert_int_equal(kbs_store_nonce_add(s, n3, "a", now - 10), ADY_OK);
	assert_int_not_equal(kbs_store_nonce_add(s, n1, "a", now + 1000), ADY_OK); /* issued once */
	assert_int_equal(kbs_store_nonce_take(s, n4, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_UNKNOWN);
	assert_int_equal(kbs_store_nonce_take(s, n2, "b", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_UNKNOWN); /* issued for another resource */
	assert_int_equal(kbs_store_nonce_take(s, n1, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_OK);
	assert_int_equal(kbs_store_nonce_take(s, n1, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_USED);
	assert_int_equal(kbs_store_nonce_take(s, n3, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_EXPIRED);
	assert_int_equal(kbs_store_nonce_take(s, n3, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_USED);
	assert_int_equal(kbs_store_nonce_take(s, n2, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_OK);
	/* The broker's flush (group commit); the uses are there for the next
	 * handle. */
	assert_int_equal(kbs_store_sync(s), ADY_OK);
	kbs_store_close(s);
	assert_int_equal(open_keyed(&s), ADY_OK);
	assert_int_equal(kbs_store_nonce_take(s, n2, "a", now, &st), ADY_OK);
	assert_int_equal(st, KBS_NONCE_USED);
	assert_int_equal(kbs_store_sync(s), ADY_OK);
	kbs_store_close(s);
}

/* Two processes with their own handles race for each of 50 nonces:
 * every nonce is taken exactly once. */
static void test_race(void **state)
{
	enum { N = 50 };
	kbs_store *s;
	int pipes[2][2];
	pid_t pid[2];
	int wins = 0;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(kbs_store_open(path, &s), ADY_OK);
	for (int i = 0; i < N; i++) {
		uint8_t n[32] = {0xee, (uint8_t)i};
		assert_int_equal(kbs_store_nonce_add(s, n, "race", now + 1000), ADY_OK);
	}
	kbs_store_close(s);
	for (int p = 0; p < 2; p++) {
		assert_int_equal(pipe(pipes[p]), 0);
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] == 0) {
			kbs_store *c;
			uint8_t won = 0;
			if (kbs_store_open(path, &c))
				_exit(2);
			for (int i = 0; i < N; i++) {
				uint8_t n[32] = {0xee, (uint8_t)i};
				kbs_nonce_state st;
				if (kbs_store_nonce_take(c, n, "race", now, &st))
					_exit(3);
				won += st == KBS_NONCE_OK;
			}
			kbs_store_close(c);
			_exit(write(pipes[p][1], &won, 1) == 1 ? 0 : 4);
		}
	}
	for (int p = 0; p < 2; p++) {
		int status;
		uint8_t won = 0;
		assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(read(pipes[p][0], &won, 1), 1);
		wins += won;
		close(pipes[p][0]);
		close(pipes[p][1]);
	}
	assert_int_equal(wins, N);
}

/* Encryption at rest (store.h): the database holds no plaintext, a
 * wrong master key is refused at once, a row moved to another name (or
 * altered) does not open, the check row is nobody's resource. */
static void test_at_rest(void **state)
{
	static const char secret[] = "AT-REST-PLAINTEXT-7f3a9c";
	uint8_t other[KBS_MASTER_KEY] = {0x6b, 0x62, 0x73, 1, 2, 4};
	char listing[512] = "";
	kbs_resource r = {0};
	kbs_store *s;

	(void)state;
	assert_int_equal(open_keyed(&s), ADY_OK);
	assert_int_equal(kbs_store_put(s, "db-password", 1, "p", (const uint8_t *)secret, sizeof(secret) - 1), ADY_OK);
	assert_int_equal(kbs_store_get(s, "db-password", &r), ADY_OK);
	assert_int_equal(r.data_len, sizeof(secret) - 1);
	assert_memory_equal(r.data, secret, sizeof(secret) - 1);
	kbs_resource_fini(&r);
	/* What the backend holds: version, IV, ciphertext, tag; no plaintext. */
	assert_int_equal(s->ops->get(s, "db-password", &r), ADY_OK);
	assert_int_equal(r.data_len, sizeof(secret) - 1 + 29);
	assert_int_equal(r.data[0], 1);
	assert_null(memmem(r.data, r.data_len, secret, 8));
	/* The same bytes under another name do not open (AAD = kind || name). */
	assert_int_equal(s->ops->put(s, "moved", 1, "p", r.data, r.data_len), ADY_OK);
	kbs_resource_fini(&r);
	assert_int_equal(kbs_store_get(s, "moved", &r), ADY_ERR_CRYPTO);
	assert_null(r.data);
	/* Nor under another kind. */
	assert_int_equal(s->ops->get(s, "db-password", &r), ADY_OK);
	assert_int_equal(s->ops->put(s, "db-password", 2, "p", r.data, r.data_len), ADY_OK);
	kbs_resource_fini(&r);
	assert_int_equal(kbs_store_get(s, "db-password", &r), ADY_ERR_CRYPTO);
	/* The check row: not listed, not readable, not writable, not revocable. */
	assert_int_equal(kbs_store_list(s, collect, listing), ADY_OK);
	assert_string_equal(listing, "db-password:2:0;moved:1:0;");
	assert_int_equal(kbs_store_get(s, KBS_CHECK_NAME, &r), ADY_ERR_RANGE);
	assert_int_equal(kbs_store_put(s, KBS_CHECK_NAME, 1, "p", (const uint8_t *)"x", 1), ADY_ERR_INVALID_ARG);
	assert_int_equal(kbs_store_revoke(s, KBS_CHECK_NAME), ADY_ERR_RANGE);
	assert_int_equal(kbs_store_put(s, "db-password", 1, "p", (const uint8_t *)secret, sizeof(secret) - 1), ADY_OK);
	kbs_store_close(s);
	/* On SQLite: the whole file (and its WAL) holds no plaintext. */
	if (strncmp(path, "postgresql:", 11)) {
		static const char *files[] = {"", "-wal"};
		for (size_t i = 0; i < 2; i++) {
			char fn[600];
			FILE *f;
			snprintf(fn, sizeof(fn), "%s%s", path, files[i]);
			f = fopen(fn, "rb");
			if (!f)
				continue;
			{
				static uint8_t buf[1 << 20];
				size_t n = fread(buf, 1, sizeof(buf), f);
				fclose(f);
				assert_true(n > 0);
				assert_null(memmem(buf, n, secret, 8));
				assert_non_null(memmem(buf, n, "db-password", 11)); /* the positive control */
			}
		}
	}
	/* Another key: refused when set, before any request. */
	assert_int_equal(kbs_store_open(path, &s), ADY_OK);
	assert_int_equal(kbs_store_set_master_key(s, other), ADY_ERR_CRYPTO);
	assert_int_equal(kbs_store_get(s, "db-password", &r), ADY_ERR_CONFIG);
	assert_int_equal(kbs_store_set_master_key(s, mkey), ADY_OK);
	assert_int_equal(kbs_store_get(s, "db-password", &r), ADY_OK);
	assert_memory_equal(r.data, secret, sizeof(secret) - 1);
	kbs_resource_fini(&r);
	kbs_store_close(s);
}

static void test_open(void **state)
{
	kbs_store *s = (kbs_store *)1;

	(void)state;
	/* No server there: refused at open, not at the first request. */
	assert_int_equal(kbs_store_open("postgresql:host=/nonexistent-dir connect_timeout=2", &s), ADY_ERR_IO);
	assert_null(s);
	assert_int_equal(kbs_store_open("/nonexistent-dir/x.db", &s), ADY_ERR_IO);
	assert_null(s);
	assert_int_equal(kbs_store_open("", &s), ADY_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_at_rest, setup, teardown),
		cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
