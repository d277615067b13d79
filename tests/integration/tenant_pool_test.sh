#!/bin/bash
# The enclave memory pool and tenant limits of adytond (issue 15, parts 1-2),
# against a system daemon on a temporary socket, with two tenants: ops (root)
# and acme (nobody, through setpriv).
#  - pages: `adyton ps` shows each enclave's pages = the pages its measured
#    layout adds (`adyton inspect --pages`); the pool's free pages (which a
#    refusal names) = total - the sum of the running enclaves' pages;
#  - exits: after a normal exit, an abort, a crash (seccomp kills the host),
#    SIGKILL of the host and SIGKILL of the application, every page is back;
#  - limits: a launch that fits a tenant's memory exactly is accepted, one a
#    page too big is refused with the limit, the request and what is free
#    (adyton run prints the daemon's words); the enclave count limit; the
#    pool itself (one page too small for the next launch);
#  - SIGHUP: a lowered quota refuses the next launch only: what runs keeps
#    running.
#
# usage: tenant_pool_test.sh ADYTOND ENCLAVE_HOST TESTENC_SIGNED BIGENC_SIGNED
set -u
adytond=${1:?usage}
host=${2:?usage}
img=${3:?usage}
big=${4:?usage}
adyton=${ADYTON:?ADYTON is not set}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (a system daemon, and nobody as the second tenant)"
	exit 77
fi
command -v setpriv >/dev/null || { echo "SKIP: setpriv is not installed"; exit 77; }
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }
nobody_uid=$(id -u nobody)
nogroup=$(id -gn nobody)

tmp=$(mktemp -d)
chmod 755 "$tmp"
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	jobs -p | xargs -r kill -9 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

sock=$tmp/run/adytond.sock
mkdir -m 755 "$tmp/run"
as_nobody="setpriv --reuid=nobody --regid=$nogroup --clear-groups env ADYTON_SOCKET=$sock ADYTON_BACKEND=process"
as_root="env ADYTON_SOCKET=$sock ADYTON_BACKEND=process"

