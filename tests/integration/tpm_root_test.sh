#!/bin/bash
# The TPM-sealed platform root key (adytond --tpm), with swtpm:
#  - first start seals a root key from TPM randomness into STATE/root.tpm
#    (0600); no file root key (root.key) is written;
#  - a blob sealed by an enclave before a restart of adytond and of swtpm
#    unseals after it (same root, hence same sealing keys);
#  - the state directory moved to another swtpm instance: adytond refuses
#    to start and says why; and a --tpm state is refused without --tpm.
# usage: tpm_root_test.sh SEAL_A_SIGNED
set -u
: "${ADYTON:?run through ctest}"
img=${1:?usage}
. "$(dirname "$0")/tpm_lib.sh"

make_tpm A
make_tpm B
start_tpm A
start_tpm B
printf 'signer = any\nallow_debug = yes\n' >"$tmp/dpolicy"
export ADYTON_SOCKET=$tmp/p.sock
unset ADYTON_STATE_DIR

start_daemon p A || { echo "FAIL: adytond --tpm did not start"; cat "$tmp/p.log"; exit 1; }
[ -f "$tmp/p-state/root.tpm" ] || fail "no root.tpm"
[ -e "$tmp/p-state/root.key" ] && fail "a file root key was written under --tpm"
perm=$(stat -c %a "$tmp/p-state/root.tpm")
[ "$perm" = 600 ] || fail "root.tpm mode $perm"
pkey=$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/p-state" --tpm "$(tcti A)" 2>/dev/null)

# seal: u16 policy (MRENCLAVE) | u32 aad_len 0 | text
python3 -c 'import sys,struct; open(sys.argv[1],"wb").write(struct.pack("<HI",1,0)+b"sealed before the restart")' \
	"$tmp/sin"
"$ADYTON" run --backend process --ecall 0 --in "$tmp/sin" --out "$tmp/blob" "$img" 2>"$tmp/run.err" ||
	{ fail "seal: $(cat "$tmp/run.err")"; cat "$tmp/p.log"; exit 1; }
unseal() {
	# in: u32 text_cap | u32 aad_cap | u8 want_aad | blob; out: u32 status | u32 aad_len | u32 text_len | ...
	python3 -c 'import sys,struct; open(sys.argv[2],"wb").write(struct.pack("<IIB",4096,0,0)+open(sys.argv[1],"rb").read())' \
		"$tmp/blob" "$tmp/uin"
	"$ADYTON" run --backend process --ecall 1 --in "$tmp/uin" --out "$tmp/uout" "$img" 2>"$tmp/run.err" || return 1
	python3 - "$tmp/uout" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
st, al, tl = struct.unpack_from("<III", b)
sys.exit(0 if st == 0 and b[12 + al:12 + al + tl] == b"sealed before the restart" else 1)
PY
}
unseal || fail "unseal before the restart"

# Restart adytond and the TPM: the root is unsealed again by the TPM.
stop_daemon p
stop_tpm A
start_tpm A
start_daemon p A || { fail "adytond --tpm did not restart"; cat "$tmp/p.log"; exit 1; }
unseal || fail "a blob sealed before the restart does not unseal after it"
[ "$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/p-state" --tpm "$(tcti A)" 2>/dev/null)" = "$pkey" ] ||
	fail "attestation key changed across the restart"
stop_daemon p

# The same state directory on another TPM: refused, with the reason.
if start_daemon p B; then
	fail "adytond started with another TPM's sealed root"
	stop_daemon p
fi
grep -q "does not load under this TPM" "$tmp/p.log" || fail "no clear error for another TPM: $(tail -3 "$tmp/p.log")"
# ... and without --tpm (it would make a new file root).
if "$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/p-state" 2>"$tmp/err"; then
	fail "a TPM state directory opened without --tpm"
fi
grep -q "root.tpm" "$tmp/err" || fail "no clear error without --tpm: $(cat "$tmp/err")"

finish "$tmp/p.log"
