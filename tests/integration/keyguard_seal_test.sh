#!/bin/sh
# The sealed salt is bound to the platform (issue 6): a native volume
# created under one daemon state (one platform root key) unlocks there,
# and its header copied to another platform root does not unseal: the
# unlock is refused with that reason, not with "wrong password".
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
[ "${ADYTON_BACKEND:-}" = process ] || skip "needs the process backend (ADY_PROCESS_TEST_ENV)"

PW="seal-test-pw"
platform() {
	export ADYTON_SOCKET="$W/$1.sock" ADYTON_STATE_DIR="$W/$1-state"
}
stop_daemon() {
	[ -f "$W/$1.sock.lock" ] && kill "$(cat "$W/$1.sock.lock")" 2>/dev/null || true
}
KG_CLEANUP='stop_daemon one; stop_daemon two'

platform one
printf '%s\n' "$PW" | "$KG_TOOL" create --size 16M --iterations 1000 "$W/vol.img"
serve srv1 --filter="$KG_FILTER" file "$W/vol.img" volume="$W/vol.img"
wait_for "$W/vol.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock "$W/vol.img.unlock" || fail "does not unlock on its own platform"
stop "$SERVE_PID"

platform two
rm -f "$W/vol.img.unlock"
serve srv2 --filter="$KG_FILTER" file "$W/vol.img" volume="$W/vol.img"
wait_for "$W/vol.img.unlock"
rc=0
printf '%s\n' "$PW" | "$KG_TOOL" unlock "$W/vol.img.unlock" 2>"$W/two.err" || rc=$?
[ "$rc" -ne 0 ] || fail "the sealed salt unsealed under another platform root"
grep -q "does not unseal" "$W/two.err" || fail "unexpected refusal: $(cat "$W/two.err")"
if nbdinfo "$(uri srv2)" >/dev/null 2>&1; then fail "served without a key"; fi
stop "$SERVE_PID"
echo "keyguard seal: ok"
