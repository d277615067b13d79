#!/usr/bin/env python3
"""adytond's Prometheus metrics (issue 15, part 3).

Starts a daemon on a temporary socket with --metrics on a loopback port and
a policy with a pool and a tenant, holds two enclaves and checks:
  - the exposition passes `promtool check metrics` (Debian's prometheus);
  - adyton_epc_allocated_bytes and the tenant's memory equal 4096 x the sum
    of the pages `adyton ps` lists, which equals the measured layout's pages
    (`adyton inspect --pages`), and free = size - allocated;
  - a real Prometheus, started on loopback with a scrape config pointing at
    adytond, reports the same through its HTTP query API;
  - scrapers that connect and send nothing, or send 1 MiB of garbage and do
    not read, do not stall the daemon: a launch and an ECALL succeed (timed)
    while they hang, and a normal scrape still answers;
  - the same exposition over --metrics unix:PATH.

usage: metrics_test.py ADYTOND ENCLAVE_HOST TESTENC_SIGNED
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

SKIP = 77
failures = []


def fail(msg):
    print(f"FAIL: {msg}")
    failures.append(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text):
    """{(name, frozenset(labels)): value} of an exposition (simple: no escapes)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        labels = frozenset()
        name = name_labels
        if "{" in name_labels:
            name, rest = name_labels.split("{", 1)
            items = [x for x in rest.rstrip("}").split(",") if x]
            labels = frozenset(tuple(i.split("=", 1)) for i in items)
            labels = frozenset((k, v.strip('"')) for k, v in labels)
        out[(name, labels)] = float(value)
    return out


def metric(m, name, **labels):
    return m.get((name, frozenset(labels.items())))


