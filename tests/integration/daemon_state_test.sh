#!/bin/sh
# adytond's state files refused with a reason an operator can act on, and
# nothing of the state lost (issue 4's "every malformed input"): each start
# here is `adytond --print-platform-key --state-dir S`, which loads
# root.key and attest.key and prints the attestation key (--create: makes
# them first if there are none).
#  - without --create, a state directory with no keys is an error that names
#    it, and nothing is created (issue 11 item 13: it used to create a
#    platform in whatever directory the mode implied);
#  - first start with --create creates both 0600; later starts print the same key;
#  - root.key readable by others, a symlink, of 31 or 33 bytes: refused,
#    naming the file and why; restored, the same key again;
#  - attest.key truncated, or one bit flipped (AES-GCM): refused;
#    attest.key from another state (another root key): refused.
set -u
: "${ADYTON_DAEMON:?run through ctest}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
S=$tmp/state
key() { "$ADYTON_DAEMON" --print-platform-key --state-dir "$1" 2>"$tmp/err"; }
# refused DIR WANT_TEXT WHAT
refused() {
	if key "$1" >/dev/null; then fail "$3: accepted"; return; fi
	grep -q "$2" "$tmp/err" || fail "$3: not '$2': $(cat "$tmp/err")"
}

if key "$S" >/dev/null; then
	fail "--print-platform-key without --create on an empty state: printed a key"
else
	grep -q "no platform key in $S .*--create" "$tmp/err" || fail "no key, no --create: $(cat "$tmp/err")"
fi
[ ! -e "$S" ] || fail "--print-platform-key without --create created $S: $(ls -A "$S")"
mkdir -p "$tmp/root-only"
"$ADYTON_DAEMON" --print-platform-key --create --state-dir "$tmp/root-only" >/dev/null 2>&1 &&
	rm "$tmp/root-only/attest.key" || fail "--create"
if key "$tmp/root-only" >/dev/null; then fail "root.key without attest.key: printed a key (created one)"; fi
[ ! -e "$tmp/root-only/attest.key" ] || fail "attest.key created without --create"
if "$ADYTON_DAEMON" --create --state-dir "$S" >/dev/null 2>"$tmp/err"; then
	fail "--create alone accepted"
fi
pk=$("$ADYTON_DAEMON" --print-platform-key --create --state-dir "$S" 2>"$tmp/err") ||
	{ echo "FAIL: first start: $(cat "$tmp/err")"; exit 1; }
for f in root.key attest.key; do
	[ "$(stat -c %a "$S/$f")" = 600 ] || fail "$f mode $(stat -c %a "$S/$f")"
done
[ "$(key "$S")" = "$pk" ] || fail "second start: another key"
cp "$S/root.key" "$tmp/root.good"
cp "$S/attest.key" "$tmp/attest.good"

chmod 644 "$S/root.key"
refused "$S" "root.key (the platform root key) is not a private regular file" "root.key mode 644"
chmod 600 "$S/root.key"
mv "$S/root.key" "$tmp/elsewhere"
ln -s "$tmp/elsewhere" "$S/root.key"
refused "$S" "root.key (the platform root key) is not a private regular file" "root.key a symlink"
rm "$S/root.key"
head -c 31 "$tmp/root.good" >"$S/root.key"; chmod 600 "$S/root.key"
refused "$S" "root.key (the platform root key) is damaged" "root.key of 31 bytes"
{ cat "$tmp/root.good"; printf x; } >"$S/root.key"
refused "$S" "root.key (the platform root key) is damaged" "root.key of 33 bytes"
cp "$tmp/root.good" "$S/root.key"
[ "$(key "$S")" = "$pk" ] || fail "root.key restored: another key: $(cat "$tmp/err")"

head -c 40 "$tmp/attest.good" >"$S/attest.key"
refused "$S" "attest.key (the attestation key) is damaged" "attest.key truncated"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-1]^=1; open(sys.argv[2],"wb").write(b)' \
	"$tmp/attest.good" "$S/attest.key"
refused "$S" "attest.key (the attestation key) does not decrypt" "attest.key with a bit flipped"
"$ADYTON_DAEMON" --print-platform-key --create --state-dir "$tmp/other" >/dev/null 2>"$tmp/err" ||
	fail "another state: $(cat "$tmp/err")"
cp "$tmp/other/attest.key" "$S/attest.key"
refused "$S" "attest.key (the attestation key) does not decrypt" "attest.key of another state"
cp "$tmp/attest.good" "$S/attest.key"
[ "$(key "$S")" = "$pk" ] || fail "attest.key restored: another key: $(cat "$tmp/err")"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "PASS"
