# Shared by the keyguard integration tests (sourced).  Expects KG_TOOL,
# KG_FILTER, KG_ENCLAVE (tests/keyguard.cmake) and, for the process
# backend, the ADY_PROCESS_TEST_ENV variables.

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.log; do [ -f "$f" ] && sed "s|^|${f##*/}: |" "$f" | tail -20 >&2; done
	exit 1
}

need_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not installed (scripts/deps.sh installs it)"
	done
}

[ -n "${KG_FILTER:-}" ] && [ -f "$KG_FILTER" ] || skip "nbdkit filter not built (nbdkit-plugin-dev missing at configure time)"
need_cmd nbdkit nbdcopy nbdinfo python3
export ADYTON_KEYGUARD_ENCLAVE="$KG_ENCLAVE"

W=$(mktemp -d /tmp/kg-test.XXXXXX)
KG_PIDS=""
KG_CLEANUP=""

kg_cleanup() {
	set +e
	eval "$KG_CLEANUP"
	for p in $KG_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$W"
}
trap kg_cleanup EXIT

# Waits up to 10 s for a path to exist.
wait_for() {
	for _ in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $1"
}

# serve NAME ARGS...: nbdkit on $W/NAME.sock in the foreground of a
# background job, the filter first; sets SERVE_PID.
serve() {
	name=$1
	shift
	rm -f "$W/$name.sock" "$W/$name.pid"
	LD_PRELOAD="${KG_ASAN_PRELOAD:-}" nbdkit -f -U "$W/$name.sock" -P "$W/$name.pid" "$@" >"$W/$name.log" 2>&1 &
	SERVE_PID=$!
	KG_PIDS="$KG_PIDS $SERVE_PID"
	wait_for "$W/$name.pid"
}

stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

uri() { echo "nbd+unix:///?socket=$W/$1.sock"; }
