#!/bin/bash
# TPM-certified quotes (adytond --tpm, swtpm with EK certificates from its
# own local CA):
#  - enrollment: `adytond --tpm T --enroll-ca KEY,CERT` runs
#    TPM2_MakeCredential/ActivateCredential and writes the AK certificate;
#  - an enclave's quote on the process backend (or ADY_TEST_BACKEND's)
#    verifies with `adyton verify-quote` given only the quote, the CAs (EK
#    CA, enrollment CA) and the policy; every tpm_* check passes;
#  - refused, naming the failed check: an EK certificate from another CA,
#    an AK not certified by the enrollment CA, PCR values other than the
#    policy's, a wrong nonce, and flipped bytes across the quote.
# usage: tpm_quote_test.sh PROD_SIGNED
set -u
: "${ADYTON:?run through ctest}"
prod=${1:?usage}
. "$(dirname "$0")/tpm_lib.sh"

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
"$ADYTON" inspect --json "$prod" >"$tmp/prod.json" || { echo "FAIL: inspect"; exit 1; }
mrsigner=$(field "$tmp/prod.json" mrsigner)
mre=$(field "$tmp/prod.json" mrenclave)

make_tpm A
make_tpm B   # only its CA is used: "an EK certificate from another CA"
start_tpm A
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/enr.key" -out "$tmp/enr.pem" \
	-subj "/CN=adyton test enrollment CA" -days 30 2>/dev/null || { echo "FAIL: openssl"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/enr2.key" -out "$tmp/enr2.pem" \
	-subj "/CN=another enrollment CA" -days 30 2>/dev/null || { echo "FAIL: openssl"; exit 1; }

"$ADYTON_DAEMON" --tpm "$(tcti A)" --state-dir "$tmp/p-state" --enroll-ca "$tmp/enr.key,$tmp/enr.pem" \
	2>"$tmp/enroll.err" || { echo "FAIL: enrollment: $(cat "$tmp/enroll.err")"; exit 1; }
[ -f "$tmp/p-state/ak.crt" ] || fail "no ak.crt after enrollment"

printf 'signer = any\nallow_debug = yes\nprovision = %s:21\n' "$mrsigner" >"$tmp/dpolicy"
export ADYTON_SOCKET=$tmp/p.sock
unset ADYTON_STATE_DIR
start_daemon p A || { echo "FAIL: adytond --tpm did not start"; cat "$tmp/p.log"; exit 1; }

nonce=$(python3 -c 'import os; print(os.urandom(32).hex())')
other=$(python3 -c 'import os; print(os.urandom(32).hex())')
python3 -c 'import sys; open(sys.argv[1],"wb").write(bytes.fromhex(sys.argv[2]) + bytes(range(64)))' "$tmp/in" "$nonce"
"$ADYTON" run --backend "${ADY_TEST_BACKEND:-process}" --ecall 0 --in "$tmp/in" --out "$tmp/q" "$prod" 2>"$tmp/run.err" ||
	{ echo "FAIL: quote: $(cat "$tmp/run.err")"; cat "$tmp/p.log"; exit 1; }
stop_daemon p
stop_tpm A   # the verifier needs neither

ca_a=$tmp/A/ek-ca.pem
ca_b=$tmp/B/ek-ca.pem
zero=$(python3 -c 'print("00"*32)')
one=$(python3 -c 'print("11"*32)')
printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\n' "$mre" "$ca_a" "$tmp/enr.pem" >"$tmp/p-ok"
# swtpm's PCRs 0-7 are all zero after startup-clear.
printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\npcr = 0:%s\npcr = 7:%s\n' "$mre" "$ca_a" "$tmp/enr.pem" \
	"$zero" "$zero" >"$tmp/p-pcr"
printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\npcr = 7:%s\n' "$mre" "$ca_a" "$tmp/enr.pem" "$one" >"$tmp/p-badpcr"
printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\n' "$mre" "$ca_b" "$tmp/enr.pem" >"$tmp/p-otherca"
printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\n' "$mre" "$ca_a" "$tmp/enr2.pem" >"$tmp/p-otherenr"

