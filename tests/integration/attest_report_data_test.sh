#!/bin/bash
# `adyton quote` and `adyton verify-quote --report-data` (issue 11 item 2),
# on the process backend through a private adytond:
#  - the quote enclave is found next to adyton (build tree) and, after
#    `cmake --install`, in PREFIX/lib/adyton from PREFIX/bin/adyton, also
#    once the installed tree is moved elsewhere;
#  - a daemon that does not provision it: refused, and the message names
#    the provision line to add;
#  - quote -> verify-quote --report-data --nonce: accepted, the report_data
#    check passes, the JSON carries the same report data;
#  - refused naming report_data: one byte off (first, middle, last), the
#    expected value given as 32 bytes padded with zeros;
#  - malformed --report-data (short, long, odd, not hex, empty) and
#    --nonce: usage errors (exit 2) from both commands, no file written;
#  - the default nonce is 32 zero bytes; a sim quote is refused (platform).
# usage: attest_report_data_test.sh
set -u
: "${ADYTON:?run through ctest}"
: "${ADYTON_DAEMON:?run through ctest}"
: "${ADYTON_ENCLAVE_HOST:?run through ctest}"
: "${ADY_BINARY_DIR:?run through ctest}"
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

img=$("$ADYTON" quote --print-enclave) || { echo "FAIL: --print-enclave"; exit 1; }
[ "$img" = "$(dirname "$ADYTON")/quote-enclave.signed" ] || fail "build tree: enclave not found next to adyton: $img"
[ -f "$img" ] || { echo "FAIL: $img does not exist"; exit 1; }
"$ADYTON" inspect --json "$img" >"$tmp/img.json" || { echo "FAIL: inspect $img"; exit 1; }
mrsigner=$(field "$tmp/img.json" mrsigner)
mre=$(field "$tmp/img.json" mrenclave)
prodid=$(field "$tmp/img.json" isvprodid)

export ADYTON_SOCKET=$tmp/d.sock
unset ADYTON_STATE_DIR ADYTON_BACKEND
printf 'signer = any\n' >"$tmp/dpolicy"
"$ADYTON_DAEMON" --socket "$tmp/d.sock" --state-dir "$tmp/state" --policy "$tmp/dpolicy" \
	--host "$ADYTON_ENCLAVE_HOST" --verbose 2>>"$tmp/adytond.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$tmp/d.sock" ] && break; sleep 0.05; done
