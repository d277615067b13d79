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
#    client is refused while the other certificate still passes;
#  - issue --host: a host whose last round passed admits (co-location by
#    adytond's platform key); one that failed is refused with its check and
#    reason, and after `hosts --forget` as never checked.
#  - the gate demo (apps/gate-demo, its test build): its enclave makes the
#    key, the application carries nonce, quote and certificate between the
#    gate and the enclave, and the enclave's BearSSL client reaches the
#    upstream through nginx over mTLS, pinning the server's CA (another CA
#    pinned: refused in the handshake); after `revoke --host` + CRL +
#    reload nginx refuses it.  The application's memory and every byte it
#    moved hold no trace of the private key (ground truth from the test
#    enclave's export ECALL, asked for after the scan), while the public
#    key and the certificate (positive controls) are found.
# The other TLS clients are curl, holding keys that gate_enc exported
# through its test-only ECALL 1 (the simpler negative cases and the
# revocation by serial).
# Environment: GATE_TEST_DB, the --state to use (default: a SQLite file in
# the temporary directory; gate_pg_test passes a PostgreSQL database, and
# GATE_TEST_PSQL, its psql, through which host rows are seeded there).
# usage: gate_nginx_test.sh ADYTON_GATE ENCLAVE_PROD ENCLAVE_DBG DEMO_APP DEMO_ENCLAVE
[ -n "${GATE_TEST_TRACE:-}" ] && { PS4='+ $(date +%s.%N | cut -c7-14) '; set -x; }
gate=$1 prod=$2 dbg=$3 demo=$4 demo_enc=$5
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; })
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed (scripts/deps.sh installs it)"; exit 77; }
. "$(dirname "$0")/test_lib.sh"
ady_need python3 openssl curl xxd pgrep
npid= gpid=
ady_stop gpid npid dpid

ady_inspect prod "$prod"
ady_inspect dbg "$dbg"
ady_inspect demo "$demo_enc"
read -r mre mrsigner prodid svn mre_dbg mre_demo demo_signer demo_prodid < <(python3 -c '
import json, sys
p, d, g = (json.load(open(f)) for f in sys.argv[1:4])
print(p["mrenclave"], p["mrsigner"], p["isvprodid"], p["isvsvn"], d["mrenclave"], g["mrenclave"], g["mrsigner"],
      g["isvprodid"])' "$tmp/prod.json" "$tmp/dbg.json" "$tmp/demo.json")

ady_daemon "$(printf 'signer = any\nallow_debug = yes\nprovision = %s:%s\nprovision = %s:%s' "$mrsigner" "$prodid" \
	"$demo_signer" "$demo_prodid")"

# The gate's CA, and nginx's server certificate for localhost from a CA
# of its own (the one the demo enclave pins).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=adyton gate test CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null || { echo "FAIL: CA"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=test server CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$tmp/srvca.key" -out "$tmp/srvca.pem" 2>/dev/null || { echo "FAIL: server CA"; exit 1; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
	-keyout "$tmp/srv.key" -out "$tmp/srv.csr" 2>/dev/null &&
	printf 'subjectAltName = DNS:localhost\nextendedKeyUsage = serverAuth\n' >"$tmp/srv.ext" &&
	openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/srvca.pem" -CAkey "$tmp/srvca.key" -CAcreateserial -days 2 \
		-extfile "$tmp/srv.ext" -out "$tmp/srv.pem" 2>/dev/null || { echo "FAIL: server cert"; exit 1; }
db=${GATE_TEST_DB:-$tmp/gate.db}
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
pol demo "mrenclave = $mre_demo"
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
# state_sql STATEMENT: on the gate's state, in whichever backend (psql: GATE_TEST_PSQL, else psql).
state_sql() {
	case $db in
	postgresql:*) "${GATE_TEST_PSQL:-psql}" -X -q -v ON_ERROR_STOP=1 -d "${db#postgresql:}" -c "$1" >/dev/null ;;
	*) python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' \
		"${db#sqlite:}" "$1" ;;
	esac
}

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
# real): PCR 10 ab..ab, and this adytond's key as the one its TPM certified (co-location).  The row
# goes into the backend the test runs on; `hosts` creates the table first, as serve would.
"$gate" hosts --state "$db" >/dev/null || fail "hosts"
host_row() { # NAME OK FAILED REASON
	state_sql "INSERT INTO gate_hosts (name, checked, ok, failed, reason, count, \"offset\", pcr10, entries_checked,
	           ahead, platform_key) VALUES ('$1', $(date +%s), $2, '$3', '$4', 12, 4096, '$(printf 'ab%.0s' $(seq 32))',
	           12, 0, '$pkey')"
}
host_row host-1 1 "" "" || fail "host row"
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
# A host whose last round failed, then forgotten.  Every `adyton-gate` here is a process of its own
# with its own connection, so on PostgreSQL (gate_pg_test) these are gates sharing one database:
# the verdict one writes is what the next one's issue reads, and so is a forget.
host_row host-2 0 policy "/usr/bin/evil: not in the runtime policy" || fail "host-2 row"
"$gate" hosts --state "$db" --json | grep -q '"failed":"policy","host":"host-2"' ||
	fail "hosts: host-2 not listed as failed: $("$gate" hosts --state "$db" --json)"
