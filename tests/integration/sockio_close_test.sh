#!/bin/bash
# The enclave's TLS close does not wait on the peer (ady_sockio_close,
# adyton/sockio_enclave.h): the RA-TLS demo (one enclave thread, one
# connection at a time) answers a client that then holds its connection
# open, sending neither close_notify nor FIN; the enclave must still serve
# the next client.  br_sslio_close, which the demo used before, waits in
# recv for the first client's close_notify and the second one starves.
# usage: sockio_close_test.sh DEMO_APP DEMO_SIGNED
. "$(dirname "$0")/test_lib.sh"
ady_need python3
apid=
ady_stop apid dpid
app=${1:?usage}
image=${2:?usage}

ady_inspect img "$image"
ady_daemon "$(printf 'signer = any\nprovision = %s' "$(field "$tmp/img.json" mrsigner)")"

"$app" --backend process --port 0 "$image" >"$tmp/app.out" 2>"$tmp/app.err" &
apid=$!
port=
for _ in $(seq 200); do
	port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/app.out")
	[ -n "$port" ] && break
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: ratls-demo did not start"; cat "$tmp/app.err" "$tmp/adytond.log"; exit 1; }

timeout 60 python3 - "$port" >"$tmp/py.out" 2>&1 <<'PY' || fail "second client: $(cat "$tmp/py.out")"
import socket, ssl, sys, time

port = int(sys.argv[1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

def get(deadline):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=deadline))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while b"over RA-TLS\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return s, data

# The first client takes its answer and keeps the socket open, silent.
held, data = get(20)
assert b"hello from inside the enclave over RA-TLS" in data, data
# The second must be answered while the first still holds its socket.
t = time.monotonic()
try:
    second, data = get(10)
except (socket.timeout, TimeoutError):
    sys.exit("no answer within 10 s while the first client holds its connection open")
assert b"hello from inside the enclave over RA-TLS" in data, data
print("second answered in %.2f s" % (time.monotonic() - t))
second.close()
held.close()
PY
grep -q "^second answered" "$tmp/py.out" || fail "no second answer: $(cat "$tmp/py.out")"
grep -q "connection 2: served" "$tmp/app.err" || sleep 0.5
grep -q "connection 1: served" "$tmp/app.err" || fail "first connection not served: $(cat "$tmp/app.err")"

ady_finish "$tmp/app.err" "$tmp/adytond.log"
