#!/bin/bash
# Quotes end to end on an isolating backend (process, or kvm), through a private adytond:
#  - an enclave's quote verifies with `adyton verify-quote` given only the
#    quote file, the verifier policy and the pinned platform key (+ nonce);
#  - refused, naming the failed check: a flipped byte anywhere in the quote
#    (every byte), a wrong nonce, other report data (--report-data), an unpinned platform key, a MRENCLAVE not
#    in the policy, an ISVSVN below the minimum, a DEBUG enclave and a sim
#    quote under a production policy;
#  - provisioning: an enclave the daemon's policy does not list gets no
#    quote; after a SIGHUP reload that removes its MRSIGNER neither;
#  - the attestation key survives a daemon restart.
# usage: attest_quote_test.sh PROD_SIGNED DBG_SIGNED
set -u
: "${ADYTON:?run through ctest}"
: "${ADYTON_DAEMON:?run through ctest}"
: "${ADYTON_ENCLAVE_HOST:?run through ctest}"
prod=${1:?usage}
dbg=${2:?usage}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

tmp=$(mktemp -d)
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
"$ADYTON" inspect --json "$prod" >"$tmp/prod.json" || { echo "FAIL: inspect"; exit 1; }
"$ADYTON" inspect --json "$dbg" >"$tmp/dbg.json" || { echo "FAIL: inspect"; exit 1; }
mrsigner=$(field "$tmp/prod.json" mrsigner)
mre_prod=$(field "$tmp/prod.json" mrenclave)
mre_dbg=$(field "$tmp/dbg.json" mrenclave)

export ADYTON_SOCKET=$tmp/d.sock
unset ADYTON_STATE_DIR
start_daemon() {
	"$ADYTON_DAEMON" --socket "$tmp/d.sock" --state-dir "$tmp/state" --policy "$tmp/dpolicy" \
		--host "$ADYTON_ENCLAVE_HOST" --verbose 2>>"$tmp/adytond.log" &
	dpid=$!
	for _ in $(seq 100); do [ -S "$tmp/d.sock" ] && return 0; sleep 0.05; done
	echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1
}
stop_daemon() { kill "$dpid"; wait "$dpid" 2>/dev/null; dpid=; rm -f "$tmp/d.sock"; }

printf 'signer = any\nallow_debug = yes\nprovision = %s:21\n' "$mrsigner" >"$tmp/dpolicy"
start_daemon
pkey=$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/state") || fail "--print-platform-key"

nonce=$(python3 -c 'import os; print(os.urandom(32).hex())')
other=$(python3 -c 'import os; print(os.urandom(32).hex())')
python3 -c 'import sys; open(sys.argv[1],"wb").write(bytes.fromhex(sys.argv[2]) + bytes(range(64)))' "$tmp/in" "$nonce"

# The isolating backend under test (ADY_TEST_BACKEND: process or kvm).
backend=${ADY_TEST_BACKEND:-process}
# quote BACKEND IMAGE OUT
quote() { "$ADYTON" run --backend "$1" --ecall 0 --in "$tmp/in" --out "$3" "$2" 2>"$tmp/run.err"; }

quote "$backend" "$prod" "$tmp/q" || { fail "quote on $backend: $(cat "$tmp/run.err")"; cat "$tmp/adytond.log"; exit 1; }
quote "$backend" "$dbg" "$tmp/qdbg" || fail "debug quote on $backend: $(cat "$tmp/run.err")"
quote sim "$dbg" "$tmp/qsim" || fail "quote on sim: $(cat "$tmp/run.err")"

