/* The state a unit test opens: see test_state.h. */
#include "test_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libpq-fe.h>

bool test_state_tmpfile(char *path, size_t n, const char *name)
{
	int fd;

	if ((size_t)snprintf(path, n, "/tmp/%s.XXXXXX", name) >= n || (fd = mkstemp(path)) < 0)
		return false;
	close(fd);
	return true;
}

/* A fresh PostgreSQL database dbname (dropped and created again). */
static bool pg_fresh(const char *pgc, const char *dbname)
{
	char ci[400], sql[200];
	PGconn *c;
	PGresult *r;
	bool ok;

	snprintf(ci, sizeof(ci), "%s dbname=postgres", pgc);
	c = PQconnectdb(ci);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	r = PQexec(c, sql);
	ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		fprintf(stderr, "PostgreSQL: %s\n", PQerrorMessage(c));
	PQfinish(c);
	return ok;
}

bool test_state_where(const char *env, const char *dbname, const char *sqlite, char *where, size_t n)
{
	const char *pgc = getenv(env);

	if (pgc && *pgc) {
		if (!pg_fresh(pgc, dbname))
			return false;
		snprintf(where, n, "postgresql:%s dbname=%s", pgc, dbname);
	} else {
		snprintf(where, n, "%s", sqlite);
	}
	return true;
}