# verify WANT_EXIT WANT_FAILED_CHECK DESCRIPTION POLICY [NONCE]
verify() {
	local want=$1 check=$2 what=$3 pol=$4 n=${5:-} got
	if [ -n "$n" ]; then
		"$ADYTON" verify-quote "$tmp/q" --policy "$pol" --nonce "$n" >"$tmp/out" 2>&1
	else
		"$ADYTON" verify-quote "$tmp/q" --policy "$pol" >"$tmp/out" 2>&1
	fi
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, wanted $want"; sed 's/^/  /' "$tmp/out"; return
	fi
	if [ -n "$check" ] && ! grep -q "failed check: $check)" "$tmp/out"; then
		fail "$what: failed check is not '$check'"; sed 's/^/  /' "$tmp/out"
	fi
}

verify 0 "" "TPM quote accepted" "$tmp/p-ok" "$nonce"
grep -q "verdict: ACCEPTED" "$tmp/out" || fail "no ACCEPTED verdict"
"$ADYTON" verify-quote "$tmp/q" --policy "$tmp/p-ok" --nonce "$nonce" --json >"$tmp/json" || fail "--json exit"
python3 - "$tmp/json" <<'PY' || fail "--json: not every TPM check passed"
import json, sys
j = json.load(open(sys.argv[1]))
res = {c["name"]: c["result"] for c in j["checks"]}
for n in ("tpm_quote", "tpm_qualifying_data", "tpm_pcr_digest", "tpm_ek_chain", "tpm_ak_binding", "platform"):
    assert res.get(n) == "pass", (n, res)
PY
verify 0 "" "expected PCR values" "$tmp/p-pcr" "$nonce"
# For bench/quote (`quote --verify`): keep a TPM quote and what verifies it.
if [ -n "${ADY_KEEP_TPM_QUOTE:-}" ]; then
	mkdir -p "$ADY_KEEP_TPM_QUOTE"
	cp "$tmp/q" "$ca_a" "$tmp/enr.pem" "$ADY_KEEP_TPM_QUOTE/"
	printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\npcr = 0:%s\npcr = 7:%s\n' "$mre" \
		"$ADY_KEEP_TPM_QUOTE/ek-ca.pem" "$ADY_KEEP_TPM_QUOTE/enr.pem" "$zero" "$zero" >"$ADY_KEEP_TPM_QUOTE/policy"
	echo "$nonce" >"$ADY_KEEP_TPM_QUOTE/nonce"
fi
verify 1 tpm_pcr_policy "PCR 7 differs from the policy" "$tmp/p-badpcr" "$nonce"
verify 1 tpm_ek_chain "EK certificate from another CA" "$tmp/p-otherca" "$nonce"
verify 1 tpm_ak_binding "AK not certified by the configured enrollment CA" "$tmp/p-otherenr" "$nonce"
verify 1 nonce "wrong nonce" "$tmp/p-ok" "$other"

python3 - "$ADYTON" "$tmp/q" "$tmp/p-ok" "$nonce" "$tmp/flip" <<'PY' || fail "flipped bytes"
import concurrent.futures, os, subprocess, sys
adyton, qpath, pol, nonce, tmp = sys.argv[1:]
q = open(qpath, "rb").read()
# Every byte of the header, body, TPMS_ATTEST, signatures and PCRs; every
# 5th byte of the certificates after that (each verification reads them).
idx = list(range(min(len(q), 1000))) + list(range(1000, len(q), 5))
def one(i):
    b = bytearray(q); b[i] ^= 0x01
    path = f"{tmp}.{i}"
    open(path, "wb").write(b)
    r = subprocess.run([adyton, "verify-quote", path, "--policy", pol, "--nonce", nonce],
                       capture_output=True, text=True)
    os.unlink(path)
    if r.returncode != 1 or "failed check: " not in r.stdout:
        return f"byte {i}: exit {r.returncode}: {r.stdout}{r.stderr}"
    return None
with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as ex:
    bad = [m for m in ex.map(one, range(len(q))) if m]
for m in bad[:10]:
    print(m)
print(f"{len(idx)} of {len(q)} bytes flipped, {len(bad)} accepted or unnamed")
sys.exit(1 if bad else 0)
PY

finish "$tmp/p.log"
