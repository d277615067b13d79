#!/bin/bash
# The root key sealed to PCRs (adytond --tpm --tpm-pcrs), with swtpm and
# tpm2-tools changing PCRs between starts.  Each start here is
# `adytond --print-platform-key`, which unseals the root and prints the
# attestation key kept under it: the same key means the same root.
#  - sealed to PCRs 7,16; later starts without --tpm-pcrs use root.tpm's;
#  - a PCR outside the selection changes: still unseals;
#  - PCR 16 extended: refused, naming the PCRs; adytond does not start;
#    PCR 16 reset to its old value: unseals again (the values are the key);
#  - --tpm-pcrs other than the sealed ones: refused, saying both;
#  - root.tpm with its PCR mask edited: refused; a mask beyond PCR 23:
#    damaged; --tpm-pcrs malformed or without --tpm: usage errors.
set -u
. "$(dirname "$0")/tpm_lib.sh"
for p in tpm2_pcrextend tpm2_pcrreset; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (tpm2-tools, scripts/deps.sh)"; exit 77; }
done

make_tpm A
start_tpm A
S=$tmp/p-state
key() { "$ADYTON_DAEMON" --print-platform-key --state-dir "$S" --tpm "$(tcti A)" "$@" 2>"$tmp/err"; }
extend() { tpm2_pcrextend -T "$(tcti A)" "$1:sha256=$(python3 -c 'import os; print(os.urandom(32).hex())')"; }

pk=$(key --tpm-pcrs 7,16) || { echo "FAIL: first start: $(cat "$tmp/err")"; exit 1; }
mask=$(python3 -c 'import sys,struct; print(hex(struct.unpack_from("<I", open(sys.argv[1],"rb").read(), 8)[0]))' "$S/root.tpm")
[ "$mask" = 0x10080 ] || fail "root.tpm PCR mask $mask, not 0x10080"
[ "$(key)" = "$pk" ] || fail "without --tpm-pcrs: $(cat "$tmp/err")"

extend 8 || fail "tpm2_pcrextend 8"
[ "$(key)" = "$pk" ] || fail "PCR 8 (not sealed to) changed and the root no longer unseals: $(cat "$tmp/err")"

if key --tpm-pcrs 0 >/dev/null; then fail "--tpm-pcrs other than the sealed ones accepted"; fi
grep -q "sealed to PCRs {7,16}, --tpm-pcrs asks for {0}" "$tmp/err" || fail "mismatch not explained: $(cat "$tmp/err")"

extend 16 || fail "tpm2_pcrextend 16"
if key >/dev/null; then fail "unsealed after PCR 16 changed"; fi
grep -q "PCRs {7,16} differ" "$tmp/err" || fail "PCR change not explained: $(cat "$tmp/err")"
printf 'signer = any\n' >"$tmp/dpolicy"
if start_daemon p A; then fail "adytond started with PCR 16 changed"; stop_daemon p; fi

tpm2_pcrreset -T "$(tcti A)" 16 || fail "tpm2_pcrreset 16"
[ "$(key)" = "$pk" ] || fail "PCR 16 back at its old value and the root does not unseal: $(cat "$tmp/err")"
start_daemon p A || fail "adytond does not start with the PCRs as sealed: $(tail -3 "$tmp/p.log")"
stop_daemon p

cp "$S/root.tpm" "$tmp/root.good"
python3 - "$S/root.tpm" 0x80 <<'PY'
import sys, struct
b = bytearray(open(sys.argv[1], "rb").read()); struct.pack_into("<I", b, 8, int(sys.argv[2], 16))
open(sys.argv[1], "wb").write(b)
PY
if key >/dev/null; then fail "root.tpm with its PCR mask edited (7 only) unsealed"; fi
cp "$tmp/root.good" "$S/root.tpm"
python3 - "$S/root.tpm" 0x40000000 <<'PY'
import sys, struct
b = bytearray(open(sys.argv[1], "rb").read()); struct.pack_into("<I", b, 8, int(sys.argv[2], 16))
open(sys.argv[1], "wb").write(b)
PY
if key >/dev/null; then fail "root.tpm with a PCR mask beyond 23 accepted"; fi
grep -q "root.tpm (the TPM-sealed root key) is damaged" "$tmp/err" || fail "mask beyond 23: $(cat "$tmp/err")"
cp "$tmp/root.good" "$S/root.tpm"
[ "$(key)" = "$pk" ] || fail "the restored root.tpm does not unseal"

"$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/x" --tpm "$(tcti A)" --tpm-pcrs 7,24 2>/dev/null
[ $? -eq 2 ] || fail "--tpm-pcrs 7,24 not a usage error"
"$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/x" --tpm-pcrs 7 2>/dev/null
[ $? -eq 2 ] || fail "--tpm-pcrs without --tpm not a usage error"

finish
