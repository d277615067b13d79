#!/usr/bin/env python3
"""IMA measurements for real files, as the kernel writes them, with the TPM
PCR 10 extended to match (tests/integration/gate_agent_test.sh).

  gate_ima_helper.py LOG boot          the first entry: boot_aggregate over the
                                       TPM's SHA-256 PCRs 0-9 (read with tpm2_pcrread)
  gate_ima_helper.py LOG add FILE...   one ima-ng entry per file (SHA-256 of its
                                       content, its absolute path)
  gate_ima_helper.py LOG append FILE... the same entries in the log only; prints what
                                       to extend (the kernel appends, then extends:
                                       a reader in between sees the log ahead)
  gate_ima_helper.py LOG extend HEX... extends PCR 10 by what append printed

Each entry is appended to LOG in the binary_runtime_measurements layout
(little-endian: u32 PCR = 10 | SHA-1 template hash | u32 name length |
"ima-ng" | u32 template data length | data, where the data is the d-ng field
u32 len | "sha256:\\0" || digest and the n-ng field u32 len | path || "\\0"),
and the SHA-256 bank's PCR 10 is extended with SHA-256 of the template data
(what the kernel extends into a SHA-256 bank, ima_pcr_extend) through
tpm2_pcrextend, so that a quote over PCR 10 and the log agree.  The TPM is
TPM2TOOLS_TCTI's (swtpm:path=...).
"""
import hashlib
import os
import struct
import subprocess
import sys


def field(b):
    return struct.pack("<I", len(b)) + b


def entry(digest, name):
    data = field(b"sha256:\0" + digest) + field(name.encode() + b"\0")
    log = struct.pack("<I", 10) + hashlib.sha1(data).digest() + field(b"ima-ng") + field(data)
    return log, hashlib.sha256(data).hexdigest()


def pcrs_0_9():
    out = subprocess.run(["tpm2_pcrread", "sha256:0,1,2,3,4,5,6,7,8,9", "-o", "/dev/stdout"],
                         capture_output=True, check=True).stdout
    # -o writes the raw values; stdout also gets the YAML listing first
    raw = out[-320:]
    if len(raw) != 320:
        sys.exit("tpm2_pcrread: short output")
    return raw


def extend(hexdigest):
    subprocess.run(["tpm2_pcrextend", f"10:sha256={hexdigest}"], check=True, capture_output=True)


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("boot", "add", "append", "extend"):
        sys.exit(__doc__)
    log, cmd = sys.argv[1], sys.argv[2]
    entries = []
    if cmd == "extend":
        for h in sys.argv[3:]:
            extend(h)
        return
    if cmd == "boot":
        entries.append(entry(hashlib.sha256(pcrs_0_9()).digest(), "boot_aggregate"))
    else:
        for f in sys.argv[3:]:
            with open(f, "rb") as fh:
                entries.append(entry(hashlib.sha256(fh.read()).digest(), os.path.abspath(f)))
    for raw, h in entries:
        with open(log, "ab") as fh:
            fh.write(raw)
        if cmd == "append":
            print(h)
        else:
            extend(h)


if __name__ == "__main__":
    main()
