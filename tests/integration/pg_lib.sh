# Sourced by the integration scripts that run suites on PostgreSQL: a
# private server (initdb + pg_ctl in a temporary directory, UNIX socket
# only, no TCP), stopped and removed at exit.  As root, the server runs as
# the "postgres" user (initdb refuses root).  Skipped (77) when the
# PostgreSQL server binaries are not installed (scripts/deps.sh).
#
#   . "$(dirname "$0")/pg_lib.sh"     # sets pgbin, tmp, conn ("host=$tmp user=postgres"), failures=0
#   as_pg "$pgbin/psql" ...           # a server command, as the server's user
#   pg_createdb NAME                  # exits 1 on failure
set -u
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
_pg_stop() {
	as_pg "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap _pg_stop EXIT
as_pg "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 >"$tmp/initdb.log" 2>&1 ||
	{ echo "FAIL: initdb"; cat "$tmp/initdb.log"; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w \
	-o "-k $tmp -c listen_addresses= -c fsync=off" start >/dev/null ||
	{ echo "FAIL: pg_ctl start"; cat "$tmp/pg.log"; exit 1; }
conn="host=$tmp user=postgres"
failures=0

pg_createdb() { as_pg "$pgbin/createdb" -h "$tmp" -U postgres "$1" || { echo "FAIL: createdb $1"; exit 1; }; }
