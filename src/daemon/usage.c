/*
 * Usage records of adytond: per enclave and accounting interval, its
 * tenant, owner, pages and the CPU time its host used, in SQLite (Debian's
 * libsqlite3, WAL, synchronous=FULL) at state_dir/usage.db.
 *
 * Every ADY_USAGE_INTERVAL seconds (--usage-interval) the loop writes, in
 * one transaction, one row per enclave for the time since that enclave's
 * last row: rows of one enclave cover adjacent, disjoint spans
 * [t0, t1), keyed (boot, enclave, t0) with a random id per daemon run, so
 * nothing is ever counted twice, also not after a restart.  An enclave's
 * last span ends when its host is reaped (with the host's exact CPU time
 * from wait4) and is written with the next interval's transaction (not one
 * fsync per exit); at a clean stop every span is written.  A daemon
 * killed with SIGKILL loses at most the span since the last interval (its
 * enclaves die with it: PR_SET_PDEATHSIG).  Usage is what `adyton usage`
 * reads (src/tools/usage.c); the schema is in docs/operations.md.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/internal.h"

static sqlite3 *db;
static sqlite3_stmt *ins;
static char boot[33];
static int interval_ms;
static int64_t next_tick;

/* Last spans of enclaves that ended since the last interval: written with
 * the next interval's transaction, not one fsync per exit (a SIGKILL loses
 * them as it loses the running enclaves' spans: at most one interval). */
#define PENDING_MAX 1024
typedef struct span {
	uint64_t id;
	char tenant[32];
	uint32_t uid;
	int64_t t0, t1;
	uint64_t pages;
	double cpu;
} span;
static span pending[PENDING_MAX];
static uint32_t npending;

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS usage("
	"  boot TEXT NOT NULL,"         /* random id of one daemon run */
	"  enclave INTEGER NOT NULL,"   /* the daemon's enclave id in that run */
	"  tenant TEXT NOT NULL,"       /* '' for none */
	"  uid INTEGER NOT NULL,"
	"  t0 REAL NOT NULL,"           /* Unix seconds: the span [t0, t1) */
	"  t1 REAL NOT NULL,"
	"  pages INTEGER NOT NULL,"     /* 4 KiB pages held during the span */
	"  cpu_seconds REAL NOT NULL,"  /* the host's CPU time in the span */
	"  PRIMARY KEY (boot, enclave, t0),"
	"  CHECK (t1 >= t0 AND pages >= 0 AND cpu_seconds >= 0));"
	"CREATE INDEX IF NOT EXISTS usage_time ON usage(t1, t0);";

static int64_t now_real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t now_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The CPU seconds (user + system) of a live child, from /proc; -1 when
 * unreadable (it is being reaped). */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold anything: fields after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* see internal.h */
int ady_usage_open(ady_daemon *d, const char *state_dir, int interval_s)
{
	char path[4096];
	uint8_t r[16];

	if (snprintf(path, sizeof(path), "%s/usage.db", state_dir) >= (int)sizeof(path))
		return -1;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (int i = 0; i < 16; i++)
		snprintf(boot + 2 * i, 3, "%02x", r[i]);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK)
		goto fail;
	/* the file holds who ran what when: not for other users */
	if (chmod(path, 0600))
		goto fail;
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO usage(boot, enclave, tenant, uid, t0, t1, pages, cpu_seconds) "
			       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &ins, NULL) != SQLITE_OK)
		goto fail;
	interval_ms = interval_s * 1000;
	next_tick = now_mono_ms() + interval_ms;
	ady_log_info(d, "usage records in %s every %d s", path, interval_s);
	return 0;

fail:
	ady_log_err("usage records %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_close(db);
	db = NULL;
	return -1;
}

/* see internal.h */
void ady_usage_start(ady_denclave *e)
{
	e->acct_t = now_real_ms();
	e->acct_cpu = 0;
}

static bool insert(const span *x)
{
	sqlite3_reset(ins);
	sqlite3_bind_text(ins, 1, boot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, (sqlite3_int64)x->id);
	sqlite3_bind_text(ins, 3, x->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 4, (sqlite3_int64)x->uid);
	sqlite3_bind_double(ins, 5, (double)x->t0 / 1000.0);
	sqlite3_bind_double(ins, 6, (double)x->t1 / 1000.0);
	sqlite3_bind_int64(ins, 7, (sqlite3_int64)x->pages);
	sqlite3_bind_double(ins, 8, x->cpu);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		ady_log_err("usage record of enclave %" PRIu64 ": %s", x->id, sqlite3_errmsg(db));
		return false;
	}
	return true;
}

/* The span of e up to now (ms), the host's CPU total so far cpu (< 0:
 * unknown, then nothing of it is counted now). */
static span span_of(const ady_denclave *e, int64_t now, double cpu)
{
	span x = {.id = e->id, .uid = (uint32_t)e->owner, .t0 = e->acct_t, .t1 = now, .pages = e->pages,
		  .cpu = cpu >= e->acct_cpu ? cpu - e->acct_cpu : 0};

	memcpy(x.tenant, e->tenant, sizeof(x.tenant));
	x.tenant[sizeof(x.tenant) - 1] = '\0';
	return x;
}

static void record(ady_denclave *e, int64_t now, double cpu)
{
	span x;

	if (!db || !e->acct_t || now < e->acct_t)
		return;
	x = span_of(e, now, cpu);
	if (!insert(&x))
		return;
	e->acct_t = now;
	if (cpu >= e->acct_cpu)
		e->acct_cpu = cpu;
}

/* see internal.h */
int ady_usage_due(bool idle)
{
	int64_t left;

	/* an idle daemon sleeps, once the spans of what ended are written */
	if (!db || (idle && npending == 0))
		return -1;
	left = next_tick - now_mono_ms();
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* see internal.h */
void ady_usage_tick(ady_daemon *d, bool force)
{
	int64_t now;

	if (!db || (!force && ady_usage_due(false) != 0))
		return;
	now = now_real_ms();
	next_tick = now_mono_ms() + interval_ms;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return;
	for (uint32_t i = 0; i < npending; i++)
		(void)insert(&pending[i]);
	npending = 0;
	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_FREE && e->acct_t)
			record(e, now, proc_cpu(e->host_pid));
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		ady_log_err("usage records: %s", sqlite3_errmsg(db));
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
}

/* see internal.h */
void ady_usage_end(ady_denclave *e, double cpu)
{
	int64_t now = now_real_ms();

	if (db && e->acct_t && now >= e->acct_t) {
		if (npending == PENDING_MAX)
			record(e, now, cpu); /* a burst of exits: its own commit */
		else
			pending[npending++] = span_of(e, now, cpu);
	}
	e->acct_t = 0;
}

/* see internal.h */
void ady_usage_close(void)
{
	sqlite3_finalize(ins);
	ins = NULL;
	sqlite3_close(db);
	db = NULL;
}
