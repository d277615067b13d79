#!/bin/bash
# The gate's enclave check and CA behind a real nginx (issue 14 items 3
# and 5), on the process backend through a private adytond:
#  - the test enclave (tests/enclaves/gate_enc.c) makes a P-256 key and a
#    quote over SHA-256(nonce || key) for a nonce from `adyton-gate
#    challenge`; `adyton-gate issue` verifies it under the application
#    policy and issues a client certificate (by MRENCLAVE, by
#    MRSIGNER+ISVPRODID+SVN, with a host identity);
#  - refusals, each named and with nothing issued: a DEBUG enclave, another
#    MRENCLAVE, another MRSIGNER, a lower ISVSVN, a replayed nonce, an
#    unknown nonce, a quote over another key; a policy that allows DEBUG
#    is a configuration error;
#  - nginx (ssl_verify_client on, the gate's CA, its CRL) in front of an
#    upstream: the certificate gets 200 from the upstream; no certificate,
#    a self-signed one, an expired one are refused; after `revoke SERIAL`
#    or `revoke --host ID`, the CRL rewrite and `nginx -s reload`, the same
#    client is refused while the other certificate still passes.
# The TLS client is Python's ssl holding the key that the enclave made and
# exported through the test-only ECALL 1 (the in-enclave TLS client is not
# built; apps/gate/README.md).
# usage: gate_nginx_test.sh ADYTON_GATE ENCLAVE_PROD ENCLAVE_DBG
set -u
[ -n "${GATE_TEST_TRACE:-}" ] && { PS4='+ $(date +%s.%N | cut -c7-14) '; set -x; }
: "${ADYTON:?run through ctest}"
: "${ADYTON_DAEMON:?run through ctest}"
: "${ADYTON_ENCLAVE_HOST:?run through ctest}"
gate=$1 prod=$2 dbg=$3
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; })
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed (scripts/deps.sh installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
for t in openssl curl xxd pgrep; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed (scripts/deps.sh installs it)"; exit 77; }
done

tmp=$(mktemp -d)
dpid= npid=
cleanup() {
	[ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$ADYTON" inspect --json "$prod" >"$tmp/prod.json" || { echo "FAIL: inspect $prod"; exit 1; }
"$ADYTON" inspect --json "$dbg" >"$tmp/dbg.json" || { echo "FAIL: inspect $dbg"; exit 1; }
read -r mre mrsigner prodid svn mre_dbg < <(python3 -c '
import json, sys
p, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(p["mrenclave"], p["mrsigner"], p["isvprodid"], p["isvsvn"], d["mrenclave"])' "$tmp/prod.json" "$tmp/dbg.json")

export ADYTON_SOCKET=$tmp/d.sock
unset ADYTON_STATE_DIR ADYTON_BACKEND
printf 'signer = any\nallow_debug = yes\nprovision = %s:%s\n' "$mrsigner" "$prodid" >"$tmp/dpolicy"
"$ADYTON_DAEMON" --socket "$tmp/d.sock" --state-dir "$tmp/state" --policy "$tmp/dpolicy" \
	--host "$ADYTON_ENCLAVE_HOST" 2>>"$tmp/adytond.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$tmp/d.sock" ] && break; sleep 0.05; done
[ -S "$tmp/d.sock" ] || { echo "FAIL: adytond did not start"; cat "$tmp/adytond.log"; exit 1; }
pkey=$("$ADYTON_DAEMON" --print-platform-key --state-dir "$tmp/state") || { echo "FAIL: platform key"; exit 1; }

# The gate's CA, and nginx's own server certificate (another key).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=adyton gate test CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null || { echo "FAIL: CA"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -days 2 \
	-keyout "$tmp/srv.key" -out "$tmp/srv.pem" 2>/dev/null || { echo "FAIL: server cert"; exit 1; }
db=$tmp/gate.db
ca=(--ca-key "$tmp/ca.key" --ca-cert "$tmp/ca.pem")
"$gate" crl --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" || { echo "FAIL: crl"; exit 1; }

zero=$(printf '%064d' 0)
ffff=$(printf 'f%.0s' $(seq 64))
pol() { printf '%s\nplatform_key = %s\n' "$2" "$pkey" >"$tmp/pol.$1"; }
pol mre "mrenclave = $mre"
pol signer "signer = $mrsigner:$prodid:$svn"
pol other_mre "mrenclave = $zero"
pol other_signer "signer = $ffff:$prodid:0"
pol svn "signer = $mrsigner:$prodid:$((svn + 1))"
pol dbg "mrenclave = $mre_dbg"
pol dbg_allowed "mrenclave = $mre_dbg
allow_debug = yes"

# SubjectPublicKeyInfo / SEC1 ECPrivateKey DER around raw P-256 bytes
# (fixed prefixes: id-ecPublicKey, prime256v1), converted by openssl.
to_pem() { # RAW_HEX KIND(pub|key) OUT
	local oid=06082a8648ce3d030107 raw=$1
	if [ "$2" = pub ]; then
		echo "3059301306072a8648ce3d0201${oid}034200$raw" | xxd -r -p >"$tmp/der"
		openssl pkey -pubin -inform DER -in "$tmp/der" -out "$3" 2>/dev/null
	else
		echo "30770201010420${raw:0:64}a00a${oid}a144034200${raw:64}" | xxd -r -p >"$tmp/der"
		openssl pkey -inform DER -in "$tmp/der" -out "$3" 2>/dev/null
	fi
}

# enclave IMAGE NONCE PREFIX [export]: PREFIX.quote, PREFIX.pub.pem (and
# PREFIX.key.pem); ECALL 0 answers pub || quote, ECALL 1 d || pub || quote.
enclave() {
	local img=$1 nonce=$2 p=$3 ecall=0 head=65 raw
	[ "${4:-}" = export ] && { ecall=1; head=97; }
	echo "$nonce" | xxd -r -p >"$tmp/in"
	"$ADYTON" run --backend process --ecall $ecall --in "$tmp/in" --out "$p.out" "$img" 2>"$tmp/run.err" ||
		{ fail "enclave run: $(cat "$tmp/run.err")"; return 1; }
	tail -c +$((head + 1)) "$p.out" >"$p.quote"
	raw=$(head -c "$head" "$p.out" | xxd -p -c 256)
	to_pem "${raw: -130}" pub "$p.pub.pem" || { fail "pub pem"; return 1; }
	if [ "$ecall" = 1 ]; then to_pem "$raw" key "$p.key.pem" || { fail "key pem"; return 1; }; fi
	return 0
}

ncerts() { "$gate" certs --state "$db" | wc -l; }

# issue WANT(issued|refused:CHECK|config) OUT POLICY PREFIX NONCE [more issue args]
issue() {
	local want=$1 out=$2 pol=$3 p=$4 nonce=$5 before rc
	shift 5
	before=$(ncerts)
	rm -f "$out"
	"$gate" issue --quote "$p.quote" --pubkey "$p.pub.pem" --nonce "$nonce" --policy "$tmp/pol.$pol" "${ca[@]}" \
		--state "$db" --out "$out" "$@" >"$tmp/issue.out" 2>"$tmp/issue.err"
	rc=$?
	case $want in
	issued)
		[ $rc = 0 ] && [ -s "$out" ] && grep -q '"issued":true' "$tmp/issue.out" ||
			fail "issue ($pol) refused: rc=$rc $(cat "$tmp/issue.out" "$tmp/issue.err")" ;;
	config)
		[ $rc = 2 ] || fail "issue ($pol): want a configuration error, rc=$rc $(cat "$tmp/issue.out")" ;;
	refused:*)
		[ $rc = 1 ] && grep -q "\"failed\":\"${want#refused:}\"" "$tmp/issue.out" ||
			fail "issue ($pol): want ${want#refused:}, got rc=$rc $(cat "$tmp/issue.out" "$tmp/issue.err")" ;;
	esac
	if [ "$want" != issued ]; then
		[ -e "$out" ] && fail "issue ($pol): a certificate file was written on refusal"
		[ "$(ncerts)" = "$before" ] || fail "issue ($pol): a certificate was recorded on refusal"
		[ "$want" = config ] || echo "refused as expected ($pol): $(cat "$tmp/issue.out")"
	fi
}
challenge() { "$gate" challenge --state "$db"; }

