#!/bin/bash
# The key broker over TLS, and its limits (issue 16), on the process
# backend through a private adytond and a private adyton-kbs:
#  - a release through kbs+tls://127.0.0.1:PORT, relayed through a TCP
#    proxy that records every byte: the capture holds neither the secret
#    nor the protocol's own framing (magic, resource name), while it
#    holds the TLS records (positive control);
#  - a client pinning another CA, or asking for a host name the
#    certificate does not carry, or giving no CA at all, refuses the
#    broker; the admin commands over TLS, with and without --ca;
#  - the challenge rate limit per peer (a burst beyond the bucket is
#    refused with "challenge rate limit", served again after a second);
#  - the connection caps: the default 64 in all and 16 per peer (TCP
#    peers from four loopback addresses, a UNIX peer by its uid), each
#    refusal in the audit log, and the broker serving again afterwards.
#  - adyton run --config-from kbs+tls://... --ca: the configuration over
#    TLS; with another CA the enclave gets nothing.
# usage: kbs_net_test.sh ADYTON_KBS KBS_APP ENCLAVE_PROD RUN_ENCLAVE
. "$(dirname "$0")/test_lib.sh"
ady_need python3 openssl
ppid_= kpid=
ady_stop ppid_ kpid dpid
kbs=$1 app=$2 prod=$3 runimg=$4

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A CA and the broker's certificate (for the IP address 127.0.0.1 only),
# and another CA that signed nothing of the broker's.
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/$1.key" -out "$tmp/$1.pem" \
		-days 2 -subj "/CN=$1" >/dev/null 2>&1 || { echo "FAIL: openssl CA $1"; exit 1; }
}
mkca ca
mkca otherca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/srv.key" -out "$tmp/srv.csr" \
	-subj "/CN=kbs" >/dev/null 2>&1 &&
	printf 'subjectAltName = IP:127.0.0.1\n' >"$tmp/ext" &&
	openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
		-extfile "$tmp/ext" -out "$tmp/srv.pem" >/dev/null 2>&1 || { echo "FAIL: openssl server certificate"; exit 1; }

"$ADYTON" inspect --json "$prod" >"$tmp/prod.json" || { echo "FAIL: inspect $prod"; exit 1; }
mre=$(field "$tmp/prod.json" mrenclave)
mrsigner=$(field "$tmp/prod.json" mrsigner)
prodid=$(field "$tmp/prod.json" isvprodid)

unset ADYTON_KBS_CA ADYTON_KBS_SOCKET
ady_daemon "$(printf 'signer = any\nprovision = %s:%s\n' "$mrsigner" "$prodid")"

ks=$tmp/kbs.sock
audit=$tmp/audit.log
port=$(free_port)
start_kbs() {
	"$kbs" serve --socket "$ks" --listen "127.0.0.1:$port" --tls-cert "$tmp/srv.pem" --tls-key "$tmp/srv.key" \
		--db "$tmp/kbs.db" --audit "$audit" --token-file "$tmp/admin.token" --master-key "$tmp/master.key" \
		"$@" 2>>"$tmp/kbs.log" &
	kpid=$!
	for _ in $(seq 100); do [ -S "$ks" ] && break; sleep 0.05; done
	[ -S "$ks" ] || { echo "FAIL: adyton-kbs did not start"; cat "$tmp/kbs.log"; exit 1; }
}
stop_kbs() { kill "$kpid"; wait "$kpid" 2>/dev/null; kpid=; }
start_kbs
tls=kbs+tls://127.0.0.1:$port

secret="KBS-NET-SECRET-$(python3 -c 'import os; print(os.urandom(12).hex())')"
printf '%s' "$secret" >"$tmp/secret"
secret_sha=$(sha256sum "$tmp/secret" | cut -d' ' -f1)
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre" "$pkey" >"$tmp/pol"

# The admin commands over TLS: with the CA, and refused without it.
"$kbs" put tlsres --policy "$tmp/pol" --secret-file "$tmp/secret" --socket "$tls" --ca "$tmp/ca.pem" \
	--token-file "$tmp/admin.token" || fail "put over TLS"
"$kbs" list --socket "$tls" --token-file "$tmp/admin.token" 2>"$tmp/err" && fail "list over TLS without a CA"
grep -q "needs the broker's CA" "$tmp/err" || fail "no CA: $(cat "$tmp/err")"
"$kbs" list --socket "$tls" --ca "$tmp/otherca.pem" --token-file "$tmp/admin.token" 2>"$tmp/err" &&
	fail "list over TLS with the wrong CA"
