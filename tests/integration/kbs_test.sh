#!/bin/bash
# The key broker end to end (issue 16) on the process backend, through a
# private adytond that provisions the test enclave and a private
# adyton-kbs (SQLite store):
#  - release to the right enclave (by MRENCLAVE, by MRSIGNER+ISVPRODID+SVN,
#    a DEBUG enclave where the policy allows it), the digest of what the
#    enclave decrypted equals the secret's, kinds secret and config;
#  - refusals, each named in the audit log with the evidence digest:
#    another MRENCLAVE, another MRSIGNER, a lower ISVSVN, DEBUG, a
#    replayed request, a quote over another key, a revoked resource, an
#    unknown one, a bad admin credential; a tampered release fails inside
#    the enclave;
#  - what the relay moved (the host's and the transport's view) never
#    holds the plaintext;
#  - malformed messages get an error and the broker keeps serving;
#  - idle connections do not hold up other peers (one thread each).
# usage: kbs_test.sh ADYTON_KBS KBS_APP ENCLAVE_PROD ENCLAVE_DBG
. "$(dirname "$0")/test_lib.sh"
ady_need python3
kpid=
ady_stop kpid dpid
kbs=$1 app=$2 prod=$3 dbg=$4


"$ADYTON" inspect --json "$prod" >"$tmp/prod.json" || { echo "FAIL: inspect $prod"; exit 1; }
"$ADYTON" inspect --json "$dbg" >"$tmp/dbg.json" || { echo "FAIL: inspect $dbg"; exit 1; }
mre=$(field "$tmp/prod.json" mrenclave)
mre_dbg=$(field "$tmp/dbg.json" mrenclave)
mrsigner=$(field "$tmp/prod.json" mrsigner)
prodid=$(field "$tmp/prod.json" isvprodid)
svn=$(field "$tmp/prod.json" isvsvn)

ady_daemon "$(printf 'signer = any\nallow_debug = yes\nprovision = %s:%s\n' "$mrsigner" "$prodid")"

ks=$tmp/kbs.sock
audit=$tmp/audit.log
db=${KBS_TEST_DB:-$tmp/kbs.db}
"$kbs" serve --socket "$ks" --db "$db" --audit "$audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/master.key" 2>>"$tmp/kbs.log" &
kpid=$!
for _ in $(seq 100); do [ -S "$ks" ] && break; sleep 0.05; done
[ -S "$ks" ] || { echo "FAIL: adyton-kbs did not start"; cat "$tmp/kbs.log"; exit 1; }
[ "$(stat -c %a "$tmp/admin.token")" = 600 ] || fail "admin token is not 0600"
[ "$(stat -c %a "$tmp/master.key")" = 600 ] || fail "master key is not 0600"
adm() { "$kbs" "$@" --socket "$ks" --token-file "$tmp/admin.token"; }

secret="KBS-SECRET-$(python3 -c 'import os; print(os.urandom(12).hex())')"
printf '%s' "$secret" >"$tmp/secret"
secret_sha=$(sha256sum "$tmp/secret" | cut -d' ' -f1)
zero=$(printf '%064d' 0)
ffff=$(printf 'f%.0s' $(seq 64))
pol() { printf '%s\nplatform_key = %s\n' "$2" "$pkey" >"$tmp/pol.$1"; }
pol mre "mrenclave = $mre"
pol other_mre "mrenclave = $zero"
pol signer "signer = $mrsigner:$prodid:$svn"
pol other_signer "signer = $ffff:$prodid:0"
pol svn "signer = $mrsigner:$prodid:$((svn + 1))"
pol dbg "mrenclave = $mre_dbg"
pol dbg_ok "mrenclave = $mre_dbg
allow_debug = yes"
for r in mre other_mre signer other_signer svn dbg dbg_ok; do
	adm put "$r" --policy "$tmp/pol.$r" --secret-file "$tmp/secret" || fail "put $r"
done
printf 'file content\n' >"$tmp/cfgfile"
adm put conf --policy "$tmp/pol.mre" --argv /bin/app --argv --verbose --env MODE=prod --file /etc/app.conf="$tmp/cfgfile" ||
	fail "put conf"