printf '# production\nmrenclave = %s\nplatform_key = %s\n' "$mre_prod" "$pkey" >"$tmp/p-enclave"
printf 'signer = %s:21:5\nplatform_key = %s\n' "$mrsigner" "$pkey" >"$tmp/p-signer"
printf 'signer = %s:21:6\nplatform_key = %s\n' "$mrsigner" "$pkey" >"$tmp/p-svn"
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre_dbg" "$pkey" >"$tmp/p-other"
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre_prod" "$(python3 -c 'print("11"*64)')" >"$tmp/p-unpinned"
printf 'mrenclave = %s\nallow_debug = yes\nallow_sim = yes\n' "$mre_dbg" >"$tmp/p-sim"
printf 'mrenclave = %s\nallow_debug = yes\nplatform_key = %s\n' "$mre_dbg" "$pkey" >"$tmp/p-debug-ok"

# verify WANT_EXIT WANT_FAILED_CHECK DESCRIPTION QUOTE POLICY [NONCE]
verify() {
	local want=$1 check=$2 what=$3 q=$4 pol=$5 n=${6:-} got
	if [ -n "$n" ]; then
		"$ADYTON" verify-quote "$q" --policy "$pol" --nonce "$n" >"$tmp/out" 2>&1
	else
		"$ADYTON" verify-quote "$q" --policy "$pol" >"$tmp/out" 2>&1
	fi
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, wanted $want"; sed 's/^/  /' "$tmp/out"; return
	fi
	if [ -n "$check" ] && ! grep -q "failed check: $check)" "$tmp/out"; then
		fail "$what: failed check is not '$check'"; sed 's/^/  /' "$tmp/out"
	fi
}

verify 0 "" "accepted by MRENCLAVE" "$tmp/q" "$tmp/p-enclave" "$nonce"
grep -q "verdict: ACCEPTED" "$tmp/out" || fail "no ACCEPTED verdict"
verify 0 "" "accepted by MRSIGNER+ISVPRODID+ISVSVN" "$tmp/q" "$tmp/p-signer" "$nonce"
verify 0 "" "accepted without a nonce (freshness skipped)" "$tmp/q" "$tmp/p-enclave"
grep -q "nonce .*skip" "$tmp/out" || fail "skipped nonce check not shown"
"$ADYTON" verify-quote "$tmp/q" --policy "$tmp/p-enclave" --nonce "$nonce" --json >"$tmp/json" ||
	fail "--json exit"
python3 - "$tmp/json" <<'PY' || fail "--json output"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verdict"] == "accepted" and j["failed"] is None, j
names = [c["name"] for c in j["checks"]]
assert names == ["format", "signature", "platform", "nonce", "report_data", "identity", "debug"], names
assert all(c["result"] == ("skip" if c["name"] == "report_data" else "pass") for c in j["checks"]), j
PY
verify 1 nonce "wrong nonce" "$tmp/q" "$tmp/p-enclave" "$other"
# --report-data: the enclave asked for bytes 0..63 (exactly 64 bytes compared).
rd=$(python3 -c 'print(bytes(range(64)).hex())')
"$ADYTON" verify-quote "$tmp/q" --policy "$tmp/p-enclave" --nonce "$nonce" --report-data "$rd" >"$tmp/out" 2>&1 ||
	fail "--report-data: the quote's own report data refused: $(cat "$tmp/out")"
"$ADYTON" verify-quote "$tmp/q" --policy "$tmp/p-enclave" --report-data "${rd:0:126}40" >"$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "failed check: report_data)" "$tmp/out" || fail "--report-data: last byte off not refused: $(cat "$tmp/out")"
"$ADYTON" verify-quote "$tmp/q" --policy "$tmp/p-enclave" --report-data "${rd:0:64}" >"$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q -- "--report-data wants exactly 128 hex digits" "$tmp/out" ||
	fail "--report-data of 32 bytes: not a usage error: $(cat "$tmp/out")"
verify 1 platform "unpinned platform key" "$tmp/q" "$tmp/p-unpinned" "$nonce"
verify 1 identity "MRENCLAVE not in policy" "$tmp/q" "$tmp/p-other" "$nonce"
verify 1 identity "ISVSVN below minimum" "$tmp/q" "$tmp/p-svn" "$nonce"
grep -q "below the minimum" "$tmp/out" || fail "ISVSVN detail"
verify 1 debug "DEBUG enclave under a production policy" "$tmp/qdbg" "$tmp/p-signer" "$nonce"
verify 0 "" "DEBUG enclave under allow_debug" "$tmp/qdbg" "$tmp/p-debug-ok" "$nonce"
verify 1 platform "sim quote under a production policy" "$tmp/qsim" "$tmp/p-signer" "$nonce"
verify 0 "" "sim quote under allow_sim" "$tmp/qsim" "$tmp/p-sim" "$nonce"