grep -q "TLS handshake refused" "$tmp/err" || fail "wrong CA (admin): $(cat "$tmp/err")"

# A TCP proxy that records both directions of every connection.
pport=$(free_port)
python3 - "$pport" "$port" "$tmp/capture" <<'PY' &
import socket, sys, threading
lport, dport, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            with lock, open(out, 'ab') as f:
                f.write(d)
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', lport)); ls.listen(16)
while True:
    c, _ = ls.accept()
    u = socket.create_connection(('127.0.0.1', dport))
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
PY
ppid_=$!
for _ in $(seq 100); do python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$pport" 2>/dev/null && break; sleep 0.05; done
: >"$tmp/capture"

ADYTON_KBS_CA=$tmp/ca.pem "$app" --backend process --socket "kbs+tls://127.0.0.1:$pport" --tap "$tmp/tap" \
	"$prod" tlsres >"$tmp/out" 2>"$tmp/err"
grep -q "^released kind=1 len=${#secret} sha256=$secret_sha" "$tmp/out" ||
	fail "release over TLS: $(cat "$tmp/out" "$tmp/err")"
grep -q "release resource=tlsres mrenclave=$mre .* peer=tcp:127.0.0.1:" "$audit" || fail "no release line with a TCP peer"
python3 - "$tmp/capture" "$tmp/tap" "$secret" <<'PY' || fail "the capture of the TCP stream"
import sys
cap, tap, s = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read(), sys.argv[3].encode()
# Positive controls: the stream carried at least the frames (the quote), as TLS records.
assert len(cap) >= len(tap) > 800, (len(cap), len(tap))
assert cap[0] == 0x16 and cap[1] == 0x03, cap[:3]   # TLS handshake record
assert b'KBS1' in tap and b'tlsres' in tap
for needle in (s, s[:12], s[-12:], b'KBS1', b'tlsres'):
    assert needle not in cap, needle
PY

# The wrong CA, a name the certificate does not carry, no CA: refused,
# and the enclave gets nothing.
ADYTON_KBS_CA=$tmp/otherca.pem "$app" --backend process --socket "$tls" "$prod" tlsres >"$tmp/out" 2>&1
grep -q "^refused: cryptographic.*TLS handshake refused: .*certificate" "$tmp/out" || fail "wrong CA: $(cat "$tmp/out")"
ADYTON_KBS_CA=$tmp/ca.pem "$app" --backend process --socket "kbs+tls://localhost:$port" "$prod" tlsres >"$tmp/out" 2>&1
grep -q "^refused: cryptographic.*TLS handshake refused" "$tmp/out" || fail "wrong host name: $(cat "$tmp/out")"
"$app" --backend process --socket "$tls" "$prod" tlsres >"$tmp/out" 2>&1
grep -q "^refused: .*needs the broker's CA" "$tmp/out" || fail "no CA: $(cat "$tmp/out")"
"$app" --backend process --socket "kbs+tls://127.0.0.1" "$prod" tlsres >"$tmp/out" 2>&1
grep -q "^refused: .*not kbs+tls://HOST:PORT" "$tmp/out" || fail "URL without a port: $(cat "$tmp/out")"
grep -q 'reason="TLS handshake failed" peer=tcp:127.0.0.1' "$audit" || fail "no audit line for the failed handshakes"

# adyton run --config-from over TLS (the run enclave has the same signer
# and ISVPRODID, so adytond provisions it too).
"$ADYTON" inspect --json "$runimg" >"$tmp/run.json" || fail "inspect $runimg"
printf 'mrenclave = %s\nplatform_key = %s\n' "$(field "$tmp/run.json" mrenclave)" "$pkey" >"$tmp/pol.run"
"$kbs" put netconf --policy "$tmp/pol.run" --argv /bin/net-app --env "NET=$secret" --socket "$tls" --ca "$tmp/ca.pem" \
	--token-file "$tmp/admin.token" || fail "put netconf over TLS"
"$ADYTON" run --backend process --config-from "$tls#netconf" --ca "$tmp/ca.pem" "$runimg" >"$tmp/out" 2>"$tmp/err" ||
	fail "run --config-from over TLS: $(cat "$tmp/err")"
printf 'argv /bin/net-app\nenv NET=%s\nMODE=(unset)\n' "$secret" | cmp -s - "$tmp/out" ||
	fail "run --config-from over TLS: got $(cat "$tmp/out")"
"$ADYTON" run --backend process --config-from "$tls#netconf" --ca "$tmp/otherca.pem" "$runimg" >"$tmp/out" 2>"$tmp/err" &&
	fail "run --config-from with the wrong CA ran"
