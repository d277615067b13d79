/*
 * statedb.h - where a table of the gate's state lives (certdb.c's
 * gate_certs, hostdb.c's gate_hosts): the SQLite file ("sqlite:PATH" or
 * PATH), or the PostgreSQL database ("postgresql:CONNINFO", libpq) that
 * several gates share.  The opener creates the table if it is missing;
 * each table's own statements stay with it.
 */
#ifndef ADY_GATE_STATEDB_H
#define ADY_GATE_STATEDB_H

#include <libpq-fe.h>
#include <sqlite3.h>

#include "adyton/error.h"

/* A table of the state, as each backend creates it. */
typedef struct gate_table {
	const char *sqlite_schema;       /* run as it is */
	int sqlite_flags;                /* for sqlite3_open_v2 */
	int sqlite_busy_ms;
	int (*sqlite_upgrade)(sqlite3 *); /* NULL, or 1 when the table is as this gate writes it */
	const char *pg_schema;           /* run under the advisory lock, one statement after the other */
	const char *pg_upgrade;          /* NULL, or run after pg_schema under the lock */
	int pg_lock;                     /* the advisory lock's key, one per table (16016 is the store's) */
} gate_table;

/* The SQLite path of where ("sqlite:PATH" or PATH; an empty string when
 * there is none). */
const char *gate_state_path(const char *where);

/* Opens where (see above) and creates t there: exactly one of *db and *pg
 * is set on success.  ADY_ERR_INVALID_ARG when where names no path,
 * ADY_ERR_IO when the database cannot be opened or the table created. */
ady_err gate_state_open(const char *where, const gate_table *t, sqlite3 **db, PGconn **pg);

/* sql with n text parameters on PostgreSQL; the result if its status is
 * want, else NULL. */
PGresult *gate_pg_run(PGconn *c, ExecStatusType want, const char *sql, int n, const char *const *vals);

#endif