# Every byte flipped: refused, and the output names a failed check.  The
# verifier does not depend on the backend: the kvm variant (software
# emulated in CI, ~20x slower) flips every byte of the header and report
# (what its enclave made) and every 8th byte after them.
python3 - "$ADYTON" "$tmp/q" "$tmp/p-enclave" "$nonce" "$tmp/flip" <<'PY' || fail "flipped bytes"
import os, subprocess, sys
adyton, qpath, pol, nonce, tmp = sys.argv[1:]
q = open(qpath, "rb").read()
bad = 0
every = 8 if os.environ.get("ADY_TEST_BACKEND") == "kvm" else 1
idx = list(range(min(len(q), 432))) + list(range(432, len(q), every))
for i in idx:
    b = bytearray(q); b[i] ^= 0x01
    open(tmp, "wb").write(b)
    r = subprocess.run([adyton, "verify-quote", tmp, "--policy", pol, "--nonce", nonce],
                       capture_output=True, text=True)
    if r.returncode != 1 or "failed check: " not in r.stdout:
        print(f"byte {i}: exit {r.returncode}: {r.stdout}{r.stderr}"); bad += 1
for cut in (0, 1, 47, 431, 435, len(q) - 1):
    open(tmp, "wb").write(q[:cut])
    r = subprocess.run([adyton, "verify-quote", tmp, "--policy", pol], capture_output=True, text=True)
    if r.returncode != 1 or "failed check: format" not in r.stdout:
        print(f"truncated to {cut}: exit {r.returncode}"); bad += 1
print(f"{len(idx)} of {len(q)} bytes flipped")
sys.exit(1 if bad else 0)
PY

# Provisioning: unlisted, then listed, then removed by a SIGHUP reload.
printf 'signer = any\nallow_debug = yes\nprovision = %s:22\n' "$mrsigner" >"$tmp/dpolicy"
kill -HUP "$dpid"; sleep 0.3
if quote process "$prod" "$tmp/q2"; then fail "unlisted ISVPRODID got a quote"; fi
grep -qi "permission\|policy" "$tmp/run.err" || fail "unlisted refusal reason: $(cat "$tmp/run.err")"
printf 'signer = any\nallow_debug = yes\nprovision = %s:21\n' "$mrsigner" >"$tmp/dpolicy"
kill -HUP "$dpid"; sleep 0.3
quote process "$prod" "$tmp/q2" || fail "listed again: no quote"
printf 'signer = any\nallow_debug = yes\n' >"$tmp/dpolicy"
kill -HUP "$dpid"; sleep 0.3
if quote process "$prod" "$tmp/q2"; then fail "removed MRSIGNER still got a quote after SIGHUP"; fi

# Restart: same attestation key, quotes still verify against the pin.
printf 'signer = any\nallow_debug = yes\nprovision = %s\n' "$mrsigner" >"$tmp/dpolicy"
stop_daemon
start_daemon
[ "$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/state")" = "$pkey" ] || fail "platform key changed on restart"
perm=$(stat -c %a "$tmp/state/attest.key")
[ "$perm" = 600 ] || fail "attest.key mode $perm"
quote process "$prod" "$tmp/q3" || fail "quote after restart: $(cat "$tmp/run.err")"
verify 0 "" "quote after restart" "$tmp/q3" "$tmp/p-enclave" "$nonce"

if [ "$failures" -ne 0 ]; then
	echo "--- adytond log"; cat "$tmp/adytond.log"
	echo "$failures failure(s)"; exit 1
fi
echo "PASS"
