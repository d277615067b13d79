#!/bin/bash
# The `adyton` CLI end to end: keygen / sign / inspect / verify round trip,
# keygen's refusal to overwrite, verify's verdicts on tampered images, and
# exit status 2 for usage errors.
#
# usage: cli_test.sh [UNSIGNED_IMAGE CONFIG]   (default: the hello example)
# Environment (set by ctest): ADYTON, ADY_SOURCE_DIR, ADY_BINARY_DIR.
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${ADYTON:?ADYTON is not set (run through ctest)}"
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 is not installed"
	exit 77
fi
unsigned=${1:-${ADY_BINARY_DIR:?}/examples/hello/hello-enclave.elf}
config=${2:-${ADY_SOURCE_DIR:?}/examples/hello/enclave.conf}
if [ ! -f "$unsigned" ]; then
	echo "FAIL: $unsigned is missing: build the hello-enclave target"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect CODE DESCRIPTION COMMAND...: runs COMMAND, output in $tmp/out, $tmp/err
expect() {
	local want=$1 what=$2 got
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, wanted $want ($*)"
		sed 's/^/  stdout: /' "$tmp/out"
		sed 's/^/  stderr: /' "$tmp/err"
		return 1
	fi
	echo "ok: $what"
}

# expect_err TEXT DESCRIPTION: stderr of the last expect contains TEXT
expect_err() {
	if ! grep -qF -- "$1" "$tmp/err"; then
		fail "$2: stderr lacks '$1':"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

mode_of() { stat -c %a "$1"; }

# flip FILE WHAT: XORs one byte of FILE, chosen by python (adytest.py)
flip() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["HERE"])
import adytest
path, what = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    elf = adytest.Elf(f.read())
if what == "measured":
    off = elf.measured_byte()
elif what == "sigstruct-date":
    off = elf.sigstruct_offset() + 20
elif what == "sigstruct-isvfamilyid":
    off = elf.sigstruct_offset() + 912
else:
    sys.exit(f"unknown flip {what}")
elf.data[off] ^= 0x01
with open(path, "wb") as f:
    f.write(elf.data)
EOF
}
export HERE=$here

