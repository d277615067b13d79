# Sourced by the integration scripts that run enclaves through a private
# adytond: the temporary directory and its cleanup, the failure count,
# reading `adyton inspect`, and the daemon's start.
#
#   . "$(dirname "$0")/test_lib.sh"
#   ady_need python3 openssl          # SKIP (77) when a command is missing
#   ady_stop kpid dpid                # at exit, kill what these variables name, in this order
#   ady_inspect prod "$image"         # $tmp/prod.json; then: mre=$(field "$tmp/prod.json" mrenclave)
#   ady_daemon "$policy_text" [adytond args]   # sets dpid and ADYTON_SOCKET, and pkey
#   ...; fail "what"                  # counts
#   ady_finish [log files to show on failure]
set -u
: "${ADYTON:?run through ctest}"
: "${ADYTON_DAEMON:?run through ctest}"
: "${ADYTON_ENCLAVE_HOST:?run through ctest}"

tmp=$(mktemp -d)
failures=0
dpid=
_ady_stop_vars=

ady_stop() { _ady_stop_vars="$_ady_stop_vars $*"; }
_ady_cleanup() {
	local v p
	for v in $_ady_stop_vars; do
		p=${!v:-}
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap _ady_cleanup EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

ady_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
	done
}

ady_inspect() {
	"$ADYTON" inspect --json "$2" >"$tmp/$1.json" || { echo "FAIL: inspect $2"; exit 1; }
}

# A private adytond on $tmp/d.sock with state in $tmp/state and the given
# policy text; its log is $tmp/adytond.log.  Sets dpid, exports
# ADYTON_SOCKET (and clears what would point libadyton elsewhere), and sets
# pkey to its platform key.
ady_daemon() {
	printf '%s\n' "$1" >"$tmp/dpolicy"
	shift
	export ADYTON_SOCKET=$tmp/d.sock
	unset ADYTON_STATE_DIR ADYTON_BACKEND
	"$ADYTON_DAEMON" --socket "$tmp/d.sock" --state-dir "$tmp/state" --policy "$tmp/dpolicy" \
		--host "$ADYTON_ENCLAVE_HOST" "$@" 2>>"$tmp/adytond.log" &
	dpid=$!
	for _ in $(seq 100); do [ -S "$tmp/d.sock" ] && break; sleep 0.05; done
	[ -S "$tmp/d.sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }
	pkey=$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/state") || { echo "FAIL: platform key"; exit 1; }
}

# The end: PASS, or the count with the named logs.
ady_finish() {
	local f
	if [ "$failures" -ne 0 ]; then
		for f in "$@"; do
			echo "--- $f"
			cat "$f"
		done
		echo "$failures failure(s)"
		exit 1
	fi
	echo "PASS"
	exit 0
}
