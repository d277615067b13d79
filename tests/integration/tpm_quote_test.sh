#!/bin/bash
# TPM-certified quotes (adytond --tpm, swtpm with EK certificates from its
# own local CA):
#  - enrollment: `adytond --tpm T --enroll-ca KEY,CERT` runs
#    TPM2_MakeCredential/ActivateCredential and writes the AK certificate;
#  - the AK certificate it writes carries the TCG AIK EKU 2.23.133.8.3,
#    key usage digitalSignature and cA FALSE;
#  - an enclave's quote on the process backend (or ADY_TEST_BACKEND's)
#    verifies with `adyton verify-quote` given only the quote, the CAs (EK
#    CA as tpm_ek_ca, enrollment CA as tpm_ak_ca) and the policy; every
#    tpm_* check passes (swtpm's EK certificate carries the EK EKU);
#  - refused, naming the failed check: an EK certificate from another CA,
#    an AK not certified by the enrollment CA, PCR values other than the
#    policy's, a wrong nonce, and flipped bytes across the quote;
#  - issue 11, certificates made with the openssl CLI put into the real
#    quote in place of the TPM's: a certificate for the AK's key from the
#    enrollment CA for another purpose (no AIK EKU), one from the EK CA with
#    the EK EKU, an AK certificate (AIK EKU) from the EK CA (also when the
#    policy names the EK CA as an AK anchor too), and an EK certificate for
#    the TPM's EK without the EK EKU: each refused with its check and reason;
#    a policy with the retired tpm_ca key, and one with the roles swapped.
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
openssl x509 -inform der -in "$tmp/p-state/ak.crt" -noout -ext extendedKeyUsage,keyUsage,basicConstraints \
	>"$tmp/ak.ext" 2>&1 || fail "ak.crt: $(cat "$tmp/ak.ext")"
grep -q '^ *2\.23\.133\.8\.3$' "$tmp/ak.ext" || fail "ak.crt lacks the AIK EKU: $(cat "$tmp/ak.ext")"
grep -q '^ *Digital Signature$' "$tmp/ak.ext" || fail "ak.crt lacks digitalSignature: $(cat "$tmp/ak.ext")"
grep -q '^ *CA:FALSE$' "$tmp/ak.ext" || fail "ak.crt is not cA FALSE: $(cat "$tmp/ak.ext")"

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
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre" "$ca_a" "$tmp/enr.pem" >"$tmp/p-ok"
# swtpm's PCRs 0-7 are all zero after startup-clear.
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\npcr = 0:%s\npcr = 7:%s\n' "$mre" "$ca_a" "$tmp/enr.pem" \
	"$zero" "$zero" >"$tmp/p-pcr"
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\npcr = 7:%s\n' "$mre" "$ca_a" "$tmp/enr.pem" "$one" \
	>"$tmp/p-badpcr"
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre" "$ca_b" "$tmp/enr.pem" >"$tmp/p-otherca"
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre" "$ca_a" "$tmp/enr2.pem" >"$tmp/p-otherenr"
# The roles swapped; the EK CA named as an AK anchor as well; the retired key.
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre" "$tmp/enr.pem" "$ca_a" >"$tmp/p-swapped"
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\ntpm_ak_ca = %s\n' "$mre" "$ca_a" "$tmp/enr.pem" "$ca_a" \
	>"$tmp/p-both"
printf 'mrenclave = %s\ntpm_ca = %s\ntpm_ca = %s\n' "$mre" "$ca_a" "$tmp/enr.pem" >"$tmp/p-old"

