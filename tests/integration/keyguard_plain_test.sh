#!/bin/sh
# A plain-mode volume (key given directly, like cryptsetup plain): bytes
# written through the filter are on disk as OpenSSL's aes-256-xts of the
# data with the test key and plain64 tweaks, for 512- and 4096-byte
# sectors; and the key is nowhere in nbdkit's memory while it serves.
# With 4096-byte sectors the tweak counts 4096-byte sectors (dm-crypt's
# iv_large_sectors, cryptsetup plain's --iv-large-sectors); cryptsetup's
# default counts 512-byte units, which a volume cryptsetup encrypts itself
# shows (LUKS2, 4096-byte sectors, encrypted in userspace by `cryptsetup
# reencrypt --encrypt`, no device-mapper needed): it decrypts with 512-byte
# IV units and not through type=plain sector=4096 past its first sector.
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

if command -v cryptsetup >/dev/null 2>&1; then
	head -c 8M /dev/urandom >"$W/cs.plain"
	cp "$W/cs.plain" "$W/cs.img"
	truncate -s 16M "$W/cs.img"
	printf 'pw' | cryptsetup reencrypt --encrypt --type luks2 --sector-size 4096 --reduce-device-size 8M \
		--force-offline-reencrypt --cipher aes-xts-plain64 --key-size 512 --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file - -q "$W/cs.img" >"$W/cs.log" 2>&1 ||
		fail "cryptsetup reencrypt --encrypt: $(cat "$W/cs.log")"
	OFF=$(cryptsetup luksDump "$W/cs.img" | sed -n 's/^[ \t]*offset: \([0-9]*\) \[bytes\]/\1/p' | head -1)
	CSKEY=$(printf 'pw' | cryptsetup luksDump --dump-volume-key -q --key-file - "$W/cs.img" |
		sed -n '/MK dump:/,$p' | sed 's/MK dump://' | tr -d ' \t\n')
	[ -n "$OFF" ] && [ ${#CSKEY} -eq 128 ] || fail "cryptsetup luksDump: offset '$OFF', key of ${#CSKEY} digits"
	tail -c +$((OFF + 1)) "$W/cs.img" | head -c 8M >"$W/cs.data"
	echo "$CSKEY" | "$KG_XTS_DECRYPT" 4096 "$W/cs.data" "$W/cs.dec512" 512
	cmp -s "$W/cs.plain" "$W/cs.dec512" || fail "cryptsetup's 4096-byte sectors do not use 512-byte IV units"
	echo "$CSKEY" | "$KG_XTS_DECRYPT" 4096 "$W/cs.data" "$W/cs.declarge"
	cmp -s -n 4096 "$W/cs.plain" "$W/cs.declarge" || fail "first sector (tweak 0 either way)"
	if cmp -s -i 4096:4096 -n 4096 "$W/cs.plain" "$W/cs.declarge"; then
		fail "second sector decrypts with large-sector IVs: the README's --iv-large-sectors note is wrong"
	fi
	# The filter (type=plain sector=4096) agrees with the large-sector helper.
	serve cs --filter="$KG_FILTER" --filter=offset file "$W/cs.img" offset="$OFF" volume="$W/cs.img" type=plain \
		sector=4096
	wait_for "$W/cs.img.unlock"
	echo "$CSKEY" | "$KG_TOOL" unlock --raw-key --no-verify "$W/cs.img.unlock" 2>/dev/null
	nbdcopy "$(uri cs)" "$W/cs.kg"
	stop "$SERVE_PID"
	cmp -s -n 8388608 "$W/cs.kg" "$W/cs.declarge" || fail "filter and large-sector helper differ"
else
	echo "cryptsetup not installed: the IV-unit check is skipped" >&2
fi
echo "keyguard plain: ok"
