#!/bin/bash
# Attested access end to end (issue 14), all parts real on one machine:
# swtpm as the host's TPM (EK certificate from its own local CA), adytond
# --tpm on the process backend (enrolled: its AK certificate from a test
# enrollment CA), adyton-agent on loopback, adyton-gate serve, Debian's
# nginx in front of an upstream.  The IMA log is written by
# gate_ima_helper.py for real files, and swtpm's PCR 10 is extended to match
# (tpm2_pcrextend), so that quote and log agree.
#  - serve: the host passes (boot_aggregate, the runtime policy, PCR 10),
#    `hosts --json` shows it; an entry appended to the log before its PCR
#    extend is ahead of the quote, accepted on the next round, counted once;
#  - issue --host: the gate demo (apps/gate-demo, the real application and
#    enclave) on this host's adytond makes its key in the enclave and gets a
#    certificate (co-location (a): its quote's attestation key is the one
#    the host's TPM certified); its in-enclave BearSSL client reaches the
#    upstream through nginx over mTLS: 200.  The test enclave
#    (tests/enclaves/gate_enc.c) gets one too (curl with it: 200); refused: an enclave of another adytond on the same TPM (another
#    attestation key: "colocation"), a DEBUG enclave ("debug"), a host never
#    checked ("host");
#  - the HMAC volume flow (colocation "hmac"): the agent writes K into its
#    key directory and answered HMAC-SHA512(K, n1); issue with
#    HMAC-SHA512(K, nonce) passes, with a wrong HMAC is refused;
#  - a replayed quote: the agent's evidence for one nonce fails check-host
#    for another ("quote_nonce"), passes for its own;
#  - mutual TLS: the agent refuses an enclave certificate of the gate CA and
#    a client of another CA; the gate refuses an agent that is not the host;
#  - the host turns bad (an IMA entry for a file not in the policy, PCR 10
#    extended): the next round of the running `serve` fails it ("policy",
#    the file named), its certificate is on the CRL, nginx (reloaded by
#    serve) refuses the same in-enclave client (and curl's), and issue
#    refuses the host;
#  - reboots: swtpm power-cycled (TPM Reset: resetCount + 1) with a fresh
#    IMA log, shorter and then longer than the kept offset: the next round
#    replays from the start (logged) without `hosts --forget`, and keeps
#    the new resetCount; a kept boot later than the quote's: "boot";
#  - another gate's `hosts --forget` while serve runs: serve's next round
#    finds no row and checks the whole log again (nothing cached in the gate).
# Environment: GATE_TEST_DB, the --state to use (default: a SQLite file in
# the temporary directory; gate_pg_test passes a PostgreSQL database).  The
# fake-agent rounds keep a SQLite file of their own.
# The other TLS client is curl holding the key the test enclave exports
# through its test-only ECALL 1 (for the refusals and the agent's mutual
# TLS); the enclave's HMAC is computed by openssl from the key file.
# usage: gate_agent_test.sh ADYTON_GATE ADYTON_AGENT ENCLAVE_PROD ENCLAVE_DBG IMA_HELPER DEMO_APP DEMO_ENCLAVE
set -u
[ -n "${GATE_TEST_TRACE:-}" ] && { PS4='+ $(date +%s.%N | cut -c7-14) '; set -x; }
: "${ADYTON:?run through ctest}"
gate=$1 agent=$2 prod=$3 dbg=$4 helper=$5 demo=$6 demo_enc=$7
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; })
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed (scripts/deps.sh installs it)"; exit 77; }
for t in openssl curl xxd pgrep python3 tpm2_pcrextend tpm2_pcrread; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed (scripts/deps.sh installs it)"; exit 77; }
done
. "$(dirname "$0")/tpm_lib.sh"
apid= spid= npid= gpid=
all_cleanup() {
	[ -n "$gpid" ] && exec 8>&-
	for p in $gpid $spid $apid $npid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	tpm_cleanup
}
trap all_cleanup EXIT