# verify WANT_EXIT WANT_FAILED_CHECK DESCRIPTION POLICY [NONCE] (quote: $q, default $tmp/q)
verify() {
	local want=$1 check=$2 what=$3 pol=$4 n=${5:-} got
	if [ -n "$n" ]; then
		"$ADYTON" verify-quote "${q:-$tmp/q}" --policy "$pol" --nonce "$n" >"$tmp/out" 2>&1
	else
		"$ADYTON" verify-quote "${q:-$tmp/q}" --policy "$pol" >"$tmp/out" 2>&1
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
	printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\npcr = 0:%s\npcr = 7:%s\n' "$mre" \
		"$ADY_KEEP_TPM_QUOTE/ek-ca.pem" "$ADY_KEEP_TPM_QUOTE/enr.pem" "$zero" "$zero" >"$ADY_KEEP_TPM_QUOTE/policy"
	echo "$nonce" >"$ADY_KEEP_TPM_QUOTE/nonce"
fi
verify 1 tpm_pcr_policy "PCR 7 differs from the policy" "$tmp/p-badpcr" "$nonce"
verify 1 tpm_ek_chain "EK certificate from another CA" "$tmp/p-otherca" "$nonce"
verify 1 tpm_ak_binding "AK not certified by the configured enrollment CA" "$tmp/p-otherenr" "$nonce"
verify 1 nonce "wrong nonce" "$tmp/p-ok" "$other"
verify 1 tpm_ek_chain "EK and AK anchors swapped" "$tmp/p-swapped" "$nonce"
verify 0 "" "EK CA also named as an AK anchor, real AK chain" "$tmp/p-both" "$nonce"
verify 1 "" "retired tpm_ca key" "$tmp/p-old" "$nonce"
grep -q "line 2: tpm_ca is no longer accepted: .*tpm_ek_ca.*tpm_ak_ca" "$tmp/out" ||
	fail "retired tpm_ca: no clear error: $(cat "$tmp/out")"

# Issue 11: certificates forged with the openssl CLI in place of the TPM's.
# The TPM quote, its AK signature and the attestation key stay genuine; only
# a certificate changes, so the named check is the one that must stop it.
# qcert get|set QUOTE FIELD [DER] [OUT]: FIELD 4 = EK certificate, 5 = AK certificate.
qcert() {
	python3 - "$@" <<'PY'
import struct, sys
op, path, field = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = open(path, "rb").read()
n = struct.unpack_from("<I", q, 566)[0]
cert, fields, off = q[570:570 + n], [], 0
while off < len(cert):
    ln = struct.unpack_from("<I", cert, off)[0]
    fields.append(cert[off + 4:off + 4 + ln]); off += 4 + ln
assert len(fields) == 6, len(fields)
if op == "get":
    sys.stdout.buffer.write(fields[field]); sys.exit(0)
fields[field] = open(sys.argv[4], "rb").read()
cert = b"".join(struct.pack("<I", len(f)) + f for f in fields)
out = bytearray(q[:432]) + struct.pack("<I", len(q[436:566]) + 4 + len(cert)) + q[436:566] + struct.pack("<I", len(cert)) + cert
open(sys.argv[5], "wb").write(out)
PY
}
qcert get "$tmp/q" 5 >"$tmp/ak.der" && qcert get "$tmp/q" 4 >"$tmp/ek.der" || fail "cannot read the quote's certificates"
cmp -s "$tmp/ak.der" "$tmp/p-state/ak.crt" || fail "the quote does not carry ak.crt"
openssl x509 -inform der -in "$tmp/ak.der" -pubkey -noout >"$tmp/ak.pub" &&
	openssl x509 -inform der -in "$tmp/ek.der" -pubkey -noout >"$tmp/ek.pub" || fail "openssl: public keys"
# The unchanged certificate put back gives the same, accepted quote.
qcert set "$tmp/q" 5 "$tmp/ak.der" "$tmp/q-same" && cmp -s "$tmp/q" "$tmp/q-same" || fail "qcert does not round-trip"
cat >"$tmp/ext.cnf" <<'CNF'
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
[ek]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
extendedKeyUsage = 2.23.133.8.1
[aik]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = 2.23.133.8.3
[plain]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
CNF
# forge NAME PUBKEY CA_CERT CA_KEY SECTION FIELD: a certificate for PUBKEY
# from that CA, put into the quote as FIELD, in $tmp/q-NAME.
forge() {
	openssl x509 -new -force_pubkey "$2" -subj "/CN=forged $1" -CA "$3" -CAkey "$4" -extfile "$tmp/ext.cnf" \
		-extensions "$5" -days 2 -outform der -out "$tmp/$1.der" 2>"$tmp/openssl.err" &&
		qcert set "$tmp/q" "$6" "$tmp/$1.der" "$tmp/q-$1" || fail "forging $1: $(cat "$tmp/openssl.err")"
}
ekca_cert=$tmp/A/ca/issuercert.pem ekca_key=$tmp/A/ca/signkey.pem
forge enr-server "$tmp/ak.pub" "$tmp/enr.pem" "$tmp/enr.key" server 5
forge ekca-ek "$tmp/ak.pub" "$ekca_cert" "$ekca_key" ek 5
forge ekca-aik "$tmp/ak.pub" "$ekca_cert" "$ekca_key" aik 5
forge enr-aik "$tmp/ak.pub" "$tmp/enr.pem" "$tmp/enr.key" aik 5
forge ek-noeku "$tmp/ek.pub" "$ekca_cert" "$ekca_key" plain 4
forge ek-eku "$tmp/ek.pub" "$ekca_cert" "$ekca_key" ek 4
# verify_why CHECK REASON DESCRIPTION QUOTE POLICY
verify_why() {
	q=$4 verify 1 "$1" "$3" "$5" "$nonce"
	grep -q "$2" "$tmp/out" || { fail "$3: the reason is not '$2'"; sed 's/^/  /' "$tmp/out"; }
}
verify_why tpm_ak_binding "lacks the TCG AIK certificate extended key usage 2.23.133.8.3" \
	"enrollment CA's certificate for another purpose as AK certificate" "$tmp/q-enr-server" "$tmp/p-ok"
verify_why tpm_ak_binding "AK certificate does not chain to a tpm_ak_ca" \
	"EK-CA-issued certificate (EK EKU) as AK certificate" "$tmp/q-ekca-ek" "$tmp/p-ok"
verify_why tpm_ak_binding "AK certificate does not chain to a tpm_ak_ca" \
	"AK certificate chained to the EK anchors" "$tmp/q-ekca-aik" "$tmp/p-ok"
verify_why tpm_ak_binding "chains to a CA that is also a tpm_ek_ca" \
	"AK certificate chained to the EK anchors, EK CA also an AK anchor" "$tmp/q-ekca-aik" "$tmp/p-both"
verify_why tpm_ek_chain "lacks the TCG EK certificate extended key usage 2.23.133.8.1" \
	"EK certificate without the EK EKU" "$tmp/q-ek-noeku" "$tmp/p-ok"
# The controls: the same forgeries done right pass, so the refusals above
# are about the role and nothing else.
q=$tmp/q-enr-aik verify 0 "" "AK certificate re-issued by the enrollment CA with the AIK EKU" "$tmp/p-ok" "$nonce"
q=$tmp/q-ek-eku verify 0 "" "EK certificate re-issued by the EK CA with the EK EKU" "$tmp/p-ok" "$nonce"

python3 - "$ADYTON" "$tmp/q" "$tmp/p-ok" "$nonce" "$tmp/flip" <<'PY' || fail "flipped bytes"
import concurrent.futures, os, subprocess, sys
adyton, qpath, pol, nonce, tmp = sys.argv[1:]
q = open(qpath, "rb").read()
# Every byte of the header, body, TPMS_ATTEST, signatures and PCRs; every
# 5th byte of the certificates after that (each verification reads them).
# The verifier does not depend on the backend: the kvm variant (software
# emulated in CI, ~20x slower) flips every byte of the header and report
# and every 8th byte after them.
if os.environ.get("ADY_TEST_BACKEND") == "kvm":
    idx = list(range(min(len(q), 432))) + list(range(432, len(q), 8))
else:
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
    bad = [m for m in ex.map(one, idx) if m]
for m in bad[:10]:
    print(m)
print(f"{len(idx)} of {len(q)} bytes flipped, {len(bad)} accepted or unnamed")
sys.exit(1 if bad else 0)
PY

finish "$tmp/p.log"
