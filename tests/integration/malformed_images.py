#!/usr/bin/env python3
"""Malformed enclave images are refused by `adyton verify`, each with its
own reason.

Every case mutates a copy of a real signed image in one way and expects
exit status 1 and exactly "adyton: verify FILE: REASON" on stderr, REASON
being ady_strerror's text for the error the format layer must report
(see include/adyton/elf.h for which rule maps to which code).

usage: malformed_images.py [SIGNED_IMAGE]   (default: the hello example)
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adytest  # noqa: E402
from adytest import PF_W, PF_X, PT_LOAD, SHT_RELA  # noqa: E402

# ady_strerror() texts (src/format/error.c)
TRUNCATED = "input truncated"
ELF_MAGIC = "not an ELF file"
ELF_CLASS = "ELF file not 64-bit little-endian version 1"
ELF_MACHINE = "ELF file not for x86-64"
ELF_TYPE = "ELF file not a static PIE"
ELF_OVERLAP = "ELF segments overlap"
ELF_SEGMENT_RANGE = "ELF segment outside the file or the enclave range"
ELF_WX = "ELF segment both writable and executable"
ELF_RELOC = "ELF relocation unsupported"
ELF_ENTRY = "ELF entry point not in an executable segment"
UNSIGNED = "enclave image not signed"

R_X86_64_64 = 1
PT_INTERP = 3
PT_GNU_STACK = 0x6474E551


def truncate_header(elf):
    del elf.data[32:]


def truncate_segment(elf):
    _at, _t, _f, off, _va, fsz, _msz = elf.loads()[-1]
    if fsz < 2:
        adytest.die("last PT_LOAD has no file bytes to cut")
    del elf.data[off + fsz // 2:]


def bad_magic(elf):
    elf.data[1] = ord("X")


def bad_class(elf):
    elf.data[4] = 1  # ELFCLASS32


def bad_machine(elf):
    struct.pack_into("<H", elf.data, 0x12, 3)  # EM_386


def interp(elf):
    for at, t, *_ in elf.phdrs():
        if t == PT_GNU_STACK:
            struct.pack_into("<I", elf.data, at, PT_INTERP)
            return
    adytest.die("no PT_GNU_STACK to turn into PT_INTERP")


def wx_segment(elf):
    for at, _t, f, *_ in elf.loads():
        if f & PF_X:
            struct.pack_into("<I", elf.data, at + 4, f | PF_W)
            return
    adytest.die("no executable PT_LOAD")


def past_2_36(elf):
    at, *_ = elf.loads()[-1]
    vaddr, paddr = struct.unpack_from("<QQ", elf.data, at + 16)
    struct.pack_into("<QQ", elf.data, at + 16, vaddr + (1 << 36), paddr + (1 << 36))


def overlap(elf):
    loads = elf.loads()
    if len(loads) < 3:
        adytest.die("fewer than three PT_LOADs")
    prev, last = loads[-2], loads[-1]
    # Same page as the previous segment, still congruent with its offset.
    vaddr = (prev[4] & ~0xFFF) | (last[3] & 0xFFF)
    struct.pack_into("<QQ", elf.data, last[0] + 16, vaddr, vaddr)


def entry_outside(elf):
    struct.pack_into("<Q", elf.data, 0x18, 0)  # offset 0 is the read-only ELF header


def reloc_type(elf):
    for _at, t, off, size in elf.sections().values():
        if t == SHT_RELA and size >= 24:
            info = struct.unpack_from("<Q", elf.data, off + 8)[0]
            struct.pack_into("<Q", elf.data, off + 8, (info & ~0xFFFFFFFF) | R_X86_64_64)
            return
    adytest.die("the image has no RELA relocations to change")


def unsigned(elf):
    off, size = elf.meta_desc()
    elf.data[off:off + size] = bytes(size)


CASES = [
    ("truncated to 32 bytes", truncate_header, TRUNCATED),
    ("truncated inside the last segment", truncate_segment, ELF_SEGMENT_RANGE),
    ("bad magic", bad_magic, ELF_MAGIC),
    ("ELFCLASS32", bad_class, ELF_CLASS),
    ("EM_386", bad_machine, ELF_MACHINE),
    ("PT_INTERP", interp, ELF_TYPE),
    ("writable and executable segment", wx_segment, ELF_WX),
    ("segment past 2^36", past_2_36, ELF_SEGMENT_RANGE),
    ("overlapping segments", overlap, ELF_OVERLAP),
    ("entry outside executable segments", entry_outside, ELF_ENTRY),
    ("R_X86_64_64 relocation", reloc_type, ELF_RELOC),
    ("signature note zeroed", unsigned, UNSIGNED),
]


def main():
    cli = adytest.cli()
    image = sys.argv[1] if len(sys.argv) > 1 else adytest.hello("signed")
    with open(image, "rb") as f:
        original = f.read()
    adytest.run(cli, "verify", image, check=0)

    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, mutate, reason) in enumerate(CASES):
            elf = adytest.Elf(original)
            mutate(elf)
            path = os.path.join(tmp, f"case{i}.elf")
            with open(path, "wb") as f:
                f.write(elf.data)
            code, _out, err = adytest.run(cli, "verify", path)
            want = f"adyton: verify {path}: {reason}\n"
            if code == 1 and err == want:
                print(f"ok: {name}: {reason}")
            else:
                print(f"FAIL: {name}: exit {code}, stderr {err!r}, wanted exit 1 and {want!r}")
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
