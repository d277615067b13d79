/*
 * adyton usage: what enclaves used, from adytond's usage records
 * (STATE_DIR/usage.db, SQLite; written by src/daemon/usage.c): enclave
 * memory MB-hours, enclave hours and the enclave hosts' CPU seconds, over
 * a time range, for one tenant or all; one row per measure, as
 * `openstack usage show` prints them.  Read-only: it never writes the
 * database or starts a daemon.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

/* Shared with adyton.c's command table (no header of its own: two symbols). */
extern const char ady_cmd_usage_usage[];
int ady_cmd_usage(int argc, char **argv);

const char ady_cmd_usage_usage[] =
	"usage [--db FILE] [--from DATE] [--to DATE] [--tenant NAME] [--json]";

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adyton: usage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: adyton %s\n", ady_cmd_usage_usage);
	return EXIT_USAGE;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (UTC; a trailing Z is fine), or
 * Unix seconds "@N" -> seconds; -1 when malformed. */
static int parse_date(const char *s, double *out)
{
	struct tm tm;
	const char *end;

	if (s[0] == '@') {
		char *e;
		double v = strtod(s + 1, &e);
		if (e == s + 1 || *e || v < 0)
			return -1;
		*out = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || (*end && strcmp(end, "Z") != 0))
		return -1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (double)t;
	return 0;
}

static void iso(double t, char buf[static 32])
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The database the daemon of this user writes: the system daemon's when
 * it exists and we may read it, else the per-user daemon's. */
static const char *default_db(char *buf, size_t cap)
{
	const char *st = getenv("XDG_STATE_HOME"), *home = getenv("HOME"), *env = getenv("ADYTON_STATE_DIR");

	if (env && *env) {
		snprintf(buf, cap, "%s/usage.db", env);
		return buf;
	}
	if (access("/var/lib/adyton/usage.db", R_OK) == 0)
		return "/var/lib/adyton/usage.db";
	if (st && *st)
		snprintf(buf, cap, "%s/adyton/usage.db", st);
	else if (home && *home)
		snprintf(buf, cap, "%s/.local/state/adyton/usage.db", home);
	else
		return NULL;
	return buf;
}

/* see ady_cmd_usage_usage */
int ady_cmd_usage(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },     { "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },     { "tenant", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },         { NULL, 0, NULL, 0 },
	};
	/* Each record's span [t0, t1) is clipped to [from, to); CPU time is
	 * taken in proportion to the part of its span inside. */
	static const char query[] =
		"SELECT COALESCE(SUM(pages * 4096.0 / 1048576.0 * ov / 3600.0), 0),"
		"       COALESCE(SUM(ov / 3600.0), 0),"
		"       COALESCE(SUM(CASE WHEN t1 > t0 THEN cpu_seconds * ov / (t1 - t0) ELSE cpu_seconds END), 0),"
		"       COUNT(DISTINCT boot || ':' || enclave)"
		"  FROM (SELECT *, MAX(0.0, MIN(t1, ?2) - MAX(t0, ?1)) AS ov FROM usage"
		"         WHERE (?3 IS NULL OR tenant = ?3))"
		" WHERE ov > 0 OR (t1 = t0 AND t0 >= ?1 AND t0 < ?2)";
	char dbbuf[4096], from_s[32], to_s[32];
	const char *db_path = NULL, *tenant = NULL;
	double from = 0, to, mbh, eh, cpu;
	sqlite3_int64 enclaves;
	bool json = false;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ch, rc = EXIT_FAIL;

	to = (double)time(NULL);
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":d:f:t:T:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db_path = optarg; break;
		case 'f':
			if (parse_date(optarg, &from))
				return usage_error("--from %s: not YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (UTC) or @SECONDS", optarg);
			break;
		case 't':
			if (parse_date(optarg, &to))
				return usage_error("--to %s: not YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (UTC) or @SECONDS", optarg);
			break;
		case 'T': tenant = optarg; break;
		case 'j': json = true; break;
		case ':': return usage_error("%s needs a value", argv[optind - 1]);
		default: return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (to < from)
		return usage_error("--to is before --from");
	if (tenant) {
		size_t n = strlen(tenant);
		if (n == 0 || n > 31 || strspn(tenant, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
			return usage_error("--tenant %s: not a tenant name ([a-z0-9_], 1-31 bytes)", tenant);
	}
	if (!db_path)
		db_path = default_db(dbbuf, sizeof(dbbuf));
	if (!db_path) {
		fprintf(stderr, "adyton: usage: no database: give --db\n");
		return EXIT_FAIL;
	}
	/* read-only: a reader never creates or changes the records */
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, query, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "adyton: usage: %s: %s\n", db_path, db ? sqlite3_errmsg(db) : "cannot open");
		goto close;
	}
	sqlite3_bind_double(st, 1, from);
	sqlite3_bind_double(st, 2, to);
	if (tenant)
		sqlite3_bind_text(st, 3, tenant, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	if (sqlite3_step(st) != SQLITE_ROW) {
		fprintf(stderr, "adyton: usage: %s: %s\n", db_path, sqlite3_errmsg(db));
		goto close;
	}
	mbh = sqlite3_column_double(st, 0);
	eh = sqlite3_column_double(st, 1);
	cpu = sqlite3_column_double(st, 2);
	enclaves = sqlite3_column_int64(st, 3);
	iso(from, from_s);
	iso(to, to_s);
	if (json) {
		/* tenant names are [a-z0-9_] (checked): nothing to escape */
		printf("{\"start\": \"%s\", \"stop\": \"%s\", \"tenant\": %s%s%s, \"enclave_memory_mb_hours\": %.6f, "
		       "\"enclave_hours\": %.6f, \"cpu_seconds\": %.3f, \"enclaves\": %lld}\n",
		       from_s, to_s, tenant ? "\"" : "", tenant ? tenant : "null", tenant ? "\"" : "", mbh, eh, cpu,
		       (long long)enclaves);
	} else {
		char v[64];
		const char *line = "+-------------------------+----------------------+\n";
		printf("%s| %-23s | %-20s |\n%s", line, "Field", "Value", line);
		printf("| %-23s | %-20s |\n", "Start", from_s);
		printf("| %-23s | %-20s |\n", "Stop", to_s);
		printf("| %-23s | %-20s |\n", "Tenant", tenant ? tenant : "(all)");
		snprintf(v, sizeof(v), "%.2f", mbh);
		printf("| %-23s | %-20s |\n", "Enclave Memory MB-Hours", v);
		snprintf(v, sizeof(v), "%.2f", eh);
		printf("| %-23s | %-20s |\n", "Enclave Hours", v);
		snprintf(v, sizeof(v), "%.2f", cpu);
		printf("| %-23s | %-20s |\n", "CPU Seconds", v);
		snprintf(v, sizeof(v), "%lld", (long long)enclaves);
		printf("| %-23s | %-20s |\n%s", "Enclaves", v, line);
	}
	rc = ferror(stdout) ? EXIT_FAIL : EXIT_OK;
close:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
