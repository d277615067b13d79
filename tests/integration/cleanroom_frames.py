#!/usr/bin/env python3
"""Malformed requests to the clean room enclave, below adyton-cleanroom
(cleanroom_test.sh): a raw TLS client (no verification: this is the test,
not a provider) sends frames the tool never sends and checks each refusal.

    cleanroom_frames.py PORT
    cleanroom_frames.py PORT upload NAME FILE   (an upload the tool would not send)

Checks: an unknown request type and a length over the cap are refused and
end the connection; a short nonce, an upload without a provider name or
with a NUL in it, and an empty query are refused and the connection goes
on; answers to queries all have the same length (CR_ANSWER_PAD), suppressed
or not, refused or not.  Exit 0, or 1 with FAIL lines.
"""
import socket
import ssl
import struct
import sys

PAD = 1024
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def connect(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(s)


def read_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += chunk
    return b


def request(s, typ, payload, declared=None):
    n = len(payload) if declared is None else declared
    s.sendall(struct.pack("<BI", typ, n) + payload)
    st, ln = struct.unpack("<BI", read_exact(s, 5))
    return st, read_exact(s, ln)


def closed(s):
    try:
        r = s.recv(1) == b""
    except (ssl.SSLError, OSError):
        r = True
    s.close()
    return r


def text(b):
    return b.split(b"\0", 1)[0].decode()


def upload_unknown(port, name, path):
    """An upload under a name the clean room's policy does not list."""
    s = connect(port)
    with open(path, "rb") as f:
        data = f.read()
    st, r = request(s, 2, bytes([len(name)]) + name.encode() + data)
    if st != 1 or 'names no provider "%s"' % name not in text(r):
        fail("upload as %s: %d %r" % (name, st, text(r)))
    s.close()
    return 1 if failures else 0


def main():
    port = int(sys.argv[1])
    if len(sys.argv) == 5 and sys.argv[2] == "upload":
        return upload_unknown(port, sys.argv[3], sys.argv[4])

    s = connect(port)
    st, r = request(s, 9, b"x")
    if st != 1 or "unknown request type" not in text(r):
        fail("unknown type: %d %r" % (st, r))
    if not closed(s):
        fail("the connection goes on after an unknown type")

    s = connect(port)
    st, r = request(s, 2, b"", declared=0x7FFFFFFF)
    if st != 1 or "longer than the upload limit" not in text(r):
        fail("length over the cap: %d %r" % (st, r))
    if not closed(s):
        fail("the connection goes on after a length over the cap")

    s = connect(port)
    for typ, payload, want in [
        (1, b"\0" * 31, "the nonce is 32 bytes"),
        (2, b"\0user,campaign\n", "no provider name"),
        (2, b"\x05ad\0etuser,campaign\n", "no provider name"),
        (2, b"\x40adnet", "no provider name"),
        (3, b"", "query: empty"),
        (3, b"count\n", "printable ASCII"),
    ]:
        st, r = request(s, typ, payload)
        if st != 1 or want not in text(r):
            fail("type %d %r: %d %r (want %r)" % (typ, payload[:16], st, text(r), want))
    st, r = request(s, 3, b"status")
    if st != 0 or "ready:" not in text(r):
        fail("the connection did not go on after refusals: %d %r" % (st, r))

    # Same length on the wire whatever the answer.
    lengths = set()
    for q in [b"count", b"count campaign=solo", b"lift campaign=spring product=shoes",
              b"lift campaign=solo product=shoes", b"count user=00", b"status"]:
        st, r = request(s, 3, q)
        lengths.add(len(r))
        if r[len(text(r).encode()):].strip(b"\0"):
            fail("%r: bytes after the answer are not zero" % q)
    if lengths != {PAD}:
        fail("answer lengths differ: %s" % sorted(lengths))
    s.close()
    return 1 if failures else 0


sys.exit(main())