n=$(challenge); enclave "$prod" "$n" "$tmp/r" && issue refused:host "$tmp/x.pem" mre "$tmp/r" "$n" --host host-2
grep -q "host-2 failed its last check (policy): /usr/bin/evil" "$tmp/issue.out" ||
	fail "failed host: reason not named: $(cat "$tmp/issue.out")"
"$gate" hosts --state "$db" --forget host-2 || fail "hosts --forget host-2"
n=$(challenge); enclave "$prod" "$n" "$tmp/r" && issue refused:host "$tmp/x.pem" mre "$tmp/r" "$n" --host host-2
grep -q "host-2 was never checked" "$tmp/issue.out" || fail "forgotten host: reason: $(cat "$tmp/issue.out")"
"$gate" hosts --state "$db" --forget host-2 2>/dev/null; [ $? = 1 ] || fail "forget host-2 twice: not 1"
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
        location / { return 200 "upstream-ok serial=\$http_x_client_serial proto=\$http_x_client_proto\n"; }
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
            proxy_set_header X-Client-Proto \$ssl_protocol;
            proxy_pass http://127.0.0.1:$up_port;
        }
    }
}
CONF

# --- the gate demo: its enclave gets a certificate through the gate ---
# The application reads commands from a FIFO held open here (fd 8) and
# answers each with one line "ok ..."/"error ..." (apps/gate-demo/app.c).
mkfifo "$tmp/demo.in"
exec 8<>"$tmp/demo.in"
"$demo" --backend process --connect "127.0.0.1:$tls_port" --server-ca "$tmp/srvca.pem" --server-name localhost \
	--record "$tmp/demo.rec" "$demo_enc" <"$tmp/demo.in" >"$tmp/demo.out" 2>"$tmp/demo.err" &
gpid=$!
answers() { grep -c '^\(ok\|error\) ' "$tmp/demo.out"; }
# dcmd COMMAND...: the application's answer (a line), or "timeout".
dcmd() {
	local before
	before=$(answers)
	echo "$*" >&8
	for _ in $(seq 600); do
		[ "$(answers)" -gt "$before" ] && { grep '^\(ok\|error\) ' "$tmp/demo.out" | tail -1; return; }
		kill -0 "$gpid" 2>/dev/null || break
		sleep 0.05
	done
	echo "timeout (or exited): $(tail -3 "$tmp/demo.err")"
}
n=$(challenge)
r=$(dcmd key "$n" "$tmp/g.quote" "$tmp/g.pub.pem")
case $r in "ok key"*) ;; *) fail "demo: key: $r" ;; esac
issue issued "$tmp/g.pem" demo "$tmp/g" "$n" --host host-1
[ "$(openssl x509 -in "$tmp/g.pem" -noout -pubkey)" = "$(cat "$tmp/g.pub.pem")" ] || fail "g.pem is not for the demo's key"
g_serial=$(openssl x509 -in "$tmp/g.pem" -noout -serial | cut -d= -f2)
# The enclave takes only a certificate for its own key.
r=$(dcmd cert "$tmp/b.pem")
case $r in "error cert"*) echo "refused as expected (demo: another key's certificate): $r" ;;
*) fail "demo: took a certificate for another key: $r" ;; esac
r=$(dcmd cert "$tmp/g.pem")
[ "$r" = "ok cert" ] || fail "demo: cert: $r"
[ "$(ncerts)" = 4 ] || fail "want 4 certificates recorded, have $(ncerts)"

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

