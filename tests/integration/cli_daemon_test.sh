#!/bin/bash
# `adyton run` and `adyton ps` end to end, and `adytond --help`:
#  - run: testenc's echo ECALL returns the input byte for byte on sim and on
#    process (through adytond); a bad ECALL index, an abort and an oversized
#    input exit 1 with "adyton: run IMAGE: reason"; enclave logs go to stderr.
#  - ps: never starts a daemon; lists an enclave while an `adyton run` that
#    waits for its input (a FIFO held open) is alive, and no longer once it
#    has ended; --json parses.
#
# usage: cli_daemon_test.sh TESTENC_SIGNED_IMAGE
# Environment (set by ctest): ADYTON, ADYTON_DAEMON and the private-daemon
# variables of ADY_PROCESS_TEST_ENV (tests/CMakeLists.txt).
# The script starts its own daemon (socket and state under its temporary
# directory) instead of the suite's shared one: `ps` lists every enclave of
# the user, and another test running testenc at the same time (ctest -j2)
# made "the new testenc enclave" someone else's, gone before it was checked.
set -u

: "${ADYTON:?ADYTON is not set (run through ctest)}"
: "${ADYTON_DAEMON:?ADYTON_DAEMON is not set (run through ctest)}"
img=${1:?usage: cli_daemon_test.sh TESTENC_SIGNED_IMAGE}
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 is not installed"
	exit 77
fi
if [ ! -f "$img" ]; then
	echo "FAIL: $img is missing: build the testenc-signed target"
	exit 1
fi

# testenc.h
T_ECHO=0
T_ABORT=1
T_LOG=9

tmp=$(mktemp -d)
mkdir "$tmp/daemon"
export ADYTON_SOCKET=$tmp/daemon/s.sock ADYTON_STATE_DIR=$tmp/daemon/state \
	ADYTON_DAEMON_LOG=$tmp/daemon/adytond.log
