#!/bin/bash
# The clean room end to end (issue 16) on the process backend, through a
# private adytond that provisions the clean room enclave:
#  - a provider refuses, before sending anything, an enclave with another
#    MRENCLAVE than its verifier policy names, and one that states another
#    query policy than the provider expects;
#  - malformed uploads are refused with the line at fault, and leave no
#    partial state (status still waits for the provider; the answers later
#    are those of the good data alone, though each bad file held 500 more
#    rows that would change them);
#  - an upload is final, an unknown provider is refused, queries wait for
#    every provider;
#  - the aggregates equal the known answers that cleanroom_data.py
#    computes from the generated rows; a segment under k (5 users, 1 user,
#    3 buyers) reads "suppressed", and so do the counts that would let one
#    derive it; a query that names a user is refused;
#  - no answer carries a user id;
#  - malformed frames below the tool (cleanroom_frames.py) are refused,
#    and every answer to a query has the same length on the wire.
# usage: cleanroom_test.sh ADYTON_CLEANROOM ENCLAVE OTHER_ENCLAVE
. "$(dirname "$0")/test_lib.sh"
ady_need python3
spid2= spid=
ady_stop spid2 spid dpid
cr=$1 image=$2 other=$3 rebuilt=$4
here=$(dirname "$0")


"$ADYTON" inspect --json "$image" >"$tmp/img.json" || { echo "FAIL: inspect $image"; exit 1; }
"$ADYTON" inspect --json "$other" >"$tmp/other.json" || { echo "FAIL: inspect $other"; exit 1; }
mre=$(field "$tmp/img.json" mrenclave)
mre_other=$(field "$tmp/other.json" mrenclave)
mrsigner=$(field "$tmp/img.json" mrsigner)
[ "$mre" != "$mre_other" ] || { echo "FAIL: the other enclave has the same MRENCLAVE"; exit 1; }
# The same sources and configuration built as another target elsewhere in the tree (other paths in
# its debug information): the same MRENCLAVE, so a provider can rebuild to learn it.
"$ADYTON" inspect --json "$rebuilt" >"$tmp/rebuilt.json" || { echo "FAIL: inspect $rebuilt"; exit 1; }
[ "$mre" = "$(field "$tmp/rebuilt.json" mrenclave)" ] ||
	fail "a rebuild of the same sources elsewhere has another MRENCLAVE ($(field "$tmp/rebuilt.json" mrenclave))"


ady_daemon "$(printf 'signer = any\nprovision = %s\nprovision = %s\n' "$mrsigner" "$(field "$tmp/other.json" mrsigner)")"

python3 "$here/cleanroom_data.py" "$tmp" || { echo "FAIL: data generator"; exit 1; }
printf '# the clean room of the test\nk = 10\nallow = lift count\nprovider = adnet impressions\nprovider = shop purchases\n' >"$tmp/qpolicy"
# The same policy written differently (order, spacing): the same canonical form.
printf 'provider=adnet   impressions\nallow = count lift\nprovider = shop purchases\n' >"$tmp/qpolicy-same"
printf 'k = 5\nallow = lift count\nprovider = adnet impressions\nprovider = shop purchases\n' >"$tmp/qpolicy-k5"
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre" "$pkey" >"$tmp/vpolicy"
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre_other" "$pkey" >"$tmp/vpolicy-other"

"$cr" serve --backend process --policy "$tmp/qpolicy" --port 0 "$image" >"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
port=
for _ in $(seq 200); do
	port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/serve.out")
	[ -n "$port" ] && break
	kill -0 "$spid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: the clean room did not start"; cat "$tmp/serve.err" "$tmp/adytond.log"; exit 1; }
at=127.0.0.1:$port

# run NAME EXPECTED_EXIT CMD...: output in $tmp/NAME.out
run() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	[ "$rc" -eq "$want" ] || { fail "$name: exit $rc, expected $want"; cat "$tmp/$name.out" "$tmp/$name.err"; }
}
up() { "$cr" upload --connect "$at" --verifier-policy "$1" --query-policy "$2" --provider "$3" "$4"; }
q() { "$cr" query --connect "$at" --verifier-policy "$tmp/vpolicy" --query-policy "$tmp/qpolicy" "$1"; }
expect_status() {
	run "status-$1" 0 q status
	grep -qx "$2" "$tmp/status-$1.out" || { fail "$1: status has no '$2'"; cat "$tmp/status-$1.out"; }
}