"$ADYTON" inspect --json "$prod" >"$tmp/prod.json" || { echo "FAIL: inspect $prod"; exit 1; }
"$ADYTON" inspect --json "$dbg" >"$tmp/dbg.json" || { echo "FAIL: inspect $dbg"; exit 1; }
"$ADYTON" inspect --json "$demo_enc" >"$tmp/demo.json" || { echo "FAIL: inspect $demo_enc"; exit 1; }
read -r mre mrsigner prodid mre_dbg mre_demo demo_signer demo_prodid < <(python3 -c '
import json, sys
p, d, g = (json.load(open(f)) for f in sys.argv[1:4])
print(p["mrenclave"], p["mrsigner"], p["isvprodid"], d["mrenclave"], g["mrenclave"], g["mrsigner"], g["isvprodid"])' \
	"$tmp/prod.json" "$tmp/dbg.json" "$tmp/demo.json")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the host: TPM, enrolled adytond, IMA log ---
make_tpm A
start_tpm A
export TPM2TOOLS_TCTI=$(tcti A)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/enr.key" -out "$tmp/enr.pem" \
	-subj "/CN=adyton test enrollment CA" -days 2 2>/dev/null || { echo "FAIL: openssl"; exit 1; }
for s in p q; do # p: this host's adytond; q: another platform key on the same TPM
	"$ADYTON_DAEMON" --tpm "$(tcti A)" --state-dir "$tmp/$s-state" --enroll-ca "$tmp/enr.key,$tmp/enr.pem" \
		2>"$tmp/enroll.err" || { echo "FAIL: enrollment $s: $(cat "$tmp/enroll.err")"; exit 1; }
done
mkdir -p "$tmp/bin" "$tmp/keys"
for f in good1 good2 good3 later evil; do echo "#!/bin/sh # $f $RANDOM" >"$tmp/bin/$f"; done
log=$tmp/binary_runtime_measurements
"$helper" "$log" boot && "$helper" "$log" add "$tmp/bin/good1" "$tmp/bin/good2" ||
	{ echo "FAIL: gate_ima_helper"; exit 1; }
python3 - "$tmp/policy.json" "$tmp/bin" <<'PY' || { echo "FAIL: policy"; exit 1; }
import hashlib, json, sys
d = sys.argv[2]
digests = {f"{d}/{n}": [hashlib.sha256(open(f"{d}/{n}", "rb").read()).hexdigest()]
           for n in ("good1", "good2", "good3", "later")}
json.dump({"meta": {"version": 1}, "release": 0, "digests": digests, "excludes": [], "keyrings": {},
           "ima": {"ignored_keyrings": [], "log_hash_alg": "sha1", "dm_policy": None},
           "ima-buf": {}, "verification-keys": ""}, open(sys.argv[1], "w"))
PY
printf 'signer = any\nallow_debug = yes\nprovision = %s:%s\nprovision = %s:%s\n' "$mrsigner" "$prodid" \
	"$demo_signer" "$demo_prodid" >"$tmp/dpolicy"
start_daemon p A || { echo "FAIL: adytond p"; cat "$tmp/p.log"; exit 1; }
start_daemon q A || { echo "FAIL: adytond q"; cat "$tmp/q.log"; exit 1; }
grep -q "not enrolled" "$tmp/p.log" && { echo "FAIL: adytond p is not TPM-certified"; cat "$tmp/p.log"; exit 1; }
"$ADYTON_DAEMON" --print-platform-key --tpm "$(tcti A)" --state-dir "$tmp/p-state" >"$tmp/platform.key" 2>"$tmp/pk.err" ||
	{ echo "FAIL: print-platform-key: $(cat "$tmp/pk.err")"; exit 1; }

# --- the gate's CA, its TLS identity, the agent's ---
cert() { # NAME CN EXT... : NAME.key/NAME.pem signed by CA (or self-signed with CA=self)
	local n=$1 cn=$2 ca=${CA:-$tmp/ca}
	shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" -keyout "$tmp/$n.key" \
		-out "$tmp/$n.csr" 2>/dev/null &&
		openssl x509 -req -in "$tmp/$n.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 2 \
			-extfile <(printf '%s\n' "$@") -out "$tmp/$n.pem" 2>/dev/null || { echo "FAIL: cert $n"; exit 1; }
}
for c in ca other-ca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=adyton gate test $c" -days 2 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$tmp/$c.key" -out "$tmp/$c.pem" 2>/dev/null || { echo "FAIL: $c"; exit 1; }
done
cert gate-tls adyton-gate "extendedKeyUsage=clientAuth"
cert agent-tls host-1 "extendedKeyUsage=serverAuth" "subjectAltName=DNS:host-1"
CA=$tmp/other-ca cert stranger adyton-gate "extendedKeyUsage=clientAuth"
# nginx's certificate, for localhost from a CA of its own (the one the demo enclave pins).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=test server CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$tmp/srvca.key" -out "$tmp/srvca.pem" 2>/dev/null || { echo "FAIL: server CA"; exit 1; }
CA=$tmp/srvca cert srv localhost "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost"

aport=$(port)
cat >"$tmp/agent.json" <<JSON
{"listen": "127.0.0.1:$aport", "tcti": "$(tcti A)", "ima_log": "$log",
 "ak_cert": "$tmp/p-state/ak.crt", "platform_key": "$tmp/platform.key",
 "tls_cert": "$tmp/agent-tls.pem", "tls_key": "$tmp/agent-tls.key", "gate_ca": "$tmp/ca.pem",
 "gate_cn": "adyton-gate", "key_dir": "$tmp/keys"}
JSON
"$agent" --config "$tmp/agent.json" 2>>"$tmp/agent.log" &
apid=$!
for _ in $(seq 100); do grep -q listening "$tmp/agent.log" && break; sleep 0.05; done
grep -q listening "$tmp/agent.log" || { echo "FAIL: agent did not start"; cat "$tmp/agent.log"; exit 1; }

# --- nginx ---
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
ngx=("$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log")

db=${GATE_TEST_DB:-$tmp/gate.db}
gatecfg() { # OUT COLOCATION [HOSTNAME] [TLS-NAME]
	cat >"$1" <<JSON
{"state": "$db", "ca_key": "$tmp/ca.key", "ca_cert": "$tmp/ca.pem", "crl": "$tmp/crl.pem",
 "tls_cert": "$tmp/${4:-gate-tls}.pem", "tls_key": "$tmp/${4:-gate-tls}.key",
 "tpm_ak_ca": ["$tmp/enr.pem"], "interval": 1, "timeout": 10,
 "reload": ["$NGINX", "-p", "$tmp/nginx", "-c", "$tmp/nginx/nginx.conf", "-e", "$tmp/nginx/logs/error.log", "-s", "reload"],
 "hosts": [{"name": "${3:-host-1}", "agent": "127.0.0.1:$aport", "policy": "$tmp/policy.json", "colocation": "$2"}]}
JSON
}
gatecfg "$tmp/gate.json" tpm
gatecfg "$tmp/gate-hmac.json" hmac
gatecfg "$tmp/gate-wrongname.json" tpm host-2
gatecfg "$tmp/gate-stranger.json" tpm host-1 stranger

# serve --once with no nginx yet: the CRL is written, the reload fails (logged).
hostfield() { "$gate" hosts --state "$db" --json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["host"] == sys.argv[1]: print(r.get(sys.argv[2]))' "$1" "$2"; }
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve1.log" || { echo "FAIL: serve --once"; cat "$tmp/serve1.log"; exit 1; }
[ "$(hostfield host-1 ok)" = True ] || { echo "FAIL: host-1 not ok: $("$gate" hosts --state "$db" --json)"; cat "$tmp/serve1.log" "$tmp/agent.log"; exit 1; }
[ "$(hostfield host-1 entries)" = 3 ] || fail "host-1: want 3 entries verified: $("$gate" hosts --state "$db" --json)"
[ "$(hostfield host-1 platform_key)" = "$(tr -d '\n' <"$tmp/platform.key")" ] ||
	fail "host-1: the certified platform key is not adytond's"
"$gate" hosts --state "$db" | grep -q "^host-1 *ok" || fail "hosts (text): $("$gate" hosts --state "$db")"
[ -s "$tmp/crl.pem" ] || fail "serve wrote no CRL"
"${ngx[@]}" -t >"$tmp/nginx.t" 2>&1 || { echo "FAIL: nginx -t"; cat "$tmp/nginx.t"; exit 1; }
"${ngx[@]}" -g 'daemon off;' 2>>"$tmp/nginx/logs/stderr" &
npid=$!

# get CERT KEY: "STATUS BODY" through nginx ("000": the handshake failed).
get() {
	: >"$tmp/body"
	echo "$(curl -sk --max-time 5 -o "$tmp/body" -w '%{http_code}' --cert "$1" --key "$2" "https://127.0.0.1:$tls_port/") $(tr -s '\n ' '  ' <"$tmp/body" | cut -c1-100)"
}
for _ in $(seq 100); do curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$tls_port/" && break; sleep 0.05; done

# One round's time (informational): two TPM2_Quotes through swtpm, TLS, replay, policy.
t0=$(date +%s%N); "$gate" serve --config "$tmp/gate.json" --once 2>/dev/null; t1=$(date +%s%N)
echo "measure: one serve round (1 host, no new entries): $(((t1 - t0) / 1000000)) ms"

# --- log ahead: appended before its extend (the kernel's order) ---
ahead=$("$helper" "$log" append "$tmp/bin/later") || fail "helper append"
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve2.log" || fail "serve --once (ahead)"
[ "$(hostfield host-1 ok)" = True ] || fail "log ahead refused: $("$gate" hosts --state "$db" --json)"
[ "$(hostfield host-1 entries_ahead)" = 1 ] && [ "$(hostfield host-1 entries)" = 3 ] ||
	fail "log ahead: want 3 verified and 1 ahead: $("$gate" hosts --state "$db" --json)"
"$helper" "$log" extend $ahead || fail "helper extend"
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve3.log" || fail "serve --once (after extend)"
[ "$(hostfield host-1 ok)" = True ] && [ "$(hostfield host-1 entries)" = 4 ] &&
	[ "$(hostfield host-1 entries_checked)" = 1 ] && [ "$(hostfield host-1 entries_ahead)" = 0 ] ||
	fail "next round: want 4 verified, only the new one checked: $("$gate" hosts --state "$db" --json)"

# --- enclaves ---
to_pem() { # RAW_HEX KIND(pub|key) OUT  (as gate_nginx_test.sh)
	local oid=06082a8648ce3d030107 raw=$1
	if [ "$2" = pub ]; then
		echo "3059301306072a8648ce3d0201${oid}034200$raw" | xxd -r -p >"$tmp/der"
		openssl pkey -pubin -inform DER -in "$tmp/der" -out "$3" 2>/dev/null
	else
		echo "30770201010420${raw:0:64}a00a${oid}a144034200${raw:64}" | xxd -r -p >"$tmp/der"
		openssl pkey -inform DER -in "$tmp/der" -out "$3" 2>/dev/null
	fi
}
enclave() { # DAEMON IMAGE NONCE PREFIX: PREFIX.quote, PREFIX.pub.pem, PREFIX.key.pem (ECALL 1)
	local raw
	echo "$3" | xxd -r -p >"$tmp/in"
	ADYTON_SOCKET=$tmp/$1.sock "$ADYTON" run --backend process --ecall 1 --in "$tmp/in" --out "$4.out" "$2" \
		2>"$tmp/run.err" || { fail "enclave run: $(cat "$tmp/run.err")"; return 1; }
	tail -c +98 "$4.out" >"$4.quote"
	raw=$(head -c 97 "$4.out" | xxd -p -c 256)
	to_pem "${raw: -130}" pub "$4.pub.pem" && to_pem "$raw" key "$4.key.pem" || { fail "pem"; return 1; }
}
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre" "$tmp/A/ek-ca.pem" "$tmp/enr.pem" >"$tmp/app.pol"
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre_dbg" "$tmp/A/ek-ca.pem" "$tmp/enr.pem" >"$tmp/dbg.pol"
printf 'mrenclave = %s\ntpm_ek_ca = %s\ntpm_ak_ca = %s\n' "$mre_demo" "$tmp/A/ek-ca.pem" "$tmp/enr.pem" >"$tmp/demo.pol"
ncerts() { "$gate" certs --state "$db" | wc -l; }
issue() { # WANT(issued|refused:CHECK) OUT POLICY PREFIX NONCE [args]
	local want=$1 out=$2 pol=$3 p=$4 nonce=$5 before rc
	shift 5
	before=$(ncerts)
	rm -f "$out"
	"$gate" issue --quote "$p.quote" --pubkey "$p.pub.pem" --nonce "$nonce" --policy "$pol" --ca-key "$tmp/ca.key" \
		--ca-cert "$tmp/ca.pem" --state "$db" --out "$out" "$@" >"$tmp/issue.out" 2>"$tmp/issue.err"
	rc=$?
	if [ "$want" = issued ]; then
		[ $rc = 0 ] && [ -s "$out" ] || fail "issue refused: rc=$rc $(cat "$tmp/issue.out" "$tmp/issue.err")"
		return
	fi
	[ $rc = 1 ] && grep -q "\"failed\":\"${want#refused:}\"" "$tmp/issue.out" ||
		fail "issue: want ${want#refused:}, got rc=$rc $(cat "$tmp/issue.out" "$tmp/issue.err")"
	[ -e "$out" ] && fail "issue: a certificate file was written on refusal"
	[ "$(ncerts)" = "$before" ] || fail "issue: a certificate was recorded on refusal"
	echo "refused as expected: $(cat "$tmp/issue.out")"
}
challenge() { "$gate" challenge --state "$db"; }

# The gate demo on this host's adytond: the application reads commands from a FIFO held open here
# (fd 8) and answers each with one line "ok ..."/"error ..." (apps/gate-demo/README.md).  Its enclave
# makes the key, gets the certificate with issue --host, and is the TLS client that reaches nginx.
mkfifo "$tmp/demo.in"
exec 8<>"$tmp/demo.in"
ADYTON_SOCKET=$tmp/p.sock "$demo" --backend process --connect "127.0.0.1:$tls_port" --server-ca "$tmp/srvca.pem" \
	--server-name localhost "$demo_enc" <"$tmp/demo.in" >"$tmp/demo.out" 2>"$tmp/demo.err" &
gpid=$!
answers() { grep -c '^\(ok\|error\) ' "$tmp/demo.out"; }
dcmd() { # COMMAND...: the application's answer (a line), or "timeout"
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
dget() { # the in-enclave client's GET /: "ANSWER / STATUS-LINE / LAST LINE"
	rm -f "$tmp/g.resp"
	echo "$(dcmd get / "$tmp/g.resp") / $(head -1 "$tmp/g.resp" 2>/dev/null | tr -d '\r') / $(tail -1 "$tmp/g.resp" 2>/dev/null)"
}
n=$(challenge)
r=$(dcmd key "$n" "$tmp/g.quote" "$tmp/g.pub.pem")
case $r in "ok key"*) ;; *) fail "demo: key: $r" ;; esac
issue issued "$tmp/g.pem" "$tmp/demo.pol" "$tmp/g" "$n" --host host-1
r=$(dcmd cert "$tmp/g.pem"); [ "$r" = "ok cert" ] || fail "demo: cert: $r"
g_serial=$(openssl x509 -in "$tmp/g.pem" -noout -serial | cut -d= -f2)
# tls=0 (close_notify) or 31 (BR_ERR_IO: closed without one after the whole response) end a response.
out=$(dget)
case $out in "ok get bytes="*" tls="[03]*" / HTTP/1.1 200 OK / upstream-ok serial=$g_serial"*)
	echo "ok: nginx admits host-1's in-enclave client: $out" ;;
