#!/bin/bash
# adyton capacity and its NFD feature file (issue 15, part 4): a system
# daemon on a temporary socket with a pool and two tenants, ops (root) and
# acme (nobody).  Checks the pool and headroom numbers against the measured
# pages of a held enclave, that a tenant sees its own tenant only, the NFD
# feature file's lines (names and values within Kubernetes label rules),
# and that no daemon is a clear failure.
#
# usage: capacity_test.sh ADYTOND ENCLAVE_HOST TESTENC_SIGNED
set -u
adytond=${1:?usage}
host=${2:?usage}
img=${3:?usage}
adyton=${ADYTON:?ADYTON is not set}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (a system daemon, and nobody as a second tenant)"
	exit 77
fi
command -v setpriv >/dev/null || { echo "SKIP: setpriv is not installed"; exit 77; }
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }
nobody_uid=$(id -u nobody)
nogroup=$(id -gn nobody)
tmp=$(mktemp -d)
chmod 755 "$tmp"
dpid= hpid=
cleanup() {
	[ -n "$hpid" ] && kill -9 "$hpid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
sock=$tmp/run/adytond.sock
mkdir -m 755 "$tmp/run"
as_nobody="setpriv --reuid=nobody --regid=$nogroup --clear-groups env ADYTON_SOCKET=$sock"
as_root="env ADYTON_SOCKET=$sock"

if $as_root "$adyton" capacity >/dev/null 2>"$tmp/err"; then
	fail "adyton capacity without a daemon succeeded"
else
	grep -q "no adytond answers" "$tmp/err" || fail "without a daemon: $(cat "$tmp/err")"
fi

T=$("$adyton" inspect --json --pages "$img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["pages"]))')
cat >"$tmp/policy" <<EOF
signer = any
allow_debug = yes
epc = 64M
tenant ops = uid:0,memory:16M,enclaves:4
tenant acme_corp = uid:$nobody_uid,memory:8M
EOF
"$adytond" --system --socket "$sock" --state-dir "$tmp/state" --policy "$tmp/policy" --host "$host" \
	2>"$tmp/adytond.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }

mkfifo -m 666 "$tmp/in"
$as_root ADYTON_BACKEND=process "$adyton" run --in "$tmp/in" "$img" >/dev/null 2>&1 &
hpid=$!
for _ in $(seq 100); do
	n=$($as_root "$adyton" ps --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" = 1 ] && break
	sleep 0.05
done
[ "$n" = 1 ] || fail "the held enclave is not listed"

$as_root "$adyton" capacity --json --nfd-features "$tmp/features" >"$tmp/root.json" || fail "capacity as root"
python3 - "$tmp/root.json" "$T" <<'EOF' || fail "capacity --json as root: $(cat "$tmp/root.json")"
import json, sys
c = json.load(open(sys.argv[1])); T = int(sys.argv[2]); P = 4096
assert c["epc_total_bytes"] == 64 << 20, c
assert c["epc_allocated_bytes"] == T * P, c
assert c["epc_free_bytes"] == (64 << 20) - T * P, c
assert c["attestation"] == "enrolled", c
assert c["backends"]["process"] is True and c["backends"]["sim"] is True, c
t = {x["name"]: x for x in c["tenants"]}
assert set(t) == {"ops", "acme_corp"}, t
assert t["ops"]["allocated_bytes"] == T * P and t["ops"]["enclaves"] == 1, t
assert t["ops"]["headroom_bytes"] == (16 << 20) - T * P, t
assert t["acme_corp"]["headroom_bytes"] == 8 << 20, t
print(f"ok: capacity as root: pool {c['epc_free_bytes']} of {c['epc_total_bytes']} bytes free after {T} pages; "
      f"headroom ops {t['ops']['headroom_bytes']}, acme_corp {t['acme_corp']['headroom_bytes']}")
EOF
$as_nobody "$adyton" capacity --json >"$tmp/nobody.json" || fail "capacity as nobody"
python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert [x["name"] for x in c["tenants"]] == ["acme_corp"], c["tenants"]
print("ok: nobody sees its own tenant only")' "$tmp/nobody.json" || fail "nobody sees: $(cat "$tmp/nobody.json")"

# NFD local feature file: KEY=VALUE, label-safe
cat "$tmp/features"
want="adyton.backend.process=true
adyton.attestation=enrolled
adyton.epc.total-mib=64
adyton.epc.free-mib=$(((64 * 1024 * 1024 - T * 4096) / 1048576))
adyton.tenant.ops.headroom-mib=$(((16 * 1024 * 1024 - T * 4096) / 1048576))
adyton.tenant.acme-corp.headroom-mib=8"
while read -r line; do
	grep -qxF "$line" "$tmp/features" || fail "NFD features lack '$line'"
done <<<"$want"
grep -vqE '^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?=[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$' "$tmp/features" &&
	fail "an NFD feature line is not a valid label: $(grep -vE '^[a-z0-9.-]+=[A-Za-z0-9._-]+$' "$tmp/features")"
ls "$tmp"/features.tmp.* >/dev/null 2>&1 && fail "a temporary feature file was left behind"
$as_root "$adyton" capacity --nfd-features /nonexistent/dir/f >/dev/null 2>&1 && fail "an unwritable NFD path succeeded"
$as_root "$adyton" capacity --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "an unknown option is not a usage error"
$as_root "$adyton" capacity | grep -q "^epc: *64.0 MiB total" || fail "the table: $($as_root "$adyton" capacity)"

echo x >"$tmp/in"
wait "$hpid"
hpid=
[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all capacity checks passed"
