#!/bin/sh
# LUKS1 both ways against nbdkit's own luks filter (issue 6): a volume
# made by cryptsetup, filled through the adyton filter, reads back through
# nbdkit-luks-filter with the same password, and the reverse.  A wrong
# password is refused; nbdkit (adyton filter) never holds the volume key.
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
need_cmd cryptsetup cmp
nbdkit --dump-config >/dev/null 2>&1 && nbdkit --filter=luks null --help >/dev/null 2>&1 ||
	skip "nbdkit luks filter not available"

PW="luks-pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
SIZE=48M

mkluks() {
	truncate -s "$SIZE" "$1"
	printf '%s' "$PW" | cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 --key-size 512 \
		--hash sha256 --pbkdf-force-iterations 1000 --key-file - "$1"
}

head -c 40M /dev/urandom >"$W/pattern"

# ---- adyton writes, nbdkit's luks filter reads.
mkluks "$W/a.img"
serve ady --filter="$KG_FILTER" file "$W/a.img" volume="$W/a.img"
wait_for "$W/a.img.unlock"
rc=0
printf 'wrong\n' | "$KG_TOOL" unlock "$W/a.img.unlock" 2>"$W/wrong.err" || rc=$?
[ "$rc" -eq 3 ] || fail "wrong LUKS password: exit $rc ($(cat "$W/wrong.err"))"
printf '%s\n' "$PW" | "$KG_TOOL" unlock "$W/a.img.unlock"
nbdcopy "$W/pattern" "$(uri ady)"
# The volume key (cryptsetup tells us, given the password) is not in nbdkit.
MK=$(printf '%s' "$PW" | cryptsetup luksDump --dump-master-key -q --key-file - "$W/a.img" |
	sed -n '/MK dump:/,$p' | sed 's/MK dump://' | tr -d ' \t\n')
[ ${#MK} -eq 128 ] || fail "could not read the master key from cryptsetup"
python3 "$(dirname "$0")/keyguard_memscan.py" "$SERVE_PID" \
	"$(echo "$MK" | cut -c1-32)" "$(echo "$MK" | cut -c33-64)" "$(echo "$MK" | cut -c65-96)" \
	"$(echo "$MK" | cut -c97-128)" || fail "LUKS volume key in nbdkit's memory"
stop "$SERVE_PID"
serve luks --filter=luks file "$W/a.img" passphrase="$PW"
nbdcopy "$(uri luks)" "$W/a.out"
stop "$SERVE_PID"
cmp -n 41943040 "$W/pattern" "$W/a.out" || fail "adyton -> luks filter: data differs"

# ---- nbdkit's luks filter writes, adyton reads (unaligned reads too).
mkluks "$W/b.img"
serve luks --filter=luks file "$W/b.img" passphrase="$PW"
nbdcopy "$W/pattern" "$(uri luks)"
stop "$SERVE_PID"
serve ady --filter="$KG_FILTER" file "$W/b.img" volume="$W/b.img"
wait_for "$W/b.img.unlock"
printf '%s\n' "$PW" | "$KG_TOOL" unlock "$W/b.img.unlock"
nbdcopy "$(uri ady)" "$W/b.out"
cmp -n 41943040 "$W/pattern" "$W/b.out" || fail "luks filter -> adyton: data differs"
# An unaligned window: 1000 bytes at offset 12345.
# An unaligned window and an unaligned write (read-modify-write of two
# partial sectors), through nbdsh (python3-libnbd).
need_cmd nbdsh
PATH=/usr/bin:$PATH nbdsh -u "$(uri ady)" -c "
want = open('$W/pattern', 'rb').read()
assert h.pread(1000, 12345) == want[12345:13345], 'unaligned read'
h.pwrite(b'x' * 777, 4000)
assert h.pread(2000, 3000) == want[3000:4000] + b'x' * 777 + want[4777:5000], 'unaligned write'
" || fail "unaligned I/O through the filter"
stop "$SERVE_PID"
echo "keyguard luks: ok"