*) fail "demo: want 200 with serial $g_serial through nginx: $out $(tail -3 "$tmp/demo.err")" ;; esac

n=$(challenge); enclave p "$prod" "$n" "$tmp/a" && issue issued "$tmp/a.pem" "$tmp/app.pol" "$tmp/a" "$n" --host host-1
python3 - "$tmp/a.pem" "$(hostfield host-1 pcr10_sha256)" <<'PY' || fail "certificate: host and PCR 10 not in the identity"
import subprocess, sys
der = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-outform", "DER"], capture_output=True, check=True).stdout
assert b"host-1" in der and bytes.fromhex(sys.argv[2]) in der
PY
case $(get "$tmp/a.pem" "$tmp/a.key.pem") in "200 upstream-ok serial="?*) echo "ok: nginx admits host-1's enclave" ;;
	*) fail "nginx: want 200 for a.pem: $(get "$tmp/a.pem" "$tmp/a.key.pem")" ;; esac
a_serial=$(openssl x509 -in "$tmp/a.pem" -noout -serial | cut -d= -f2)
# Another platform: adytond q on the same TPM, its own attestation key.
n=$(challenge); enclave q "$prod" "$n" "$tmp/o" && issue refused:colocation "$tmp/x.pem" "$tmp/app.pol" "$tmp/o" "$n" --host host-1
grep -q "another platform" "$tmp/issue.out" || fail "colocation: reason not named"
# The same quote passes the enclave check alone: it is the co-location that fails.
n=$(challenge); enclave q "$prod" "$n" "$tmp/o" && issue issued "$tmp/x.pem" "$tmp/app.pol" "$tmp/o" "$n"
n=$(challenge); enclave p "$dbg" "$n" "$tmp/d" && issue refused:debug "$tmp/x.pem" "$tmp/dbg.pol" "$tmp/d" "$n" --host host-1
n=$(challenge); enclave p "$prod" "$n" "$tmp/r" && issue refused:host "$tmp/x.pem" "$tmp/app.pol" "$tmp/r" "$n" --host host-9
n=$(challenge); enclave p "$prod" "$n" "$tmp/r" && sleep 2 &&
	issue refused:host "$tmp/x.pem" "$tmp/app.pol" "$tmp/r" "$n" --host host-1 --max-age 1
