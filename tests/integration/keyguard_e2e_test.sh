#!/bin/sh
# The key guard as a user runs it (issue 6): create a 256 MiB native
# volume, serve it with nbdkit and the adyton filter, attach it with
# nbdfuse and a loop device, mkfs.ext4, mount, write, unmount, stop
# everything; start again and read the files back.  A wrong password
# refuses to serve.  While it runs, neither nbdkit nor nbdfuse (the
# application) holds a byte of the password.
set -eu
. "$(dirname "$0")/keyguard_lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (loop devices, mount)"
need_cmd nbdfuse fusermount3 losetup mkfs.ext4 mount umount sha256sum
[ -c /dev/fuse ] || skip "no /dev/fuse"
losetup -f >/dev/null 2>&1 || skip "no free loop device"

PW="keyguard e2e $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
VOL=$W/vol.img
mkdir -p "$W/fuse" "$W/mnt"
LOOP=""
KG_CLEANUP='mountpoint -q "$W/mnt" && umount "$W/mnt"; [ -n "$LOOP" ] && losetup -d "$LOOP"; mountpoint -q "$W/fuse" && fusermount3 -u "$W/fuse"'

printf '%s\n' "$PW" | "$KG_TOOL" create --size 256M --iterations 20000 "$VOL"
[ -f "$VOL.kgh" ] || fail "no header file"

start() {
	rm -f "$VOL.unlock"
	serve kg --filter="$KG_FILTER" file "$VOL" volume="$VOL"
	NBDKIT=$SERVE_PID
	wait_for "$VOL.unlock"
}

attach() {
	rm -f "$W/fuse.pid"
	nbdfuse -C 4 -P "$W/fuse.pid" "$W/fuse/disk" --unix "$W/kg.sock" >"$W/nbdfuse.log" 2>&1 &
	FUSE=$!
	KG_PIDS="$KG_PIDS $FUSE"
	wait_for "$W/fuse.pid"
	LOOP=$(losetup -f --show "$W/fuse/disk")
}

detach() {
	umount "$W/mnt"
	losetup -d "$LOOP"
	LOOP=""
	fusermount3 -u "$W/fuse"
	wait "$FUSE" 2>/dev/null || true
	stop "$NBDKIT"
}

# ---- first run: wrong password, then the right one; make a filesystem.
start
rc=0
printf 'not the password\n' | "$KG_TOOL" unlock "$VOL.unlock" 2>"$W/wrong.err" || rc=$?
[ "$rc" -eq 3 ] || fail "wrong password: exit $rc, expected 3"
grep -q "wrong password" "$W/wrong.err" || fail "wrong password not reported: $(cat "$W/wrong.err")"
if nbdinfo "$(uri kg)" >/dev/null 2>&1; then fail "a locked volume served a connection"; fi

printf '%s\n' "$PW" | "$KG_TOOL" unlock "$VOL.unlock"
attach
[ "$(stat -c %s "$W/fuse/disk")" -eq $((256 << 20)) ] || fail "size through the filter"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$W/mnt"
head -c 24M /dev/urandom >"$W/mnt/random.bin"
seq 1 100000 >"$W/mnt/numbers.txt"
mkdir "$W/mnt/dir" && echo "hello from the key guard" >"$W/mnt/dir/hello.txt"
(cd "$W/mnt" && sha256sum random.bin numbers.txt dir/hello.txt) >"$W/sums"
sync

# The password in the serving process and in the application.
PWHEX=$(printf '%s' "$PW" | od -An -tx1 | tr -d ' \n')
python3 "$(dirname "$0")/keyguard_memscan.py" "$NBDKIT" "$PWHEX" || fail "password found in nbdkit's memory"
python3 "$(dirname "$0")/keyguard_memscan.py" "$FUSE" "$PWHEX" || fail "password found in nbdfuse's memory"
detach

# The plaintext is not on disk.
if grep -q "hello from the key guard" "$VOL"; then fail "plaintext on disk"; fi

# ---- second run: everything restarted, files read back.
start
printf '%s\n' "$PW" | "$KG_TOOL" unlock "$VOL.unlock"
attach
mount "$LOOP" "$W/mnt"
(cd "$W/mnt" && sha256sum -c --quiet "$W/sums") || fail "files differ after restart"
detach
echo "keyguard e2e: ok"
