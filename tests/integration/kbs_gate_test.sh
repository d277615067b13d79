#!/bin/bash
# A resource's host requirement (apps/kbs/hostreq.h, issue 16: "optional
# host check result from the gate"): the broker reads the gate's hosts
# table (adyton-kbs serve --gate-state) and releases only to an enclave
# whose quote is signed by the attestation key that a host's TPM certified
# in a round the gate passed recently.  The host rows are written as
# adyton-gate serve writes them (gate_agent_test runs serve for real).
#  - host = NAME: released for a fresh passed host with this adytond's key;
#    refused for a failed host, a stale one, one never checked, and one
#    whose certified key is another platform's, each with the reason in
#    the reply and the audit log;
#  - host = any: released while some fresh passed host has the key,
#    refused when none has;
#  - host_max_age narrows freshness; a bad host line is refused at put;
#  - a broker without --gate-state refuses a put that needs it.
# usage: kbs_gate_test.sh ADYTON_KBS KBS_APP ENCLAVE ADYTON_GATE
. "$(dirname "$0")/test_lib.sh"
ady_need python3
kpid= kpid2=
ady_stop kpid2 kpid dpid
kbs=$1 app=$2 img=$3 gate=$4

ady_inspect prod "$img"
mre=$(field "$tmp/prod.json" mrenclave)
mrsigner=$(field "$tmp/prod.json" mrsigner)
prodid=$(field "$tmp/prod.json" isvprodid)
ady_daemon "$(printf 'signer = any\nprovision = %s:%s\n' "$mrsigner" "$prodid")"

# The gate's state: its hosts table created by the gate, rows as serve writes them.
gstate=$tmp/gate.db
"$gate" hosts --state "$gstate" >/dev/null || { echo "FAIL: adyton-gate hosts"; exit 1; }
other=$(printf 'ab%.0s' $(seq 64))
python3 - "$gstate" "$pkey" "$other" <<'PY' || { echo "FAIL: host rows"; exit 1; }
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
rows = [("good", now, 1, "", "", sys.argv[2]),
        ("bad", now, 0, "policy", "/usr/bin/evil: not in the runtime policy", sys.argv[2]),
        ("old", now - 1000, 1, "", "", sys.argv[2]),
        ("elsewhere", now, 1, "", "", sys.argv[3])]
for name, checked, ok, failed, reason, key in rows:
    db.execute('INSERT INTO gate_hosts (name, checked, ok, failed, reason, count, "offset", pcr10, entries_checked,'
               ' ahead, platform_key) VALUES (?, ?, ?, ?, ?, 12, 4096, ?, 12, 0, ?)',
               (name, checked, ok, failed, reason, "ab" * 32, key))
db.commit()
PY

ks=$tmp/kbs.sock
audit=$tmp/audit.log
"$kbs" serve --socket "$ks" --db "$tmp/kbs.db" --audit "$audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/master.key" --gate-state "$gstate" 2>>"$tmp/kbs.log" &
kpid=$!
for _ in $(seq 100); do [ -S "$ks" ] && break; sleep 0.05; done
[ -S "$ks" ] || { echo "FAIL: adyton-kbs did not start"; cat "$tmp/kbs.log"; exit 1; }
adm() { "$kbs" "$@" --socket "$ks" --token-file "$tmp/admin.token"; }

printf 'HOST-BOUND-SECRET' >"$tmp/secret"
pol() { printf 'mrenclave = %s\nplatform_key = %s\n%s\n' "$mre" "$pkey" "$2" >"$tmp/pol.$1"; }
pol good "host = good"
pol bad "host = bad"
pol old "host = old"
pol old_ok "host = old
host_max_age = 3600"
pol good_narrow "host = good
host_max_age = 1"
pol unknown "host = nowhere"
pol elsewhere "host = elsewhere"
pol any "host = any"
for r in good bad old old_ok good_narrow unknown elsewhere any; do
	adm put "$r" --policy "$tmp/pol.$r" --secret-file "$tmp/secret" || fail "put $r"
done

