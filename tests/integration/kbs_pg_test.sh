#!/bin/bash
# The key broker's suites on PostgreSQL (issue 16): a private server
# (pg_lib.sh: initdb + pg_ctl in a temporary directory, UNIX socket only),
# then kbs_store_test and kbs_test.sh against it.  Skipped (77) when the
# PostgreSQL server binaries are not installed.
# usage: kbs_pg_test.sh KBS_STORE_TEST KBS_TEST_SH ARGS-OF-KBS_TEST_SH...
set -u
store_test=$1 kbs_test=$2
shift 2
. "$(dirname "$0")/pg_lib.sh"

KBS_TEST_PG="$conn" "$store_test" || { echo "FAIL: kbs_store_test on PostgreSQL"; failures=$((failures + 1)); }
pg_createdb kbs_e2e
KBS_TEST_PGDUMP="$pgbin/pg_dump -h $tmp -U postgres kbs_e2e" KBS_TEST_DB="postgresql:$conn dbname=kbs_e2e" "$kbs_test" "$@" ||
	{ echo "FAIL: kbs_test on PostgreSQL"; failures=$((failures + 1)); }
if [ "$failures" -ne 0 ]; then
	echo "--- postgres log"; cat "$tmp/pg.log"; exit 1
fi
echo "PASS"
