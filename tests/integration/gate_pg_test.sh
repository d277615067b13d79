#!/bin/bash
# The gate's state on PostgreSQL (issue 14): a private server
# (pg_lib.sh: initdb + pg_ctl in a temporary directory, UNIX socket only),
# then the same suites as on SQLite against it: gate_ca_test (certificates, CRL,
# nonces, and two gates on one database seeing each other's issued and
# revoked certificates), gate_hosts_test (the hosts table: two gates see
# each other's verdicts and forgets), gate_nginx_test.sh (every `adyton-gate` call a
# gate process of its own on the shared database: host verdicts and
# forgets included, its host rows seeded with psql) and, when given,
# gate_agent_test.sh (serve's rounds on PostgreSQL, read by other gate
# processes; another gate's forget seen by the running serve).  Skipped
# (77) when the PostgreSQL server binaries are not installed.
# usage: gate_pg_test.sh GATE_CA_TEST GATE_HOSTS_TEST GATE_NGINX_TEST_SH ARGS-OF-GATE_NGINX_TEST_SH...
#                        [-- GATE_AGENT_TEST_SH ARGS-OF-GATE_AGENT_TEST_SH...]
set -u
ca_test=$1 hosts_test=$2 nginx_test=$3
shift 3
nginx_args=() agent_args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do nginx_args+=("$1"); shift; done
[ $# -gt 0 ] && { shift; agent_args=("$@"); }
. "$(dirname "$0")/pg_lib.sh"

GATE_TEST_PG="$conn" "$ca_test" || { echo "FAIL: gate_ca_test on PostgreSQL"; failures=$((failures + 1)); }
GATE_TEST_PG="$conn" "$hosts_test" || { echo "FAIL: gate_hosts_test on PostgreSQL"; failures=$((failures + 1)); }
pg_createdb gate_e2e
db="postgresql:$conn dbname=gate_e2e"
GATE_TEST_DB="$db" GATE_TEST_PSQL="$pgbin/psql" "$nginx_test" "${nginx_args[@]}" ||
	{ echo "FAIL: gate_nginx_test on PostgreSQL"; failures=$((failures + 1)); }
# The rows are in PostgreSQL, where the SQLite default would not put them.
n=$(as_pg "$pgbin/psql" -h "$tmp" -U postgres -d gate_e2e -Atc "SELECT count(*) || ' ' || count(*) FILTER (WHERE revoked != 0) FROM gate_certs")
[ "$n" = "4 3" ] || { echo "FAIL: gate_certs on PostgreSQL holds '$n', want 4 certificates, 3 revoked"; failures=$((failures + 1)); }
n=$(as_pg "$pgbin/psql" -h "$tmp" -U postgres -d gate_e2e -Atc "SELECT string_agg(name || ':' || ok, ' ' ORDER BY name) FROM gate_hosts")
[ "$n" = "host-1:1" ] || { echo "FAIL: gate_hosts on PostgreSQL holds '$n', want host-1 (host-2 forgotten)"; failures=$((failures + 1)); }
# A database that does not exist: an error naming the state, for the hosts table as for the others.
gate=${nginx_args[0]}
"$gate" hosts --state "postgresql:$conn dbname=no_such_db" 2>"$tmp/err.out" >/dev/null; rc=$?
[ $rc = 2 ] && grep -q "dbname=no_such_db: I/O error" "$tmp/err.out" ||
	{ echo "FAIL: hosts on a missing database: rc=$rc $(cat "$tmp/err.out")"; failures=$((failures + 1)); }
if [ ${#agent_args[@]} -gt 0 ]; then
	pg_createdb gate_agent
	GATE_TEST_DB="postgresql:$conn dbname=gate_agent" GATE_TEST_PSQL="$pgbin/psql" "${agent_args[@]}" ||
		{ echo "FAIL: gate_agent_test on PostgreSQL"; failures=$((failures + 1)); }
	# In PostgreSQL: host-1's three certificates (the demo, tpm, hmac), revoked by serve's failing round.
	n=$(as_pg "$pgbin/psql" -h "$tmp" -U postgres -d gate_agent -Atc "SELECT count(*) || ' ' || count(*) FILTER (WHERE revoked != 0) FROM gate_certs WHERE host = 'host-1'")
	[ "$n" = "3 3" ] || { echo "FAIL: gate_certs of host-1 on PostgreSQL: '$n', want 3 certificates, 3 revoked"; failures=$((failures + 1)); }
fi
if [ "$failures" -ne 0 ]; then
	echo "--- postgres log"; tail -30 "$tmp/pg.log"; exit 1
fi
echo "PASS"
