#!/bin/bash
# The key broker's suites on PostgreSQL (issue 16): a private server
# (initdb + pg_ctl in a temporary directory, UNIX socket only, no TCP),
# then kbs_store_test and kbs_test.sh against it.  As root, the server
# runs as the "postgres" user (initdb refuses root).  Skipped (77) when
# the PostgreSQL server binaries are not installed (scripts/deps.sh).
# usage: kbs_pg_test.sh KBS_STORE_TEST KBS_TEST_SH ARGS-OF-KBS_TEST_SH...
set -u
store_test=$1 kbs_test=$2
shift 2
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { echo "SKIP: PostgreSQL server not installed"; exit 77; }

tmp=$(mktemp -d)
as_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || { echo "SKIP: running as root and there is no postgres user"; exit 77; }
	chown postgres "$tmp"
	as_pg() { runuser -u postgres -- "$@"; }
fi
chmod 711 "$tmp"
stop() {
	as_pg "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap stop EXIT
as_pg "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 >"$tmp/initdb.log" 2>&1 ||
	{ echo "FAIL: initdb"; cat "$tmp/initdb.log"; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w \
	-o "-k $tmp -c listen_addresses= -c fsync=off" start >/dev/null ||
	{ echo "FAIL: pg_ctl start"; cat "$tmp/pg.log"; exit 1; }
conn="host=$tmp user=postgres"
failures=0

KBS_TEST_PG="$conn" "$store_test" || { echo "FAIL: kbs_store_test on PostgreSQL"; failures=$((failures + 1)); }
as_pg "$pgbin/createdb" -h "$tmp" -U postgres kbs_e2e || { echo "FAIL: createdb"; exit 1; }
KBS_TEST_PGDUMP="$pgbin/pg_dump -h $tmp -U postgres kbs_e2e" KBS_TEST_DB="postgresql:$conn dbname=kbs_e2e" "$kbs_test" "$@" ||
	{ echo "FAIL: kbs_test on PostgreSQL"; failures=$((failures + 1)); }
if [ "$failures" -ne 0 ]; then
	echo "--- postgres log"; cat "$tmp/pg.log"; exit 1
fi
echo "PASS"
