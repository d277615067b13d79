#!/bin/sh
# A plain-mode volume (key given directly, like cryptsetup plain): bytes
# written through the filter are on disk as OpenSSL's aes-256-xts of the
# data with the test key and plain64 tweaks, for 512- and 4096-byte
# sectors; and the key is nowhere in nbdkit's memory while it serves.
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
[ -x "${KG_XTS_DECRYPT:-}" ] || skip "keyguard_xts_decrypt helper not built"

head -c 3M /dev/urandom >"$W/pattern"
for ss in 512 4096; do
	KEY=$(od -An -N64 -tx1 /dev/urandom | tr -d ' \n')
	truncate -s 4M "$W/p$ss.img"
	serve p$ss --filter="$KG_FILTER" file "$W/p$ss.img" volume="$W/p$ss.img" type=plain sector=$ss
	wait_for "$W/p$ss.img.unlock"
	echo "$KEY" | "$KG_TOOL" unlock --raw-key "$W/p$ss.img.unlock"
	nbdcopy "$W/pattern" "$(uri p$ss)"
	python3 "$(dirname "$0")/keyguard_memscan.py" "$SERVE_PID" \
		"$(echo "$KEY" | cut -c1-32)" "$(echo "$KEY" | cut -c33-64)" \
		"$(echo "$KEY" | cut -c65-96)" "$(echo "$KEY" | cut -c97-128)" || fail "key in nbdkit's memory"
	stop "$SERVE_PID"
	echo "$KEY" | "$KG_XTS_DECRYPT" "$ss" "$W/p$ss.img" "$W/p$ss.dec"
	cmp -n 3145728 "$W/pattern" "$W/p$ss.dec" || fail "on-disk bytes ($ss-byte sectors) are not aes-256-xts"
done
echo "keyguard plain: ok"