[ -S "$tmp/d.sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }
pkey=$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/state") || fail "--print-platform-key"

rd=$(python3 -c 'import os; print(os.urandom(64).hex())')
nonce=$(python3 -c 'import os; print(os.urandom(32).hex())')
zero32=$(python3 -c 'print("00"*32)')

# Not provisioned: refused, with the line to add.
if "$ADYTON" quote --backend process --report-data "$rd" -o "$tmp/q" 2>"$tmp/err"; then
	fail "a quote without provisioning"
fi
grep -q "provision = $mrsigner:$prodid" "$tmp/err" || fail "no provision hint: $(cat "$tmp/err")"
[ -e "$tmp/q" ] && fail "a refused quote left $tmp/q"

printf 'signer = any\nprovision = %s:%s\n' "$mrsigner" "$prodid" >"$tmp/dpolicy"
kill -HUP "$dpid"; sleep 0.3
"$ADYTON" quote --backend process --report-data "$rd" --nonce "$nonce" -o "$tmp/q" 2>"$tmp/err" ||
	{ fail "quote: $(cat "$tmp/err")"; cat "$tmp/adytond.log"; exit 1; }
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre" "$pkey" >"$tmp/vpol"

# verify WANT_EXIT WANT_FAILED_CHECK DESCRIPTION QUOTE ARGS...
verify() {
	local want=$1 check=$2 what=$3 q=$4 got
	shift 4
	"$ADYTON" verify-quote "$q" --policy "$tmp/vpol" "$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, wanted $want"; sed 's/^/  /' "$tmp/out"; return
	fi
	if [ -n "$check" ] && ! grep -q "failed check: $check)" "$tmp/out"; then
		fail "$what: failed check is not '$check'"; sed 's/^/  /' "$tmp/out"
	fi
}

verify 0 "" "round trip" "$tmp/q" --report-data "$rd" --nonce "$nonce"
grep -q "report_data  *pass" "$tmp/out" || fail "report_data check not shown as passed: $(cat "$tmp/out")"
verify 0 "" "round trip, upper-case hex" "$tmp/q" --report-data "${rd^^}" --nonce "$nonce"
verify 0 "" "without --report-data (check skipped)" "$tmp/q" --nonce "$nonce"
grep -q "report_data  *skip" "$tmp/out" || fail "skipped report_data check not shown"
"$ADYTON" verify-quote "$tmp/q" --policy "$tmp/vpol" --report-data "$rd" --json >"$tmp/json" || fail "--json exit"
python3 - "$tmp/json" "$rd" <<'PY' || fail "--json output"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verdict"] == "accepted" and j["report_data"] == sys.argv[2], j
names = [c["name"] for c in j["checks"]]
assert names == ["format", "signature", "platform", "nonce", "report_data", "identity", "debug"], names
assert {c["name"]: c["result"] for c in j["checks"]}["report_data"] == "pass", j
PY
# One byte off anywhere: refused, naming the check.
for i in 0 31 63; do
	bad=$(python3 -c 'import sys; b = bytearray.fromhex(sys.argv[1]); b[int(sys.argv[2])] ^= 1; print(b.hex())' "$rd" "$i")
	verify 1 report_data "report data byte $i differs" "$tmp/q" --report-data "$bad" --nonce "$nonce"
done
# Exact 64 bytes: the first 32 with zeros after is another value.
verify 1 report_data "32-byte prefix padded with zeros" "$tmp/q" --report-data "${rd:0:64}$zero32"
# Malformed: usage errors, whatever the quote.
for arg in "${rd:0:64}" "${rd}00" "${rd:1}" "${rd:0:126}zz" "" "0x${rd:2}"; do
	verify 2 "" "malformed --report-data '$arg'" "$tmp/q" --report-data "$arg"
	grep -q -- "--report-data" "$tmp/out" || fail "malformed --report-data '$arg': message does not name the option"
	if "$ADYTON" quote --report-data "$arg" -o "$tmp/qbad" 2>"$tmp/err"; then fail "quote --report-data '$arg' accepted"; fi
	[ -e "$tmp/qbad" ] && { fail "quote --report-data '$arg' wrote a file"; rm -f "$tmp/qbad"; }
done
verify 2 "" "malformed --nonce" "$tmp/q" --report-data "$rd" --nonce "${nonce:0:62}"
"$ADYTON" quote --report-data "$rd" 2>/dev/null; [ $? -eq 2 ] || fail "quote without -o: not a usage error"
"$ADYTON" quote -o "$tmp/qbad" 2>/dev/null; [ $? -eq 2 ] || fail "quote without --report-data: not a usage error"

# The default nonce is 32 zero bytes; "-o -" writes the quote to stdout.
"$ADYTON" quote --backend process --report-data "$rd" -o - >"$tmp/q0" 2>"$tmp/err" || fail "quote -o -: $(cat "$tmp/err")"
verify 0 "" "default nonce" "$tmp/q0" --report-data "$rd" --nonce "$zero32"
verify 1 nonce "default nonce, checked against another" "$tmp/q0" --report-data "$rd" --nonce "$nonce"
# sim: a quote, but never a platform anyone accepts by default.
"$ADYTON" quote --backend sim --report-data "$rd" -o "$tmp/qsim" 2>"$tmp/err" || fail "sim quote: $(cat "$tmp/err")"
verify 1 platform "sim quote" "$tmp/qsim" --report-data "$rd"

# Installed: PREFIX/bin/adyton finds PREFIX/lib.../adyton/quote-enclave.signed,
# also after the whole tree moved (found relative to itself).
if cmake --install "$ADY_BINARY_DIR" --prefix "$tmp/inst" >"$tmp/install.log" 2>&1; then
	mv "$tmp/inst" "$tmp/moved"
	got=$("$tmp/moved/bin/adyton" quote --print-enclave)
	case $(readlink -f "$got") in
	"$(readlink -f "$tmp/moved")"/lib*/adyton/quote-enclave.signed) ;;
	*) fail "installed adyton looks for $got" ;;
	esac
	cmp -s "$img" "$got" || fail "the installed quote enclave $got differs or is missing"
	"$tmp/moved/bin/adyton" quote --backend process --report-data "$rd" -o "$tmp/qi" 2>"$tmp/err" ||
		fail "installed adyton quote: $(cat "$tmp/err")"
	verify 0 "" "installed adyton quote" "$tmp/qi" --report-data "$rd"
else
	fail "cmake --install: $(tail -5 "$tmp/install.log")"
fi

if [ "$failures" -ne 0 ]; then
	echo "--- adytond log"; cat "$tmp/adytond.log"
	echo "$failures failure(s)"; exit 1
fi
echo "PASS"
