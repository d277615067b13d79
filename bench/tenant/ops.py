#!/usr/bin/env python3
"""Multi-tenant operations: what accounting and metrics cost (issue 15).

Not a test: it prints measurements and the ratios the issue sets goals for.

1. Launch rate with accounting and metrics on vs off, in one run: two
   daemons of the same build, one with --metrics and --usage-interval 1
   (records every second) and a scraper every 0.5 s, one with neither
   (--usage-interval 0); launches (`adyton run` of the bench enclave: launch,
   one ECALL, close) alternate between them in rounds (on first in even
   rounds, off first in odd ones) so that drift of the machine hits both
   alike.  Each round gives one ratio on/off of launch rates; the median of
   the per-round ratios, their quartiles and extremes say how much of the
   difference is noise.  Goal: on within 2 % of off.
2. Scrape cost with N running enclaves (default 500; adytond holds up to
   --total-enclaves, default 1024): median, 90th percentile and worst time
   of a scrape (HTTP round trip included) over 100, and the exposition's
   size.  Goal: under 10 ms.

usage: bench/tenant/ops.py BUILD_DIR [--rounds R] [--per-round N] [--enclaves N]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(build, tmp, name, extra):
    sock = f"{tmp}/{name}.sock"
    with open(f"{tmp}/policy", "w") as f:
        f.write(f"signer = any\nallow_debug = yes\nmax_memory = 0\nmax_enclaves = 0\n"
                f"tenant bench = uid:{os.getuid()}\n")
    d = subprocess.Popen([f"{build}/bin/adytond", "--embedded", "--socket", sock, "--state-dir",
                          f"{tmp}/{name}-state", "--policy", f"{tmp}/policy", "--host",
                          f"{build}/bin/adyton-enclave-host", *extra], stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            return d, sock
        time.sleep(0.05)
    raise RuntimeError(f"{name}: adytond did not start")


def cpu_s(pid):
    """The daemon's own CPU seconds (user + system, all its threads; not its
    reaped enclave hosts')."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--per-round", type=int, default=20)
    ap.add_argument("--enclaves", type=int, default=500)
    ap.add_argument("--on", default="metrics,usage",
                    help="what the 'on' daemon has: metrics, usage or both (to tell their costs apart)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    adyton = f"{build}/src/tools/adyton"
    img = f"{build}/bench/bench-enclave.signed"
    if not os.path.exists(img):
        subprocess.check_call(["cmake", "--build", build, "--target", "bench-enclave-signed", "adytond",
                               "adyton-enclave-host", "adyton"])
    tmp = tempfile.mkdtemp(prefix="adyton-bench-ops-")
    procs = []
    try:
        port = free_port()
        want = set(a.on.split(","))
        if not want <= {"metrics", "usage"} or not want:
            ap.error("--on: metrics, usage or metrics,usage")
        # the scrape-cost part needs metrics: without them in the comparison
        # the 'on' daemon still serves them, but is not scraped meanwhile
        on, sock_on = start(build, tmp, "on", ["--metrics", f"127.0.0.1:{port}", "--usage-interval",
                                               "1" if "usage" in want else "0"])
        off, sock_off = start(build, tmp, "off", ["--usage-interval", "0"])
        procs += [on, off]
        stop = threading.Event()

        def scraper():
            while not stop.wait(0.5):
                scrape(port)

        t = threading.Thread(target=scraper, daemon=True)
        if "metrics" in want:
            t.start()

        def launches(sock, n):
            env = dict(os.environ, ADYTON_SOCKET=sock, ADYTON_BACKEND="process")
            t0 = time.perf_counter()
            for _ in range(n):
                subprocess.run([adyton, "run", "--in", "-", img], env=env, input=b"x", check=True,
                               stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

        spent = {"on": 0.0, "off": 0.0}
        ratios = []
        launches(sock_on, 3)
        launches(sock_off, 3)
        cpu0 = {"on": cpu_s(on.pid), "off": cpu_s(off.pid)}
        for r in range(a.rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            t = {}
            for k in order:
                t[k] = launches(sock_on if k == "on" else sock_off, a.per_round)
                spent[k] += t[k]
            ratios.append(t["off"] / t["on"])  # rate on / rate off
        stop.set()
        n = a.rounds * a.per_round
        cpu = {"on": cpu_s(on.pid) - cpu0["on"], "off": cpu_s(off.pid) - cpu0["off"]}
        rate = {k: n / v for k, v in spent.items()}
        q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
        print(f"launches/s (launch + 1 ECALL + close via adyton run, {n} each, {a.rounds} alternating rounds "
              f"of {a.per_round}):")
        print(f"  accounting + metrics off: {rate['off']:.1f}")
        print(f"  on ({'usage records every 1 s' if 'usage' in want else 'no usage records'}, "
              f"{'metrics scraped every 0.5 s' if 'metrics' in want else 'metrics not scraped'}): {rate['on']:.1f}")
        print(f"  on / off over the whole run = {rate['on'] / rate['off']:.3f} (goal >= 0.98)")
        print(f"  per-round on / off: median {statistics.median(ratios):.3f}, quartiles {q[0]:.3f} .. {q[2]:.3f},"
              f" extremes {min(ratios):.3f} .. {max(ratios):.3f}")
        print(f"  adytond's own CPU per launch: off {cpu['off'] / n * 1e3:.3f} ms, on {cpu['on'] / n * 1e3:.3f} ms "
              f"(scrapes and usage records included), of {spent['off'] / n * 1e3:.2f} ms per launch")

        # scrape cost with many enclaves, launched in batches: a user's
        # connections that hold no enclave yet are bounded (32), so 500 at
        # once would be refused
        fifos, holders = [], []
        env = dict(os.environ, ADYTON_SOCKET=sock_on, ADYTON_BACKEND="process")

        def running():
            text = scrape(port).decode()
            held = [l for l in text.splitlines() if l.startswith('adyton_enclaves{backend="process"}')]
            return int(float(held[0].split()[1])) if held else 0

        t_launch = time.monotonic()
        batch = 16
        for i in range(a.enclaves):
            f = f"{tmp}/in{i}"
            os.mkfifo(f)
            holders.append(subprocess.Popen([adyton, "run", "--in", f, img], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            fifos.append(f)
            procs.append(holders[-1])
            if (i + 1) % batch == 0 or i + 1 == a.enclaves:
                deadline = time.monotonic() + 60
                while running() < i + 1 and time.monotonic() < deadline:
                    if any(h.poll() is not None for h in holders):
                        raise RuntimeError("an enclave holder exited: launch refused?")
                    time.sleep(0.02)
        held = running()
        print(f"{held} enclaves running ({time.monotonic() - t_launch:.1f} s to launch them)")
        times = []
        size = 0
        for _ in range(100):
            t0 = time.perf_counter()
            size = len(scrape(port))
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"scrape with {held} enclaves ({size} bytes): median "
              f"{statistics.median(times):.2f} ms, 90th percentile {times[89]:.2f} ms, worst {max(times):.2f} ms "
              f"over 100 (goal < 10 ms; includes the HTTP round trip)")
        for f in fifos:
            with open(f, "w") as w:
                w.write("x")
        for h in holders:
            h.wait(timeout=30)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