[ -s "$tmp/out" ] && fail "run --config-from with the wrong CA printed $(cat "$tmp/out")"
grep -q "broker: .*TLS handshake refused" "$tmp/err" || fail "run --config-from, wrong CA: $(cat "$tmp/err")"

# The challenge rate limit: 5 a second (a bucket of 5), one peer (uid).
stop_kbs
start_kbs --challenge-rate 5
python3 - "$ks" <<'PY' || fail "challenge rate limit"
import socket, struct, sys, time
def challenge(s):
    s.sendall(b'KBS1' + struct.pack('<HHI', 1, 0, 8) + struct.pack('<H', 6) + b'tlsres')
    h = b''
    while len(h) < 12:
        h += s.recv(12 - len(h))
    t, _, n = struct.unpack('<HHI', h[4:])
    body = b''
    while len(body) < n:
        body += s.recv(n - len(body))
    return t, body
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
got = [challenge(s) for _ in range(20)]
ok = sum(1 for t, _ in got if t == 2)
limited = [b for t, b in got if t == 5]
assert 4 <= ok <= 6 and len(limited) == 20 - ok, (ok, len(limited))
code = struct.unpack('<I', limited[0][:4])[0]
assert code == 63 and b'challenge rate limit' in limited[0], limited[0]
time.sleep(1.2)
assert challenge(s)[0] == 2, 'not served again after a second'
PY
grep -q 'refuse resource=- reason="challenge rate limit" peer=pid:[0-9]*,uid:' "$audit" || fail "rate limit: no audit line"
# A FETCH is not a challenge: the enclave still gets its release.
"$app" --backend process --socket "$ks" "$prod" tlsres >"$tmp/out" 2>&1
grep -q "^released" "$tmp/out" || fail "release after the rate limit: $(cat "$tmp/out")"

# The connection caps (defaults: 64 in all, 16 per peer).
stop_kbs
start_kbs
python3 - "$port" "$ks" <<'PY' || fail "connection caps"
import socket, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
def tcp(src):
    s = socket.socket(); s.bind((src, 0)); s.connect(('127.0.0.1', port)); return s
def closed(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(1) == b''
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
held = []
# 16 from one address, the 17th refused (per peer), a UNIX peer likewise.
for _ in range(16):
    held.append(tcp('127.0.0.2'))
time.sleep(0.3)
s = tcp('127.0.0.2')
assert closed(s, 3), '17th connection from one address was kept'
assert not closed(held[-1], 0.3), '16th connection from one address was closed'
us = []
for _ in range(16):
    u = socket.socket(socket.AF_UNIX); u.connect(path); us.append(u)
time.sleep(0.3)
u = socket.socket(socket.AF_UNIX); u.connect(path)
assert closed(u, 3), '17th connection from one uid was kept'
for u in us: u.close()
time.sleep(0.3)
# 64 in all, from four addresses: the 65th, from a fifth, refused.
for src in ('127.0.0.3', '127.0.0.4', '127.0.0.5'):
    for _ in range(16):
        held.append(tcp(src))
time.sleep(0.3)
s = tcp('127.0.0.6')
assert closed(s, 3), '65th connection was kept'
assert not closed(held[-1], 0.3), '64th connection was closed'
for h in held: h.close()
PY
grep -q 'reason="too many connections from this peer" peer=tcp:127.0.0.2:' "$audit" || fail "no audit line: per TCP peer"
grep -q 'reason="too many connections from this peer" peer=pid:[0-9]*,uid:' "$audit" || fail "no audit line: per uid"
grep -q 'reason="too many connections" peer=tcp:127.0.0.6:' "$audit" || fail "no audit line: 64 in all"
sleep 0.5
ADYTON_KBS_CA=$tmp/ca.pem "$app" --backend process --socket "$tls" "$prod" tlsres >"$tmp/out" 2>&1
grep -q "^released" "$tmp/out" || fail "no release after the connections closed: $(cat "$tmp/out")"
"$kbs" serve --socket "$tmp/x.sock" --db "$tmp/kbs.db" --audit "$audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/master.key" --max-conns 1025 2>/dev/null && fail "--max-conns above the table accepted"
"$kbs" serve --listen "127.0.0.1:$port" --db "$tmp/kbs.db" --audit "$audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/master.key" 2>/dev/null && fail "--listen without a certificate accepted"
kill -0 "$kpid" 2>/dev/null || fail "adyton-kbs died"

ady_finish "$audit" "$tmp/kbs.log"
