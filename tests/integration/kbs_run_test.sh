#!/bin/bash
# adyton run --config-from (issue 16): an enclave whose argv, environment
# and files exist only in the key broker (a configuration resource), on
# the process backend through a private adytond and adyton-kbs:
#  - the enclave answers with exactly the broker's argv/env/files (its
#    test ECALL prints them), and nothing of the host's environment or
#    command line reaches it (extra arguments and --in are usage errors);
#  - a configuration whose policy names another MRENCLAVE gives the
#    enclave nothing (exit 1, the reason from the broker, an audit line);
#    a secret is not a configuration; a malformed URL or resource name is
#    refused; a broker that is not there is named.
# usage: kbs_run_test.sh ADYTON_KBS RUN_ENCLAVE
. "$(dirname "$0")/test_lib.sh"
ady_need python3
kpid=
ady_stop kpid dpid
kbs=$1 img=$2


"$ADYTON" inspect --json "$img" >"$tmp/img.json" || { echo "FAIL: inspect $img"; exit 1; }
mre=$(field "$tmp/img.json" mrenclave)
mrsigner=$(field "$tmp/img.json" mrsigner)
prodid=$(field "$tmp/img.json" isvprodid)

unset ADYTON_KBS_SOCKET ADYTON_KBS_CA
ady_daemon "$(printf 'signer = any\nprovision = %s:%s\n' "$mrsigner" "$prodid")"

ks=$tmp/kbs.sock
audit=$tmp/audit.log
"$kbs" serve --socket "$ks" --db "$tmp/kbs.db" --audit "$audit" --token-file "$tmp/admin.token" \
	--master-key "$tmp/master.key" 2>>"$tmp/kbs.log" &
kpid=$!
for _ in $(seq 100); do [ -S "$ks" ] && break; sleep 0.05; done
[ -S "$ks" ] || { echo "FAIL: adyton-kbs did not start"; cat "$tmp/kbs.log"; exit 1; }
adm() { "$kbs" "$@" --socket "$ks" --token-file "$tmp/admin.token"; }

tag=$(python3 -c 'import os; print(os.urandom(8).hex())')
printf 'mrenclave = %s\nplatform_key = %s\n' "$mre" "$pkey" >"$tmp/pol"
printf 'mrenclave = %064d\nplatform_key = %s\n' 0 "$pkey" >"$tmp/pol.other"
printf 'listen = 8443\nkey = %s\n' "$tag" >"$tmp/app.conf"
conf_sha=$(sha256sum "$tmp/app.conf" | cut -d' ' -f1)
conf_len=$(stat -c %s "$tmp/app.conf")
adm put runconf --policy "$tmp/pol" --argv /bin/app --argv --verbose --argv "broker-arg-$tag" \
	--env MODE=prod --env "BROKER_ONLY=$tag" --file /etc/app.conf="$tmp/app.conf" || fail "put runconf"
adm put runconf-other --policy "$tmp/pol.other" --argv /bin/app --env MODE=prod || fail "put runconf-other"
printf 'not a configuration' >"$tmp/secret"
adm put runsecret --policy "$tmp/pol" --secret-file "$tmp/secret" || fail "put runsecret"

cat >"$tmp/want" <<WANT
argv /bin/app
argv --verbose
argv broker-arg-$tag
env MODE=prod
env BROKER_ONLY=$tag
file /etc/app.conf len=$conf_len sha256=$conf_sha
MODE=prod
WANT

# The host's environment and command line hold other values: none of
# them reaches the enclave.
MODE=host-mode HOST_ONLY=host-$tag "$ADYTON" run --backend process --config-from "$ks#runconf" "$img" \
	>"$tmp/out" 2>"$tmp/err" || fail "run --config-from: exit $?: $(cat "$tmp/err")"
cmp -s "$tmp/want" "$tmp/out" || fail "run --config-from: got $(cat "$tmp/out"), wanted $(cat "$tmp/want")"
grep -q "host" "$tmp/out" && fail "the host's environment reached the enclave"
grep -q "release resource=runconf mrenclave=$mre " "$audit" || fail "no release line for runconf"
# The same with the broker as unix:PATH and the options after the image.
"$ADYTON" run "$img" --config-from "unix:$ks#runconf" --backend process >"$tmp/out" 2>"$tmp/err" &&
	cmp -s "$tmp/want" "$tmp/out" || fail "run IMAGE --config-from unix:...: $(cat "$tmp/out" "$tmp/err")"

# Another MRENCLAVE in the policy: nothing, and the reason.
"$ADYTON" run --backend process --config-from "$ks#runconf-other" "$img" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "wrong MRENCLAVE: exit $rc"
[ -s "$tmp/out" ] && fail "wrong MRENCLAVE: the enclave printed $(cat "$tmp/out")"
grep -q "permission denied" "$tmp/err" && grep -q "broker: identity" "$tmp/err" ||
	fail "wrong MRENCLAVE: $(cat "$tmp/err")"
grep -q "refuse resource=runconf-other reason=identity .*evidence=[0-9a-f]\{64\}" "$audit" ||
	fail "wrong MRENCLAVE: no audit line"

# A secret is not a configuration; an unknown resource; no broker there.
"$ADYTON" run --backend process --config-from "$ks#runsecret" "$img" >"$tmp/out" 2>"$tmp/err" &&
	fail "a secret ran as a configuration"
grep -q "configuration\|config" "$tmp/err" || fail "secret as config: $(cat "$tmp/err")"
"$ADYTON" run --backend process --config-from "$ks#nosuch" "$img" >"$tmp/out" 2>"$tmp/err" &&
	fail "an unknown configuration ran"
grep -q "broker: no such resource" "$tmp/err" || fail "unknown configuration: $(cat "$tmp/err")"
"$ADYTON" run --backend process --config-from "$tmp/nobroker.sock#runconf" "$img" >"$tmp/out" 2>"$tmp/err" &&
	fail "ran without a broker"
grep -q "broker unreachable" "$tmp/err" || fail "no broker: $(cat "$tmp/err")"
"$ADYTON" run --backend process --config-from "$ks#bad/name" "$img" >"$tmp/out" 2>"$tmp/err" &&
	fail "a malformed resource name ran"

# Usage: the host cannot add arguments or input; the URL needs #NAME.
usage() {
	"$ADYTON" run --backend process "$@" >"$tmp/out" 2>"$tmp/err"
	[ $? -eq 2 ] || fail "usage error expected for: $* ($(cat "$tmp/err"))"
}
usage --config-from "$ks#runconf" "$img" host-arg
usage --config-from "$ks#runconf" --in /dev/null "$img"
usage --config-from "$ks" "$img"
usage --config-from "#runconf" "$img"
usage --config-from "$ks#" "$img"
usage --ca /dev/null "$img"
grep -q "runconf" "$audit" || fail "audit log"

ady_finish "$audit" "$tmp/kbs.log"
