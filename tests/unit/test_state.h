/*
 * The state a unit test opens (gate_ca_test, gate_hosts_test,
 * kbs_store_test): a SQLite file in a temporary place, or, when the
 * environment variable names a libpq connection string (set by
 * tests/integration/gate_pg_test.sh, kbs_pg_test.sh), a fresh database on
 * that PostgreSQL server.
 */
#ifndef ADY_TEST_STATE_H
#define ADY_TEST_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* Creates the empty file /tmp/NAME.XXXXXX and puts its name in path.
 * false when it cannot. */
bool test_state_tmpfile(char *path, size_t n, const char *name);

/* The state to open, in where: when $ENV holds a connection string,
 * "postgresql:CONNINFO dbname=DBNAME" on a database DBNAME dropped and
 * created again (false, with the server's message, when that fails);
 * else sqlite as given. */
bool test_state_where(const char *env, const char *dbname, const char *sqlite, char *where, size_t n);

#endif
