#!/bin/sh
# adyton-keyguard create's option parsing (issue 11 item 12): sizes that
# overflow (17179869185G once made a 1 GiB volume through a wrapped
# shift), signs, spaces, unknown or doubled units, zero, and non-numeric
# sector sizes and iteration counts are refused before any password is
# read, with exit 2 and a message naming the option; sizes at the edge
# are accepted and make a volume of exactly that many bytes.
set -eu
: "${KG_TOOL:?run through ctest}"
W=$(mktemp -d /tmp/kg-cli.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# refused OPTION VALUE PATTERN: exit 2, PATTERN in the message, no file.
refused() {
	rc=0
	echo "pw-not-read" | "$KG_TOOL" create --iterations 1000 "$1" "$2" "$W/v.img" >"$W/out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "$1 '$2': exit $rc, expected 2 ($(cat "$W/out"))"
	grep -q -- "$3" "$W/out" || fail "$1 '$2': message '$(cat "$W/out")' lacks '$3'"
	[ ! -e "$W/v.img" ] && [ ! -e "$W/v.img.kgh" ] || fail "$1 '$2': a volume was created"
}

# 2^34 + 1 GiB: << 30 wraps to 1 GiB without the check.
refused --size 17179869185G "too large"
refused --size 17179869184G "too large"         # exactly 2^64
refused --size 8589934592G "too large"          # 2^63: not an off_t
refused --size 9007199254740992K "too large"    # 2^63 again, in K
refused --size 8388608T "too large"             # 2^63 in T
refused --size 18446744073709551616 "too large" # 2^64: strtoull's ERANGE
refused --size 99999999999999999999999 "too large"
refused --size 0 "must not be zero"
refused --size 0G "must not be zero"
refused --size -1 "expected a number"
refused --size -1G "expected a number"
refused --size " 1M" "expected a number"
refused --size "+1M" "expected a number"
refused --size "" "expected a number"
refused --size 1X "expected a number"
refused --size 1KK "expected a number"
refused --size 1M5 "expected a number"
refused --size G "expected a number"
refused --size 0x100000 "expected a number"
refused --sector-size 4096x "expected a decimal number"
refused --sector-size -4096 "expected a decimal number"
refused --sector-size 4294971392 "expected a decimal number" # 2^32 + 4096
refused --sector-size 1024 "sector-size is 512 or 4096"
refused --iterations abc "expected a decimal number"
refused --iterations -1 "expected a decimal number"
refused --iterations 4294967296 "expected a decimal number"
refused --size 4097 "multiple of it"

# Accepted at the edges: exact byte counts, lower-case units.
[ -n "${KG_ENCLAVE:-}" ] && [ -f "$KG_ENCLAVE" ] || { echo "SKIP: no enclave for the valid cases" >&2; exit 77; }
export ADYTON_KEYGUARD_ENCLAVE="$KG_ENCLAVE"
n=0
for spec in "4096:4096" "1m:1048576" "2M:2097152" "8k:8192" "1g:1073741824" "1T:1099511627776"; do
	n=$((n + 1))
	printf 'pw-%s\n' "$n" | "$KG_TOOL" create --size "${spec%%:*}" --iterations 1000 "$W/ok$n.img" >"$W/out" 2>&1 ||
		fail "--size ${spec%%:*} refused: $(cat "$W/out")"
	[ "$(stat -c %s "$W/ok$n.img")" = "${spec#*:}" ] ||
		fail "--size ${spec%%:*}: $(stat -c %s "$W/ok$n.img") bytes, expected ${spec#*:}"
	rm -f "$W/ok$n.img" "$W/ok$n.img.kgh"
done
echo "keyguard cli: ok"