# --- issuance ---
n1=$(challenge) || { echo "FAIL: challenge"; exit 1; }
[ ${#n1} = 64 ] || fail "challenge: not 32 bytes of hex: $n1"
enclave "$prod" "$n1" "$tmp/a" export || exit 1
# host-1 as `adyton-gate serve` records a host that passed just now (gate_agent_test runs serve for
# real): PCR 10 ab..ab, and this adytond's key as the one its TPM certified (co-location).
"$gate" hosts --state "$db" >/dev/null || fail "hosts"
python3 - "$db" "$pkey" <<'PY' || fail "host row"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO gate_hosts (name, checked, ok, count, offset, pcr10, entries_checked, ahead, platform_key)"
           " VALUES ('host-1', ?, 1, 12, 4096, ?, 12, 0, ?)", (int(time.time()), "ab" * 32, sys.argv[2]))
db.commit()
PY
issue issued "$tmp/a.pem" mre "$tmp/a" "$n1" --host host-1
openssl verify -CAfile "$tmp/ca.pem" -purpose sslclient "$tmp/a.pem" >/dev/null 2>&1 || fail "a.pem does not chain to the CA"
openssl x509 -in "$tmp/a.pem" -noout -text >"$tmp/a.txt"
grep -q "2.25.13650768109957897857141291203320537582" "$tmp/a.txt" || fail "no identity extension in a.pem"
grep -q "TLS Web Client Authentication" "$tmp/a.txt" || fail "a.pem: no clientAuth"
[ "$(openssl x509 -in "$tmp/a.pem" -noout -pubkey)" = "$(cat "$tmp/a.pub.pem")" ] || fail "a.pem is not for the enclave's key"
# The extension carries the quoted MRENCLAVE, MRSIGNER and the host.
python3 - "$tmp/a.pem" "$mre" "$mrsigner" <<'PY' || fail "identity extension content"
import subprocess, sys
der = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-outform", "DER"], capture_output=True, check=True).stdout
for want in (bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), b"host-1", bytes.fromhex("ab" * 32)):
    assert want in der, want
