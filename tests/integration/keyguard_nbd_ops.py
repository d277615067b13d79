"""NBD requests other than read and write through the key guard filter,
with libnbd (issue 11 item 10).  usage: keyguard_nbd_ops.py URI RAW DATA_OFFSET

Fills the volume with random bytes, then:
 - trim: must not be offered (or, if offered, must leave every byte
   outside its range unchanged and read back as zeros); an unaligned trim
   is attempted either way and the whole volume compared;
 - write zeroes (unaligned): the range reads back as zeros, nothing
   outside it changes, and the ciphertext on disk (RAW, from DATA_OFFSET)
   over the range's whole sectors is not zeros (zeros are encrypted);
 - fast zero: not offered (it could only be a trim);
 - block status: no hole and no zero extent anywhere (the plugin's holes
   are not the plaintext's);
 - cache: changes nothing.
Exit 0 when all hold; prints every failure.
"""
import os
import sys

import nbd

uri, raw, data_offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


h = nbd.NBD()
h.add_meta_context("base:allocation")
h.connect_uri(uri)
size = h.get_size()
expect = bytearray(os.urandom(size))


def whole_volume_is_expected(what):
    got = bytearray()
    for off in range(0, size, 1 << 20):
        got += h.pread(min(1 << 20, size - off), off)
    if got != expect:
        diff = [i for i in range(size) if got[i] != expect[i]]
        check(False, "%s: %d bytes differ, first at %d, last at %d" % (what, len(diff), diff[0], diff[-1]))
    else:
        print("ok:", what, flush=True)


# -- block status: the whole volume is data, whatever the plugin's holes.
def no_holes(what):
    if not h.can_meta_context("base:allocation"):
        print("ok: %s: no block status offered" % what, flush=True)
        return
    pos, bad = 0, []
    while pos < size:
        ext = []
        h.block_status(min(size - pos, 1 << 30), pos, lambda m, o, e, err: ext.extend(e) or 0)
        if not ext:
            check(False, "%s: no extents at %d" % (what, pos))
            return
        for i in range(0, len(ext), 2):
            if ext[i + 1]:
                bad.append((pos, ext[i], ext[i + 1]))
            pos += ext[i]
    check(not bad, "%s: holes or zero extents (offset, length, flags): %r" % (what, bad[:8]))
    if not bad:
        print("ok:", what, flush=True)


no_holes("block status of the fresh (sparse) volume")
for off in range(0, size, 1 << 20):
    h.pwrite(bytes(expect[off:off + (1 << 20)]), off)
if h.can_flush():
    h.flush()

# -- trim, unaligned at both ends (partial 16-byte blocks and sectors).
t_off, t_len = 3 * 4096 + 1000, 5 * 4096 + 123
if h.can_trim():
    print("trim offered: checking it as write-zeroes", flush=True)
    h.trim(t_len, t_off)
    expect[t_off:t_off + t_len] = bytes(t_len)
else:
    try:
        h.trim(t_len, t_off)
        check(False, "trim not offered but a trim request succeeded")
    except nbd.Error as e:
        print("ok: trim refused:", e.string.splitlines()[0], flush=True)
whole_volume_is_expected("after an unaligned trim")

# -- write zeroes, unaligned.
z_off, z_len = 40 * 4096 + 7, 9 * 4096 + 4001
check(h.can_zero(), "write zeroes not offered")
h.zero(z_len, z_off)
expect[z_off:z_off + z_len] = bytes(z_len)
whole_volume_is_expected("after an unaligned write-zeroes")
with open(raw, "rb") as f:
    a = (z_off + 4095) // 4096 * 4096
    f.seek(data_offset + a)
    cipher = f.read(8 * 4096)
check(cipher != bytes(len(cipher)), "write-zeroes left plaintext zeros (or a hole) on disk")

# -- fast zero must not be offered: the filter cannot zero faster than writing.
check(not h.can_fast_zero(), "fast zero offered")

no_holes("block status after trim and zero")

# -- cache
if h.can_cache():
    h.cache(size // 2, size // 4)
whole_volume_is_expected("after cache")

h.shutdown()
sys.exit(1 if failures else 0)
