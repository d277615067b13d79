#!/usr/bin/env python3
"""adyton-gate check-host end to end on the ima-qemu kernel data: a Keylime
runtime policy written from the ascii log (as keylime_create_policy would),
both templates, both snapshots, RSA and ECC AKs; --state across the
log-ahead case; refusals with the reason in the JSON report and exit 1;
unusable input is exit 2 with a message."""
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

GATE = sys.argv[1]
VEC = sys.argv[2]
if not os.path.isfile(os.path.join(VEC, "ima-qemu", "README.md")):
    print(f"skip: no vectors at {VEC}")
    sys.exit(77)
IQ = os.path.join(VEC, "ima-qemu")
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def policy_from_ascii(path, drop=None, excludes=()):
    digests = {}
    for line in open(path):
        f = line.rstrip("\n").split(" ")
        if f[4] == drop:
            continue
        digests.setdefault(f[4], [])
        h = f[3].split(":")[1]
        if h not in digests[f[4]]:
            digests[f[4]].append(h)
    return {"meta": {"version": 1, "generator": 3}, "release": 0, "digests": digests, "excludes": list(excludes),
            "keyrings": {}, "ima": {"ignored_keyrings": [], "log_hash_alg": "sha1", "dm_policy": None},
            "ima-buf": {}, "verification-keys": ""}


