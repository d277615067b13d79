#!/usr/bin/env python3
"""keyguard_memscan.py PID HEX... : reads every readable mapping of PID
through /proc/PID/mem and reports where each needle (hex) occurs.  Exit 0
when none is found, 1 when one is, 2 when the memory cannot be read.
Unreadable ranges ([vvar], memfd_secret) are skipped and counted."""
import re
import sys

CHUNK = 1 << 20
HUGE = 64 << 30


def main():
    pid = int(sys.argv[1])
    needles = [bytes.fromhex(h) for h in sys.argv[2:]]
    hits, unreadable, pages, skipped = [], 0, 0, 0
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError as e:
        print(f"memscan: {pid}: {e}", file=sys.stderr)
        return 2
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not m or m.group(3)[0] != "r":
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > HUGE:
            # ASan's shadow and similar reservations: terabytes of mostly
            # untouched address space, not process data.
            skipped += 1
            continue
        keep = max(len(n) for n in needles) - 1 if needles else 0
        tail = b""
        for start in range(lo, hi, CHUNK):
            try:
                mem.seek(start)
                data = tail + mem.read(min(CHUNK, hi - start))
            except (OSError, OverflowError, ValueError):
                unreadable += 1
                tail = b""
                continue
            pages += (len(data) - len(tail)) // 4096
            base = start - len(tail)
            for n in needles:
                at = data.find(n)
                if at >= 0:
                    hits.append(f"{n.hex()[:16]}... at {base + at:#x} in {line.strip()}")
            tail = data[-keep:] if keep else b""
    print(f"memscan: pid {pid}: {pages} pages read, {unreadable} mappings unreadable, "
          f"{skipped} reservations > 64 GiB skipped, {len(hits)} hits")
    for h in hits:
        print(f"memscan: FOUND {h}")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
