/*
 * gate_hosts_test - the gate's hosts table (apps/gate/hosts.h, hostdb.c):
 * a row reads back as written (64-bit counts, PCR 10, both keys); two
 * gates on one state (two handles, as two processes hold two
 * connections) see each other's verdicts at once: one writes a failed
 * round and the other's admission (issue --host) refuses the host; one
 * forgets the host and the other reads no row, lists none, and its round
 * under way does not write the row back; a state that cannot be opened
 * is an error; a table from before the TPM boot columns (resetCount,
 * restartCount) gets them when a gate opens it, its rows kept with no
 * boot known.  On SQLite (a temporary file), or on PostgreSQL when
 * $GATE_TEST_PG holds a libpq connection string to a server where a
 * database may be created (tests/integration/gate_pg_test.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "hosts.h"
#include "test_state.h"

typedef struct fixture {
	char db_path[64];
	char where[512];
	gate_hosts *a, *b;           /* two gates on one state */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char sqlite[80];

	assert_non_null(f);
	assert_true(test_state_tmpfile(f->db_path, sizeof(f->db_path), "gate_hosts_test"));
	snprintf(sqlite, sizeof(sqlite), "sqlite:%s", f->db_path);
	if (!test_state_where("GATE_TEST_PG", "gate_hosts_test", sqlite, f->where, sizeof(f->where)))
		return -1;
	assert_int_equal(gate_hosts_open(f->where, &f->a), ADY_OK);
	assert_int_equal(gate_hosts_open(f->where, &f->b), ADY_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	gate_hosts_close(f->a);
	gate_hosts_close(f->b);
	unlink(f->db_path);
	free(f);
	return 0;
}

/* A row as serve writes a host that passed now (stored false: new). */
static void passed_row(gate_host_row *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	gate_pcr10_init(&r->verified);
	r->checked = (int64_t)time(NULL);
	r->ok = true;
	r->verified.count = 5000000000ULL; /* past 32 bits */
	r->verified.offset = 1ULL << 40;
	memset(r->verified.sha256, 0xab, 32);
	r->entries_checked = 12;
	r->ahead = 3;
	r->have_platform_key = true;
	memset(r->platform_key, 0x5a, 64);
	r->have_coloc_key = true;
	memset(r->coloc_key, 0xc3, 64);
	r->boot.known = true;
	r->boot.reset_count = 4000000000u; /* past 31 bits */
	r->boot.restart_count = 3;
}

static void read_back(void **state)
{
	fixture *f = *state;
	gate_host_row w, r;

	passed_row(&w, "host-1");
	assert_int_equal(gate_hosts_get(f->a, "host-1", &r), ADY_ERR_STATE);
	assert_int_equal(gate_hosts_put(f->a, &w), ADY_OK);
	assert_int_equal(gate_hosts_get(f->a, "host-1", &r), ADY_OK);
	assert_true(r.stored);
	assert_string_equal(r.name, "host-1");
	assert_int_equal(r.checked, w.checked);
	assert_true(r.ok);
	assert_string_equal(r.failed, "");
	assert_true(r.verified.count == w.verified.count);
	assert_true(r.verified.offset == w.verified.offset);
	assert_memory_equal(r.verified.sha256, w.verified.sha256, 32);
	assert_int_equal(r.entries_checked, 12);
	assert_int_equal(r.ahead, 3);
	assert_true(r.have_platform_key && r.have_coloc_key);
	assert_memory_equal(r.platform_key, w.platform_key, 64);
	assert_memory_equal(r.coloc_key, w.coloc_key, 64);
	assert_true(r.boot.known);
	assert_true(r.boot.reset_count == 4000000000u);
	assert_int_equal(r.boot.restart_count, 3);
	/* A failed round replaces the row whole: keys gone, reason kept. */
	r.ok = false;
	snprintf(r.failed, sizeof(r.failed), "policy");
	snprintf(r.reason, sizeof(r.reason), "entry 4: /bin/evil: it's not in the policy");
	r.have_platform_key = r.have_coloc_key = false;
	assert_int_equal(gate_hosts_put(f->a, &r), ADY_OK);
	assert_int_equal(gate_hosts_get(f->a, "host-1", &w), ADY_OK);
	assert_false(w.ok);
	assert_string_equal(w.failed, "policy");
	assert_string_equal(w.reason, "entry 4: /bin/evil: it's not in the policy");
	assert_false(w.have_platform_key || w.have_coloc_key);
}

/* SQL on the fixture's state, outside the gate (as an older gate's table). */
static void raw_sql(fixture *f, const char *sql)
{
	if (!strncmp(f->where, "postgresql:", 11)) {
		PGconn *c = PQconnectdb(f->where + 11);
		PGresult *r = PQexec(c, sql);

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
	}
}

/* A table written by a gate from before the boot columns: opening it adds
 * them; its rows read with no boot known (the next good round stores it). */