expect_status start "provider adnet: waiting"
run early 1 q "count"
grep -q "waiting for uploads" "$tmp/early.out" || fail "a query before the uploads: $(cat "$tmp/early.out")"

# 1. Another MRENCLAVE: a clean room built otherwise (OTHER_ENCLAVE, the
# same code and query policy, another configuration) is refused on the
# provider's side, and nothing reaches it.
"$cr" serve --backend process --policy "$tmp/qpolicy" --port 0 "$other" >"$tmp/serve2.out" 2>"$tmp/serve2.err" &
spid2=$!
port2=
for _ in $(seq 200); do
	port2=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/serve2.out")
	[ -n "$port2" ] && break
	kill -0 "$spid2" 2>/dev/null || break
	sleep 0.05
done
[ -n "$port2" ] || { echo "FAIL: the other clean room did not start"; cat "$tmp/serve2.err"; exit 1; }
run other-mrenclave 3 "$cr" upload --connect "127.0.0.1:$port2" --verifier-policy "$tmp/vpolicy" \
	--query-policy "$tmp/qpolicy" --provider adnet "$tmp/adnet.csv"
grep -q "^refused: the enclave's evidence: quote: check 'identity' failed" "$tmp/other-mrenclave.out" ||
	{ fail "other MRENCLAVE: reason"; cat "$tmp/other-mrenclave.out"; }
# its owner (whose policy names it) sees that nothing arrived
run other-status 0 "$cr" query --connect "127.0.0.1:$port2" --verifier-policy "$tmp/vpolicy-other" \
	--query-policy "$tmp/qpolicy" status
grep -qx "provider adnet: waiting" "$tmp/other-status.out" || { fail "the other room got data"; cat "$tmp/other-status.out"; }
kill "$spid2" 2>/dev/null && wait "$spid2" 2>/dev/null

# 2. Another query policy (k = 5) than the enclave states: refused, and the
# enclave's own statement is printed.
run other-qpolicy 3 up "$tmp/vpolicy" "$tmp/qpolicy-k5" adnet "$tmp/adnet.csv"
grep -q "^refused: the enclave runs another query policy" "$tmp/other-qpolicy.out" &&
	grep -qx "k = 10" "$tmp/other-qpolicy.out" || { fail "other query policy: reason"; cat "$tmp/other-qpolicy.out"; }
expect_status other-qpolicy "provider adnet: waiting"

# 3. Malformed uploads: an error naming the line, and no partial state.
check_bad() {
	local name=$1 provider=$2 pattern=$3
	run "$name" 1 up "$tmp/vpolicy" "$tmp/qpolicy" "$provider" "$tmp/$name.csv"
	grep -q "^refused by the clean room: .*$pattern" "$tmp/$name.out" ||
		{ fail "$name: reason"; cat "$tmp/$name.out"; }
	expect_status "$name" "provider $provider: waiting"
}
n=$(wc -l <"$tmp/adnet.csv")
check_bad bad-user adnet "line $((n + 501)): a user is 64 lowercase hex digits"
check_bad bad-fields adnet "line $((n + 501)): too many fields"
check_bad bad-header adnet "line 1: the header is not"
check_bad bad-crlf adnet "line 1: the header is not"
check_bad bad-name adnet "line $((n + 501)): a campaign is"
check_bad bad-nolf adnet "the last line does not end with LF"
check_bad bad-kind adnet "this provider uploads impressions, not purchases"
check_bad bad-empty adnet "no rows"
check_bad bad-amount shop "line $(($(wc -l <"$tmp/shop.csv") + 1)): an amount is"
# A provider the policy does not name: the tool does not send (3); if it
# did (its own policy names mallory), the clean room refuses (1).
run unknown 3 up "$tmp/vpolicy" "$tmp/qpolicy" mallory "$tmp/adnet.csv"
grep -q "names no provider \"mallory\"; nothing sent" "$tmp/unknown.out" || { fail "unknown provider"; cat "$tmp/unknown.out"; }
python3 "$here/cleanroom_frames.py" "$port" upload mallory "$tmp/adnet.csv" >"$tmp/unknown2.out" 2>&1 ||
	{ fail "unknown provider, raw"; cat "$tmp/unknown2.out"; }

