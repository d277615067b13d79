#!/usr/bin/env python3
"""adytond's usage records and `adyton usage` (issue 15, part 4).

A daemon with a 1 s accounting interval runs two enclaves of a tenant for
about 4 s and is killed with SIGKILL; a new daemon on the same state runs
one more for about 2 s, which ends normally.  Then:
  - enclave hours match the time the enclaves ran, the first daemon's two
    short by at most one interval each (what SIGKILL loses), the second's
    exactly; MB-hours = enclave hours x the enclave's pages x 4 KiB / MiB;
  - no enclave's spans overlap (nothing counted twice, also across the
    restart), read from the database itself;
  - --tenant, --from/--to clip as documented; `adyton usage --json`
    validates against docs/usage.schema.json; malformed dates are usage
    errors.

usage: usage_test.py ADYTOND ENCLAVE_HOST TESTENC_SIGNED
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

failures = []


def fail(msg):
    print(f"FAIL: {msg}")
    failures.append(msg)


def main():
    adytond, host, img = sys.argv[1:4]
    adyton = os.environ.get("ADYTON")
    src = os.environ.get("ADY_SOURCE_DIR")
    if not adyton or not src:
        print("SKIP: ADYTON / ADY_SOURCE_DIR not set (run through ctest)")
        return 77
    try:
        import jsonschema
    except ImportError:
        print("FAIL: python3-jsonschema is missing (scripts/deps.sh installs it)")
        return 1
    schema = json.load(open(f"{src}/docs/usage.schema.json"))
    tmp = tempfile.mkdtemp(prefix="adyton-usage-")
    procs = []
    try:
        return run(tmp, procs, adytond, host, img, adyton, schema, jsonschema)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, procs, adytond, host, img, adyton, schema, jsonschema):
    pages = len(json.loads(subprocess.check_output([adyton, "inspect", "--json", "--pages", img]))["pages"])
    mib_per_enclave = pages * 4096 / 1048576
    with open(f"{tmp}/policy", "w") as f:
        f.write(f"signer = any\nallow_debug = yes\ntenant ops = uid:{os.getuid()}\n")
    sock = f"{tmp}/s.sock"
    state = f"{tmp}/state"
    env = dict(os.environ, ADYTON_SOCKET=sock, ADYTON_BACKEND="process")
    log = open(f"{tmp}/adytond.log", "a")

    def start():
        d = subprocess.Popen([adytond, "--embedded", "--socket", sock, "--state-dir", state, "--policy",
                              f"{tmp}/policy", "--host", host, "--usage-interval", "1", "--verbose"], stderr=log)
        procs.append(d)
        for _ in range(100):
            if os.path.exists(sock):
                return d
            time.sleep(0.05)
        raise RuntimeError("adytond did not start")

    def hold(name):
        fifo = f"{tmp}/{name}"
        os.mkfifo(fifo)
        p = subprocess.Popen([adyton, "run", "--in", fifo, img], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        procs.append(p)
        return fifo, p

    def wait_listed(n):
        for _ in range(200):
            out = subprocess.run([adyton, "ps", "--json"], env=env, capture_output=True, text=True).stdout
            if len(json.loads(out or "[]")) == n:
                return time.time()
            time.sleep(0.02)
        raise RuntimeError(f"ps never listed {n} enclaves")

    def release(h):
        with open(h[0], "w") as f:
            f.write("x")
        h[1].wait(timeout=10)

    t_begin = time.time()
    d1 = start()
    h1, h2 = hold("a"), hold("b")
    t1 = wait_listed(2)
    time.sleep(4)
    d1.send_signal(signal.SIGKILL)
    d1.wait()
    t1_end = time.time()
    for h in (h1, h2):
        try:
            release(h)  # their hosts died with the daemon; the ECALL fails
        except (OSError, subprocess.TimeoutExpired):
            pass
    os.unlink(sock) if os.path.exists(sock) else None
    d2 = start()
    h3 = hold("c")
    t2 = wait_listed(1)
    time.sleep(2)
    release(h3)
    t2_end = time.time()
    time.sleep(0.3)
    d2.send_signal(signal.SIGTERM)
    d2.wait(timeout=10)
    t_end = time.time() + 1

    db = f"{state}/usage.db"
    q = subprocess.run([adyton, "usage", "--db", db, "--json", "--from", f"@{t_begin - 1:.0f}", "--to",
                        f"@{t_end:.0f}"], capture_output=True, text=True)
    if q.returncode != 0:
        fail(f"adyton usage: {q.stderr}")
        return 1
    u = json.loads(q.stdout)
    try:
        jsonschema.validate(u, schema)
        print("ok: adyton usage --json validates against docs/usage.schema.json")
    except jsonschema.ValidationError as e:
        fail(f"schema: {e.message}")
    ran1 = t1_end - t1  # upper bound of each first-run enclave's time
    ran2 = t2_end - t2
    secs = u["enclave_hours"] * 3600
    # each first-run enclave: at most one interval (1 s) lost, plus launch slack
    lo = 2 * (ran1 - 1.0 - 0.5) + (ran2 - 0.5)
    hi = 2 * (ran1 + 0.5) + (ran2 + 0.5)
    if not lo <= secs <= hi:
        fail(f"enclave seconds {secs:.2f} not in [{lo:.2f}, {hi:.2f}] (ran {ran1:.2f} x 2 + {ran2:.2f})")
    else:
        print(f"ok: enclave seconds {secs:.2f} for 2 x {ran1:.2f} s (daemon SIGKILLed) + {ran2:.2f} s")
    if abs(u["enclave_memory_mb_hours"] - u["enclave_hours"] * mib_per_enclave) > 1e-5:
        fail(f"MB-hours {u['enclave_memory_mb_hours']} != hours {u['enclave_hours']} x {mib_per_enclave} MiB")
    else:
        print(f"ok: MB-hours {u['enclave_memory_mb_hours']:.6f} = hours x {pages} pages")
    if u["enclaves"] != 3 or u["tenant"] is not None:
        fail(f"enclaves {u['enclaves']}, tenant {u['tenant']}: want 3, null")
    if u["cpu_seconds"] <= 0:
        fail(f"cpu seconds {u['cpu_seconds']}: the hosts loaded and measured enclaves")

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        fail("the database is not in WAL mode")
    rows = con.execute("SELECT boot, enclave, t0, t1 FROM usage ORDER BY boot, enclave, t0").fetchall()
    boots = {r[0] for r in rows}
    if len(boots) != 2:
        fail(f"{len(boots)} daemon runs in the records, want 2")
    prev = {}
    for b, e, s, t in rows:
        if (b, e) in prev and s < prev[(b, e)] - 1e-6:
            fail(f"enclave {b}:{e}: span [{s}, {t}) overlaps the one before (ends {prev[(b, e)]})")
        prev[(b, e)] = t
    print(f"ok: {len(rows)} records of 3 enclaves in 2 daemon runs, no span counted twice")
    con.close()

    # tenant filter, clipping, errors
    def usage(*args):
        r = subprocess.run([adyton, "usage", "--db", db, "--json", *args], capture_output=True, text=True)
        return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr)

    rc, ops = usage("--tenant", "ops", "--from", f"@{t_begin - 1:.0f}", "--to", f"@{t_end:.0f}")
    if rc or abs(ops["enclave_hours"] - u["enclave_hours"]) > 1e-9 or ops["tenant"] != "ops":
        fail(f"--tenant ops: {ops}")
    rc, other = usage("--tenant", "acme", "--from", f"@{t_begin - 1:.0f}", "--to", f"@{t_end:.0f}")
    if rc or other["enclave_hours"] != 0 or other["enclaves"] != 0:
        fail(f"--tenant acme (no usage): {other}")
    mid = t2 + 1.0
    rc, half = usage("--from", f"@{mid:.3f}", "--to", f"@{t_end:.0f}")
    if rc or not 0 < half["enclave_hours"] * 3600 <= ran2 - 0.5:
        fail(f"--from the middle of the last enclave's run: {half}")
    for bad in (["--from", "yesterday"], ["--to", "2026-13-01"], ["--tenant", "Bad"], ["--from", "@5", "--to", "@4"]):
        rc, err = usage(*bad)
        if rc != 2:
            fail(f"adyton usage {' '.join(bad)}: exit {rc}, want a usage error (2)")
    table = subprocess.run([adyton, "usage", "--db", db], capture_output=True, text=True).stdout
    for field in ("Enclave Memory MB-Hours", "Enclave Hours", "CPU Seconds"):
        if field not in table:
            fail(f"the table has no {field} row:\n{table}")
    if failures:
        print(open(f"{tmp}/adytond.log").read()[-3000:])
        print(f"{len(failures)} failures")
        return 1
    print("all usage checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
