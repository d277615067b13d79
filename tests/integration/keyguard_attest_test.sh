#!/bin/sh
# `adyton-keyguard unlock --policy`: the tool verifies the enclave behind
# the unlock socket before the password leaves it (issue 6 with issue 7's
# quotes), against a private adytond that provisions the key guard's signer:
#  - the right policy: "enclave verified", the volume unlocks and serves;
#  - a policy for another MRENCLAVE, or pinning another platform key:
#    refused naming the failed check (identity, platform), exit 4, nothing
#    sent (the volume stays locked);
#  - a relay that swaps in its own unlock key but forwards the real
#    enclave's quote (a man in the middle on the socket): refused
#    (key_binding), and the relay receives no envelope;
#  - the signer's provisioning revoked (SIGHUP): no quote, refused;
#  - --policy with --no-verify: a usage error;
#  - the unlock socket is 0600, and another user who could reach it gets
#    nothing (SO_PEERCRED).
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
[ "${ADYTON_BACKEND:-}" = process ] || skip "needs the process backend (ADY_PROCESS_TEST_ENV)"
[ -n "${ADYTON:-}" ] && [ -n "${ADYTON_DAEMON:-}" ] || skip "ADYTON and ADYTON_DAEMON not set"

PW="attest-test-pw"
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
mre=$("$ADYTON" inspect --json "$KG_ENCLAVE" | json mrenclave)
mrs=$("$ADYTON" inspect --json "$KG_ENCLAVE" | json mrsigner)

# A private daemon whose policy lets the key guard's signer get quotes.
export ADYTON_SOCKET="$W/d.sock" ADYTON_STATE_DIR="$W/state"
printf 'signer = any\nprovision = %s:6\n' "$mrs" >"$W/dpolicy"
"$ADYTON_DAEMON" --socket "$W/d.sock" --state-dir "$W/state" --policy "$W/dpolicy" \
	--host "$ADYTON_ENCLAVE_HOST" --verbose 2>>"$W/adytond.log" &
DPID=$!
KG_PIDS="$KG_PIDS $DPID"
wait_for "$W/d.sock"
pkey=$("$ADYTON_DAEMON" --print-platform-key --state-dir "$W/state") || fail "--print-platform-key"

printf 'mrenclave = %s\nplatform_key = %s\n' "$mre" "$pkey" >"$W/good"
printf 'mrenclave = %s\nplatform_key = %s\n' "$(printf '%064d' 7)" "$pkey" >"$W/other-enclave"
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre" "$(python3 -c 'print("11"*64)')" >"$W/other-platform"

printf '%s\n' "$PW" | "$KG_TOOL" create --size 16M --iterations 1000 "$W/vol.img" >/dev/null
serve srv --filter="$KG_FILTER" file "$W/vol.img" volume="$W/vol.img"
wait_for "$W/vol.img.unlock"

# Only the same user may talk to the unlock socket: it is 0600, and even
# made world-writable a connection from nobody gets no hello (SO_PEERCRED).
[ "$(stat -c %a "$W/vol.img.unlock")" = 600 ] || fail "unlock socket mode $(stat -c %a "$W/vol.img.unlock")"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	chmod 666 "$W/vol.img.unlock"
	chmod 755 "$W"
	got=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
print(len(s.recv(100)))' "$W/vol.img.unlock" 2>&1) || fail "nobody could not even connect: $got"
	[ "$got" = 0 ] || fail "a connection from nobody got $got bytes of hello"
	grep -q "a connection from another user refused" "$W/srv.log" || fail "no log of the refused user"
	chmod 600 "$W/vol.img.unlock"
	chmod 700 "$W"
fi

# refused WANT_CHECK POLICY: unlock must exit 4 naming the check.
refused() {
	rc=0
	printf '%s\n' "$PW" | "$KG_TOOL" unlock --policy "$2" "$W/vol.img.unlock" 2>"$W/err" || rc=$?
	[ "$rc" -eq 4 ] || fail "policy $2: exit $rc, not 4: $(cat "$W/err")"
	grep -q "failed check: $1" "$W/err" || fail "policy $2: not refused for $1: $(cat "$W/err")"
	if nbdinfo "$(uri srv)" >/dev/null 2>&1; then fail "policy $2: the volume was unlocked"; fi
}
refused identity "$W/other-enclave"
refused platform "$W/other-platform"

# The man in the middle: its own key in the hello, the real quote relayed.
python3 - "$W/vol.img.unlock" "$W/mitm.sock" "$W/mitm.out" <<'PY' &
import socket, sys
real, path, out = sys.argv[1:]
g = bytes.fromhex("04" "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                  "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
c, _ = srv.accept()
f = socket.socket(socket.AF_UNIX); f.connect(real)
def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d: break
        b += d
    return b
hello = recvn(f, 70)
c.sendall(hello[:5] + g)
req = recvn(c, 36); f.sendall(req)
hdr = recvn(f, 8); q = recvn(f, int.from_bytes(hdr[4:8], "little"))
c.sendall(hdr + q)
rest = recvn(c, 4)
open(out, "w").write("envelope" if rest else "nothing")
PY
MITM=$!
KG_PIDS="$KG_PIDS $MITM"
wait_for "$W/mitm.sock"
rc=0
printf '%s\n' "$PW" | "$KG_TOOL" unlock --policy "$W/good" "$W/mitm.sock" 2>"$W/err" || rc=$?
wait "$MITM" || fail "the relay failed"
[ "$rc" -eq 4 ] && grep -q "failed check: key_binding" "$W/err" || fail "relayed quote accepted (exit $rc): $(cat "$W/err")"
[ "$(cat "$W/mitm.out")" = nothing ] || fail "the tool sent its envelope to the relay"

# Usage: both --policy and --no-verify.
rc=0
printf '%s\n' "$PW" | "$KG_TOOL" unlock --policy "$W/good" --no-verify "$W/vol.img.unlock" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "--policy with --no-verify: exit $rc, not 2"

# Provisioning revoked: the enclave gets no quote, the tool sends nothing.
printf 'signer = any\n' >"$W/dpolicy"
kill -HUP "$DPID"
sleep 0.5
rc=0
printf '%s\n' "$PW" | "$KG_TOOL" unlock --policy "$W/good" "$W/vol.img.unlock" 2>"$W/err" || rc=$?
[ "$rc" -eq 4 ] && grep -q "could not get a quote" "$W/err" || fail "revoked signer: exit $rc: $(cat "$W/err")"

# Provisioning restored: the right policy unlocks.
printf 'signer = any\nprovision = %s:6\n' "$mrs" >"$W/dpolicy"
kill -HUP "$DPID"
sleep 0.5
printf '%s\n' "$PW" | "$KG_TOOL" unlock --policy "$W/good" "$W/vol.img.unlock" 2>"$W/err" ||
	fail "the right policy: $(cat "$W/err")"
grep -q "enclave verified" "$W/err" || fail "no verification reported: $(cat "$W/err")"
nbdinfo "$(uri srv)" >/dev/null 2>&1 || fail "not served after a verified unlock"
stop "$SERVE_PID"
echo "keyguard attest: ok"