grep -q "last checked" "$tmp/issue.out" || fail "stale host: reason not named"

# --- the HMAC volume flow ---
"$gate" serve --config "$tmp/gate-hmac.json" --once 2>"$tmp/serve4.log" || fail "serve --once (hmac)"
[ "$(hostfield host-1 colocation_key)" = True ] || fail "hmac: no key given: $(cat "$tmp/serve4.log")"
[ "$(stat -c %s "$tmp/keys/colocation.key" 2>/dev/null)" = 64 ] || fail "hmac: the agent wrote no 64-byte key"
[ "$(stat -c %a "$tmp/keys/colocation.key" 2>/dev/null)" = 600 ] || fail "hmac: key file not 0600"
hmac() { # KEYFILE NONCE -> HMAC-SHA512(K, nonce) hex (what the enclave computes from the mounted key)
	echo "$2" | xxd -r -p | openssl mac -digest SHA512 -macopt hexkey:"$(xxd -p -c 256 "$1")" -in /dev/stdin HMAC | tr 'A-F' 'a-f'
}
n=$(challenge); enclave p "$prod" "$n" "$tmp/h" &&
	issue issued "$tmp/h.pem" "$tmp/app.pol" "$tmp/h" "$n" --host host-1 --colocation hmac --hmac "$(hmac "$tmp/keys/colocation.key" "$n")"
