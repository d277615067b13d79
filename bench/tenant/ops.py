#!/usr/bin/env python3
"""Multi-tenant operations: what accounting and metrics cost (issue 15).

Not a test: it prints measurements and the ratios the issue sets goals for.

1. Launch rate with accounting and metrics on vs off, in one run: two
   daemons of the same build, one with --metrics and --usage-interval 1
   (records every second) and a scraper every 0.5 s, one with neither
   (--usage-interval 0); launches (`adyton run` of the bench enclave: launch,
   one ECALL, close) alternate between them in rounds so that drift of the
   machine hits both alike.  Goal: on within 2 % of off.
2. Scrape cost with N running enclaves (default 250; adytond holds at most
   256): median and worst time of a scrape over 50.  Goal: under 10 ms.

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


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--enclaves", type=int, default=250)
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
        on, sock_on = start(build, tmp, "on", ["--metrics", f"127.0.0.1:{port}", "--usage-interval", "1"])
        off, sock_off = start(build, tmp, "off", ["--usage-interval", "0"])
        procs += [on, off]
        stop = threading.Event()

        def scraper():
            while not stop.wait(0.5):
                scrape(port)

        t = threading.Thread(target=scraper, daemon=True)
        t.start()

        def launches(sock, n):
            env = dict(os.environ, ADYTON_SOCKET=sock, ADYTON_BACKEND="process")
            t0 = time.perf_counter()
            for _ in range(n):
                subprocess.run([adyton, "run", "--in", "-", img], env=env, input=b"x", check=True,
                               stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

        spent = {"on": 0.0, "off": 0.0}
        launches(sock_on, 3)
        launches(sock_off, 3)
        for r in range(a.rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            for k in order:
                spent[k] += launches(sock_on if k == "on" else sock_off, a.per_round)
        stop.set()
        n = a.rounds * a.per_round
        rate = {k: n / v for k, v in spent.items()}
        print(f"launches/s (launch + 1 ECALL + close via adyton run, {n} each, alternating rounds):")
        print(f"  accounting + metrics off: {rate['off']:.1f}")
        print(f"  accounting (1 s) + metrics (scraped every 0.5 s) on: {rate['on']:.1f}")
        print(f"  on / off = {rate['on'] / rate['off']:.3f} (goal >= 0.98)")

        # scrape cost with many enclaves
        fifos, holders = [], []
        env = dict(os.environ, ADYTON_SOCKET=sock_on, ADYTON_BACKEND="process")
        for i in range(a.enclaves):
            f = f"{tmp}/in{i}"
            os.mkfifo(f)
            holders.append(subprocess.Popen([adyton, "run", "--in", f, img], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            fifos.append(f)
            procs.append(holders[-1])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = scrape(port).decode()
            held = [l for l in text.splitlines() if l.startswith('adyton_enclaves{backend="process"}')]
            if held and int(float(held[0].split()[1])) >= a.enclaves:
                break
            time.sleep(0.2)
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            scrape(port)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"scrape with {held[0].split()[1] if held else '?'} enclaves: median {statistics.median(times):.2f} ms,"
              f" worst {max(times):.2f} ms over 50 (goal < 10 ms; includes the HTTP round trip)")
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