# run NAME EXPECT(released|refused) [kbs_app args...]: output in $tmp/out
run() {
	local name=$1 want=$2 img=$prod
	shift 2
	[ "${1:-}" = dbg ] && { img=$dbg; shift; }
	"$app" --backend process --socket "$ks" --tap "$tmp/tap" "$@" "$img" "$name" >"$tmp/out" 2>"$tmp/err"
	if ! grep -q "^$want" "$tmp/out"; then
		fail "$name: wanted $want, got: $(cat "$tmp/out" "$tmp/err")"
		return 1
	fi
}
# refused NAME REASON [args]: refused, and the audit log names the reason
refused() {
	local name=$1 reason=$2
	shift 2
	run "$name" refused "$@" || return
	grep -q "refuse resource=$name reason=$reason.* evidence=[0-9a-f]\{64\} " "$audit" ||
		fail "$name: no audit line 'refuse resource=$name reason=$reason ... evidence=...': $(tail -3 "$audit")"
}

run mre released && grep -q "kind=1 len=${#secret} sha256=$secret_sha" "$tmp/out" ||
	fail "mre: not the secret: $(cat "$tmp/out")"
grep -q "release resource=mre mrenclave=$mre evidence=[0-9a-f]\{64\} " "$audit" || fail "no release line for mre"
run signer released && grep -q "sha256=$secret_sha" "$tmp/out" || fail "signer: not the secret"
run dbg_ok released dbg && grep -q "sha256=$secret_sha" "$tmp/out" || fail "dbg_ok: not the secret"
python3 - "$tmp/cfgfile" >"$tmp/cfg.sha" <<'PY'
import hashlib, struct, sys
def e(tag, s, content=None):
    b = bytes([tag]) + struct.pack('<H', len(s)) + s
    return b + (struct.pack('<I', len(content)) + content if content is not None else b'')
blob = e(1, b'/bin/app') + e(1, b'--verbose') + e(2, b'MODE=prod') + e(3, b'/etc/app.conf', open(sys.argv[1], 'rb').read())
print(hashlib.sha256(blob).hexdigest())
PY
run conf released && grep -q "kind=2 .*sha256=$(cat "$tmp/cfg.sha")" "$tmp/out" || fail "conf: not the configuration: $(cat "$tmp/out")"

refused other_mre identity
refused other_signer identity
refused svn identity
refused dbg debug dbg
refused mre report_data --attack otherkey
run mre released --attack replay
grep -q "^replay: refused: nonce replayed" "$tmp/out" || fail "replay not refused: $(cat "$tmp/out")"
grep -q 'refuse resource=mre reason="nonce replayed" evidence=' "$audit" || fail "replay: no audit line"
run mre refused --attack tamper && grep -q "refused: cryptographic" "$tmp/out" ||
	fail "tampered release: $(cat "$tmp/out")"
run mre refused --cap 4 && grep -q "len=${#secret}\$" "$tmp/out" || fail "short buffer: $(cat "$tmp/out")"
run nosuch refused
grep -q 'refuse resource=nosuch reason="no such resource"' "$audit" || fail "unknown resource: no audit line"

# The relay's view: every frame it moved, none with the plaintext.
[ -s "$tmp/tap" ] || fail "the tap saw nothing"
python3 - "$tmp/tap" "$secret" <<'PY' || fail "the relay saw the plaintext"
import sys
data = open(sys.argv[1], 'rb').read()
s = sys.argv[2].encode()
assert b'KBS1' in data and len(data) > 10000, len(data)
for needle in (s, s[:12], s[-12:]):
    assert needle not in data, needle
PY

# The application's memory after a release, the enclave still open:
# neither the secret nor a piece of it, while the digest the enclave
# returned (the positive control) is there.
mkfifo "$tmp/hold"
exec 9<>"$tmp/hold"
"$app" --backend process --socket "$ks" --hold "$prod" mre <"$tmp/hold" >"$tmp/held" 2>&1 &
hpid=$!
for _ in $(seq 200); do grep -q "^released\|^refused" "$tmp/held" && break; sleep 0.05; done
if grep -q "^released" "$tmp/held"; then
	memscan=$ADY_SOURCE_DIR/tests/integration/keyguard_memscan.py
	python3 "$memscan" "$hpid" "$(printf '%s' "$secret" | xxd -p | tr -d '\n')" \
		"$(printf '%s' "${secret:11}" | xxd -p | tr -d '\n')" >"$tmp/scan" 2>&1 ||
		fail "the application's memory holds the secret: $(cat "$tmp/scan")"
	python3 "$memscan" "$hpid" "$(printf '%s' "sha256=$secret_sha" | xxd -p | tr -d '\n')" >/dev/null 2>&1
	[ $? -eq 1 ] || fail "memory scan: the positive control (the printed digest) was not found"
