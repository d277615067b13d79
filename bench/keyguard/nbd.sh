#!/bin/sh
# bench/keyguard/nbd.sh BUILD_DIR [SIZE]: sequential read and write of SIZE
# (default 1G) with nbdcopy through nbdkit over a UNIX socket, in one run:
#   file    - nbdkit's file plugin, no encryption (the ceiling)
#   luks    - nbdkit's luks filter on a LUKS1 volume
#   adyton  - the key guard filter on the same LUKS1 volume (process backend)
#   native  - the key guard filter on a native volume (4096-byte sectors)
# Prints GB/s and the ratios the issue sets targets for.
set -eu
B=$(cd "$1" && pwd)
SIZE=${2:-1G}
FILTER=$B/apps/keyguard/nbdkit-adyton-filter.so
TOOL=$B/apps/keyguard/adyton-keyguard
export ADYTON_BACKEND=${ADYTON_BACKEND:-process}
export ADYTON_SOCKET=${ADYTON_SOCKET:-$B/td/s.sock} ADYTON_STATE_DIR=${ADYTON_STATE_DIR:-$B/td/state}
export ADYTON_DAEMON=${ADYTON_DAEMON:-$B/bin/adytond} ADYTON_ENCLAVE_HOST=${ADYTON_ENCLAVE_HOST:-$B/bin/adyton-enclave-host}
W=$(mktemp -d "${TMPDIR:-/tmp}/kg-bench.XXXXXX")
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
PW=bench-password
BYTES=$(numfmt --from=iec "$SIZE")

head -c "$BYTES" /dev/urandom >"$W/src"
truncate -s "$BYTES" "$W/plain.img"
truncate -s $((BYTES + (2 << 20))) "$W/luks.img"
printf '%s' "$PW" | cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 --key-size 512 \
	--hash sha256 --pbkdf-force-iterations 1000 --key-file - "$W/luks.img"
printf '%s\n' "$PW" | "$TOOL" create --size "$SIZE" --iterations 1000 "$W/native.img" >/dev/null

serve() {
	rm -f "$W/s.sock" "$W/pid"
	nbdkit -f -U "$W/s.sock" -P "$W/pid" "$@" 2>"$W/nbdkit.log" &
	PID=$!
	while [ ! -e "$W/pid" ]; do sleep 0.05; done
}
unlock() {
	while [ ! -e "$1" ]; do sleep 0.05; done
	printf '%s\n' "$PW" | "$TOOL" unlock "$1" 2>/dev/null
}
rate() { # seconds of a command -> GB/s of BYTES
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	echo "$BYTES $t0 $t1" | awk '{ printf "%.2f", $1 / ($3 - $2) / 1e9 }'
}
measure() { # name
	URI="nbd+unix:///?socket=$W/s.sock"
	w=$(rate nbdcopy "$W/src" "$URI")
	r=$(rate nbdcopy "$URI" null:)
	kill $PID; wait $PID 2>/dev/null || true; PID=""
	echo "$1 $r $w" >>"$W/results"
	printf '%-8s read %6s GB/s   write %6s GB/s\n' "$1" "$r" "$w"
}

serve file "$W/plain.img"; measure file
serve --filter=luks file "$W/luks.img" passphrase="$PW"; measure luks
serve --filter="$FILTER" file "$W/luks.img" volume="$W/luks.img"; unlock "$W/luks.img.unlock"; measure adyton
serve --filter="$FILTER" file "$W/native.img" volume="$W/native.img"; unlock "$W/native.img.unlock"; measure native
awk '{ r[$1] = $2; w[$1] = $3 }
END {
	printf "adyton/file: read %.2f write %.2f (target >= 0.6)\n", r["adyton"] / r["file"], w["adyton"] / w["file"]
	printf "adyton/luks: read %.2f write %.2f (target >= 2)\n", r["adyton"] / r["luks"], w["adyton"] / w["luks"]
	printf "native/file: read %.2f write %.2f\n", r["native"] / r["file"], w["native"] / w["file"]
}' "$W/results"
