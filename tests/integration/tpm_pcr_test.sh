#!/bin/bash
# The root key sealed to PCRs (adytond --tpm --tpm-pcrs), with swtpm and
# tpm2-tools changing PCRs between starts.  Each start here is
# `adytond --print-platform-key`, which unseals the root and prints the
# attestation key kept under it: the same key means the same root.
#  - sealed to PCRs 7,16; later starts without --tpm-pcrs use root.tpm's;
#  - a PCR outside the selection changes: still unseals;
#  - the object in root.tpm, used directly with tpm2-tools (as root on the
#    machine could): unseals under the PCR policy at the sealed values, never
#    with password auth, and not once PCR 16 changed;
#  - PCR 16 extended: refused, naming the PCRs; adytond does not start;
#    PCR 16 reset to its old value: unseals again (the values are the key);
#  - --tpm-pcrs other than the sealed ones: refused, saying both;
#  - root.tpm with its PCR mask edited: refused; a mask beyond PCR 23:
#    damaged; --tpm-pcrs malformed or without --tpm: usage errors.
set -u
. "$(dirname "$0")/tpm_lib.sh"
for p in tpm2_pcrextend tpm2_pcrreset tpm2_createprimary tpm2_load tpm2_unseal tpm2_flushcontext; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (tpm2-tools, scripts/deps.sh)"; exit 77; }
done

make_tpm A
start_tpm A
S=$tmp/p-state
key() { "$ADYTON_DAEMON" --print-platform-key --state-dir "$S" --tpm "$(tcti A)" "$@" 2>"$tmp/err"; }
extend() { tpm2_pcrextend -T "$(tcti A)" "$1:sha256=$(python3 -c 'import os; print(os.urandom(32).hex())')"; }

pk=$(key --create --tpm-pcrs 7,16) || { echo "FAIL: first start: $(cat "$tmp/err")"; exit 1; }
mask=$(python3 -c 'import sys,struct; print(hex(struct.unpack_from("<I", open(sys.argv[1],"rb").read(), 8)[0]))' "$S/root.tpm")
[ "$mask" = 0x10080 ] || fail "root.tpm PCR mask $mask, not 0x10080"
[ "$(key)" = "$pk" ] || fail "without --tpm-pcrs: $(cat "$tmp/err")"

extend 8 || fail "tpm2_pcrextend 8"
[ "$(key)" = "$pk" ] || fail "PCR 8 (not sealed to) changed and the root no longer unseals: $(cat "$tmp/err")"

if key --tpm-pcrs 0 >/dev/null; then fail "--tpm-pcrs other than the sealed ones accepted"; fi
grep -q "sealed to PCRs {7,16}, --tpm-pcrs asks for {0}" "$tmp/err" || fail "mismatch not explained: $(cat "$tmp/err")"

# The sealed object itself, through tpm2-tools as root on this machine
# would use it: root.tpm split into its TPM2B_PUBLIC and TPM2B_PRIVATE,
# loaded under a storage primary made from the same SRK template.
python3 - "$S/root.tpm" "$tmp/obj" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
o = 12
for name in ("pub", "priv"):
    n = struct.unpack(">H", b[o:o + 2])[0]
    open(sys.argv[2] + "." + name, "wb").write(b[o:o + 2 + n])
    o += 2 + n
assert o == len(b)
PY
T=$(tcti A)
flush() { tpm2_flushcontext -T "$T" -t >/dev/null 2>&1; tpm2_flushcontext -T "$T" -s >/dev/null 2>&1; }
# direct_unseal [PCR-POLICY]: 0 when the TPM hands out the 32-byte root.
direct_unseal() {
	local got
	flush
	tpm2_createprimary -T "$T" -C o -g sha256 -G ecc256:aes128cfb -c "$tmp/prim.ctx" \
		-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' >/dev/null 2>&1 || return 2
	flush
	tpm2_load -T "$T" -C "$tmp/prim.ctx" -u "$tmp/obj.pub" -r "$tmp/obj.priv" -c "$tmp/obj.ctx" >/dev/null 2>&1 || return 2
	flush
	got=$(tpm2_unseal -T "$T" -c "$tmp/obj.ctx" ${1:+-p "$1"} 2>/dev/null | wc -c)
	flush
	[ "$got" -eq 32 ]
}
direct_unseal pcr:sha256:7,16
[ $? -eq 0 ] || fail "the sealed root does not load and unseal with tpm2-tools at the sealed PCRs (the test's own setup)"
direct_unseal
[ $? -eq 1 ] || fail "the PCR-sealed root unsealed with password (empty) auth: the policy is not the only way in"

extend 16 || fail "tpm2_pcrextend 16"
direct_unseal pcr:sha256:7,16
[ $? -eq 1 ] || fail "tpm2-tools unsealed the root with PCR 16 changed"
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