def run(tmpl, q, key, log, policy, *extra, nonce=None):
    d = os.path.join(IQ, tmpl)
    if nonce is None:
        nonce = open(os.path.join(d, q, "qualifying-data.hex")).read().strip()
    cmd = [GATE, "check-host", "--quote", f"{d}/{q}/quote-{key}.msg", "--sig", f"{d}/{q}/quote-{key}.sig",
           "--ak-pub", f"{d}/keys/ak-{key}.pub.pem", "--nonce", nonce, "--pcrs", f"{d}/{q}/pcrs.bin",
           "--log", log, "--policy", policy, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    rep = json.loads(p.stdout) if p.returncode in (0, 1) else None
    return p.returncode, rep, p.stderr


def entries(b):
    o, out = 0, []
    while o < len(b):
        s = o
        o += 24
        (n,) = struct.unpack_from("<I", b, o)
        o += 4 + n
        (n,) = struct.unpack_from("<I", b, o)
        o += 4 + n
        out.append((s, o))
    return out


tmp = tempfile.mkdtemp(prefix="gate-cli-")
try:
    for tmpl in ("ima-ng", "ima-sig"):
        d = os.path.join(IQ, tmpl)
        pol = os.path.join(tmp, f"{tmpl}.json")
        json.dump(policy_from_ascii(f"{d}/q2/ascii_runtime_measurements"), open(pol, "w"))
        pcr10 = {q: open(f"{d}/{q}/pcrs.bin", "rb").read()[220 + 320:220 + 352].hex() for q in ("q1", "q2")}
        for q, n in (("q1", 80), ("q2", 82)):
            for key in ("rsa", "ecc"):
                rc, rep, err = run(tmpl, q, key, f"{d}/{q}/binary_runtime_measurements", pol)
                check(rc == 0 and rep["host_ok"] and rep["verified"]["count"] == n
                      and rep["verified"]["pcr10_sha256"] == pcr10[q] and rep["violations"] == 1,
                      f"{tmpl} {q} {key}: host passes, {n} entries, PCR 10 as read ({rc} {rep or err})")

        # log-ahead with --state: q1's quote, q2's log, then q2's quote
        st = os.path.join(tmp, f"state-{tmpl}")
        os.mkdir(st)
        log2 = f"{d}/q2/binary_runtime_measurements"
        rc, rep, err = run(tmpl, "q1", "ecc", log2, pol, "--state", st)
        check(rc == 0 and rep["verified"]["count"] == 80 and rep["entries_ahead"] == 2 and not rep["incremental"],
              f"{tmpl}: q1 quote with q2 log: 80 verified, 2 ahead ({rep or err})")
        rc, rep, err = run(tmpl, "q2", "rsa", log2, pol, "--state", st)
        check(rc == 0 and rep["incremental"] and rep["entries_checked"] == 2 and rep["verified"]["count"] == 82,
              f"{tmpl}: next round checks only the 2 new entries ({rep or err})")
        saved = json.load(open(os.path.join(st, "host.json")))
        check(saved["count"] == 82 and saved["pcr10_sha256"] == pcr10["q2"], f"{tmpl}: state kept {saved}")
        # the old quote again: its nonce is not the one asked for
        rc, rep, err = run(tmpl, "q1", "rsa", log2, pol, "--state", st, nonce="ffeeddccbbaa99887766554433221100")
        check(rc == 1 and rep["failed"] == "quote_nonce", f"{tmpl}: replayed q1 quote refused ({rep or err})")
        # a shorter log than the state verified
        rc, rep, err = run(tmpl, "q2", "rsa", f"{d}/q1/binary_runtime_measurements", pol, "--state", st)
        check(rc == 1 and rep["failed"] == "log_shorter", f"{tmpl}: log shorter than the state refused ({rep or err})")
        check(json.load(open(os.path.join(st, "host.json"))) == saved, f"{tmpl}: a refused round keeps the state")

        # a file not in the policy: the report names file and digest
        pol2 = os.path.join(tmp, f"{tmpl}-noopenssl.json")
        json.dump(policy_from_ascii(f"{d}/q2/ascii_runtime_measurements", drop="/usr/bin/openssl"), open(pol2, "w"))
        rc, rep, err = run(tmpl, "q1", "rsa", f"{d}/q1/binary_runtime_measurements", pol2)
        check(rc == 1 and rep["failed"] == "policy" and "/usr/bin/openssl" in rep["reason"]
              and "sha256:" in rep["reason"], f"{tmpl}: file not in policy ({rep and rep['reason'] or err})")
        # the same file under an exclude: allowed
        pol3 = os.path.join(tmp, f"{tmpl}-excl.json")
        json.dump(policy_from_ascii(f"{d}/q2/ascii_runtime_measurements", drop="/usr/bin/openssl",
                                    excludes=["/usr/bin/openssl$"]), open(pol3, "w"))
        rc, rep, err = run(tmpl, "q1", "rsa", f"{d}/q1/binary_runtime_measurements", pol3)
        check(rc == 0, f"{tmpl}: excluded path allowed ({rep or err})")

        # a log edited after the quote, an entry removed
        b = bytearray(open(f"{d}/q1/binary_runtime_measurements", "rb").read())
        es = entries(b)
        s, e = es[10]
        edited = bytearray(b)
        (tl,) = struct.unpack_from("<I", b, s + 24)
        edited[s + 24 + 4 + tl + 4 + 4 + len(b"sha256:\0")] ^= 0x01  # the file digest's first byte
        open(os.path.join(tmp, "edited"), "wb").write(edited)
        rc, rep, err = run(tmpl, "q1", "rsa", os.path.join(tmp, "edited"), pol)
        check(rc == 1 and rep["failed"] == "pcr_mismatch", f"{tmpl}: edited log refused ({rep and rep['reason'] or err})")
        open(os.path.join(tmp, "removed"), "wb").write(b[:s] + b[e:])
        rc, rep, err = run(tmpl, "q1", "rsa", os.path.join(tmp, "removed"), pol)
        check(rc == 1 and rep["failed"] == "pcr_mismatch", f"{tmpl}: removed entry refused ({rep and rep['reason'] or err})")

    # ima-sig: the signed script passes by its security.ima signature under
    # verification-keys (Keylime's ImaKeyrings JSON), not by a digest; a
    # key that did not sign it (the AK's, as an RSA key) fails it
    d = os.path.join(IQ, "ima-sig")
    cert = os.path.join(IQ, "ima-signing", "ima-signing-cert.pem")
    for keyfile, want in ((cert, 0), (os.path.join(d, "keys", "ak-rsa.pub.pem"), 1)):
        if keyfile == cert:
            der = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], capture_output=True,
                                 check=True).stdout
        else:
            der = open(keyfile, "rb").read()
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=der, capture_output=True,
                             check=True).stdout
        pol = policy_from_ascii(f"{d}/q2/ascii_runtime_measurements", drop="/usr/local/bin/ima-signed-hello")
        pol["verification-keys"] = json.dumps({"meta": {"version": 1},
                                               "keyrings": {"ima": {"pubkeys": [base64.b64encode(der).decode()]}}})
        pf = os.path.join(tmp, "ima-sig-keys.json")
        json.dump(pol, open(pf, "w"))
        rc, rep, err = run("ima-sig", "q2", "ecc", f"{d}/q2/binary_runtime_measurements", pf)
        if want == 0:
            check(rc == 0, f"ima-sig: signed file allowed by verification-keys ({rep or err})")
        else:
            check(rc == 1 and rep["failed"] == "policy" and "ima-signed-hello" in rep["reason"]
                  and "does not verify" in rep["reason"], f"ima-sig: another key refuses it ({rep and rep['reason'] or err})")

    # the AK bound to the EK certificate (the verifier policy's tpm_ek_ca)
    tpm = os.path.join(IQ, "tpm")
    ek = ["--ek-cert", f"{tpm}/ek-rsa2048-cert.pem", "--ek-ca", f"{tpm}/localca-root-cert.pem",
          "--ek-ca", f"{tpm}/localca-issuer-cert.pem"]
    for tmpl in ("ima-ng", "ima-sig"):
        d = os.path.join(IQ, tmpl)
        pol = os.path.join(tmp, f"{tmpl}.json")
        for key in ("rsa", "ecc"):
            rc, rep, err = run(tmpl, "q1", key, f"{d}/q1/binary_runtime_measurements", pol, *ek,
                               "--ek-pub", f"{d}/keys/ek-rsa.pub.tpm2b", "--ak-tpm2b", f"{d}/keys/ak-{key}.pub.tpm2b")
            check(rc == 0 and rep["ak_bound"], f"{tmpl} {key}: AK bound to the EK certificate ({rep or err})")
        # the other AK's TPM2B_PUBLIC: not the key the quote is checked with
        rc, rep, err = run(tmpl, "q1", "rsa", f"{d}/q1/binary_runtime_measurements", pol, *ek,
                           "--ek-pub", f"{d}/keys/ek-rsa.pub.tpm2b", "--ak-tpm2b", f"{d}/keys/ak-ecc.pub.tpm2b")
        check(rc == 1 and rep["failed"] == "ak_binding" and not rep["ak_bound"],
              f"{tmpl}: another AK refused ({rep and rep['reason'] or err})")
    # the P-384 EK certificate certifies another key than the RSA EK
    d = os.path.join(IQ, "ima-ng")
    rc, rep, err = run("ima-ng", "q1", "rsa", f"{d}/q1/binary_runtime_measurements", os.path.join(tmp, "ima-ng.json"),
                       "--ek-cert", f"{tpm}/ek-secp384r1-cert.pem", "--ek-ca", f"{tpm}/localca-root-cert.pem",
                       "--ek-ca", f"{tpm}/localca-issuer-cert.pem", "--ek-pub", f"{d}/keys/ek-rsa.pub.tpm2b",
                       "--ak-tpm2b", f"{d}/keys/ak-rsa.pub.tpm2b")
    check(rc == 1 and rep["failed"] == "ak_binding" and "another key" in rep["reason"],
          f"EK certificate of another key refused ({rep and rep['reason'] or err})")
    rc, rep, err = run("ima-ng", "q1", "rsa", f"{d}/q1/binary_runtime_measurements", os.path.join(tmp, "ima-ng.json"),
                       "--ek-cert", f"{tpm}/ek-rsa2048-cert.pem")
    check(rc == 2 and "go together" in err, f"partial AK options: exit 2 ({err.strip()})")

    # unusable input: exit 2 with a message
    rc, rep, err = run("ima-ng", "q1", "rsa", f"{IQ}/ima-ng/q1/binary_runtime_measurements",
                       os.path.join(VEC, "keylime", "runtime-policy-bogus.json"))
    check(rc == 2 and "not JSON" in err, f"malformed policy: exit 2 ({err.strip()})")
    rc, rep, err = run("ima-ng", "q1", "rsa", f"{IQ}/ima-ng/q1/binary_runtime_measurements",
                       os.path.join(tmp, "ima-ng.json"), nonce="xyz")
    check(rc == 2 and "--nonce" in err, f"bad nonce: exit 2 ({err.strip()})")
    p = subprocess.run([GATE, "check-host"], capture_output=True, text=True)
    check(p.returncode == 2 and "usage" in p.stderr, "missing arguments: usage, exit 2")
finally:
    shutil.rmtree(tmp)
sys.exit(1 if failures else 0)