head -c 64 /dev/urandom >"$tmp/wrong.key"
n=$(challenge); enclave p "$prod" "$n" "$tmp/h" &&
	issue refused:colocation "$tmp/x.pem" "$tmp/app.pol" "$tmp/h" "$n" --host host-1 --colocation hmac --hmac "$(hmac "$tmp/wrong.key" "$n")"
grep -q "HMAC-SHA512" "$tmp/issue.out" || fail "wrong hmac: reason not named"

# --- a replayed quote ---
n1=$(head -c 32 /dev/urandom | xxd -p -c 64) n2=$(head -c 32 /dev/urandom | xxd -p -c 64)
"$gate" fetch --config "$tmp/gate.json" --host host-1 --nonce "$n1" --out "$tmp/ev" 2>"$tmp/fetch.err" ||
	fail "fetch: $(cat "$tmp/fetch.err")"
chk() { "$gate" check-host --quote "$tmp/ev/quote.msg" --sig "$tmp/ev/quote.sig" --ak-pub "$tmp/ev/ak.pem" \
	--pcrs "$tmp/ev/pcrs.bin" --log "$tmp/ev/log.bin" --policy "$tmp/policy.json" --nonce "$1" >"$tmp/chk.out" 2>&1; }
chk "$n1" || fail "check-host, the fetch's own nonce: $(cat "$tmp/chk.out")"
chk "$n2"; [ $? = 1 ] && grep -q '"failed": "quote_nonce"' "$tmp/chk.out" ||
	fail "replayed quote not refused: $(cat "$tmp/chk.out")"
echo "replayed quote refused: $(grep reason "$tmp/chk.out")"

