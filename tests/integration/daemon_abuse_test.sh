#!/bin/bash
# adytond against a hostile or careless local user (issue 11):
#  - item 9: a system daemon started as root under exactly the capability
#    bounding set of dist/adytond.service (parsed from the unit, with its
#    NoNewPrivileges and UMask) launches for nobody; the default policy bounds
#    a user's enclave memory (a 2 GiB enclave is refused);
#  - item 3: nobody races PTRACE_SEIZE on the newest pids while it launches
#    enclaves that hold a canary: it never attaches to an enclave host;
#  - item 6: 200 malformed LAUNCH messages carrying a descriptor leave the
#    daemon's descriptor table as it was;
#  - item 4: a client of nobody that floods requests and never reads is
#    dropped, and root's enclave report exits stay fast meanwhile;
#  - item 5: 300 idle connections of nobody do not lock root out; the
#    daemon refuses those above the per-user limit at once and closes the
#    rest after the connection timeout;
#  - item 7: an application that ignores SIGCHLD and blocks SIGTERM starts a
#    per-user daemon, launches and closes 70 enclaves (above the per-user
#    limit of 64), SIGTERM kills an enclave host, and the daemon idles out.
#
# usage: daemon_abuse_test.sh DAEMON_ABUSE ADYTOND ENCLAVE_HOST UNIT_FILE BIGENC_SIGNED
set -u
abuse=${1:?usage}
adytond=${2:?usage}
host=${3:?usage}
unit=${4:?usage}
big=${5:?usage}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (a system daemon, and nobody as the attacker)"
	exit 77
fi
for t in setpriv; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }
nogroup=$(id -gn nobody)

tmp=$(mktemp -d)
chmod 755 "$tmp"
dpid= holder= holder2=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -n "$holder$holder2" ] && kill $holder $holder2 2>/dev/null
	upid=$(cat "$tmp/u/s.sock.lock" 2>/dev/null)
	[ -n "$upid" ] && kill "$upid" 2>/dev/null
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
# commands, not functions: `$as_nobody cmd &` gives the pid of cmd itself
as_nobody="setpriv --reuid=nobody --regid=$nogroup --clear-groups env ADYTON_SOCKET=$sock"
as_root="env ADYTON_SOCKET=$sock"

