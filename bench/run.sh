#!/bin/sh
# Builds the benchmarks (target `bench`) in a release build and runs them.
#
# usage: bench/run.sh [BUILD_DIR [--seconds S]]
#   BUILD_DIR: default build-bench in the source tree (configured Release)
#   --seconds: sampling time per measurement (default 1.5)
#
# The process backend needs adytond.  Unless ADYTON_SOCKET is already set,
# the run uses a private per-user daemon of the build tree (socket, state and
# log under BUILD_DIR/bench-daemon), started on demand by libadyton and gone
# 30 s after the run (--idle-exit), so that neither a system daemon nor your
# own per-user one is measured or disturbed.  Set ADYTON_SOCKET to measure a
# daemon you run yourself.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-bench}
[ $# -gt 0 ] && shift

if [ ! -f "$build/CMakeCache.txt" ]; then
	# Release: the numbers are meant to be what an application sees.
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DADYTON_TESTS=OFF
fi
cmake --build "$build" --target bench -j"$(nproc)"

if [ -z "${ADYTON_SOCKET:-}" ]; then
	d=$build/bench-daemon
	mkdir -p "$d"
	export ADYTON_SOCKET="$d/adytond.sock"
	export ADYTON_STATE_DIR="$d/state"
	export ADYTON_DAEMON_LOG="$d/adytond.log"
	export ADYTON_DAEMON="$build/bin/adytond"
	export ADYTON_ENCLAVE_HOST="$build/bin/adyton-enclave-host"
	export ADYTON_KVM_HOST="$build/bin/adyton-kvm-host"
fi
exec "$build/bench/ecall" "$@"