PY
a_serial=$(openssl x509 -in "$tmp/a.pem" -noout -serial | cut -d= -f2)
days=$(python3 - "$tmp/a.pem" <<'PY'
import subprocess, sys, datetime
o = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-startdate", "-enddate"], capture_output=True, text=True).stdout.split("\n")
f = lambda s: datetime.datetime.strptime(s.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
print(int((f(o[1]) - f(o[0])).total_seconds()))
PY
)
[ "$days" = 3600 ] || fail "default lifetime is not 1 h: $days s"

n2=$(challenge)
enclave "$prod" "$n2" "$tmp/b" export || exit 1
issue issued "$tmp/b.pem" signer "$tmp/b" "$n2"
b_serial=$(openssl x509 -in "$tmp/b.pem" -noout -serial | cut -d= -f2)

n3=$(challenge)
enclave "$prod" "$n3" "$tmp/e" export || exit 1
issue issued "$tmp/e.pem" mre "$tmp/e" "$n3" --lifetime 1
expired_at=$(($(date +%s) + 2))

# --- refusals: nothing issued ---
n=$(challenge); enclave "$dbg" "$n" "$tmp/d" && issue refused:debug "$tmp/x.pem" dbg "$tmp/d" "$n"
n=$(challenge); enclave "$prod" "$n" "$tmp/r" && issue refused:identity "$tmp/x.pem" other_mre "$tmp/r" "$n"
n=$(challenge); enclave "$prod" "$n" "$tmp/r" && issue refused:identity "$tmp/x.pem" other_signer "$tmp/r" "$n"
n=$(challenge); enclave "$prod" "$n" "$tmp/r" && issue refused:identity "$tmp/x.pem" svn "$tmp/r" "$n"
# The same quote and key again, for the nonce it was made for: replayed.
issue refused:nonce "$tmp/x.pem" mre "$tmp/a" "$n1"
grep -q "nonce replayed" "$tmp/issue.out" || fail "replay: reason not named: $(cat "$tmp/issue.out")"
# A nonce the gate never gave.
n=$(head -c 32 /dev/urandom | xxd -p -c 64); enclave "$prod" "$n" "$tmp/r" &&
	issue refused:nonce "$tmp/x.pem" mre "$tmp/r" "$n"
grep -q "nonce unknown" "$tmp/issue.out" || fail "unknown nonce: reason not named"
# A quote over the enclave's key, presented with another key.
n=$(challenge); enclave "$prod" "$n" "$tmp/r" && cp "$tmp/b.pub.pem" "$tmp/r.pub.pem" &&
	issue refused:report_data "$tmp/x.pem" mre "$tmp/r" "$n"
# A quote for one nonce, presented with another fresh one.
n=$(challenge); m=$(challenge); enclave "$prod" "$n" "$tmp/r" && issue refused:nonce "$tmp/x.pem" mre "$tmp/r" "$m"
# A policy that admits DEBUG enclaves is refused outright.
n=$(challenge); enclave "$dbg" "$n" "$tmp/d" && issue config "$tmp/x.pem" dbg_allowed "$tmp/d" "$n"
grep -q "DEBUG" "$tmp/issue.err" || fail "debug policy: reason not named: $(cat "$tmp/issue.err")"
[ "$(ncerts)" = 3 ] || fail "want 3 certificates recorded, have $(ncerts)"

# --- nginx ---
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_port=$(port) up_port=$(port)
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $tmp/nginx/logs/access.log;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    # The upstream service: says who the gate certified.
    server {
        listen 127.0.0.1:$up_port;
        location / { return 200 "upstream-ok serial=\$http_x_client_serial\n"; }
    }
    server {
        listen 127.0.0.1:$tls_port ssl;
        ssl_certificate $tmp/srv.pem;
        ssl_certificate_key $tmp/srv.key;
        ssl_verify_client on;
        ssl_client_certificate $tmp/ca.pem;
        ssl_crl $tmp/crl.pem;
        location / {
            proxy_set_header X-Client-Serial \$ssl_client_serial;
            proxy_pass http://127.0.0.1:$up_port;
        }
    }
}
CONF
"$NGINX" -t -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" >"$tmp/nginx.t" 2>&1 ||
	{ echo "FAIL: nginx -t"; cat "$tmp/nginx.t"; exit 1; }
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" -g 'daemon off;' \
	2>>"$tmp/nginx/logs/stderr" &
