#!/bin/sh
# cmake --install, then build and run an enclave project that lives outside
# the tree with find_package(adyton) + adyton_add_enclave().
set -eu
: "${ADY_SOURCE_DIR:?}" "${ADY_BINARY_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$ADY_BINARY_DIR" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/adyton"
test -f "$work/prefix/lib/libadyton.a"
test -f "$work/prefix/lib/libadyton-trts.a"
test -f "$work/prefix/include/adyton/host.h"
cmake -S "$ADY_SOURCE_DIR/tests/outoftree" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/cfg.log" 2>&1 \
	|| { cat "$work/cfg.log"; exit 1; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/prefix/bin/adyton" verify "$work/build/oot-enclave.signed"
out=$("$work/build/oot-app" "$work/build/oot-enclave.signed")
echo "$out"
[ "$out" = "40 + 2 = 42" ]
# An EDL that imports the installed adyton/sockio.edl.
test -f "$work/prefix/include/adyton/sockio.edl"
out=$("$work/build/oot-sockio-app" "$work/build/oot-sockio-enclave.signed")
echo "$out"
[ "$out" = "hello" ]
echo "out-of-tree enclave project: OK"