# dexpect WANT(ok|refused|tls:N) DESCRIPTION: one GET by the demo's
# in-enclave client; its TLS error 0 (close_notify) or 31 (BR_ERR_IO: the
# server closed without one after the whole response) both end a response.
dexpect() {
	local want=$1 what=$2 r status
	rm -f "$tmp/g.resp"
	r=$(dcmd get / "$tmp/g.resp")
	status=$(head -1 "$tmp/g.resp" 2>/dev/null | tr -d '\r')
	case $want in
	ok)
		case "$r $status" in
		"ok get bytes="*" tls="[03]*" HTTP/1.1 200 OK")
			grep -qi "upstream-ok serial=$g_serial proto=TLSv1.2" "$tmp/g.resp" &&
				echo "ok: in-enclave client: $what: $status, $(tail -1 "$tmp/g.resp")" ||
				fail "in-enclave client: $what: upstream did not see serial $g_serial: $(cat "$tmp/g.resp")" ;;
		*) fail "in-enclave client: $what: want 200, got: $r / $status" ;;
		esac ;;
	refused)
		case "$r $status" in
		"ok get bytes="*" tls="[03]*" HTTP/1.1 400 Bad Request")
			echo "refused as expected: in-enclave client: $what: $status, $(grep -o '<title>[^<]*' "$tmp/g.resp")" ;;
		*) fail "in-enclave client: $what: want 400, got: $r / $status" ;;
		esac ;;
	tls:*)
		case $r in
		"ok get bytes=0 tls=${want#tls:}") echo "refused as expected: in-enclave client: $what: $r" ;;
		*) fail "in-enclave client: $what: want TLS error ${want#tls:} and no response, got: $r" ;;
		esac ;;
	esac
}
dexpect ok "gate certificate (host-1), server CA pinned"
# Pinning: with the gate's CA as the server's trust anchor, nginx's
# certificate does not chain (BR_ERR_X509_NOT_TRUSTED = 62): nothing sent.
r=$(dcmd server-ca "$tmp/ca.pem"); [ "$r" = "ok server-ca" ] || fail "demo: server-ca: $r"
dexpect tls:62 "another server CA pinned"
r=$(dcmd server-ca "$tmp/srvca.pem"); [ "$r" = "ok server-ca" ] || fail "demo: server-ca: $r"
# The name: nginx's certificate is for localhost (BR_ERR_X509_BAD_SERVER_NAME = 56).
r=$(dcmd server-name other.example); [ "$r" = "ok server-name" ] || fail "demo: server-name: $r"
dexpect tls:56 "a server certificate for another name"
r=$(dcmd server-name localhost); [ "$r" = "ok server-name" ] || fail "demo: server-name: $r"
dexpect ok "the right server CA and name again"
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
dexpect ok "not revoked (host-1)"

"$gate" revoke --host host-1 --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" >"$tmp/rev.out" || fail "revoke --host"
grep -q '"revoked":2' "$tmp/rev.out" || fail "revoke by host: $(cat "$tmp/rev.out")"
# This CRL was written by another gate process than the one that revoked
# b: it lists all three.
for s in "$g_serial" "$a_serial" "$b_serial"; do
	openssl crl -in "$tmp/crl.pem" -noout -text | grep -q "$s" || fail "CRL does not list $s"