# 4. The good uploads (the first through the reworded policy file: the
# canonical forms agree); an upload is final.
run up-adnet 0 up "$tmp/vpolicy" "$tmp/qpolicy-same" adnet "$tmp/adnet.csv"
grep -qx "accepted $((n - 1)) rows from adnet" "$tmp/up-adnet.out" || { fail "adnet upload"; cat "$tmp/up-adnet.out"; }
run again 1 up "$tmp/vpolicy" "$tmp/qpolicy" adnet "$tmp/adnet.csv"
grep -q "has uploaded already" "$tmp/again.out" || { fail "second upload"; cat "$tmp/again.out"; }
run half 1 q "count"
grep -q "waiting for uploads" "$tmp/half.out" || fail "a query with one provider in: $(cat "$tmp/half.out")"
run up-shop 0 up "$tmp/vpolicy" "$tmp/qpolicy" shop "$tmp/shop.csv"
grep -q "every provider is in" "$tmp/up-shop.out" || { fail "shop upload"; cat "$tmp/up-shop.out"; }
expect_status ready "ready: yes"

# 5. The answers.
i=0
while IFS= read -r query; do
	i=$((i + 1))
	run "q$i" 0 q "$query"
	if ! cmp -s "$tmp/q$i.out" "$tmp/expect.$i"; then
		fail "'$query': the answer differs from the known one"
		diff "$tmp/expect.$i" "$tmp/q$i.out"
	fi
done <"$tmp/queries"
[ "$i" -ge 10 ] || fail "only $i queries"
grep -q "^lift: 0\.[0-9]\{6\}$" "$tmp/q5.out" || fail "no lift shown for spring/shoes"
grep -qx "segment: suppressed" "$tmp/q8.out" || fail "a 5-user segment is not suppressed"
grep -qx "segment: suppressed" "$tmp/q9.out" || fail "a 1-user segment is not suppressed"
grep -qx "target_buyers: suppressed" "$tmp/q12.out" || fail "3 buyers are not suppressed"

# 6. Singling out: no selector of a user, no combined selectors in count.
run single 1 q "count user=$(cat "$tmp/user7")"
grep -q "not in the query language" "$tmp/single.out" || { fail "user= query"; cat "$tmp/single.out"; }
run combined 1 q "count campaign=solo product=shoes"
grep -q "at most one selector" "$tmp/combined.out" || { fail "combined count"; cat "$tmp/combined.out"; }
run sql 1 q "select * from purchases"
grep -q "unknown query" "$tmp/sql.out" || { fail "sql"; cat "$tmp/sql.out"; }
# the lift of the one user who saw "solo": every group and cell suppressed
[ "$(grep -c suppressed "$tmp/q11.out")" -eq 7 ] || { fail "solo lift"; cat "$tmp/q11.out"; }

# 7. Nothing that left the enclave names a user.
if grep -l '[0-9a-f]\{64\}' "$tmp"/q*.out "$tmp"/status-*.out "$tmp"/bad-*.out "$tmp"/up-*.out 2>/dev/null; then
	fail "an answer carries a user id"
fi

# 8. Frames the tool never sends (cleanroom_frames.py), then the room
# still answers as before.
python3 "$here/cleanroom_frames.py" "$port" >"$tmp/frames.out" 2>&1 || { fail "frames"; cat "$tmp/frames.out"; }
run after-frames 0 q "lift campaign=spring product=shoes"
cmp -s "$tmp/after-frames.out" "$tmp/expect.5" || fail "the answer changed after the malformed frames"

ady_finish "$tmp/serve.err"