else
	fail "held release: $(cat "$tmp/held")"
fi
echo >&9
wait "$hpid" || fail "kbs_app --hold exited $?"
exec 9>&-

# Revocation: from the next request on.
adm revoke mre || fail "revoke"
refused mre revoked
adm get-policy mre >"$tmp/gp" || fail "get-policy"
grep -q "REVOKED" "$tmp/gp" && grep -q "mrenclave = $mre" "$tmp/gp" || fail "get-policy: $(cat "$tmp/gp")"
adm list >"$tmp/list" || fail "list"
grep -q "^mre	secret	revoked$" "$tmp/list" && grep -q "^conf	config	active$" "$tmp/list" || fail "list: $(cat "$tmp/list")"
adm revoke nosuch 2>/dev/null && fail "revoked an unknown resource"

# Idle peers do not hold the broker: two connections that send nothing
# (each held a one-connection-at-a-time broker for its 10 s timeout) while
# a release runs.
python3 -c 'import socket, sys, time
ss = [socket.socket(socket.AF_UNIX) for _ in range(2)]
for s in ss: s.connect(sys.argv[1])
time.sleep(30)' "$ks" &
idle=$!
sleep 0.5
t0=$(date +%s%N)
run signer released
ms=$((($(date +%s%N) - t0) / 1000000))
kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
[ "$ms" -lt 8000 ] || fail "a release behind two idle connections took $ms ms"

# Admin credential.
python3 -c 'import os; print(os.urandom(32).hex())' >"$tmp/bad.token"; chmod 600 "$tmp/bad.token"
"$kbs" put mre --socket "$ks" --token-file "$tmp/bad.token" --policy "$tmp/pol.mre" --secret-file "$tmp/secret" \
	2>"$tmp/err" && fail "put with a bad token"
grep -q "bad admin credential" "$tmp/err" || fail "bad token: $(cat "$tmp/err")"
grep -q 'refuse admin op=put resource=mre reason="bad admin credential"' "$audit" || fail "bad token: no audit line"
"$kbs" list --socket "$ks" --token-file "$tmp/bad.token" >/dev/null 2>&1 && fail "list with a bad token"
adm get-policy mre | grep -q REVOKED || fail "a bad-token put changed the resource"
cp "$tmp/admin.token" "$tmp/open.token"; chmod 644 "$tmp/open.token"
"$kbs" list --socket "$ks" --token-file "$tmp/open.token" >/dev/null 2>&1 && fail "a world-readable token was used"
printf 'mrenclave = nothex\n' >"$tmp/pol.bad"
adm put x --policy "$tmp/pol.bad" --secret-file "$tmp/secret" 2>/dev/null && fail "put with a malformed policy"

# Malformed messages: an error answer (MALFORMED) or a closed stream, an
# audit line, and the broker still serves.
python3 - "$ks" <<'PY' || fail "malformed messages"
import socket, struct, sys
path = sys.argv[1]
def frame(t, body, magic=b'KBS1', flags=0, length=None):
    return magic + struct.pack('<HHI', t, flags, len(body) if length is None else length) + body
def name(s):
    return struct.pack('<H', len(s)) + s