npid=$!

# get [CERT KEY]: "STATUS BODY", no server verification (the test is
# about the client side); a handshake that fails prints "000".
get() {
	local args=(-sk --max-time 5 -o "$tmp/body" -w '%{http_code}')
	[ $# = 2 ] && args+=(--cert "$1" --key "$2")
	: >"$tmp/body"
	echo "$(curl "${args[@]}" "https://127.0.0.1:$tls_port/") $(tr -s '\n ' '  ' <"$tmp/body" | cut -c1-120)"
}
for _ in $(seq 100); do [ "$(get | cut -c1-3)" != 000 ] && break; sleep 0.05; done

# expect WHAT (ok|refused) DESCRIPTION [CERT KEY]
expect() {
	local want=$1 what=$2 out
	shift 2
	out=$(get "$@")
	case $want in
	ok) case $out in "200 upstream-ok serial="?*) echo "ok: $what: $out" ;; *) fail "$what: want 200, got: $out" ;; esac ;;
	refused) case $out in "400 "*) echo "refused as expected: $what: $out" ;; *) fail "$what: want 400, got: $out" ;; esac ;;
	esac
}
expect ok "gate certificate (host-1)" "$tmp/a.pem" "$tmp/a.key.pem"
get "$tmp/a.pem" "$tmp/a.key.pem" | grep -qi "serial=$a_serial" || fail "upstream did not see serial $a_serial"
expect ok "gate certificate (signer policy)" "$tmp/b.pem" "$tmp/b.key.pem"
expect refused "no certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=adyton gate test CA" -days 1 \
	-keyout "$tmp/self.key" -out "$tmp/self.pem" 2>/dev/null