# run NAME EXPECT(released|refused): output in $tmp/out
run() {
	"$app" --backend process --socket "$ks" "$img" "$1" >"$tmp/out" 2>"$tmp/err"
	grep -q "^$2" "$tmp/out" || { fail "$1: wanted $2, got: $(cat "$tmp/out" "$tmp/err")"; return 1; }
}
# refused NAME TEXT: refused, the reply and the audit line say TEXT
refused() {
	run "$1" refused || return
	grep -q "$2" "$tmp/out" || fail "$1: the reply does not say '$2': $(cat "$tmp/out")"
	grep "refuse resource=$1 reason=host " "$audit" | grep -q "$2" ||
		fail "$1: no audit line 'refuse resource=$1 reason=host ... $2': $(tail -2 "$audit")"
}

run good released && grep -q "len=17 " "$tmp/out" || fail "good: not the secret: $(cat "$tmp/out")"
grep -q "release resource=good mrenclave=$mre " "$audit" || fail "good: no release line"
refused bad "failed its last check (policy): /usr/bin/evil"
refused old "last checked 1000 s ago\|last checked 100[0-9] s ago"
run old_ok released || true
sleep 2.1   # checked is in whole seconds: 2 s on is past 1 s whatever the fraction
refused good_narrow "at most 1 allowed"
refused unknown "never checked"
refused elsewhere "another platform"
run any released || true

# any: nobody fresh with this key once the good host fails its next round.
python3 - "$gstate" <<'PY' || fail "update good"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE gate_hosts SET ok = 0, failed = 'pcr_mismatch', reason = 'log edited', checked = ? WHERE name = 'good'",
           (int(time.time()),))
db.commit()
PY
refused any "did not pass a check"
refused good "failed its last check (pcr_mismatch)"
python3 - "$gstate" <<'PY' || fail "forget"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM gate_hosts")
db.commit()
PY
refused any "does not know"

# Bad host lines are refused at put, with the line; a broker without the gate's state refuses the requirement.
printf 'mrenclave = %s\nhost = two words\n' "$mre" >"$tmp/pol.badname"
adm put badname --policy "$tmp/pol.badname" --secret-file "$tmp/secret" 2>"$tmp/put.err" && fail "put with a bad host name"
grep -q "line 2" "$tmp/put.err" || fail "bad host name: no line: $(cat "$tmp/put.err")"
printf 'mrenclave = %s\nhost = a\nhost = b\n' "$mre" >"$tmp/pol.twice"
adm put twice --policy "$tmp/pol.twice" --secret-file "$tmp/secret" 2>/dev/null && fail "put with host twice"
printf 'mrenclave = %s\nhost_max_age = 10\n' "$mre" >"$tmp/pol.ageonly"
adm put ageonly --policy "$tmp/pol.ageonly" --secret-file "$tmp/secret" 2>/dev/null && fail "put with host_max_age alone"
printf 'mrenclave = %s\nhost = good\nhost_max_age = 0\n' "$mre" >"$tmp/pol.age0"
adm put age0 --policy "$tmp/pol.age0" --secret-file "$tmp/secret" 2>/dev/null && fail "put with host_max_age 0"
adm get-policy good >"$tmp/gp" && grep -qx "host = good" "$tmp/gp" || fail "get-policy: the host line is not kept as given"

ks2=$tmp/kbs2.sock
"$kbs" serve --socket "$ks2" --db "$tmp/kbs2.db" --audit "$tmp/audit2.log" --token-file "$tmp/admin2.token" \
	--master-key "$tmp/master2.key" 2>>"$tmp/kbs2.log" &
kpid2=$!
for _ in $(seq 100); do [ -S "$ks2" ] && break; sleep 0.05; done
"$kbs" put good --policy "$tmp/pol.good" --secret-file "$tmp/secret" --socket "$ks2" --token-file "$tmp/admin2.token" \
	2>"$tmp/put2.err" && fail "a broker without --gate-state took a host requirement"
grep -q "gate-state" "$tmp/put2.err" || fail "no --gate-state reason: $(cat "$tmp/put2.err")"

kill -0 "$kpid" 2>/dev/null || fail "adyton-kbs died"
ady_finish "$audit" "$tmp/kbs.log"
