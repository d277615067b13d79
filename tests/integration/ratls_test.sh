#!/bin/bash
# Attested TLS end to end on the process backend, through a private
# adytond that provisions the demo enclave's MRSIGNER:
#  - `openssl s_client` completes a handshake with the TLS server inside
#    the enclave (verification off), gets the response, and the
#    certificate carries the 2.23.133.5.4.9 extension;
#  - ratls_client (ady_ratls_verify) accepts the enclave under a policy
#    with its MRENCLAVE and the pinned platform key, and refuses under a
#    policy with another MRENCLAVE, naming the quote's identity check;
#  - an unpinned platform key is refused naming the platform check.
# usage: ratls_test.sh DEMO_APP DEMO_SIGNED CLIENT
. "$(dirname "$0")/test_lib.sh"
ady_need python3 openssl
apid=
ady_stop apid dpid
app=${1:?usage}
image=${2:?usage}
client=${3:?usage}


"$ADYTON" inspect --json "$image" >"$tmp/img.json" || { echo "FAIL: inspect"; exit 1; }
mrsigner=$(field "$tmp/img.json" mrsigner)
mrenclave=$(field "$tmp/img.json" mrenclave)

# 0. the first run, on the default per-user daemon (started on demand by
# libadyton, built-in policy: nobody provisioned): refused, and the
# message gives the one step, with this enclave's MRSIGNER, that the
# daemon below then follows (its policy file is made by the printed line).
ADYTON_SOCKET=$tmp/emb.sock ADYTON_STATE_DIR=$tmp/emb-state ADYTON_DAEMON_LOG=$tmp/emb.log \
	"$app" --backend process --port 0 "$image" >"$tmp/first.out" 2>"$tmp/first.err"
rc=$?
[ "$rc" -eq 1 ] || fail "first run on the per-user daemon: exit $rc"
grep -q "does not let this enclave get quotes" "$tmp/first.err" || { fail "first run: no explanation"; cat "$tmp/first.err"; }
step=$(sed -n "s/^  \(printf 'signer = any.*\) > ratls.policy\$/\1/p" "$tmp/first.err")
[ -n "$step" ] || { fail "first run: no policy step"; cat "$tmp/first.err"; }
(cd "$tmp" && eval "$step" >"$tmp/dpolicy")
grep -qx "provision = $mrsigner" "$tmp/dpolicy" || fail "the printed step does not provision $mrsigner"

ady_daemon "$(cat "$tmp/dpolicy")" --verbose

"$app" --backend process --port 0 --cert "$tmp/cert.der" "$image" >"$tmp/app.out" 2>"$tmp/app.err" &
apid=$!
port=
for _ in $(seq 200); do
	port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/app.out")
	[ -n "$port" ] && break
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$port" ]; then
	echo "FAIL: ratls-demo did not start"; cat "$tmp/app.err" "$tmp/adytond.log"; exit 1
fi

# 1. openssl s_client, no verification: handshake, response, extension.
printf 'GET / HTTP/1.0\r\n\r\n' |
	timeout 30 openssl s_client -connect "127.0.0.1:$port" -verify_return_error -ign_eof -quiet \
		>"$tmp/s_client.out" 2>"$tmp/s_client.err"
# -verify_return_error makes s_client stop on an unverifiable peer: the
# self-signed certificate must fail there (it chains to nothing) ...
grep -q "hello from inside the enclave" "$tmp/s_client.out" && fail "s_client accepted an unverifiable certificate"
# ... and without it the handshake completes and the enclave answers.
printf 'GET / HTTP/1.0\r\n\r\n' |
	timeout 30 openssl s_client -connect "127.0.0.1:$port" -ign_eof -showcerts \
		>"$tmp/s_client.out" 2>"$tmp/s_client.err" || fail "s_client exit status"
grep -q "hello from inside the enclave over RA-TLS" "$tmp/s_client.out" ||
	{ fail "s_client got no response"; cat "$tmp/s_client.out" "$tmp/s_client.err"; }
grep -q "Protocol *: TLSv1.2" "$tmp/s_client.out" || fail "not TLS 1.2: $(grep Protocol "$tmp/s_client.out")"
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$tmp/s_client.out" >"$tmp/peer.pem"
openssl x509 -in "$tmp/peer.pem" -noout -text >"$tmp/peer.txt" 2>&1 || fail "peer certificate does not parse"
grep -q "2.23.133.5.4.9" "$tmp/peer.txt" || fail "no DICE tagged-evidence extension in the peer certificate"
openssl x509 -in "$tmp/cert.der" -inform DER -outform PEM >"$tmp/exported.pem" || fail "exported cert"
cmp -s <(openssl x509 -in "$tmp/peer.pem" -outform DER) "$tmp/cert.der" ||
	fail "the served certificate is not the enclave's"

# 2. the C client with ady_ratls_verify().
printf 'mrenclave = %s\nplatform_key = %s\n' "$mrenclave" "$pkey" >"$tmp/p-ok"
printf 'mrenclave = %s\nplatform_key = %s\n' "$(python3 -c 'print("ab"*32)')" "$pkey" >"$tmp/p-other"
printf 'mrenclave = %s\nplatform_key = %s\n' "$mrenclave" "$(python3 -c 'print("11"*64)')" >"$tmp/p-unpinned"

"$client" 127.0.0.1 "$port" "$tmp/p-ok" >"$tmp/c.out" 2>&1 || { fail "client refused the right enclave"; cat "$tmp/c.out"; }
grep -q "hello from inside the enclave over RA-TLS" "$tmp/c.out" || fail "client got no response"
grep -q "^accepted" "$tmp/c.out" || fail "client accepted without saying so"

"$client" 127.0.0.1 "$port" "$tmp/p-other" >"$tmp/c.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { fail "other MRENCLAVE: exit $rc"; cat "$tmp/c.out"; }
grep -q "^refused: quote: check 'identity' failed: .*MRENCLAVE" "$tmp/c.out" ||
	{ fail "other MRENCLAVE: reason"; cat "$tmp/c.out"; }
grep -q "hello from inside" "$tmp/c.out" && fail "refused client read data"

"$client" 127.0.0.1 "$port" "$tmp/p-unpinned" >"$tmp/c.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { fail "unpinned platform: exit $rc"; cat "$tmp/c.out"; }
grep -q "quote check failed: platform" "$tmp/c.out" || { fail "unpinned platform: reason"; cat "$tmp/c.out"; }

# the demo keeps serving after refused handshakes
"$client" 127.0.0.1 "$port" "$tmp/p-ok" >"$tmp/c.out" 2>&1 || { fail "second accepted connection"; cat "$tmp/c.out"; }

ady_finish "$tmp/app.err" "$tmp/adytond.log"
