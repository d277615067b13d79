#!/bin/sh
# `cmake --install` installs the key guard (adyton-keyguard, its enclave,
# the nbdkit filter) and the RA-TLS demo (issue 11 item 13), and the
# installed programs find their enclaves by themselves, also after the
# prefix is moved: a native volume is created, served and filled with
# only installed files, and the installed ratls-demo starts its enclave.
set -eu
. "$(dirname "$0")/keyguard_lib.sh"
: "${ADY_BINARY_DIR:?run through ctest}"
unset ADYTON_KEYGUARD_ENCLAVE

cmake --install "$ADY_BINARY_DIR" --prefix "$W/prefix" >"$W/install.log" 2>&1 || fail "cmake --install"
for f in bin/adyton-keyguard lib/adyton/keyguard-enclave.signed lib/nbdkit/filters/nbdkit-adyton-filter.so \
	bin/ratls-demo lib/adyton/ratls-demo-enclave.signed share/doc/adyton/keyguard/README.md \
	share/doc/adyton/ratls-demo/README.md; do
	[ -f "$W/prefix/$f" ] || fail "not installed: $f"
done
# Nothing refers back to the build tree: move the prefix.
mv "$W/prefix" "$W/moved"
P=$W/moved

PW="install-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PW" | "$P/bin/adyton-keyguard" create --size 4M --iterations 1000 "$W/v.img" >"$W/create.log" 2>&1 ||
	fail "installed adyton-keyguard create: $(cat "$W/create.log")"
serve v --filter="$P/lib/nbdkit/filters/nbdkit-adyton-filter.so" file "$W/v.img" volume="$W/v.img"
wait_for "$W/v.img.unlock"
printf '%s\n' "$PW" | "$P/bin/adyton-keyguard" unlock --no-verify "$W/v.img.unlock" || fail "installed unlock"
head -c 1M /dev/urandom >"$W/pattern"
nbdcopy "$W/pattern" "$(uri v)" || fail "write through the installed filter"
nbdcopy "$(uri v)" "$W/back"
cmp -n 1048576 "$W/pattern" "$W/back" || fail "read back through the installed filter"
stop "$SERVE_PID"

# The installed demo starts its installed enclave (the per-user test
# daemon provisions nobody, so it stops there and says what to do).
rc=0
"$P/bin/ratls-demo" --backend process --port 0 >"$W/demo.out" 2>"$W/demo.err" || rc=$?
grep -q "does not let this enclave get quotes" "$W/demo.err" ||
	fail "installed ratls-demo (exit $rc): $(cat "$W/demo.err")"
echo "keyguard install: ok"
