/*
 * statedb.c - opening a table of the gate's state (statedb.h), the same
 * for each table: on PostgreSQL quiet (no "already exists, skipping"
 * notices), gates starting at once serializing their CREATE on a
 * transaction-scoped advisory lock; on SQLite with a busy timeout.
 */
#include <stdio.h>
#include <string.h>

#include "statedb.h"

#define PREFIX_PG "postgresql:"

/* Statements without parameters (several may follow each other). */
static int pg_simple(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok;
}

/* see statedb.h */
PGresult *gate_pg_run(PGconn *c, ExecStatusType want, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);

	if (r && PQresultStatus(r) == want)
		return r;
	PQclear(r);
	return NULL;
}

static ady_err pg_open(const char *conninfo, const gate_table *t, PGconn **out)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r = NULL;
	char lock[64];
	int ok;

	*out = NULL;
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)", t->pg_lock);
	ok = PQstatus(c) == CONNECTION_OK && pg_simple(c, "SET client_min_messages = warning") &&
	     pg_simple(c, "BEGIN") && (r = gate_pg_run(c, PGRES_TUPLES_OK, lock, 0, NULL)) != NULL &&
	     pg_simple(c, t->pg_schema) && (!t->pg_upgrade || pg_simple(c, t->pg_upgrade)) &&
	     pg_simple(c, "COMMIT");
	PQclear(r);
	if (!ok) {
		PQfinish(c);
		return ADY_ERR_IO;
	}
	*out = c;
	return ADY_OK;
}

/* see statedb.h */
const char *gate_state_path(const char *where)
{
	return strncmp(where, "sqlite:", 7) == 0 ? where + 7 : where;
}

/* see statedb.h */
ady_err gate_state_open(const char *where, const gate_table *t, sqlite3 **db, PGconn **pg)
{
	const char *path = gate_state_path(where);

	*db = NULL;
	*pg = NULL;
	if (!*path)
		return ADY_ERR_INVALID_ARG;
	if (strncmp(where, PREFIX_PG, strlen(PREFIX_PG)) == 0)
		return pg_open(where + strlen(PREFIX_PG), t, pg);
	if (sqlite3_open_v2(path, db, t->sqlite_flags, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(*db, t->sqlite_busy_ms) != SQLITE_OK ||
	    sqlite3_exec(*db, t->sqlite_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    (t->sqlite_upgrade && !t->sqlite_upgrade(*db))) {
		sqlite3_close(*db);
		*db = NULL;
		return ADY_ERR_IO;
	}
	return ADY_OK;
}