# --- mutual TLS ---
cp "$tmp/a.pem" "$tmp/encl-as-gate.pem"; cp "$tmp/a.key.pem" "$tmp/encl-as-gate.key"
gatecfg "$tmp/gate-encl.json" tpm host-1 encl-as-gate
"$gate" fetch --config "$tmp/gate-encl.json" --host host-1 --nonce "$n1" --out "$tmp/ev2" 2>/dev/null &&
	fail "the agent answered a client with an enclave certificate"
grep -q "enclave certificate" "$tmp/agent.log" || fail "agent: enclave client not named"
"$gate" fetch --config "$tmp/gate-stranger.json" --host host-1 --nonce "$n1" --out "$tmp/ev2" 2>/dev/null &&
	fail "the agent answered a client of another CA"
"$gate" fetch --config "$tmp/gate-wrongname.json" --host host-2 --nonce "$n1" --out "$tmp/ev2" 2>"$tmp/fetch.err" &&
	fail "the gate accepted host-1's agent as host-2"
grep -q "TLS refused" "$tmp/fetch.err" || fail "wrong agent name: $(cat "$tmp/fetch.err")"

# --- malformed input, both ways ---
printf '{"listen": "127.0.0.1:1", "bogus": 1}' >"$tmp/bad-agent.json"
"$agent" --config "$tmp/bad-agent.json" 2>"$tmp/bad.err"; [ $? = 2 ] && grep -q 'unknown key "bogus"' "$tmp/bad.err" ||
	fail "agent: unknown config key: $(cat "$tmp/bad.err")"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["pcrs"]=[0,1,2]; json.dump(c,open(sys.argv[2],"w"))' \
	"$tmp/agent.json" "$tmp/bad-agent.json"
"$agent" --config "$tmp/bad-agent.json" 2>"$tmp/bad.err"; [ $? = 2 ] && grep -q "pcrs must include 0-10" "$tmp/bad.err" ||
	fail "agent: pcrs without 0-10: $(cat "$tmp/bad.err")"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); del c["tpm_ak_ca"]; json.dump(c,open(sys.argv[2],"w"))' \
	"$tmp/gate.json" "$tmp/bad-gate.json"
"$gate" serve --config "$tmp/bad-gate.json" --once 2>"$tmp/bad.err"; [ $? = 2 ] && grep -q "tpm_ak_ca" "$tmp/bad.err" ||
	fail "serve: config without tpm_ak_ca: $(cat "$tmp/bad.err")"
# The real agent, sent malformed requests by a client with the gate's certificate: each answered with an
# error or dropped, and the agent goes on.
python3 - "$tmp" "$aport" <<'PY' || fail "agent: malformed requests"
import json, socket, ssl, struct, sys
tmp, port = sys.argv[1], int(sys.argv[2])
def call(raw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(f"{tmp}/ca.pem")
    ctx.load_cert_chain(f"{tmp}/gate-tls.pem", f"{tmp}/gate-tls.key")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s, ctx.wrap_socket(s, server_hostname="host-1") as t:
        t.sendall(raw)
        hdr = t.recv(4)
        if len(hdr) < 4:
            return None
        n = struct.unpack(">I", hdr)[0]
        body = b""
        while len(body) < n:
            body += t.recv(n - len(body))
        return json.loads(body)
frame = lambda o: struct.pack(">I", len(json.dumps(o))) + json.dumps(o).encode()
assert call(struct.pack(">I", 0xffffffff)) is None
assert call(struct.pack(">I", 5) + b"[1,2]") is None
assert call(frame({"type": "reboot"})) == {"error": "unknown request type"}
assert "nonce" in call(frame({"type": "attest", "nonce": "00", "offset": 0}))["error"]
assert "nonce" in call(frame({"type": "attest", "nonce": "00" * 32, "offset": -1}))["error"]
assert "shorter than offset" in call(frame({"type": "attest", "nonce": "00" * 32, "offset": 1 << 40}))["error"]
assert "key" in call(frame({"type": "colocate", "key": "AAAA", "n1": "00" * 32}))["error"]
PY
grep -q "frame of 4294967295 bytes" "$tmp/agent.log" || fail "agent: oversized frame not named"
grep -q "not a JSON object" "$tmp/agent.log" || fail "agent: non-object not named"
# A fake agent (host-1's certificate) answering the gate with malformed frames: the round fails "agent",
# naming what was wrong, in a state file of its own.
fport=$(port)
python3 - "$tmp" "$fport" <<'PY' &
import json, socket, ssl, struct, sys
tmp, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{tmp}/agent-tls.pem", f"{tmp}/agent-tls.key")
ctx.load_verify_locations(f"{tmp}/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
answers = [struct.pack(">I", 0x7fffffff), struct.pack(">I", 3) + b"{{{",
           struct.pack(">I", 2) + b"{}",
           (lambda b: struct.pack(">I", len(b)) + b)(json.dumps({"attest": "!!", "sig": "", "log": ""}).encode())]
ls = socket.create_server(("127.0.0.1", port))
open(f"{tmp}/fake.ready", "w").close()
for a in answers:
    c, _ = ls.accept()
    with ctx.wrap_socket(c, server_side=True) as t:
        hdr = t.recv(4)
        n = struct.unpack(">I", hdr)[0]
        while n > 0:
            n -= len(t.recv(n))
        t.sendall(a)
PY
fpid=$!
for _ in $(seq 100); do [ -e "$tmp/fake.ready" ] && break; sleep 0.05; done
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["state"]=sys.argv[3]; c["hosts"][0]["agent"]="127.0.0.1:"+sys.argv[4]; json.dump(c,open(sys.argv[2],"w"))' \
	"$tmp/gate.json" "$tmp/fake-gate.json" "$tmp/fake.db" "$fport"
for want in "frame of 2147483647 bytes" "not a JSON object" 'attest\" missing or not base64' 'attest\" missing or not base64'; do
	"$gate" serve --config "$tmp/fake-gate.json" --once 2>>"$tmp/fake.log" || fail "serve (fake agent)"
	r=$("$gate" hosts --state "$tmp/fake.db" --json)
	case $r in *'"failed":"agent"'*"$want"*) echo "refused as expected (fake agent): $want" ;; *) fail "fake agent: want $want: $r" ;; esac
