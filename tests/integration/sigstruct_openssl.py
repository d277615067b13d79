#!/usr/bin/env python3
"""The SIGSTRUCT signature checked by the `openssl` command line.

From the raw SIGSTRUCT (`adyton inspect --sigstruct`): the public key is
assembled as DER SubjectPublicKeyInfo from MODULUS (little-endian, bytes
128..512) and EXPONENT (u32 at 512) and converted with `openssl pkey`;
the signed data is bytes [0,128) + [900,1028); the signature (bytes
516..900) is reversed to big-endian.  `openssl dgst -sha256 -verify` must
accept it, and reject it after one flipped data byte or signature byte.
Q1/Q2 are checked with Python integers.

usage: sigstruct_openssl.py [SIGNED_IMAGE]   (default: the hello example)
"""
import os
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adytest  # noqa: E402

RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def der_int(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "big")  # leading 0 keeps it positive
    return der(0x02, b)


def spki(n, e):
    rsa_public_key = der(0x30, der_int(n) + der_int(e))
    algorithm = der(0x30, der(0x06, RSA_ENCRYPTION_OID) + der(0x05, b""))
    return der(0x30, algorithm + der(0x03, b"\0" + rsa_public_key))


def openssl_verify(openssl, pub, sig, data):
    code, out, err = adytest.run(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sig, data)
    return code == 0 and "Verified OK" in out, (out + err).strip()


def main():
    cli = adytest.cli()
    openssl = shutil.which("openssl")
    if not openssl:
        adytest.skip("the openssl command line is not installed")
    image = sys.argv[1] if len(sys.argv) > 1 else adytest.hello("signed")

    with tempfile.TemporaryDirectory() as tmp:
        p = lambda name: os.path.join(tmp, name)  # noqa: E731
        adytest.run(cli, "inspect", "--sigstruct", p("ss.bin"), image, check=0)
        with open(p("ss.bin"), "rb") as f:
            ss = f.read()
        if len(ss) != 1808:
            adytest.die(f"SIGSTRUCT is {len(ss)} bytes")
        n = int.from_bytes(ss[128:512], "little")
        e = struct.unpack_from("<I", ss, 512)[0]
        s = int.from_bytes(ss[516:900], "little")
        if n.bit_length() != 3072 or e != 3:
            adytest.die(f"key is {n.bit_length()} bits with e = {e}, not RSA-3072 e = 3")

        with open(p("pub.der"), "wb") as f:
            f.write(spki(n, e))
        adytest.run(openssl, "pkey", "-pubin", "-inform", "DER", "-in", p("pub.der"),
                    "-out", p("pub.pem"), check=0)
        _, text, _ = adytest.run(openssl, "pkey", "-pubin", "-in", p("pub.pem"), "-text", "-noout",
                                 check=0)
        if "3072 bit" not in text or "Exponent: 3 " not in text:
            adytest.die(f"openssl reads the key differently:\n{text}")

        data = ss[0:128] + ss[900:1028]
        with open(p("data.bin"), "wb") as f:
            f.write(data)
        with open(p("sig_be.bin"), "wb") as f:
            f.write(ss[516:900][::-1])
        ok, msg = openssl_verify(openssl, p("pub.pem"), p("sig_be.bin"), p("data.bin"))
        if not ok:
            adytest.die(f"openssl does not verify the SIGSTRUCT signature: {msg}")
        print(f"openssl: {msg}")

        for i in (0, 20, 127, 128, 200, 255):
            bad = bytearray(data)
            bad[i] ^= 0x01
            with open(p("bad.bin"), "wb") as f:
                f.write(bad)
            ok, msg = openssl_verify(openssl, p("pub.pem"), p("sig_be.bin"), p("bad.bin"))
            if ok:
                adytest.die(f"openssl verifies the signature after flipping signed byte {i}")
        bad_sig = bytearray(ss[516:900][::-1])
        bad_sig[100] ^= 0x40
        with open(p("bad_sig.bin"), "wb") as f:
            f.write(bad_sig)
        ok, _ = openssl_verify(openssl, p("pub.pem"), p("bad_sig.bin"), p("data.bin"))
        if ok:
            adytest.die("openssl verifies a flipped signature")
        print("openssl: flipped data and signature bytes are rejected")

    q1 = int.from_bytes(ss[1040:1424], "little")
    q2 = int.from_bytes(ss[1424:1808], "little")
    if q1 != s * s // n or q2 != s * (s * s % n) // n:
        adytest.die("Q1/Q2 are not floor(s^2/n) and floor(s*(s^2 mod n)/n)")
    print("Q1/Q2 check out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