# /proc, not ps (procps is not a dependency).  state PID: its state letter
# (R, S, Z...), nothing once it is gone; children PID: its child processes.
state() {
	local line
	read -r line 2>/dev/null <"/proc/$1/stat" || return 0
	line=${line##*) }
	echo "${line%% *}"
}
children() {
	local f line st pp
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		read -r st pp _ <<<"${line##*) }"
		[ "$pp" = "$1" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
	done
}

# ---- the unit's confinement, from the unit file itself ----
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[ -n "$caps" ] || { echo "FAIL: no CapabilityBoundingSet= in $unit"; exit 1; }
bset=-all
for c in $caps; do
	c=${c,,}
	bset="$bset,+${c#cap_}"
done
nnp=
grep -qx 'NoNewPrivileges=yes' "$unit" && nnp=--no-new-privs
umask_unit=$(sed -n 's/^UMask=//p' "$unit")
echo "unit: CapabilityBoundingSet=$caps -> setpriv --bounding-set=$bset $nnp, umask ${umask_unit:-022}"

# The default policy of a system daemon: signer and debug allowed (testenc
# is a debug enclave), no max_memory line (the default applies).
printf 'signer = any\nallow_debug = yes\n' >"$tmp/policy"
(
	umask "${umask_unit:-022}"
	exec setpriv --bounding-set="$bset" --inh-caps=-all $nnp "$adytond" --system --socket "$sock" \
		--state-dir "$tmp/state" --policy "$tmp/policy" --host "$host" --conn-timeout 3 --verbose
) 2>"$tmp/adytond.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }
grep -q "^CapBnd:" "/proc/$dpid/status" && echo "adytond $dpid: $(grep ^CapEff: "/proc/$dpid/status")"

# ---- item 9: a non-root launch under the unit's capabilities ----
if $as_nobody "$abuse" launch "$ADY_BINARY_DIR/tests/testenc.signed" >"$tmp/out"; then
	echo "ok: nobody launches under the unit's capabilities: $(cat "$tmp/out")"
else
	fail "nobody cannot launch under the unit's capabilities: $(cat "$tmp/out")"
	tail -n 5 "$tmp/adytond.log" | sed 's/^/  adytond: /'
fi
# ... and the default max_memory refuses a 2 GiB enclave
if $as_nobody "$abuse" launch "$big" >"$tmp/out"; then
	fail "a 2 GiB enclave launched under the default policy (no max_memory bound)"
elif grep -q "permission denied by policy" "$tmp/out"; then
	echo "ok: the default policy refuses a 2 GiB enclave: $(cat "$tmp/out")"
else
	fail "2 GiB enclave: not refused by policy: $(cat "$tmp/out")"
fi

# ---- item 3: the exec-window ptrace race ----
$as_nobody "$abuse" race 20 "$dpid" >"$tmp/race" 2>&1
rc=$?
launches=$(sed -n 's/.*s, \([0-9]*\) enclaves launched.*/\1/p' "$tmp/race")
launches=${launches:-0}
tail -n 1 "$tmp/race"
if [ "$rc" -ne 0 ]; then
	fail "nobody attached to its enclave hosts ($launches launches):"
	grep attached "$tmp/race" | head -n 5 | sed 's/^/  /'
elif [ "$launches" -lt 20 ]; then
	fail "race: only $launches launches in 20 s: the attack was not tried"
else
	echo "ok: no attach to an enclave host in $launches launches"
fi
# The launcher was killed: its enclaves end with its connections (adytond
# kills hosts of another uid: CAP_KILL).
for _ in $(seq 50); do [ -z "$(children "$dpid")" ] && break; sleep 0.1; done
left=$(children "$dpid" | wc -l)
[ "$left" -eq 0 ] || fail "$left enclave hosts still run after their client was killed"

# ---- item 6: descriptors of malformed launches ----
nfd() { ls "/proc/$dpid/fd" | wc -l; }
fd0=$(nfd)
$as_nobody "$abuse" malformed 200 >"$tmp/out" || fail "malformed: $(cat "$tmp/out")"
fd1=$(nfd)
if [ "$fd1" -gt "$fd0" ]; then
	fail "adytond holds $((fd1 - fd0)) more descriptors after 200 malformed launches ($fd0 -> $fd1)"
else
	echo "ok: 200 malformed launches with a descriptor: adytond holds $fd0 -> $fd1 descriptors"
fi

# ---- item 4: a client that never reads ----
$as_nobody "$abuse" flood 20 >"$tmp/flood" 2>&1 &
fpid=$!
sleep 1
$as_root "$abuse" latency 300 1000 >"$tmp/out" 2>&1 || fail "while nobody floods: $(cat "$tmp/out")"
grep -q "^latency" "$tmp/out" && echo "$(cat "$tmp/out")"
if wait "$fpid"; then
	echo "ok: $(cat "$tmp/flood")"
else
	fail "the flooding client was not dropped: $(cat "$tmp/flood")"
fi

# ---- item 5: idle connections ----
$as_nobody "$abuse" idle 300 5 >"$tmp/idle" 2>&1 &
ipid=$!
sleep 1.5
$as_root "$abuse" launch "$ADY_BINARY_DIR/tests/testenc.signed" >"$tmp/out" 2>&1 ||
	fail "root cannot launch while nobody holds 300 idle connections: $(cat "$tmp/out")"
wait "$ipid"
cat "$tmp/idle"
grep -q " 0 still open$" "$tmp/idle" || fail "idle connections were not closed after the connection timeout"
early=$(sed -n 's/.*, \([0-9]*\) closed by the daemon at once/\1/p' "$tmp/idle")
[ "${early:-0}" -ge 268 ] || fail "only ${early:-0} of 300 idle connections refused at once (per-user limit 32)"

# A stopped daemon takes its enclaves with it (the hosts' parent-death
# signal, which the kernel checks as if adytond sent it).
$as_root "$abuse" launch-hold "$ADY_BINARY_DIR/tests/testenc.signed" >/dev/null 2>&1 &
holder=$!
$as_nobody "$abuse" launch-hold "$ADY_BINARY_DIR/tests/testenc.signed" >/dev/null 2>&1 &
holder2=$!
for _ in $(seq 50); do [ "$(children "$dpid" | wc -l)" -ge 2 ] && break; sleep 0.1; done
hosts=$(children "$dpid")
[ "$(echo $hosts | wc -w)" -ge 2 ] || fail "launch-hold: no enclave hosts"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
dpid=
sleep 0.5
for h in $hosts; do
	# gone, or a zombie that whoever adopted it has not reaped
	st=$(state "$h")
	if [ -n "$st" ] && [ "$st" != Z ]; then
		fail "enclave host $h (uid $(stat -c %u "/proc/$h" 2>/dev/null)) outlived its daemon"
		kill -9 "$h"
	fi
done
kill "$holder" "$holder2" 2>/dev/null
wait "$holder" "$holder2" 2>/dev/null

# ---- item 7: an application that ignores SIGCHLD starts the daemon ----
mkdir -m 700 "$tmp/u"
env ADYTON_SOCKET="$tmp/u/s.sock" ADYTON_STATE_DIR="$tmp/u/state" ADYTON_DAEMON="$adytond" \
	ADYTON_ENCLAVE_HOST="$host" ADYTON_DAEMON_IDLE_EXIT=2 ADYTON_DAEMON_LOG="$tmp/u/adytond.log" \
	"$abuse" sigchld 70 >"$tmp/out" 2>&1 || fail "SIGCHLD ignored: $(cat "$tmp/out")"
cat "$tmp/out"
upid=$(cat "$tmp/u/s.sock.lock" 2>/dev/null)
if [ -z "$upid" ]; then
	fail "no per-user daemon was started"
else
	for _ in $(seq 100); do kill -0 "$upid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$upid" 2>/dev/null; then
		fail "the per-user daemon $upid did not idle out (2 s) after its enclaves closed"
		kill "$upid"
	else
		echo "ok: the per-user daemon idled out"
	fi
fi

if [ "$failures" -ne 0 ]; then
	echo "--- adytond log (tail)"
	tail -n 20 "$tmp/adytond.log"
	echo "$failures failure(s)"
	exit 1
fi
echo "all passed"