# pages of the measured layout, from the image alone
T=$("$adyton" inspect --json --pages "$img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["pages"]))')
[ "${T:-0}" -gt 0 ] || { echo "FAIL: no pages in adyton inspect --pages $img"; exit 1; }
echo "testenc: $T pages of 4 KiB (measured layout)"

# Pool: room for exactly 4 testenc.  acme: room for exactly 2, at most 3.
POOL=$((4 * T))
write_policy() { # acme's memory in pages, acme's enclave limit
	cat >"$tmp/policy.new" <<-EOF
	signer = any
	allow_debug = yes
	max_memory = 0
	epc = $((POOL * 4))K
	tenant ops = uid:0
	tenant acme = uid:$nobody_uid,memory:$(($1 * 4))K,enclaves:$2
	EOF
	mv "$tmp/policy.new" "$tmp/policy"
}
write_policy $((2 * T)) 3

"$adytond" --system --socket "$sock" --state-dir "$tmp/state" --policy "$tmp/policy" --host "$host" --verbose \
	2>"$tmp/adytond.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }

# hold NAME AS: an enclave that runs until release NAME (adyton run waits
# in open() of its input FIFO, after the launch)
declare -A holder
hold() {
	rm -f "$tmp/$1.fifo"
	mkfifo -m 666 "$tmp/$1.fifo"
	if [ "$2" = nobody ]; then
		$as_nobody "$adyton" run --in "$tmp/$1.fifo" "$img" >"$tmp/$1.out" 2>"$tmp/$1.err" &
	else
		$as_root "$adyton" run --in "$tmp/$1.fifo" "$img" >"$tmp/$1.out" 2>"$tmp/$1.err" &
	fi
	holder[$1]=$!
}
release() { echo hi >"$tmp/$1.fifo"; wait "${holder[$1]}"; }
# refused NAME: true when its launch failed (its run exits within 5 s);
# a launch that ran is released, and false
refused() {
	for _ in $(seq 100); do
		kill -0 "${holder[$1]}" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "${holder[$1]}" 2>/dev/null; then
		release "$1"
		return 1
	fi
	! wait "${holder[$1]}"
}
# ps_sum AS: "count pages" of the enclaves ps lists (root: everyone's)
ps_json() { $as_root "$adyton" ps --json >"$tmp/ps.json" 2>"$tmp/ps.err"; }
ps_field() { # python expression over the list e
	python3 -c "import json,sys; e=json.load(open('$tmp/ps.json')); print($1)"
}
# wait_count N: until ps lists N enclaves (5 s)
wait_count() {
	for _ in $(seq 100); do
		ps_json && [ "$(ps_field 'len(e)')" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
# free_pages: the pool's free pages, as the refusal of a too large launch names them
free_pages() {
	$as_root "$adyton" run --in /dev/null "$big" >/dev/null 2>"$tmp/probe.err"
	sed -n 's/.*enclave memory pool (epc) of \([0-9]*\) pages: request [0-9]* pages, \([0-9]*\) pages free.*/\1 \2/p' \
		"$tmp/probe.err"
}

# ---- pages and counters ----
read -r total free <<<"$(free_pages)"
[ "$total" = "$POOL" ] || fail "pool total ${total:-?} pages, policy says $POOL: $(cat "$tmp/probe.err")"
[ "$free" = "$POOL" ] || fail "an idle pool has ${free:-?} of $POOL pages free"
grep -q "enclave memory or enclave count limit reached" "$tmp/probe.err" ||
	fail "the refusal does not name ADY_ERR_QUOTA: $(cat "$tmp/probe.err")"
hold a1 nobody
hold r1 root
wait_count 2 || fail "ps never listed the 2 enclaves: $(cat "$tmp/a1.err" "$tmp/r1.err")"
[ "$(ps_field '",".join(str(x["pages"]) for x in e)')" = "$T,$T" ] ||
	fail "ps pages: $(ps_field '[x["pages"] for x in e]'), each should be $T"
[ "$(ps_field '",".join(sorted(str(x["tenant"]) for x in e))')" = "acme,ops" ] ||
	fail "ps tenants: $(ps_field '[x["tenant"] for x in e]')"
sum=$(ps_field 'sum(x["pages"] for x in e)')
read -r total free <<<"$(free_pages)"
if [ "$free" = $((POOL - sum)) ] && [ "$sum" = $((2 * T)) ]; then
	echo "ok: 2 enclaves of $T pages: ps sums $sum, pool free $free of $POOL"
else
	fail "pool free ${free:-?} != $POOL - $sum (the sum of the enclaves' pages)"
fi
$as_root "$adyton" ps | grep -q "PAGES" || fail "adyton ps has no PAGES column"

# ---- acme's memory: fits exactly, then one page too big ----
hold a2 nobody
wait_count 3 || fail "acme's second enclave (exactly its memory limit) was refused: $(cat "$tmp/a2.err")"
hold a3 nobody
refused a3 || fail "acme's third enclave ran past its memory limit"
grep -q "tenant acme: enclave memory limit (memory) of $((2 * T)) pages: request $T pages, 0 pages free" \
	"$tmp/a3.err" && echo "ok: acme over its memory: $(cat "$tmp/a3.err")" ||
	fail "acme's third enclave: not the tenant memory limit: $(cat "$tmp/a3.err")"
release a2
wait_count 2 || fail "a released enclave stays listed"

# ---- SIGHUP: acme one page short; what runs keeps running ----
a1pid=$(ps_field '[x["host_pid"] for x in e if x["tenant"]=="acme"][0]')
write_policy $((2 * T - 1)) 3
kill -HUP "$dpid"
sleep 0.3
hold a4 nobody
refused a4 || fail "after SIGHUP lowered acme's memory by a page, its launch still ran"
grep -q "tenant acme: enclave memory limit (memory) of $((2 * T - 1)) pages: request $T pages, $((T - 1)) pages free" \
	"$tmp/a4.err" && echo "ok: one page too big after SIGHUP: $(cat "$tmp/a4.err")" ||
	fail "after SIGHUP: not refused by the lowered limit: $(cat "$tmp/a4.err")"
kill -0 "$a1pid" 2>/dev/null || fail "SIGHUP touched a running enclave of acme (host $a1pid is gone)"
# ... and the enclave count
write_policy $((2 * T)) 1
kill -HUP "$dpid"
sleep 0.3
hold a5 nobody
refused a5 || fail "acme ran 2 enclaves under a limit of 1"
grep -q "tenant acme: enclave limit (enclaves) 1: request 1 enclave, 1 running" "$tmp/a5.err" ||
	fail "acme's count limit: $(cat "$tmp/a5.err")"
write_policy $((2 * T)) 3
kill -HUP "$dpid"
sleep 0.3
hold a6 nobody
wait_count 3 || fail "after SIGHUP raised acme's limit again, its launch was refused: $(cat "$tmp/a6.err")"
echo "ok: SIGHUP changes acme's limits for the next launch; its running enclave $a1pid was not touched"

# ---- the pool: full with 4, a 5th refused ----
hold r2 root
wait_count 4 || fail "the 4th enclave (pool exactly full) was refused: $(cat "$tmp/r2.err")"
hold r3 root
refused r3 || fail "a 5th enclave ran in a pool of 4"
grep -q "enclave memory pool (epc) of $POOL pages: request $T pages, 0 pages free" "$tmp/r3.err" ||
	fail "5th enclave: not refused by the pool: $(cat "$tmp/r3.err")"
release a6
release r2
wait_count 2 || fail "released enclaves stay listed"

# ---- every kind of exit gives every page back ----
all_back() { # what
	local f
	for _ in $(seq 50); do
		read -r _ f <<<"$(free_pages)"
		[ "$f" = "$POOL" ] && { echo "ok: $1: all $POOL pages free"; return 0; }
		sleep 0.1
	done
	fail "$1: ${f:-?} of $POOL pages free"
}
release a1
release r1
wait_count 0 || fail "enclaves listed after their normal exit"
all_back "normal exit"
$as_nobody "$adyton" run --ecall 1 --in /dev/null "$img" >/dev/null 2>"$tmp/abort.err" &&
	fail "an aborting ECALL succeeded"
all_back "enclave abort"
$as_nobody "$adyton" run --ecall 15 --in /dev/null "$img" >/dev/null 2>"$tmp/crash.err" &&
	fail "a system call in the enclave succeeded"
all_back "crash (seccomp kills the host)"
hold k1 nobody
wait_count 1 || fail "k1 not listed"
hpid=$(ps_field 'e[0]["host_pid"]')
kill -9 "$hpid"
all_back "SIGKILL of the enclave host"
# its application, still waiting for input, learns it on its ECALL
release k1 2>/dev/null && fail "an ECALL into a killed enclave host succeeded"
hold k2 root
wait_count 1 || fail "k2 not listed"
kill -9 "${holder[k2]}"
wait "${holder[k2]}" 2>/dev/null
all_back "SIGKILL of the application"

kill "$dpid"
wait "$dpid" 2>/dev/null
dpid=
if [ "$failures" -ne 0 ]; then
	echo "--- adytond log (tail)"
	tail -n 30 "$tmp/adytond.log"
	echo "$failures failures"
	exit 1
fi
echo "all pool and tenant checks passed"
