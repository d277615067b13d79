#!/bin/bash
# bench/kbs on PostgreSQL: a private server (initdb + pg_ctl in a
# temporary directory, UNIX socket only, default durability: fsync on;
# $KBS_BENCH_PG_OPTS adds server options, e.g. "-c synchronous_commit=off"),
# then the benchmark against it.  As root, the server runs as "postgres".
# usage: pg.sh KBS_BENCH [ARGS...]   (e.g. taskset -c 0 bench/kbs/pg.sh build/bench/kbs/kbs -n 2000)
set -eu
bench=$1
shift
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL server not installed (scripts/deps.sh)"; exit 1; }
tmp=$(mktemp -d)
as_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	chown postgres "$tmp"
	as_pg() { runuser -u postgres -- "$@"; }
fi
chmod 711 "$tmp"
trap 'as_pg "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1; rm -rf "$tmp"' EXIT
as_pg "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w -o "-k $tmp -c listen_addresses= ${KBS_BENCH_PG_OPTS:-}" start >/dev/null
as_pg "$pgbin/createdb" -h "$tmp" -U postgres kbs_bench
"$bench" --db "postgresql:host=$tmp user=postgres dbname=kbs_bench" --audit "$tmp/audit.log" "$@"
