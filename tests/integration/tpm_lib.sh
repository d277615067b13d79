# Shared by the tpm_* tests (sourced first, under bash with set -u): a
# private temp dir $tmp, private swtpm instances, each with its own local
# CA (swtpm_localca) that issues its EK certificates, and private adytond
# daemons on the process backend.  Sourcing it checks the environment
# ctest gives, skips (exit 77) without swtpm, and arms the cleanup.
#   make_tpm NAME          TPM state $tmp/NAME/state, CA in $tmp/NAME/ca
#   start_tpm NAME         swtpm on $tmp/NAME/sock (TCTI "swtpm:path=...")
#   stop_tpm NAME
#   start_daemon NAME TPM [ARGS...]  adytond with --tpm (and ARGS), socket
#                          $tmp/NAME.sock, state $tmp/NAME-state
#   stop_daemon NAME
#   fail MESSAGE           counts a failure and goes on
#   finish [LOG]           exit 1 (LOG shown) if anything failed, else PASS
# Every process started is stopped on exit.
: "${ADYTON_DAEMON:?run through ctest}"
: "${ADYTON_ENCLAVE_HOST:?run through ctest}"

need_swtpm() {
	for p in swtpm swtpm_setup swtpm_localca openssl python3; do
		command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (scripts/deps.sh)"; exit 77; }
	done
}

make_tpm() {
	local d=$tmp/$1
	mkdir -p "$d/state" "$d/ca"
	# A local CA per TPM, in the temp dir: swtpm_localca creates its root
	# and intermediate (issuercert.pem) on first use.
	cat >"$d/setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $d/localca.conf
create_certs_tool_options = $d/localca.options
active_pcr_banks = sha256
CONF
	cat >"$d/localca.conf" <<CONF
statedir = $d/ca
signingkey = $d/ca/signkey.pem
issuercert = $d/ca/issuercert.pem
certserial = $d/ca/certserial
CONF
	printf -- '--platform-manufacturer adyton\n--platform-version 1\n--platform-model test\n' >"$d/localca.options"
	swtpm_setup --tpm2 --tpmstate "$d/state" --create-ek-cert --config "$d/setup.conf" --overwrite \
		>"$d/setup.log" 2>&1 || { echo "FAIL: swtpm_setup $1"; cat "$d/setup.log"; exit 1; }
	cat "$d/ca/swtpm-localca-rootca-cert.pem" "$d/ca/issuercert.pem" >"$d/ek-ca.pem"
}

declare -A tpm_pid daemon_pid
start_tpm() {
	local d=$tmp/$1
	rm -f "$d/sock" "$d/sock.ctrl"
	# The swtpm TCTI finds the control channel at PATH.ctrl.
	swtpm socket --tpm2 --server type=unixio,path="$d/sock" --ctrl type=unixio,path="$d/sock.ctrl" \
		--tpmstate dir="$d/state" --flags startup-clear >>"$d/swtpm.log" 2>&1 &
	tpm_pid[$1]=$!
	for _ in $(seq 100); do [ -S "$d/sock" ] && [ -S "$d/sock.ctrl" ] && return 0; sleep 0.05; done
	echo "FAIL: swtpm $1 did not start"; cat "$d/swtpm.log"; exit 1
}
stop_tpm() {
	[ -n "${tpm_pid[$1]:-}" ] || return 0
	kill "${tpm_pid[$1]}" 2>/dev/null; wait "${tpm_pid[$1]}" 2>/dev/null; tpm_pid[$1]=
}
tcti() { echo "swtpm:path=$tmp/$1/sock"; }

start_daemon() {
	local name=$1 tpm=$2
	shift 2
	rm -f "$tmp/$name.sock"
	"$ADYTON_DAEMON" --socket "$tmp/$name.sock" --state-dir "$tmp/$name-state" --policy "$tmp/dpolicy" \
		--host "$ADYTON_ENCLAVE_HOST" --tpm "$(tcti "$tpm")" --verbose "$@" 2>>"$tmp/$name.log" &
	daemon_pid[$name]=$!
	for _ in $(seq 200); do
		[ -S "$tmp/$name.sock" ] && return 0
		kill -0 "${daemon_pid[$name]}" 2>/dev/null || { daemon_pid[$name]=; return 1; }
		sleep 0.05
	done
	return 1
}
stop_daemon() {
	[ -n "${daemon_pid[$1]:-}" ] || return 0
	kill "${daemon_pid[$1]}" 2>/dev/null; wait "${daemon_pid[$1]}" 2>/dev/null; daemon_pid[$1]=
	rm -f "$tmp/$1.sock"
}

tpm_cleanup() {
	for n in "${!daemon_pid[@]}"; do stop_daemon "$n"; done
	for n in "${!tpm_pid[@]}"; do stop_tpm "$n"; done
	rm -rf "$tmp"
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
finish() {
	if [ "$failures" -ne 0 ]; then
		[ -n "${1:-}" ] && { echo "--- ${1##*/}"; cat "$1"; }
		echo "$failures failure(s)"; exit 1
	fi
	echo "PASS"
}

tmp=$(mktemp -d)
trap tpm_cleanup EXIT
need_swtpm
