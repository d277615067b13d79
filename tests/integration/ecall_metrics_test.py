#!/usr/bin/env python3
"""ECALL and exit counts in adytond's metrics (issue 15).

Starts a daemon with --metrics and a tenant, runs ecall_count_app (an
application that makes a known number of ECALLs and exits of each kind) on
BACKEND and checks, scrape by scrape, that:
  - the running enclave's adyton_enclave_ecalls_total / _exits_total are
    exactly what the application did (N ECALLs show as N), as are the
    totals by backend and kind and the tenant's totals;
  - on kvm, switchless (the ECALLs are counted by the guest's serve loop)
    and with one VM exit per call (ADYTON_KVM_EXIT_PER_CALL=1): every exit
    of the enclave is a VM exit (reason "call"), and the vCPU's exits when
    no call comes (reason "idle") are counted too;
  - when the enclave ends, its per-enclave series go and the totals keep
    its counts (counters never go down);
  - run as root on process, a second tenant's application (user nobody)
    gets its own series and tenant totals, and the first tenant's counts do
    not move;
  - the application has no descriptor or mapping of the counters;
  - the exposition passes `promtool check metrics` when promtool is there.

usage: ecall_metrics_test.py ADYTOND ENCLAVE_HOST KVM_HOST TESTENC_SIGNED APP BACKEND
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_test import free_port, metric, parse, scrape_tcp  # noqa: E402

SKIP = 77
failures = []


def fail(msg):
    print(f"FAIL: {msg}")
    failures.append(msg)


def ok(before, msg):
    """Prints msg as passed when no check failed since before (len(failures))."""
    if len(failures) == before:
        print(f"ok {msg}")


def series(m, name):
    """{frozenset(labels): value} of one family."""
    return {labels: v for (n, labels), v in m.items() if n == name}


class App:
    def __init__(self, app, img, backend, env, tmp, tag, prefix=()):
        self.err = open(f"{tmp}/app-{tag}.err", "w")
        self.p = subprocess.Popen([*prefix, app, img, backend], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True, bufsize=1)
        self.expect()

    def expect(self):
        line = self.p.stdout.readline().strip()
        if line != "ok":
            raise RuntimeError(f"ecall_count_app: {line!r} (exit {self.p.poll()})")

    def do(self, op, n):
        self.p.stdin.write(f"{op} {n}\n")
        self.p.stdin.flush()
        self.expect()

    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=30)


def main():
    if len(sys.argv) != 7:
        print(__doc__)
        return 2
    adytond, host, kvm_host, img, app, backend = sys.argv[1:]
    if backend not in ("process", "kvm"):
        print(__doc__)
        return 2
    tmp = tempfile.mkdtemp(prefix="adyton-ecall-metrics-")
    procs = []
    try:
        rc = run(tmp, procs, adytond, host, kvm_host, img, app, backend, exit_per_call=False)
        if backend == "kvm" and rc == 0:
            rc = run(tmp, procs, adytond, host, kvm_host, img, app, backend, exit_per_call=True)
        return rc
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, procs, adytond, host, kvm_host, img, app, backend, exit_per_call):
    tag = f"{backend}{'-epc' if exit_per_call else ''}"
    mark = len(failures)
    # a second tenant: user nobody, through a system daemon's socket
    nobody = None
    if os.getuid() == 0 and backend == "process" and shutil.which("setpriv"):
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pass
    with open(f"{tmp}/policy", "w") as f:
        f.write(f"signer = any\nallow_debug = yes\nmax_memory = 0\n"
                f"tenant ops = uid:{os.getuid()}\n")
        if nobody:
            f.write(f"tenant acme = uid:{nobody.pw_uid}\n")
    os.chmod(tmp, 0o755)
    os.makedirs(f"{tmp}/run-{tag}", mode=0o755)
    sock = f"{tmp}/run-{tag}/s.sock"
    port = free_port()
    log = open(f"{tmp}/adytond-{tag}.log", "w")
    d = subprocess.Popen([adytond, "--system" if nobody else "--embedded", "--socket", sock, "--state-dir", f"{tmp}/state", "--policy",
                          f"{tmp}/policy", "--host", host, "--kvm-host", kvm_host, "--metrics",
                          f"127.0.0.1:{port}", "--usage-interval", "0", "--verbose"], stderr=log)
    procs.append(d)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    else:
        print("FAIL: adytond did not start")
        print(open(f"{tmp}/adytond-{tag}.log").read())
        return 1
    env = dict(os.environ, ADYTON_SOCKET=sock, ADYTON_BACKEND=backend)
    env.pop("ADYTON_KVM_EXIT_PER_CALL", None)
    if exit_per_call:
        env["ADYTON_KVM_EXIT_PER_CALL"] = "1"
    a = App(app, img, backend, env, tmp, tag)
    procs.append(a.p)

    def look(what, tenant="ops", count=1):
        text = scrape_tcp(port)[1]
        m = parse(text)
        ecalls = series(m, "adyton_enclave_ecalls_total")
        mine = [dict(k) for k in ecalls if dict(k).get("tenant") == tenant]
        if len(ecalls) != count or len(mine) != 1:
            fail(f"{what}: {len(ecalls)} adyton_enclave_ecalls_total series, want {count}, one of {tenant}: "
                 f"{ecalls}")
            return m, None, text
        labels = mine[0]
        if labels.get("backend") != backend or "enclave" not in labels:
            fail(f"{what}: labels {labels}")
        return m, labels, text

    def check(what, m, labels, want_ecalls, want_exits):
        got = metric(m, "adyton_enclave_ecalls_total", **labels)
        if got != want_ecalls:
            fail(f"{what}: adyton_enclave_ecalls_total = {got}, want {want_ecalls}")
        got = metric(m, "adyton_enclave_exits_total", **labels)
        if got != sum(want_exits.values()):
            fail(f"{what}: adyton_enclave_exits_total = {got}, want {sum(want_exits.values())}")

    def totals(what, m, want_ecalls, want_exits):
        got = metric(m, "adyton_ecalls_total", backend=backend)
        if got != want_ecalls:
            fail(f"{what}: adyton_ecalls_total{{backend={backend}}} = {got}, want {want_ecalls}")
        other = "kvm" if backend == "process" else "process"
        if metric(m, "adyton_ecalls_total", backend=other) != 0:
            fail(f"{what}: {other} counts ECALLs it never ran")
        for kind in ("ocall", "log", "abort", "platform"):
            got = metric(m, "adyton_exits_total", backend=backend, kind=kind)
            if got != want_exits.get(kind, 0):
                fail(f"{what}: adyton_exits_total{{{backend},{kind}}} = {got}, want {want_exits.get(kind, 0)}")
        if metric(m, "adyton_tenant_ecalls_total", tenant="ops") != want_ecalls:
            fail(f"{what}: tenant ops ECALLs {metric(m, 'adyton_tenant_ecalls_total', tenant='ops')}")
        if metric(m, "adyton_tenant_exits_total", tenant="ops") != sum(want_exits.values()):
            fail(f"{what}: tenant ops exits {metric(m, 'adyton_tenant_exits_total', tenant='ops')}")
        call = metric(m, "adyton_vm_exits_total", reason="call")
        if call != (sum(want_exits.values()) if backend == "kvm" else 0):
            fail(f"{what}: adyton_vm_exits_total{{reason=call}} = {call}")

    m, labels, text = look("after open")
    if labels is None:
        return 1
    if shutil.which("promtool"):
        pt = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        if pt.returncode != 0:
            fail(f"promtool check metrics: {pt.stdout}{pt.stderr}")
    check("after open", m, labels, 0, {})
    n = 1000
    a.do("e", n)
    m, _, _ = look(f"after {n} ECALLs")
    check(f"after {n} ECALLs", m, labels, n, {})
    totals(f"after {n} ECALLs", m, n, {})
    idle_before = metric(m, "adyton_vm_exits_total", reason="idle") or 0
    ok(mark, f"[{tag}]: {n} ECALLs show as {metric(m, 'adyton_enclave_ecalls_total', **labels):.0f}")
    a.do("o", 7)
    a.do("l", 5)
    a.do("p", 3)
    want = {"ocall": 7, "log": 5, "platform": 3}
    m, _, _ = look("after exits")
    check("after exits", m, labels, n + 15, want)
    totals("after exits", m, n + 15, want)
    ok(mark, f"[{tag}]: 15 more ECALLs with 7 OCALLs, 5 logs and 3 platform exits are counted by kind")
    if backend == "kvm":
        idle = metric(m, "adyton_vm_exits_total", reason="idle") or 0
        vm = metric(m, "adyton_enclave_vm_exits_total", **labels) or 0
        # the vCPU leaves the VM when no call comes (after the spin, or at
        # once with one exit per call, unless the next call is already
        # posted): between the commands it does, and each is counted
        if idle_before < 1 or idle <= idle_before or vm < 15 + idle:
            fail(f"VM exits: idle {idle_before} then {idle}, this enclave {vm}: want idle exits between the "
                 f"commands, and at least the 15 exits and the idle ones")
        ok(mark, f"[{tag}]: VM exits: idle {idle:.0f} (after the first {n} ECALLs {idle_before:.0f}), "
                 f"this enclave {vm:.0f}")

    if nobody:
        benv = dict(env)
        b = App(app, img, backend, benv, tmp, f"{tag}-acme",
                prefix=("setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"))
        procs.append(b.p)
        b.do("e", 300)
        b.do("o", 2)
        m, blabels, _ = look("acme's enclave", tenant="acme", count=2)
        if blabels:
            check("acme's enclave", m, blabels, 302, {"ocall": 2})
        check("ops's enclave beside acme's", m, labels, n + 15, want)
        for t, e, x in (("ops", n + 15, 15), ("acme", 302, 2)):
            if (metric(m, "adyton_tenant_ecalls_total", tenant=t), metric(m, "adyton_tenant_exits_total", tenant=t)) \
                    != (e, x):
                fail(f"tenant {t}: ECALLs {metric(m, 'adyton_tenant_ecalls_total', tenant=t)}, exits "
                     f"{metric(m, 'adyton_tenant_exits_total', tenant=t)}, want {e} and {x}")
        if metric(m, "adyton_ecalls_total", backend=backend) != n + 15 + 302:
            fail(f"two tenants: adyton_ecalls_total = {metric(m, 'adyton_ecalls_total', backend=backend)}")
        if b.close() != 0:
            fail(f"acme's ecall_count_app exited {b.p.returncode}")
        for _ in range(100):
            m = parse(scrape_tcp(port)[1])
            if metric(m, "adyton_tenant_enclaves", tenant="acme") == 0:
                break
            time.sleep(0.05)
        if metric(m, "adyton_tenant_ecalls_total", tenant="acme") != 302 or \
                metric(m, "adyton_tenant_ecalls_total", tenant="ops") != n + 15:
            fail("after acme's enclave ended, the tenants' ECALLs moved")
        ok(mark, f"[{tag}]: a second tenant (user nobody) gets its own series (302 ECALLs) and totals; "
              f"ops's stay at {n + 15}")

    # the application holds nothing of the counters
    pid = a.p.pid
    fds = [os.readlink(f"/proc/{pid}/fd/{f}") for f in os.listdir(f"/proc/{pid}/fd")]
    maps = open(f"/proc/{pid}/maps").read()
    if any("adyton-counts" in f for f in fds) or "adyton-counts" in maps:
        fail("the application has the counters' memfd")
    else:
        ok(mark, f"[{tag}]: the application has no descriptor or mapping of the counters")

    if a.close() != 0:
        fail(f"ecall_count_app exited {a.p.returncode}: {open(f'{tmp}/app-{tag}.err').read()}")
    m = None
    for _ in range(100):
        m = parse(scrape_tcp(port)[1])
        if metric(m, "adyton_enclaves", backend=backend) == 0:
            break
        time.sleep(0.05)
    if series(m, "adyton_enclave_ecalls_total"):
        fail(f"an ended enclave is still listed: {series(m, 'adyton_enclave_ecalls_total')}")
    if nobody:
        if metric(m, "adyton_tenant_ecalls_total", tenant="ops") != n + 15:
            fail("after ops's enclave ended: its tenant's ECALLs moved")
        if metric(m, "adyton_ecalls_total", backend=backend) != n + 15 + 302:
            fail(f"after both ended: adyton_ecalls_total = {metric(m, 'adyton_ecalls_total', backend=backend)}")
    else:
        totals("after the enclave ended", m, n + 15, want)
    ok(mark, f"[{tag}]: after the end the totals keep {metric(m, 'adyton_ecalls_total', backend=backend):.0f} "
          f"ECALLs")
    d.terminate()
    d.wait(timeout=10)
    if failures:
        print(open(f"{tmp}/adytond-{tag}.log").read()[-3000:])
        print(f"{len(failures)} failures")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