static void boot_columns_added(void **state)
{
	fixture *f = *state;
	gate_host_row w, r;
	gate_hosts *c = NULL;

	passed_row(&w, "host-1");
	assert_int_equal(gate_hosts_put(f->a, &w), ADY_OK);
	gate_hosts_close(f->a);
	gate_hosts_close(f->b);
	f->a = f->b = NULL;
	raw_sql(f, "ALTER TABLE gate_hosts DROP COLUMN reset_count");
	raw_sql(f, "ALTER TABLE gate_hosts DROP COLUMN restart_count");
	assert_int_equal(gate_hosts_open(f->where, &c), ADY_OK);
	assert_int_equal(gate_hosts_get(c, "host-1", &r), ADY_OK);
	assert_false(r.boot.known);
	assert_true(r.verified.count == w.verified.count);
	assert_memory_equal(r.verified.sha256, w.verified.sha256, 32);
	r.boot = w.boot;
	assert_int_equal(gate_hosts_put(c, &r), ADY_OK);
	gate_hosts_close(c);
	/* opened again: nothing to add, the boot reads back */
	assert_int_equal(gate_hosts_open(f->where, &f->a), ADY_OK);
	assert_int_equal(gate_hosts_get(f->a, "host-1", &r), ADY_OK);
	assert_true(r.boot.known && r.boot.reset_count == 4000000000u && r.boot.restart_count == 3);
}

static void count_row(void *ctx, const gate_host_row *r)
{
	(void)r;
	++*(int *)ctx;
}

static int rows(gate_hosts *h)
{
	int n = 0;

	assert_int_equal(gate_hosts_each(h, count_row, &n), ADY_OK);
	return n;
}

static void two_gates_share(void **state)
{
	fixture *f = *state;
	uint8_t nonce[32] = {0}, q[16] = {0};
	gate_host_row w, r, in_round;
	const char *failed = NULL;
	char reason[512];

	/* Gate A's serve: host-1 passed; gate B admits it as far as the
	 * host check goes (the garbage quote then fails co-location). */
	passed_row(&w, "host-1");
	assert_int_equal(gate_hosts_put(f->a, &w), ADY_OK);
	assert_int_equal(gate_hosts_get(f->b, "host-1", &r), ADY_OK);
	assert_true(r.ok);
	assert_int_equal(gate_host_admit(f->where, "host-1", 300, "tpm", NULL, q, sizeof(q), nonce, &r, &failed, reason,
					 sizeof(reason)),
			 0);
	assert_string_equal(failed, "colocation");

	/* A's next round fails the host: B refuses it at once. */
	assert_int_equal(gate_hosts_get(f->a, "host-1", &w), ADY_OK);
	w.ok = false;
	snprintf(w.failed, sizeof(w.failed), "pcr_mismatch");
	snprintf(w.reason, sizeof(w.reason), "PCR 10 does not match the log");
	assert_int_equal(gate_hosts_put(f->a, &w), ADY_OK);
	assert_int_equal(gate_host_admit(f->where, "host-1", 300, "tpm", NULL, q, sizeof(q), nonce, &r, &failed, reason,
					 sizeof(reason)),
			 0);
	assert_string_equal(failed, "host");
	assert_non_null(strstr(reason, "failed its last check (pcr_mismatch)"));

	/* A reads the row for a round; B forgets the host meanwhile: A sees
	 * no row, lists none, and its round does not write the row back. */
	assert_int_equal(gate_hosts_get(f->a, "host-1", &in_round), ADY_OK);
	assert_int_equal(gate_hosts_forget(f->b, "host-1"), ADY_OK);
	assert_int_equal(gate_hosts_get(f->a, "host-1", &r), ADY_ERR_STATE);
	assert_int_equal(rows(f->a), 0);
	in_round.ok = true;
	assert_int_equal(gate_hosts_put(f->a, &in_round), ADY_ERR_STATE);
	assert_int_equal(gate_hosts_get(f->b, "host-1", &r), ADY_ERR_STATE);
	assert_int_equal(gate_host_admit(f->where, "host-1", 300, "tpm", NULL, q, sizeof(q), nonce, &r, &failed, reason,
					 sizeof(reason)),
			 0);
	assert_non_null(strstr(reason, "never checked"));
	assert_int_equal(gate_hosts_forget(f->a, "host-1"), ADY_ERR_STATE);

	/* The next round starts anew (a new row); B lists it, and a second
	 * host, in name order. */
	passed_row(&w, "host-1");
	assert_int_equal(gate_hosts_put(f->a, &w), ADY_OK);
	passed_row(&w, "host-0");
	assert_int_equal(gate_hosts_put(f->b, &w), ADY_OK);
	assert_int_equal(rows(f->b), 2);
	assert_int_equal(rows(f->a), 2);
}

/* A state that cannot be opened is an error, not a silent fallback. */
static void state_unreachable(void **state)
{
	gate_hosts *h = (gate_hosts *)1;

	(void)state;
	assert_int_equal(gate_hosts_open("postgresql:host=/nonexistent/gate-test dbname=x connect_timeout=2", &h),
			 ADY_ERR_IO);
	assert_null(h);
	h = (gate_hosts *)1;
	assert_int_equal(gate_hosts_open("/nonexistent/dir/gate.db", &h), ADY_ERR_IO);
	assert_null(h);
	h = (gate_hosts *)1;
	assert_int_equal(gate_hosts_open("sqlite:", &h), ADY_ERR_INVALID_ARG);
	assert_null(h);
	gate_hosts_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(two_gates_share, setup, teardown),
		cmocka_unit_test_setup_teardown(boot_columns_added, setup, teardown),
		cmocka_unit_test(state_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
