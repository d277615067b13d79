#!/bin/bash
# adytond --total-enclaves (issue 15): the enclave table's size.  A daemon
# with --total-enclaves 2 holds two enclaves and refuses a third with the
# limit's name and numbers (adyton run prints the daemon's words); after
# one ends the next launch runs; malformed values are refused at start.
#
# usage: total_enclaves_test.sh ADYTOND ENCLAVE_HOST TESTENC_SIGNED
set -u
adytond=${1:?usage}
host=${2:?usage}
img=${3:?usage}
adyton=${ADYTON:?ADYTON is not set}
tmp=$(mktemp -d)
dpid=
cleanup() {
	jobs -p | xargs -r kill -9 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for bad in 0 -1 x 65537 ""; do
	if "$adytond" --embedded --socket "$tmp/b.sock" --state-dir "$tmp/bstate" --total-enclaves "$bad" \
		2>"$tmp/bad.err"; then
		fail "--total-enclaves '$bad' was accepted"
	else
		grep -q "total-enclaves" "$tmp/bad.err" || fail "--total-enclaves '$bad': $(cat "$tmp/bad.err")"
	fi
done
[ "$failures" -eq 0 ] && echo "ok: --total-enclaves 0, -1, x, 65537 and '' are refused at start"

# Under a hard RLIMIT_NOFILE too low for the default table (1024 enclaves
# need 2 x 1024 + 1088 descriptors), the daemon holds fewer and says so.
(
	ulimit -Sn 1500 && ulimit -Hn 1500 &&
		exec "$adytond" --embedded --socket "$tmp/l.sock" --state-dir "$tmp/lstate" --idle-exit 1
) 2>"$tmp/lim.err" &
lpid=$!
for _ in $(seq 100); do [ -S "$tmp/l.sock" ] && break; sleep 0.05; done
kill "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
grep -q "hard limit 1500 is below the 3136 descriptors 1024 enclaves need: holding at most 206 enclaves" "$tmp/lim.err" &&
	echo "ok: under a hard descriptor limit of 1500 the daemon holds 206 enclaves and says so" ||
	fail "under ulimit -Hn 1500: $(cat "$tmp/lim.err")"

sock=$tmp/s.sock
printf 'signer = any\nallow_debug = yes\nmax_memory = 0\nmax_enclaves = 0\n' >"$tmp/policy"
"$adytond" --embedded --socket "$sock" --state-dir "$tmp/state" --policy "$tmp/policy" --host "$host" \
	--total-enclaves 2 --verbose 2>"$tmp/adytond.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }
export ADYTON_SOCKET=$sock ADYTON_BACKEND=process

count() { "$adyton" ps --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
wait_count() {
	for _ in $(seq 200); do [ "$(count)" = "$1" ] && return 0; sleep 0.05; done
	return 1
}
mkfifo "$tmp/in1" "$tmp/in2"
"$adyton" run --in "$tmp/in1" "$img" >/dev/null 2>"$tmp/h1.err" &
h1=$!
"$adyton" run --in "$tmp/in2" "$img" >/dev/null 2>"$tmp/h2.err" &
wait_count 2 || fail "two enclaves did not start under --total-enclaves 2: $(cat "$tmp"/h*.err)"
if echo x | "$adyton" run --in - "$img" >/dev/null 2>"$tmp/third.err"; then
	fail "a third enclave ran under --total-enclaves 2"
else
	grep -q "enclave table (--total-enclaves) of 2: request 1 enclave, 2 held, 0 free" "$tmp/third.err" &&
		echo "ok: the third is refused: $(cat "$tmp/third.err")" ||
		fail "the third's refusal does not name the limit: $(cat "$tmp/third.err")"
fi
echo x >"$tmp/in1"
wait "$h1" || fail "the first holder failed: $(cat "$tmp/h1.err")"
wait_count 1 || fail "the first enclave did not end"
if [ "$(echo ping | "$adyton" run --in - "$img" 2>"$tmp/again.err")" = ping ]; then
	echo "ok: once one ended, the next launch runs"
else
	fail "after one ended the next launch failed: $(cat "$tmp/again.err")"
fi
echo x >"$tmp/in2"
[ "$failures" -eq 0 ] || { tail -20 "$tmp/adytond.log"; echo "$failures failures"; exit 1; }
echo "all --total-enclaves checks passed"