def scrape_tcp(port, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        ctype = r.headers.get("Content-Type", "")
        return ctype, r.read().decode()


def scrape_unix(path, timeout=5):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: adytond\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"unix scrape: {head[:80]!r}")
    return body.decode()


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    adytond, host, img = sys.argv[1:]
    adyton = os.environ.get("ADYTON")
    if not adyton:
        print("SKIP: ADYTON is not set (run through ctest)")
        return SKIP
    for tool in ("promtool", "prometheus"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (Debian prometheus; scripts/deps.sh)")
            return SKIP
    tmp = tempfile.mkdtemp(prefix="adyton-metrics-")
    procs = []
    try:
        return run(tmp, procs, adytond, host, img, adyton)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, procs, adytond, host, img, adyton):
    inspect = json.loads(subprocess.check_output([adyton, "inspect", "--json", "--pages", img]))
    pages = len(inspect["pages"])
    uid = os.getuid()
    with open(f"{tmp}/policy", "w") as f:
        f.write(f"signer = any\nallow_debug = yes\nmax_memory = 0\nepc = 64M\n"
                f"tenant ops = uid:{uid},memory:32M,enclaves:8\n")
    sock = f"{tmp}/s.sock"
    port = free_port()
    env = dict(os.environ, ADYTON_SOCKET=sock, ADYTON_BACKEND="process")
    log = open(f"{tmp}/adytond.log", "w")
    d = subprocess.Popen([adytond, "--embedded", "--socket", sock, "--state-dir", f"{tmp}/state", "--policy",
                          f"{tmp}/policy", "--host", host, "--metrics", f"127.0.0.1:{port}", "--verbose"],
                         stderr=log)
    procs.append(d)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    else:
        print("FAIL: adytond did not start")
        print(open(f"{tmp}/adytond.log").read())
        return 1

    # two enclaves held open: adyton run waits in open() of a FIFO
    holders = []
    for i in range(2):
        fifo = f"{tmp}/in{i}"
        os.mkfifo(fifo)
        p = subprocess.Popen([adyton, "run", "--in", fifo, img], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        procs.append(p)
        holders.append((fifo, p))
    listed = []
    for _ in range(100):
        out = subprocess.run([adyton, "ps", "--json"], env=env, capture_output=True, text=True)
        listed = json.loads(out.stdout or "[]")
        if len(listed) == 2:
            break
        time.sleep(0.05)
    if len(listed) != 2:
        fail(f"ps lists {len(listed)} enclaves, not 2")
    ps_pages = sum(e["pages"] for e in listed)
    if ps_pages != 2 * pages:
        fail(f"ps pages {ps_pages}, measured layout says 2 x {pages}")

    ctype, text = scrape_tcp(port)
    with open(f"{tmp}/metrics.txt", "w") as f:
        f.write(text)
    if "version=0.0.4" not in ctype:
        fail(f"Content-Type {ctype!r} is not the 0.0.4 text format")
    pt = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    if pt.returncode != 0:
        fail(f"promtool check metrics: {pt.stdout}{pt.stderr}")
    else:
        print("ok: promtool check metrics passes")
    m = parse(text)
    want = {
        ("adyton_epc_size_bytes", ()): 64 << 20,
        ("adyton_epc_allocated_bytes", ()): ps_pages * 4096,
        ("adyton_epc_free_bytes", ()): (64 << 20) - ps_pages * 4096,
        ("adyton_epc_allocated_high_water_bytes", ()): ps_pages * 4096,
        ("adyton_tenant_enclave_memory_bytes", (("tenant", "ops"),)): ps_pages * 4096,
        ("adyton_tenant_enclaves", (("tenant", "ops"),)): 2,
        ("adyton_tenant_enclave_memory_limit_bytes", (("tenant", "ops"),)): 32 << 20,
        ("adyton_tenant_enclaves_limit", (("tenant", "ops"),)): 8,
        ("adyton_enclaves", (("backend", "process"),)): 2,
        ("adyton_launches_total", (("result", "ok"),)): 2,
    }
    for (name, labels), value in want.items():
        got = metric(m, name, **dict(labels))
        if got != value:
            fail(f"{name}{dict(labels)} = {got}, want {value}")
    print(f"ok: exposition counts {ps_pages} pages = ps = 2 x {pages} measured")

    # ---- a real Prometheus scrapes it ----
    pport = free_port()
    with open(f"{tmp}/prometheus.yml", "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                f"scrape_configs:\n  - job_name: adytond\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{port}']\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={tmp}/prometheus.yml",
                             f"--storage.tsdb.path={tmp}/tsdb", f"--web.listen-address=127.0.0.1:{pport}"],
                            stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/prometheus.log", "w"))
    procs.append(prom)
    got = None
    q = urllib.parse.quote('adyton_epc_allocated_bytes{job="adytond"}')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{pport}/api/v1/query?query={q}", timeout=2) as r:
                res = json.load(r)
            if res.get("status") == "success" and res["data"]["result"]:
                got = float(res["data"]["result"][0]["value"][1])
                break
        except OSError:
            pass
        time.sleep(0.5)
    if got != ps_pages * 4096:
        fail(f"Prometheus query adyton_epc_allocated_bytes = {got}, want {ps_pages * 4096}")
        print(open(f"{tmp}/prometheus.log").read()[-2000:])
    else:
        q = urllib.parse.quote('up{job="adytond"}')
        with urllib.request.urlopen(f"http://127.0.0.1:{pport}/api/v1/query?query={q}", timeout=2) as r:
            up = json.load(r)["data"]["result"][0]["value"][1]
        print(f"ok: Prometheus scraped adytond: adyton_epc_allocated_bytes = {got:.0f}, up = {up}")
    prom.send_signal(signal.SIGTERM)
    prom.wait(timeout=20)

    # ---- hostile scrapers ----
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    garbage = socket.create_connection(("127.0.0.1", port))
    garbage.settimeout(10)
    sent = [0]

    def flood():
        blob = os.urandom(1 << 16)
        try:
            for _ in range(16):  # 1 MiB, never reading the answer
                garbage.sendall(blob)
                sent[0] += len(blob)
        except OSError:
            pass  # the server closed it: what it should do

    t = threading.Thread(target=flood)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    r = subprocess.run([adyton, "run", "--in", "-", img], env=env, input=b"ping", capture_output=True, timeout=30)
    launch_s = time.monotonic() - t0
    if r.returncode != 0 or r.stdout != b"ping":
        fail(f"launch + ECALL while scrapers hang: rc {r.returncode}, {r.stderr.decode()!r}")
    elif launch_s > 5:
        fail(f"launch + ECALL took {launch_s:.2f} s while scrapers hang")
    else:
        print(f"ok: a launch + ECALL took {launch_s * 1000:.0f} ms while 4 silent scrapers and a 1 MiB "
              f"garbage sender hang")
    t0 = time.monotonic()
    try:
        _, text2 = scrape_tcp(port)
        scrape_ms = (time.monotonic() - t0) * 1000
        m2 = parse(text2)
        if metric(m2, "adyton_launches_total", result="ok") != 3:
            fail(f"launches ok after the third launch: {metric(m2, 'adyton_launches_total', result='ok')}")
        print(f"ok: a scrape answers in {scrape_ms:.0f} ms beside them")
    except OSError as e:
        fail(f"a scrape beside the hostile ones: {e}")
    t.join(timeout=20)
    if t.is_alive():
        fail("the garbage sender is still sending after 20 s: the server keeps reading garbage")
    elif sent[0] >= (1 << 20):
        # everything was sent: it must have been refused, the connection closed
        garbage.settimeout(5)
        try:
            rest = garbage.recv(65536)
            while rest and rest.startswith(b"HTTP/1.1 200"):
                fail("1 MiB of garbage got a 200")
                break
        except OSError:
            pass
    print(f"ok: the garbage sender got {sent[0] >> 10} KiB in before the server closed it"
          if sent[0] < (1 << 20) else "ok: the garbage sender's 1 MiB was not answered with metrics")
    for s in silent + [garbage]:
        s.close()
    if d.poll() is not None:
        fail(f"adytond exited ({d.returncode})")

    # ---- release, then the pool is empty again ----
    for fifo, p in holders:
        with open(fifo, "w") as f:
            f.write("x")
        p.wait(timeout=10)
    for _ in range(50):
        m3 = parse(scrape_tcp(port)[1])
        if metric(m3, "adyton_epc_allocated_bytes") == 0:
            break
        time.sleep(0.1)
    if metric(m3, "adyton_epc_allocated_bytes") != 0 or metric(m3, "adyton_epc_free_bytes") != 64 << 20:
        fail(f"after every enclave ended: allocated {metric(m3, 'adyton_epc_allocated_bytes')}")
    if metric(m3, "adyton_epc_allocated_high_water_bytes") != 3 * pages * 4096:
        fail(f"high water {metric(m3, 'adyton_epc_allocated_high_water_bytes')}, want 3 x {pages} pages")
    if metric(m3, "adyton_enclave_ends_total", how="destroyed") != 3:
        fail(f"exits {metric(m3, 'adyton_enclave_ends_total', how='destroyed')}, want 3 closed by their "
             f"applications")
    d.send_signal(signal.SIGTERM)
    d.wait(timeout=10)

    # ---- the same over a UNIX socket ----
    msock = f"{tmp}/metrics.sock"
    d2 = subprocess.Popen([adytond, "--embedded", "--socket", sock, "--state-dir", f"{tmp}/state", "--policy",
                           f"{tmp}/policy", "--host", host, "--metrics", f"unix:{msock}"], stderr=log)
    procs.append(d2)
    for _ in range(100):
        if os.path.exists(msock):
            break
        time.sleep(0.05)
    try:
        text = scrape_unix(msock)
        pt = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        if pt.returncode != 0 or metric(parse(text), "adyton_epc_size_bytes") != 64 << 20:
            fail(f"unix:{msock}: {pt.stdout}{pt.stderr}")
        else:
            print("ok: the same exposition over --metrics unix:PATH")
    except (OSError, RuntimeError) as e:
        fail(f"unix scrape: {e}")
    d2.send_signal(signal.SIGTERM)
    d2.wait(timeout=10)
    if os.path.exists(msock):
        fail("the metrics socket outlived the daemon")
    # a malformed address is refused at start
    bad = subprocess.run([adytond, "--embedded", "--socket", f"{tmp}/b.sock", "--state-dir", f"{tmp}/state",
                          "--metrics", "127.0.0.1:99999"], capture_output=True, text=True, timeout=10)
    if bad.returncode == 0 or "port" not in bad.stderr:
        fail(f"--metrics 127.0.0.1:99999: rc {bad.returncode}, {bad.stderr!r}")

    if failures:
        print(open(f"{tmp}/adytond.log").read()[-3000:])
        print(f"{len(failures)} failures")
        return 1
    print("all metrics checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