cases = {
    'bad magic': frame(1, name(b'mre'), magic=b'KBS2'),
    'flags': frame(1, name(b'mre'), flags=1),
    'unknown type': frame(99, name(b'mre')),
    'over the cap': frame(3, b'', length=1 << 30),
    'trailing byte': frame(1, name(b'mre') + b'x'),
    'name too long': frame(1, name(b'a' * 129)),
    'bad name': frame(1, name(b'../etc')),
    'empty name': frame(1, name(b'')),
    'short nonce': frame(3, name(b'mre') + b'\0' * 31),
    'compressed key': frame(3, name(b'mre') + b'\0' * 32 + b'\x02' + b'\0' * 64 + struct.pack('<I', 1) + b'q'),
    'quote over the cap': frame(3, name(b'mre') + b'\0' * 32 + b'\x04' + b'\0' * 64 + struct.pack('<I', 8193)),
    'empty quote': frame(3, name(b'mre') + b'\0' * 32 + b'\x04' + b'\0' * 64 + struct.pack('<I', 0)),
    'an answer as request': frame(12, b''),
    'unknown kind': frame(6, b'\0' * 32 + name(b'x') + b'\x07' + struct.pack('<I', 0) + struct.pack('<I', 0)),
}
bad = 0
for what, data in cases.items():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(10)
    s.sendall(data)
    got = b''
    while True:
        try:
            c = s.recv(4096)
        except (socket.timeout, ConnectionResetError):
            break
        if not c:
            break
        got += c
    s.close()
    if len(got) < 16 or got[:4] != b'KBS1' or struct.unpack('<H', got[4:6])[0] != 5 or struct.unpack('<I', got[12:16])[0] != 9:
        print('FAIL: %s: answer %r' % (what, got[:40])); bad += 1
# A frame cut short: the broker gives up on it and still serves.
s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(frame(1, name(b'mre'))[:-2]); s.close()
sys.exit(1 if bad else 0)
PY
# Two brokers on one PostgreSQL state: the one that issued the challenge
# is killed before the fetch, the other serves it (the nonce is not
# lost), and a request released by one is refused when replayed at the
# other (nothing is released twice).
if [[ "${KBS_TEST_DB:-}" == postgresql:* ]]; then
	kb() { # kb NAME: a second broker on the same state, token and audit log
		"$kbs" serve --socket "$tmp/$1.sock" --db "$KBS_TEST_DB" --audit "$audit" --token-file "$tmp/admin.token" \
			--master-key "$tmp/master.key" 2>>"$tmp/kbs.log" &
		eval "pid_$1=\$!"
		for _ in $(seq 100); do [ -S "$tmp/$1.sock" ] && break; sleep 0.05; done
	}
	kb b1
	kb b2
	releases=$(grep -c "release resource=signer " "$audit")
	run signer released --socket "$tmp/b1.sock,$tmp/b2.sock" --kill "$pid_b1" &&
		grep -q "sha256=$secret_sha" "$tmp/out" || fail "failover: not the secret"
	kill -0 "$pid_b1" 2>/dev/null && fail "broker b1 was not killed"
	wait "$pid_b1" 2>/dev/null
	[ "$(grep -c "release resource=signer " "$audit")" -eq $((releases + 1)) ] || fail "failover: not exactly one release"
	run signer released --socket "$tmp/b2.sock" --attack replay --replay-to "$ks"
	grep -q "^replay: refused: nonce replayed" "$tmp/out" || fail "cross-broker replay: $(cat "$tmp/out")"
	# b3 dies (SIGKILL) mid-request: the fetch was sent to it and it never
	# answered; the relay hands the same request to b2, which serves it
	# (b3 had not taken the nonce) exactly once.
	kb b3
	releases=$(grep -c "release resource=signer " "$audit")
	run signer released --socket "$tmp/b3.sock,$tmp/b2.sock" --kill-mid "$pid_b3" &&
		grep -q "sha256=$secret_sha" "$tmp/out" || fail "mid-request kill: not the secret"
	wait "$pid_b3" 2>/dev/null
	[ $? -eq 137 ] || fail "broker b3 was not killed"
	[ "$(grep -c "release resource=signer " "$audit")" -eq $((releases + 1)) ] ||
		fail "mid-request kill: not exactly one release"
	grep "release resource=signer " "$audit" | tail -1 | grep -q "peer=pid:" || fail "mid-request kill: audit"
	kill "$pid_b2"; wait "$pid_b2" 2>/dev/null
	echo "two brokers on PostgreSQL: checked"
fi

# Encryption at rest: the store (the SQLite file and its WAL, or a dump
# of the PostgreSQL database) holds no plaintext of a secret or of a
# configuration, while the names are there (the positive control).
if [[ "$db" == postgresql:* ]]; then
	${KBS_TEST_PGDUMP:?kbs_pg_test.sh gives the dump command} >"$tmp/store.bytes" || fail "pg_dump"