done
reload
expect refused "revoked by host" "$tmp/a.pem" "$tmp/a.key.pem"
dexpect refused "revoked by host"

# --- the demo's key: not in the application's memory, not in any byte it
# moved.  The memory is dumped first; only then does the test enclave
# export the scalar (ground truth), which is then looked for in the dump
# and in the record, big-endian and little-endian, raw and as hex.
# dump FILE: every readable mapping of the demo application.
dump() {
	python3 - "$gpid" "$1" <<'PY' || fail "cannot dump the demo application's memory"
import re, sys
pid, out = int(sys.argv[1]), open(sys.argv[2], "wb")
mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
n = 0
for line in open(f"/proc/{pid}/maps"):
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    if m.group(3)[0] != "r" or hi - lo > (64 << 30):
        continue
    for a in range(lo, hi, 1 << 20):
        try:
            mem.seek(a)
            out.write(mem.read(min(1 << 20, hi - a)))
            n += 1
        except (OSError, OverflowError, ValueError):
            pass
assert n > 0
PY
}
dump "$tmp/demo.mem"
r=$(dcmd export-key "$tmp/demo.key")
[ "$r" = "ok export-key" ] || fail "demo: export-key: $r"
# The scan's power: once the application has been handed the key, the
# same dump finds it.
dump "$tmp/demo.mem2"
scan=("$tmp/demo.key" "$tmp/demo.mem" "$tmp/demo.rec" "$tmp/g.pub.pem" "$tmp/g.pem" "$tmp/demo.mem2")
python3 - "${scan[@]}" <<'PY' || fail "demo key scan"
import subprocess, sys
k = bytes.fromhex(open(sys.argv[1]).read().strip())
assert len(k) == 32 and k != bytes(32), "no key exported"
mem, rec = open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
der = lambda *a: subprocess.run(["openssl", *a, "-outform", "DER"], capture_output=True, check=True).stdout
pub = der("pkey", "-pubin", "-in", sys.argv[4])[-64:]
cert = der("x509", "-in", sys.argv[5])
# Positive controls: what the application did see is found.
for name, blob in (("memory", mem), ("record", rec)):
    assert cert in blob, f"positive control: the certificate is not in the {name}"
assert pub[:32] in mem, "positive control: the public key is not in the memory"
assert len(rec) > 2000, "record too small"
for name, blob in (("memory", mem), ("record", rec)):
    for form in (k, k[::-1], k.hex().encode(), k.hex().upper().encode(), k[:16], k[16:]):
        assert form not in blob, f"the private key ({form[:8].hex()}...) is in the {name}"
mem2 = open(sys.argv[6], "rb").read()
assert k in mem2 or k.hex().encode() in mem2, "positive control: the exported key is not found in the memory"
print(f"key scan: {len(mem)} bytes of memory, {len(rec)} bytes moved; no trace of the key")
PY
echo quit >&8
wait "$gpid" || fail "demo application exited $?"
gpid=
exec 8>&-

# revoke: a serial that matches nothing exits 1; a malformed one 2.
"$gate" revoke 0123ABCD --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" >/dev/null; [ $? = 1 ] || fail "revoke unknown serial: not 1"
"$gate" revoke xyz --state "$db" "${ca[@]}" --crl "$tmp/crl.pem" 2>/dev/null; [ $? = 2 ] || fail "revoke bad serial: not 2"
"$gate" certs --state "$db" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 4 and sum(1 for r in rows if r["revoked"]) == 3, rows
assert rows[0]["host"] == "host-1"
' || fail "certs listing"

if [ $failures -ne 0 ]; then
	echo "--- nginx error.log"; tail -20 "$tmp/nginx/logs/error.log"
	echo "$failures failure(s)"; exit 1
fi
echo "gate_nginx_test: all passed"