done
wait "$fpid"

# --- reboots: the kept replay state belongs to one TPM boot ---
# swtpm restarted without an orderly TPM2_Shutdown: its TPM2_Startup(CLEAR) is a TPM Reset (PCRs
# cleared, resetCount + 1), and the host's IMA log starts over (a fresh boot_aggregate).
state_sql() { # STATEMENT on the gate's state, in whichever backend (as gate_nginx_test.sh)
	case $db in
	postgresql:*) "${GATE_TEST_PSQL:-psql}" -X -q -v ON_ERROR_STOP=1 -d "${db#postgresql:}" -c "$1" >/dev/null ;;
	*) python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' \
		"${db#sqlite:}" "$1" ;;
	esac
}
reboot() { # FILE...: a power cycle of the host, then a fresh log (boot_aggregate, FILE...)
	stop_tpm A
	start_tpm A
	rm -f "$log"
	"$helper" "$log" boot && "$helper" "$log" add "$@" || fail "helper after the reboot"
}
r0=$(hostfield host-1 tpm_reset_count)
case $r0 in [0-9]*) ;; *) fail "host-1: no resetCount kept: $("$gate" hosts --state "$db" --json)"; r0=0 ;; esac
# A log shorter than the kept offset (the agent says so): asked again from its start.
reboot "$tmp/bin/good1"
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve-reboot1.log" || fail "serve --once (reboot 1)"
[ "$(hostfield host-1 ok)" = True ] && [ "$(hostfield host-1 entries)" = 2 ] &&
	[ "$(hostfield host-1 tpm_reset_count)" = $((r0 + 1)) ] ||
	fail "reboot (shorter log): want ok, 2 entries, resetCount $((r0 + 1)): $("$gate" hosts --state "$db" --json) $(cat "$tmp/serve-reboot1.log")"
grep -q "host host-1: booted again (the IMA log is shorter than the kept offset" "$tmp/serve-reboot1.log" &&
	echo "ok: reboot with a shorter log: $(grep "booted again" "$tmp/serve-reboot1.log")" ||
	fail "reboot 1 not logged: $(cat "$tmp/serve-reboot1.log")"
# A log longer than the kept offset: the quote's resetCount says it is another boot's.
reboot "$tmp/bin/good1" "$tmp/bin/good2" "$tmp/bin/later"
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve-reboot2.log" || fail "serve --once (reboot 2)"
[ "$(hostfield host-1 ok)" = True ] && [ "$(hostfield host-1 entries)" = 4 ] &&
	[ "$(hostfield host-1 entries_checked)" = 3 ] && [ "$(hostfield host-1 tpm_reset_count)" = $((r0 + 2)) ] ||
	fail "reboot (longer log): want ok, 4 entries all checked, resetCount $((r0 + 2)): $("$gate" hosts --state "$db" --json) $(cat "$tmp/serve-reboot2.log")"
grep -q "host host-1: booted again (the quote's resetCount $((r0 + 2))" "$tmp/serve-reboot2.log" &&
	echo "ok: reboot with a longer log: $(grep "booted again" "$tmp/serve-reboot2.log")" ||
	fail "reboot 2 not logged: $(cat "$tmp/serve-reboot2.log")"
# The kept boot is later than the quote's (as for a replayed older boot's quote): refused "boot".
state_sql "UPDATE gate_hosts SET reset_count = $((r0 + 3)) WHERE name = 'host-1'" || fail "state_sql"
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve-reboot3.log" || fail "serve --once (older boot)"
[ "$(hostfield host-1 ok)" = False ] && [ "$(hostfield host-1 failed)" = boot ] &&
	hostfield host-1 reason | grep -q "resetCount $((r0 + 2)) .*after $((r0 + 3))" &&
	echo "refused as expected: an older boot: $(hostfield host-1 reason)" ||
	fail "an older boot: want failed boot: $("$gate" hosts --state "$db" --json)"