expect refused "self-signed certificate (same subject as the CA)" "$tmp/self.pem" "$tmp/self.key"
while [ "$(date +%s)" -le "$expired_at" ]; do sleep 0.2; done
expect refused "expired gate certificate" "$tmp/e.pem" "$tmp/e.key.pem"
grep -q "certificate has expired" "$tmp/nginx/logs/error.log" || fail "nginx did not log the expiry"

# reload: nginx -s reload, then wait until the old worker has exited (it
# keeps taking connections with the old CRL until it sees the signal).
reload() {
	local old new
	old=$(pgrep -P "$npid")
	"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" -s reload || fail "nginx -s reload"
	for _ in $(seq 200); do
		new=$(pgrep -P "$npid")
		if [ -n "$new" ] && ! grep -qxF -f <(echo "$old") <(echo "$new"); then
			local alive=0
			for p in $old; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ $alive = 0 ] && return 0
		fi
		sleep 0.05
	done
	fail "nginx reload: old worker still running"
}
"$gate" revoke "$b_serial" --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" >"$tmp/rev.out" || fail "revoke $b_serial"
grep -q '"revoked":1' "$tmp/rev.out" || fail "revoke by serial: $(cat "$tmp/rev.out")"
openssl crl -in "$tmp/crl.pem" -noout -text | grep -q "$b_serial" || fail "CRL does not list $b_serial"
openssl crl -in "$tmp/crl.pem" -noout -CAfile "$tmp/ca.pem" 2>&1 | grep -q "verify OK" || fail "CRL signature"
reload
expect refused "revoked by serial" "$tmp/b.pem" "$tmp/b.key.pem"
grep -q "certificate revoked" "$tmp/nginx/logs/error.log" || fail "nginx did not log the revocation"
expect ok "not revoked (host-1)" "$tmp/a.pem" "$tmp/a.key.pem"

"$gate" revoke --host host-1 --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" >"$tmp/rev.out" || fail "revoke --host"
grep -q '"revoked":1' "$tmp/rev.out" || fail "revoke by host: $(cat "$tmp/rev.out")"
reload
expect refused "revoked by host" "$tmp/a.pem" "$tmp/a.key.pem"

# revoke: a serial that matches nothing exits 1; a malformed one 2.
"$gate" revoke 0123ABCD --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" >/dev/null; [ $? = 1 ] || fail "revoke unknown serial: not 1"
"$gate" revoke xyz --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" 2>/dev/null; [ $? = 2 ] || fail "revoke bad serial: not 2"
"$gate" certs --state "$db" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 3 and sum(1 for r in rows if r["revoked"]) == 2, rows
assert rows[0]["host"] == "host-1"
' || fail "certs listing"

if [ $failures -ne 0 ]; then
	echo "--- nginx error.log"; tail -20 "$tmp/nginx/logs/error.log"
	echo "$failures failure(s)"; exit 1
fi
echo "gate_nginx_test: all passed"
