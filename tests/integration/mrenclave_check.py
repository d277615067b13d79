#!/usr/bin/env python3
"""Independent re-computation of MRENCLAVE and MRSIGNER.

Takes from `adyton inspect --json --pages --memory --sigstruct` only what
an enclave loader would hand to the CPU: SECS.SIZE, SSAFRAMESIZE, the list
of added pages (offset, page type, permissions, extended or not) and the
initial memory image.  From those it rebuilds the SGX measurement records
as the Intel SDM (ECREATE/EADD/EEXTEND, 40.3) and the Linux SGX selftests
define them, hashes them with hashlib, and requires the result to equal
both the MRENCLAVE adyton prints and the signed SIGSTRUCT.ENCLAVEHASH.
MRSIGNER must be SHA-256 of SIGSTRUCT.MODULUS as stored (bytes 128..512).

No adyton code is imported or reimplemented beyond the SGX definitions.

usage: mrenclave_check.py [SIGNED_IMAGE]   (default: the hello example)
"""
import hashlib
import json
import mmap
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adytest  # noqa: E402  (test harness: locating files, running the CLI)

PAGE = 4096
CHUNK = 256

# SECINFO.FLAGS (SDM 38.11.1): R, W, X in bits 0..2, page type in 15:8.
PERM_BITS = {"r": 0x1, "w": 0x2, "x": 0x4}
PAGE_TYPE = {"tcs": 1, "reg": 2}

# SIGSTRUCT constants (SDM table 38-19)
SS_HEADER = bytes.fromhex("06000000E100000000000100")
SS_HEADER2 = bytes.fromhex("01010000600000006000000001000000")


def ecreate(ssaframesize, size):
    rec = b"ECREATE\0" + struct.pack("<IQ", ssaframesize, size)
    return rec + bytes(64 - len(rec))


def eadd(offset, flags):
    rec = b"EADD\0\0\0\0" + struct.pack("<QQ", offset, flags)
    return rec + bytes(64 - len(rec))


def eextend(offset):
    rec = b"EEXTEND\0" + struct.pack("<Q", offset)
    return rec + bytes(64 - len(rec))


def secinfo_flags(page):
    ptype = page["type"]
    if ptype not in PAGE_TYPE:
        adytest.die(f"unknown page type {ptype!r}")
    perms = page["perms"]
    if perms not in ("", "r", "w", "x", "rw", "rx", "wx", "rwx"):
        adytest.die(f"bad permission string {perms!r}")
    if ptype == "tcs" and perms:
        adytest.die(f"TCS page at {page['offset']:#x} has permissions {perms!r} (SDM: none)")
    if perms == "rwx" or ("w" in perms and "x" in perms):
        adytest.die(f"page at {page['offset']:#x} is writable and executable")
    flags = PAGE_TYPE[ptype] << 8
    for p in perms:
        flags |= PERM_BITS[p]
    return flags


def mrenclave(info, mem):
    size, ssa = info["size"], info["ssaframesize"]
    if size < PAGE or size & (size - 1):
        adytest.die(f"SECS.SIZE {size:#x} is not a power of two >= 4096")
    h = hashlib.sha256()
    h.update(ecreate(ssa, size))
    last = -1
    tcs = 0
    for page in info["pages"]:
        off = page["offset"]
        if off % PAGE or off >= size:
            adytest.die(f"page offset {off:#x} not aligned or outside SIZE {size:#x}")
        if off <= last:
            adytest.die(f"pages not in increasing order at {off:#x}")
        last = off
        tcs += page["type"] == "tcs"
        h.update(eadd(off, secinfo_flags(page)))
        if page["extended"]:
            for c in range(off, off + PAGE, CHUNK):
                h.update(eextend(c))
                h.update(mem[c:c + CHUNK])
    if tcs != info["config"]["threads"]:
        adytest.die(f"{tcs} TCS pages for {info['config']['threads']} threads")
    return h.hexdigest()


def main():
    cli = adytest.cli()
    image = sys.argv[1] if len(sys.argv) > 1 else adytest.hello("signed")
    with tempfile.TemporaryDirectory() as tmp:
        memfile = os.path.join(tmp, "memory.bin")
        ssfile = os.path.join(tmp, "sigstruct.bin")
        _, out, _ = adytest.run(cli, "inspect", "--json", "--pages", "--memory", memfile,
                                "--sigstruct", ssfile, image, check=0)
        info = json.loads(out)
        with open(ssfile, "rb") as f:
            ss = f.read()
        if len(ss) != 1808:
            adytest.die(f"SIGSTRUCT is {len(ss)} bytes, not 1808")
        if os.path.getsize(memfile) != info["size"]:
            adytest.die(f"memory image is {os.path.getsize(memfile)} bytes, SIZE {info['size']}")
        with open(memfile, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mem:
            mine = mrenclave(info, mem)

    enclavehash = ss[960:992].hex()
    mrsigner = hashlib.sha256(ss[128:512]).hexdigest()
    print(f"recomputed MRENCLAVE {mine}")
    print(f"adyton     MRENCLAVE {info['mrenclave']}")
    print(f"ENCLAVEHASH          {enclavehash}")
    print(f"MRSIGNER             {mrsigner} (adyton: {info['mrsigner']})")
    ok = True
    if mine != info["mrenclave"]:
        print("FAIL: adyton's MRENCLAVE differs from the independent computation")
        ok = False
    if mine != enclavehash:
        print("FAIL: SIGSTRUCT.ENCLAVEHASH differs from the independent computation")
        ok = False
    if mrsigner != info["mrsigner"]:
        print("FAIL: MRSIGNER is not SHA-256 of the stored modulus")
        ok = False
    if ss[0:12] != SS_HEADER or ss[24:40] != SS_HEADER2:
        print("FAIL: SIGSTRUCT HEADER/HEADER2 are not the SDM constants")
        ok = False
    if struct.unpack_from("<I", ss, 512)[0] != 3:
        print("FAIL: SIGSTRUCT.EXPONENT is not 3")
        ok = False
    isvprodid, isvsvn = struct.unpack_from("<HH", ss, 1024)
    if (isvprodid, isvsvn) != (info["isvprodid"], info["isvsvn"]):
        print("FAIL: ISVPRODID/ISVSVN differ between SIGSTRUCT and inspect")
        ok = False
    flags = struct.unpack_from("<Q", ss, 928)[0]
    if bool(flags & 0x2) != info["debug"] or not flags & 0x4:
        print(f"FAIL: ATTRIBUTES.FLAGS {flags:#x} disagree with debug={info['debug']} / MODE64BIT")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
