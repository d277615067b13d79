"""Shared helpers of adyton's Python integration tests.

Standard library only.  Locates the `adyton` CLI and the hello example's
images from the environment CTest sets (ADYTON, ADY_BINARY_DIR), and reads
ELF headers straight from the bytes so that tests can aim mutations.
Nothing here calls adyton code: tests that check adyton must not trust it.
"""
import os
import struct
import subprocess
import sys

SKIP = 77

PT_LOAD = 1
PT_DYNAMIC = 2
PF_X, PF_W, PF_R = 1, 2, 4
SHT_RELA = 4
SHT_NOTE = 7
DT_NULL, DT_RELA, DT_RELASZ = 0, 7, 8


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def die(reason):
    print(f"FAIL: {reason}")
    sys.exit(1)


def cli():
    """Path of the adyton CLI; skips when the environment does not name one."""
    path = os.environ.get("ADYTON")
    if not path:
        skip("ADYTON is not set (run through ctest)")
    if not os.access(path, os.X_OK):
        skip(f"ADYTON={path} is not an executable")
    return path


def hello(kind):
    """The hello example's image from the build tree: kind 'elf' (unsigned)
    or 'signed'.  Missing images are a failure: the build makes them."""
    bindir = os.environ.get("ADY_BINARY_DIR")
    if not bindir:
        skip("ADY_BINARY_DIR is not set (run through ctest)")
    path = os.path.join(bindir, "examples", "hello", f"hello-enclave.{kind}")
    if not os.path.isfile(path):
        die(f"{path} is missing: build the hello-enclave and hello-enclave-signed targets")
    return path


def run(*args, check=None):
    """Runs a command; returns (exit code, stdout, stderr) as text."""
    p = subprocess.run(list(args), capture_output=True, text=True)
    if check is not None and p.returncode != check:
        die(f"{' '.join(args)}: exit {p.returncode}, wanted {check}\n"
            f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p.returncode, p.stdout, p.stderr


class Elf:
    """The few ELF64 fields the tests mutate, with their file offsets."""

    def __init__(self, data):
        self.data = bytearray(data)
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            die("test image is not an ELF64 little-endian file")
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", d, 0x20)
        (self.phentsize, self.phnum, self.shentsize, self.shnum,
         self.shstrndx) = struct.unpack_from("<HHHHH", d, 0x36)

    def phdrs(self):
        """[(file offset of the phdr, type, flags, offset, vaddr, filesz, memsz)]"""
        out = []
        for i in range(self.phnum):
            at = self.phoff + i * self.phentsize
            t, f, off, va, _pa, fsz, msz, _al = struct.unpack_from("<IIQQQQQQ", self.data, at)
            out.append((at, t, f, off, va, fsz, msz))
        return out

    def loads(self):
        return [p for p in self.phdrs() if p[1] == PT_LOAD]

    def sections(self):
        """{name: (file offset of the shdr, type, offset, size)}"""
        raw = []
        for i in range(self.shnum):
            at = self.shoff + i * self.shentsize
            name, t, _fl, _addr, off, size = struct.unpack_from("<IIQQQQ", self.data, at)
            raw.append((name, at, t, off, size))
        stroff = raw[self.shstrndx][3]
        out = {}
        for name, at, t, off, size in raw:
            end = self.data.index(b"\0", stroff + name)
            out[self.data[stroff + name:end].decode()] = (at, t, off, size)
        return out

    def meta_desc(self):
        """(offset, size) of the .note.adyton descriptor."""
        _at, _t, off, _size = self.sections()[".note.adyton"]
        namesz, descsz, _type = struct.unpack_from("<III", self.data, off)
        return off + 12 + ((namesz + 3) & ~3), descsz

    def sigstruct_offset(self):
        return self.meta_desc()[0] + 64

    def measured_byte(self):
        """A file offset inside the executable PT_LOAD (code: nothing the
        parser reads, so only the measurement can notice a change)."""
        for _at, _t, f, off, _va, fsz, _msz in self.loads():
            if f & PF_X and fsz:
                return off + fsz // 2
        die("test image has no executable segment")