else
	cat "$db" "$db-wal" >"$tmp/store.bytes" 2>/dev/null
fi
grep -q "signer" "$tmp/store.bytes" || fail "at rest: the store dump does not even hold the names"
for needle in "$secret" "${secret:11}" "MODE=prod" "file content" "--verbose"; do
	grep -qF -- "$needle" "$tmp/store.bytes" && fail "at rest: the store holds '$needle' in clear"
done
# A wrong master key (or one others can read) is refused at start, clearly.
python3 -c 'import os; print(os.urandom(32).hex())' >"$tmp/wrong.key"; chmod 600 "$tmp/wrong.key"
"$kbs" serve --socket "$tmp/wrong.sock" --db "$db" --audit "$tmp/wrong.audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/wrong.key" 2>"$tmp/wrong.err" && fail "a broker started with the wrong master key"
grep -q "master key .* is not this store's" "$tmp/wrong.err" || fail "wrong master key: $(cat "$tmp/wrong.err")"
cp "$tmp/master.key" "$tmp/open.key"; chmod 644 "$tmp/open.key"
"$kbs" serve --socket "$tmp/wrong.sock" --db "$db" --audit "$tmp/wrong.audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/open.key" 2>"$tmp/wrong.err" && fail "a broker started with a world-readable master key"
grep -q "readable by others" "$tmp/wrong.err" || fail "open master key: $(cat "$tmp/wrong.err")"

# Eight enclaves at once: their releases share flushes (group commit), and
# each is released once and logged once.
releases=$(grep -c "release resource=signer " "$audit")
cpids=
for i in 1 2 3 4 5 6 7 8; do
	"$app" --backend process --socket "$ks" --tap "$tmp/tap$i" "$prod" signer >"$tmp/par.$i" 2>&1 &
	cpids="$cpids $!"
done
for p in $cpids; do wait "$p"; done
for i in 1 2 3 4 5 6 7 8; do
	grep -q "^released .*sha256=$secret_sha" "$tmp/par.$i" || fail "concurrent release $i: $(cat "$tmp/par.$i")"
done
[ "$(grep -c "release resource=signer " "$audit")" -eq $((releases + 8)) ] ||
	fail "concurrent releases: not exactly eight release lines"
[ "$(grep "release resource=signer " "$audit" | tail -8 | grep -o 'evidence=[0-9a-f]*' | sort -u | wc -l)" -eq 8 ] ||
	fail "concurrent releases: the eight lines do not name eight quotes"

# An audit log that cannot take a release's line (a file-size limit: its
# write fails with EFBIG): nothing is released, neither then nor after
# (answers leave only once their audit line is written and flushed).
fa=$tmp/full.audit fs=$tmp/full.sock
start="2026-01-01T00:00:00Z start socket=$fs listen=-"
head -c $((8192 * 1024 - ${#start} - 1 - 60)) /dev/zero >"$fa" # room for the start line, not a release's
(
	trap '' XFSZ
	ulimit -f 8192
	exec "$kbs" serve --socket "$fs" --db "$db" --audit "$fa" --token-file "$tmp/admin.token" \
		--master-key "$tmp/master.key"
) 2>"$tmp/full.err" &
fpid=$!
for _ in $(seq 100); do [ -S "$fs" ] && break; sleep 0.05; done
if [ -S "$fs" ]; then
	releases=$(grep -c "release resource=signer " "$audit")
	for _ in 1 2; do
		run signer refused --socket "$fs" && grep -q "not durable" "$tmp/out" ||
			fail "unwritable audit log: not refused as not durable: $(cat "$tmp/out")"
	done
	grep -q "audit log write failed" "$tmp/full.err" || fail "unwritable audit log: not reported: $(cat "$tmp/full.err")"
	[ "$(grep -c "release resource=signer " "$audit")" -eq "$releases" ] || fail "unwritable audit log: released elsewhere"
else
	fail "broker with the nearly full audit log did not start: $(cat "$tmp/full.err")"
fi
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null

[ "$(grep -c 'reason="malformed' "$audit")" -ge 13 ] || fail "malformed messages not all in the audit log"
run signer released || fail "the broker stopped serving after malformed messages"
kill -0 "$kpid" 2>/dev/null || fail "adyton-kbs died"

ady_finish "$audit" "$tmp/kbs.log"