bg=
cleanup() {
	exec 3>&- 2>/dev/null
	if [ -n "$bg" ]; then
		kill "$bg" 2>/dev/null
		wait "$bg" 2>/dev/null
	fi
	# our daemon (the lock file names it): it would idle out, but not at once
	dpid=$(cat "$ADYTON_SOCKET.lock" 2>/dev/null)
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect CODE DESCRIPTION COMMAND...: runs COMMAND, output in $tmp/out, $tmp/err
expect() {
	local want=$1 what=$2 got
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, wanted $want ($*)"
		sed 's/^/  stdout: /' "$tmp/out"
		sed 's/^/  stderr: /' "$tmp/err"
		return 1
	fi
	echo "ok: $what"
}

# expect_err TEXT DESCRIPTION: stderr of the last expect contains TEXT
expect_err() {
	if ! grep -qF -- "$1" "$tmp/err"; then
		fail "$2: stderr lacks '$1':"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

# ---- adytond --help ----
if expect 0 "adytond --help" "$ADYTON_DAEMON" --help; then
	grep -q -- "--system" "$tmp/out" || fail "adytond --help does not describe --system"
fi

# ---- run, on both backends ----
# Every byte value, NULs included, and then some random bytes.
python3 -c 'import os, sys; sys.stdout.buffer.write(bytes(range(256)) * 4 + os.urandom(3000))' >"$tmp/in"
head -c 70000 /dev/zero >"$tmp/big"

for backend in sim process; do
	expect 0 "run echo on $backend (stdin -> stdout)" \
		sh -c '"$0" run --backend "$1" --in - "$2" <"$3"' "$ADYTON" "$backend" "$img" "$tmp/in" &&
		{ cmp -s "$tmp/in" "$tmp/out" || fail "run echo on $backend: output differs from input"; }

	rm -f "$tmp/echo.out"
	expect 0 "run echo on $backend (--in FILE --out FILE)" \
		"$ADYTON" run --backend "$backend" --ecall "$T_ECHO" --in "$tmp/in" --out "$tmp/echo.out" "$img" &&
		{ cmp -s "$tmp/in" "$tmp/echo.out" || fail "run --out on $backend: file differs from input"; }

	expect 0 "run with no input on $backend" "$ADYTON" run --backend "$backend" "$img" &&
		{ [ ! -s "$tmp/out" ] || fail "run with no input on $backend: output is not empty"; }

	expect 1 "run bad ECALL index on $backend" "$ADYTON" run --backend "$backend" --ecall 99 "$img"
	expect_err "adyton: run $img: no ECALL with that index" "run bad ECALL index on $backend"

	expect 1 "run aborting ECALL on $backend" \
		sh -c 'printf boom | "$0" run --backend "$1" --ecall "$2" --in - "$3"' \
		"$ADYTON" "$backend" "$T_ABORT" "$img"
	expect_err "adyton: run $img: enclave aborted" "run aborting ECALL on $backend"
	expect_err "requested: boom" "run aborting ECALL on $backend (reason)"

	expect 0 "run logging ECALL on $backend" "$ADYTON" run --backend "$backend" --ecall "$T_LOG" "$img" &&
		{ [ ! -s "$tmp/out" ] || fail "run logging ECALL on $backend: log reached stdout"; }
	expect_err "log line 42" "run logging ECALL on $backend (log on stderr)"

	expect 1 "run input over the slot on $backend" \
		"$ADYTON" run --backend "$backend" --in "$tmp/big" "$img"
	expect_err "adyton: run $img: " "run input over the slot on $backend"

	expect 1 "run --max-out below the output on $backend" \
		"$ADYTON" run --backend "$backend" --max-out 16 --in "$tmp/in" "$img"
	expect_err "adyton: run $img: " "run --max-out below the output on $backend"
done

expect 2 "run unknown backend" "$ADYTON" run --backend bogus "$img"
expect 2 "run without image" "$ADYTON" run
expect 1 "run missing image" "$ADYTON" run --backend sim "$tmp/nonexistent"
expect_err "adyton: run $tmp/nonexistent: " "run missing image"

# ---- ps without a daemon: says so, starts none ----
mkdir "$tmp/nodaemon"
expect 0 "ps with no daemon" env ADYTON_SOCKET="$tmp/nodaemon/s.sock" "$ADYTON" ps
expect_err "no adytond running" "ps with no daemon"
expect 0 "ps --json with no daemon" env ADYTON_SOCKET="$tmp/nodaemon/s.sock" "$ADYTON" ps --json &&
	{ [ "$(tr -d ' \n' <"$tmp/out")" = "[]" ] || fail "ps --json with no daemon: not []: $(cat "$tmp/out")"; }
[ ! -e "$tmp/nodaemon/s.sock" ] || fail "ps started a daemon"

# ---- ps while an enclave runs ----
mrenclave=$("$ADYTON" verify "$img" | sed -n 's/^mrenclave: //p')
[ ${#mrenclave} -eq 64 ] || fail "cannot read MRENCLAVE of $img"

# ps_json: `adyton ps --json` into $tmp/ps.json; fails unless it ran and parses
ps_json() {
	"$ADYTON" ps --json 2>/dev/null >"$tmp/ps.json" || return 1
	python3 -m json.tool "$tmp/ps.json" >/dev/null
}

# new_id BEFORE: "id backend memory host_pid" of an entry of $tmp/ps.json with
# testenc's MRENCLAVE and an id not in BEFORE; nothing if there is none
new_id() {
	python3 - "$tmp/ps.json" "$mrenclave" "$1" <<'EOF'
import json, sys
entries = json.load(open(sys.argv[1]))
before = set(sys.argv[3].split())
for e in entries:
    if e["mrenclave"] == sys.argv[2] and str(e["id"]) not in before:
        print(e["id"], e["backend"], e["memory"], e["host_pid"])
        break
EOF
}

ps_json || fail "ps --json before the launch does not parse"
before=$(python3 -c 'import json, sys; print(" ".join(str(e["id"]) for e in json.load(open(sys.argv[1]))))' \
	"$tmp/ps.json" 2>/dev/null)

mkfifo "$tmp/fifo"
# Read-write: opening does not block, and the FIFO has a writer (us) until
# fd 3 is closed, so the run waits for its input with its enclave launched.
exec 3<>"$tmp/fifo"
"$ADYTON" run --backend process --in "$tmp/fifo" --out "$tmp/bg.out" "$img" 3>&- 2>"$tmp/bg.err" &
bg=$!

found=
for _ in $(seq 100); do
	if ps_json; then
		found=$(new_id "$before")
		[ -n "$found" ] && break
	fi
	kill -0 "$bg" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$found" ]; then
	fail "ps --json never listed the running enclave"
	sed 's/^/  ps: /' "$tmp/ps.json"
	sed 's/^/  run stderr: /' "$tmp/bg.err"
else
	read -r id backend memory host_pid <<<"$found"
	echo "ok: ps --json lists enclave $id (host pid $host_pid)"
	[ "$backend" = process ] || fail "ps --json: backend $backend, wanted process"
	[ "$memory" -gt 0 ] || fail "ps --json: memory $memory"
	kill -0 "$host_pid" 2>/dev/null || fail "ps --json: host pid $host_pid is not alive"
	expect 0 "ps (table)" "$ADYTON" ps &&
		{ grep -qE "^$id +[0-9]+ +$host_pid +process +${mrenclave:0:16} " "$tmp/out" ||
			{ fail "ps table lacks enclave $id"; sed 's/^/  stdout: /' "$tmp/out"; }; }
	head -n 1 "$tmp/out" | grep -q MRENCLAVE || fail "ps table has no header"
	expect 0 "ps --json" "$ADYTON" ps --json &&
		{ python3 -m json.tool "$tmp/out" >/dev/null || fail "ps --json does not parse"; }
fi

printf 'through the fifo\n' >&3
exec 3>&-
wait "$bg"
rc=$?
bg=
if [ "$rc" -ne 0 ]; then
	fail "background run exited $rc"
	sed 's/^/  stderr: /' "$tmp/bg.err"
elif [ "$(cat "$tmp/bg.out")" != "through the fifo" ]; then
	fail "background run output: '$(cat "$tmp/bg.out")'"
else
	echo "ok: background run echoed its FIFO input"
fi

if [ -n "$found" ]; then
	gone=
	for _ in $(seq 50); do
		if ps_json && ! python3 -c 'import json, sys
sys.exit(0 if any(str(e["id"]) == sys.argv[2] for e in json.load(open(sys.argv[1]))) else 1)' \
			"$tmp/ps.json" "$id"; then
			gone=1
			break
		fi
		sleep 0.1
	done
	if [ -n "$gone" ]; then
		echo "ok: ps no longer lists enclave $id"
	else
		fail "ps still lists enclave $id after its run ended"
	fi
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all passed"
