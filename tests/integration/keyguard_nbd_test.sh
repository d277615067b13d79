#!/bin/sh
# NBD requests other than read and write through the filter, with a real
# NBD client (libnbd's Python binding, keyguard_nbd_ops.py) on a native
# and a LUKS1 volume (issue 11 item 10): trim is not offered and a trim
# request changes nothing; write-zeroes writes encrypted zeros and only
# over its range; no holes are reported.
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
PY=""
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import nbd' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || skip "python3-libnbd not installed"
OPS="$(dirname "$0")/keyguard_nbd_ops.py"

PW="nbd-ops-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PW" | "$KG_TOOL" create --size 4M --iterations 1000 "$W/n.img" >/dev/null
serve n --filter="$KG_FILTER" file "$W/n.img" volume="$W/n.img"
wait_for "$W/n.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/n.img.unlock"
"$PY" "$OPS" "$(uri n)" "$W/n.img" 0 || fail "native volume"
stop "$SERVE_PID"

if command -v cryptsetup >/dev/null 2>&1; then
	truncate -s 8M "$W/l.img"
	printf '%s' "$PW" | cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 --key-size 512 \
		--hash sha256 --pbkdf-force-iterations 1000 --key-file - "$W/l.img"
	OFF=$(cryptsetup luksDump "$W/l.img" | sed -n 's/^Payload offset:[ \t]*//p')
	serve l --filter="$KG_FILTER" file "$W/l.img" volume="$W/l.img"
	wait_for "$W/l.img.unlock"
	printf '%s\n' "$PW" | "$KG_TOOL" unlock --no-verify "$W/l.img.unlock"
	"$PY" "$OPS" "$(uri l)" "$W/l.img" $((OFF * 512)) || fail "LUKS1 volume"
	stop "$SERVE_PID"
else
	echo "cryptsetup not installed: LUKS1 part skipped" >&2
fi
echo "keyguard nbd requests: ok"