json_field() {
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# --- keygen ---
key=$tmp/key.pem
expect 0 "keygen" "$ADYTON" keygen "$key"
[ "$(mode_of "$key")" = 600 ] || fail "keygen: key mode $(mode_of "$key"), wanted 600"
head -1 "$key" | grep -qx -- "-----BEGIN PRIVATE KEY-----" || fail "keygen: not a PKCS#8 PEM"
ls "$tmp" | grep -q tmp && fail "keygen left a temporary file"
sum=$(sha256sum <"$key")
expect 1 "keygen refuses to overwrite" "$ADYTON" keygen "$key" && expect_err "exists" "keygen refusal"
[ "$(sha256sum <"$key")" = "$sum" ] || fail "keygen overwrote the key without --force"
expect 0 "keygen --force overwrites" "$ADYTON" keygen --force "$key"
[ "$(sha256sum <"$key")" != "$sum" ] || fail "keygen --force did not write a new key"
[ "$(mode_of "$key")" = 600 ] || fail "keygen --force: key mode $(mode_of "$key")"
key2=$tmp/key2.pem
expect 0 "keygen second key" "$ADYTON" keygen "$key2"

# --- sign, verify, inspect ---
signed=$tmp/enclave.signed
expect 0 "sign" "$ADYTON" sign --key "$key" --config "$config" --date 20240517 --out "$signed" "$unsigned"
[ "$(mode_of "$signed")" = 755 ] || fail "sign: output mode $(mode_of "$signed"), wanted 755"
expect 0 "verify signed image" "$ADYTON" verify "$signed" && grep -q "OK" "$tmp/out" || fail "verify: no OK"
expect 0 "inspect" "$ADYTON" inspect "$signed"
for field in mrenclave: mrsigner: isvprodid: isvsvn: attributes: debug: size: ssaframesize: heap: stack: threads: msbuf: entry:; do
	grep -q "^$field" "$tmp/out" || fail "inspect: no '$field' line"
done
grep -q "matches MRENCLAVE" "$tmp/out" || fail "inspect: ENCLAVEHASH does not match"
grep -q "signature: *valid" "$tmp/out" || fail "inspect: signature not valid"
expect 0 "inspect --json" "$ADYTON" inspect --json "$signed"
cp "$tmp/out" "$tmp/a.json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/a.json" || fail "inspect --json: not JSON"
[ "$(json_field "$tmp/a.json" date)" = 20240517 ] || fail "sign --date not in the SIGSTRUCT"
mr=$(json_field "$tmp/a.json" mrenclave)
signer=$(json_field "$tmp/a.json" mrsigner)
[ "$(json_field "$tmp/a.json" enclavehash)" = "$mr" ] || fail "inspect --json: enclavehash != mrenclave"

# Signing is deterministic, and re-signing keeps MRENCLAVE, changes MRSIGNER.
expect 0 "sign again" "$ADYTON" sign --key "$key" --config "$config" --date 20240517 --out "$tmp/again" "$unsigned"
cmp -s "$signed" "$tmp/again" || fail "signing twice gave different images"
expect 0 "re-sign with another key" "$ADYTON" sign --key "$key2" --config "$config" --date 20240517 --out "$tmp/resigned" "$signed"
expect 0 "verify re-signed image" "$ADYTON" verify "$tmp/resigned"
expect 0 "inspect re-signed" "$ADYTON" inspect --json "$tmp/resigned"
[ "$(json_field "$tmp/out" mrenclave)" = "$mr" ] || fail "re-signing changed MRENCLAVE"
[ "$(json_field "$tmp/out" mrsigner)" != "$signer" ] || fail "re-signing kept MRSIGNER"
expect 0 "sign in place" "$ADYTON" sign --key "$key" --config "$config" --date 20240517 --out "$tmp/resigned" "$tmp/resigned"
cmp -s "$signed" "$tmp/resigned" || fail "re-signing back with the first key differs from the first signature"
SOURCE_DATE_EPOCH=0 expect 0 "sign with SOURCE_DATE_EPOCH" "$ADYTON" sign --key "$key" --config "$config" --out "$tmp/epoch" "$unsigned"
expect 0 "inspect epoch" "$ADYTON" inspect --json "$tmp/epoch"
[ "$(json_field "$tmp/out" date)" = 19700101 ] || fail "SOURCE_DATE_EPOCH=0 did not give 19700101"

# --- unsigned, missing ---
expect 1 "verify unsigned image" "$ADYTON" verify "$unsigned" && expect_err "adyton: verify $unsigned: enclave image not signed" "verify unsigned"
expect 0 "inspect unsigned image" "$ADYTON" inspect --json "$unsigned"
[ "$(json_field "$tmp/out" signed)" = false ] || fail "inspect unsigned: signed is not false"
expect 0 "inspect unsigned image with --config" "$ADYTON" inspect --json --config "$config" "$unsigned"
[ "$(json_field "$tmp/out" mrenclave)" = "$mr" ] || fail "inspect --config of the unsigned image: MRENCLAVE differs from the signed one"
expect 1 "verify missing file" "$ADYTON" verify "$tmp/nonexistent" && expect_err "I/O error" "verify missing"

# --- tampering ---
cp "$signed" "$tmp/measured"
flip "$tmp/measured" measured || fail "flip failed"
expect 1 "verify after flipping a measured byte" "$ADYTON" verify "$tmp/measured" &&
	expect_err "adyton: verify $tmp/measured: MRENCLAVE differs from the signed hash" "verify measured"
expect 0 "inspect after flipping a measured byte" "$ADYTON" inspect "$tmp/measured"
grep -q "DIFFERS" "$tmp/out" || fail "inspect does not report the MRENCLAVE mismatch"
grep -q "signature: *valid" "$tmp/out" || fail "inspect: signature should still verify"

for what in sigstruct-date sigstruct-isvfamilyid; do
	cp "$signed" "$tmp/$what"
	flip "$tmp/$what" "$what" || fail "flip failed"
	expect 1 "verify after flipping $what" "$ADYTON" verify "$tmp/$what" &&
		expect_err "adyton: verify $tmp/$what: SIGSTRUCT signature invalid" "verify $what"
	expect 0 "inspect after flipping $what" "$ADYTON" inspect "$tmp/$what"
	grep -q "signature: *INVALID" "$tmp/out" || fail "inspect does not report the bad signature"
	grep -q "matches MRENCLAVE" "$tmp/out" || fail "inspect: MRENCLAVE should still match"
done

# --- bad inputs to sign ---
printf 'heap = 64K\nstack = 64K\nthreads = many\n' >"$tmp/bad.conf"
expect 1 "sign with a bad config" "$ADYTON" sign --key "$key" --config "$tmp/bad.conf" --out "$tmp/x" "$unsigned" &&
	expect_err "adyton: sign $tmp/bad.conf:3: invalid enclave config" "bad config line"
[ -e "$tmp/x" ] && fail "a failed sign left an output file"
if command -v openssl >/dev/null; then
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$tmp/e65537.pem" 2>/dev/null
	expect 1 "sign with an e = 65537 key" "$ADYTON" sign --key "$tmp/e65537.pem" --config "$config" --out "$tmp/x" "$unsigned" &&
		expect_err "signing key not RSA-3072 with exponent 3" "e = 65537 key"
fi
expect 1 "sign a non-ELF" "$ADYTON" sign --key "$key" --config "$config" --out "$tmp/x" "$config" &&
	expect_err "not an ELF file" "sign non-ELF"

# --- usage errors: exit 2 ---
expect 2 "no arguments" "$ADYTON"
expect 2 "unknown command" "$ADYTON" frobnicate
expect 2 "keygen without a file" "$ADYTON" keygen
expect 2 "keygen with two files" "$ADYTON" keygen "$tmp/a" "$tmp/b"
expect 2 "keygen unknown option" "$ADYTON" keygen --bogus "$tmp/a"
expect 2 "sign without --key" "$ADYTON" sign --config "$config" --out "$tmp/x" "$unsigned"
expect 2 "sign without input" "$ADYTON" sign --key "$key" --config "$config" --out "$tmp/x"
expect 2 "sign --out without argument" "$ADYTON" sign --key "$key" --config "$config" "$unsigned" --out
expect 2 "sign with a bad --date" "$ADYTON" sign --key "$key" --config "$config" --date 20241301 --out "$tmp/x" "$unsigned"
expect 2 "inspect without image" "$ADYTON" inspect --json
expect 2 "inspect unknown option" "$ADYTON" inspect --frob "$signed"
expect 2 "verify two images" "$ADYTON" verify "$signed" "$signed"
expect 2 "help unknown command" "$ADYTON" help frobnicate
expect 0 "help" "$ADYTON" help && grep -q "keygen" "$tmp/out" || fail "help lists no keygen"
expect 0 "help sign" "$ADYTON" help sign
expect 0 "--help" "$ADYTON" --help

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all CLI checks passed"