state_sql "UPDATE gate_hosts SET reset_count = $((r0 + 2)) WHERE name = 'host-1'" || fail "state_sql"
"$gate" serve --config "$tmp/gate.json" --once 2>"$tmp/serve-reboot4.log" || fail "serve --once (after reboots)"
[ "$(hostfield host-1 ok)" = True ] && [ "$(hostfield host-1 entries)" = 4 ] &&
	[ "$(hostfield host-1 entries_checked)" = 0 ] ||
	fail "after the reboots: want ok, 4 entries, none new: $("$gate" hosts --state "$db" --json)"

# --- the host turns bad, serve running ---
"$gate" serve --config "$tmp/gate.json" 2>"$tmp/serve.log" &
spid=$!
sleep 1.5
[ "$(hostfield host-1 ok)" = True ] || fail "host-1 not ok before: $(cat "$tmp/serve.log")"
# Another gate (a process of its own on the same state) forgets the host: the running serve's next
# round finds no row and checks the whole log again, not none (it keeps nothing between rounds).
# A round under way at the forget does not write the row back (its update finds no row).  The
# rounds are read from serve's log: the row shows a full check only until the round after it.
[ "$(hostfield host-1 entries)" = 4 ] && [ "$(hostfield host-1 entries_checked)" = 0 ] ||
	fail "serve running: want 4 verified, none new: $("$gate" hosts --state "$db" --json)"
mark=$(wc -l <"$tmp/serve.log")
"$gate" hosts --state "$db" --forget host-1 || fail "hosts --forget (serve running)"
full() { tail -n +$((mark + 1)) "$tmp/serve.log" | grep -q "host host-1: ok (4 entries verified, [1-9][0-9]* checked now"; }
for _ in $(seq 100); do full && break; sleep 0.1; done
full && [ "$(hostfield host-1 entries)" = 4 ] && echo "ok: serve checked the whole log after another gate's forget" ||
	fail "serve did not see the forget: $("$gate" hosts --state "$db" --json) $(tail -n +$((mark + 1)) "$tmp/serve.log")"
"$helper" "$log" add "$tmp/bin/evil" || fail "helper add evil"
for _ in $(seq 100); do [ "$(hostfield host-1 ok)" = False ] && break; sleep 0.1; done
[ "$(hostfield host-1 failed)" = policy ] || fail "bad host: want failed policy: $("$gate" hosts --state "$db" --json)"
hostfield host-1 reason | grep -q "bin/evil" || fail "bad host: the file is not named: $(hostfield host-1 reason)"
echo "host failed as expected: $(hostfield host-1 reason)"
for _ in $(seq 100); do openssl crl -in "$tmp/crl.pem" -noout -text 2>/dev/null | grep -q "$a_serial" && break; sleep 0.1; done
openssl crl -in "$tmp/crl.pem" -noout -text | grep -q "$a_serial" || fail "a.pem ($a_serial) is not on the CRL"
openssl crl -in "$tmp/crl.pem" -noout -text | grep -q "$g_serial" || fail "the demo's g.pem ($g_serial) is not on the CRL"
out=
for _ in $(seq 100); do out=$(get "$tmp/a.pem" "$tmp/a.key.pem"); case $out in "400 "*) break ;; esac; sleep 0.1; done
case $out in "400 "*) echo "refused as expected: nginx after the host failed: $out" ;; *) fail "nginx still admits a.pem: $out" ;; esac
# The same in-enclave client, same certificate, same connection settings: nginx answers 400.
out=$(dget)
case $out in "ok get bytes="*" tls="[03]*" / HTTP/1.1 400 Bad Request / "*)
	echo "refused as expected: the in-enclave client after the host failed: $out" ;;
*) fail "nginx still admits the demo's in-enclave client: $out" ;; esac
echo quit >&8
exec 8>&-
wait "$gpid" || fail "demo application exited $?"
gpid=
grep -q "certificate revoked" "$tmp/nginx/logs/error.log" || fail "nginx did not log the revocation"
grep -q "reloaded" "$tmp/serve.log" || fail "serve did not reload nginx"
n=$(challenge); enclave p "$prod" "$n" "$tmp/r" && issue refused:host "$tmp/x.pem" "$tmp/app.pol" "$tmp/r" "$n" --host host-1
grep -q "failed its last check (policy)" "$tmp/issue.out" || fail "bad host: issue reason"
kill "$spid"; wait "$spid"; spid=
# Forgetting the host drops its state: issue refuses it as never checked; a second forget finds nothing.
"$gate" hosts --state "$db" --forget host-1 || fail "hosts --forget"
[ -z "$("$gate" hosts --state "$db" --json)" ] || fail "host-1 still listed after --forget"
n=$(challenge); enclave p "$prod" "$n" "$tmp/r" && issue refused:host "$tmp/x.pem" "$tmp/app.pol" "$tmp/r" "$n" --host host-1
grep -q "never checked" "$tmp/issue.out" || fail "forgotten host: reason"
"$gate" hosts --state "$db" --forget host-1 2>/dev/null; [ $? = 1 ] || fail "forget twice: not 1"
finish "$tmp/serve.log"
