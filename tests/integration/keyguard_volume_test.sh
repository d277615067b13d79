#!/bin/sh
# The filter serves only the volume volume= names (issue 11 items 11, 12):
#  - LUKS1: `file b.img volume=a.img` (another LUKS volume, same password)
#    unlocks with a.img's header, then refuses every connection, naming
#    the differing header; b.img is not written;
#  - native: a header for a 4 MiB volume with an 8 MiB plugin file, and a
#    native header over a LUKS file of the right size, are refused;
#  - relative paths work although nbdkit changes to / in the background;
#  - type=auto on a LUKS volume with a damaged magic says so (not "no
#    native header");
#  - while locked, the export list says "locked: run adyton-keyguard
#    unlock SOCKET" (what nbdinfo suggests when a connection fails).
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
need_cmd cryptsetup sha256sum

PW="vol-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
mkluks() {
	truncate -s "$2" "$1"
	printf '%s' "$PW" | cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 --key-size 512 \
		--hash sha256 --pbkdf-force-iterations 1000 --key-file - "$1"
}
# refused_conn NAME PATTERN: a connection fails and the log names why.
refused_conn() {
	if nbdcopy "$W/pattern" "$(uri "$1")" 2>"$W/$1.client"; then fail "$1: a mismatched volume was served"; fi
	grep -q "$2" "$W/$1.log" || fail "$1: log lacks '$2'"
}
head -c 1M /dev/urandom >"$W/pattern"

# ---- LUKS1: volume=a.img, the plugin serves b.img.
mkluks "$W/a.img" 8M
mkluks "$W/b.img" 8M
B_SUM=$(sha256sum <"$W/b.img")
serve ab --filter="$KG_FILTER" file "$W/b.img" volume="$W/a.img"
wait_for "$W/a.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/a.img.unlock" 2>/dev/null
refused_conn ab "LUKS header differs from the one the volume was unlocked with"
stop "$SERVE_PID"
[ "$(sha256sum <"$W/b.img")" = "$B_SUM" ] || fail "b.img was written under a.img's key"

# The right pairing still works.
serve aa --filter="$KG_FILTER" file "$W/a.img" volume="$W/a.img"
wait_for "$W/a.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/a.img.unlock" 2>/dev/null
nbdcopy "$W/pattern" "$(uri aa)" || fail "a.img with volume=a.img"
stop "$SERVE_PID"

# ---- native: header for 4 MiB, plugin file of 8 MiB; and over a LUKS file.
printf '%s\n' "$PW" | "$KG_TOOL" create --size 4M --iterations 1000 "$W/n.img" >/dev/null
printf '%s\n' "$PW" | "$KG_TOOL" create --size 8M --iterations 1000 "$W/m.img" >/dev/null
serve nm --filter="$KG_FILTER" file "$W/m.img" volume="$W/n.img"
wait_for "$W/n.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/n.img.unlock" 2>/dev/null
refused_conn nm "the plugin serves 8388608 bytes but the header .*n.img.kgh is for a 4194304-byte volume"
stop "$SERVE_PID"
mkluks "$W/l4.img" 4M
serve nl --filter="$KG_FILTER" file "$W/l4.img" volume="$W/n.img"
wait_for "$W/n.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/n.img.unlock" 2>/dev/null
refused_conn nl "the plugin serves a LUKS volume, but .*n.img was opened as a native volume"
stop "$SERVE_PID"

# ---- relative paths, nbdkit in the background (it changes to /).
# (No unlock socket of an earlier server may stand in for the new one.)
rm -f "$W/n.img.unlock"
(
	cd "$W"
	LD_PRELOAD="${KG_ASAN_PRELOAD:-}" nbdkit -U rel.sock -P rel.pid --filter="$KG_FILTER" file n.img volume=n.img \
		>rel.log 2>&1
) || fail "nbdkit (background) did not start"
KG_CLEANUP='[ -f "$W/rel.pid" ] && kill "$(cat "$W/rel.pid")"'
wait_for "$W/n.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/n.img.unlock" 2>/dev/null ||
	fail "relative unlock socket not next to the volume"
nbdcopy "$W/pattern" "$(uri rel)" || fail "relative paths"
kill "$(cat "$W/rel.pid")"
KG_CLEANUP=""

# ---- type=auto, LUKS magic damaged.
mkluks "$W/d.img" 4M
printf 'X' | dd of="$W/d.img" bs=1 seek=0 conv=notrunc 2>/dev/null
rc=0
LD_PRELOAD="${KG_ASAN_PRELOAD:-}" timeout 30 nbdkit -f -U "$W/d.sock" --filter="$KG_FILTER" file "$W/d.img" volume="$W/d.img" \
	>"$W/d.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a damaged LUKS volume started"
grep -q "damaged LUKS header: the LUKS magic (bytes 0-5) is wrong" "$W/d.log" || fail "damaged magic: $(cat "$W/d.log")"
# ... and a volume that is neither, with no header: both possibilities named.
head -c 4M /dev/urandom >"$W/r.img"
rc=0
LD_PRELOAD="${KG_ASAN_PRELOAD:-}" timeout 30 nbdkit -f -U "$W/r.sock" --filter="$KG_FILTER" file "$W/r.img" volume="$W/r.img" \
	>"$W/r.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a volume without header started"
grep -q "does not start with the LUKS magic and has no native header" "$W/r.log" || fail "no header: $(cat "$W/r.log")"

# ---- locked: the export list says so.
serve lk --filter="$KG_FILTER" file "$W/a.img" volume="$W/a.img"
wait_for "$W/a.img.unlock"
if nbdinfo "$(uri lk)" >/dev/null 2>&1; then fail "a locked volume served a connection"; fi
nbdinfo --list "$(uri lk)" >"$W/list.out" 2>&1 || true
grep -q "locked: run adyton-keyguard unlock $W/a.img.unlock" "$W/list.out" || fail "locked: $(cat "$W/list.out")"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/a.img.unlock" 2>/dev/null
nbdinfo --list "$(uri lk)" >"$W/list.out" 2>&1 || fail "unlocked list: $(cat "$W/list.out")"
if grep -q "locked:" "$W/list.out"; then fail "unlocked volume still listed as locked"; fi
stop "$SERVE_PID"
echo "keyguard volume checks: ok"
