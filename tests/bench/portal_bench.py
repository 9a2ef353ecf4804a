#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""TCP portals next to other tunnels over the same two hops (scripts/bench).

Each system carries TCP from a client port to a service port through two
relays on 127.0.0.1:
  socat    plaintext relay chain (socat -> socat)
  stunnel  TLS 1.3 (stunnel client -> stunnel server)
  ssh -L   if sshd and a key are available (skipped otherwise)
  portal   the 07 trio: tcp_inlet -> secure channel over tcp -> hop -> tcp
           -> tcp_outlet (docs/protocol.md, "TCP portals")
Measured, each as the median of the repeats: iperf3 throughput both ways,
new connections per second (connect, 1-byte echo, close), and the 64-byte
request/response round trip on one connection.  Ratios to socat and
stunnel are printed; nothing is asserted (the exit status says only
whether something broke).
"""
import argparse
import json
import os
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def echo_server(port):
    """A one-process echo service (selectors): the backend of the
    connection-rate and RTT figures."""
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1024)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if not d:
                sel.unregister(s)
                s.close()
                continue
            try:
                s.sendall(d)
            except OSError:
                sel.unregister(s)
                s.close()


class Run:
    def __init__(self, build, secs, reps):
        self.build, self.secs, self.reps = build, secs, reps
        self.host = os.path.join(build, "host", "ockam-host")
        self.tmp = tempfile.mkdtemp(prefix="portal-bench-")
        self.procs = []

    def spawn(self, argv, name, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=e,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []


def tunnel_socat(run, backend):
    p2, p1 = free_port(), free_port()
    for listen, to in ((p2, backend), (p1, p2)):
        run.spawn(["socat", "-b", "65536",
                   f"TCP-LISTEN:{listen},bind=127.0.0.1,reuseaddr,fork,nodelay",
                   f"TCP:127.0.0.1:{to},nodelay"], f"socat-{listen}")
        wait_port(listen)
    return p1


def tunnel_stunnel(run, backend):
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    if not stunnel or not shutil.which("openssl"):
        return None
    key, cert = os.path.join(run.tmp, "k.pem"), os.path.join(run.tmp, "c.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=bench"],
                       check=True, capture_output=True)
    p2, p1 = free_port(), free_port()
    for role, listen, to in (("server", p2, backend), ("client", p1, p2)):
        conf = os.path.join(run.tmp, f"stunnel-{role}-{listen}.conf")
        with open(conf, "w") as f:
            f.write(f"foreground = yes\npid =\nsyslog = no\ndebug = 3\n"
                    f"socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n"
                    f"[b]\nclient = {'yes' if role == 'client' else 'no'}\n"
                    f"accept = 127.0.0.1:{listen}\nconnect = 127.0.0.1:{to}\n"
                    f"sslVersionMin = TLSv1.3\n"
                    + (f"cert = {cert}\nkey = {key}\n" if role == "server" else ""))
        run.spawn([stunnel, conf], f"stunnel-{role}-{listen}")
        wait_port(listen)
    return p1


def tunnel_ssh(run, backend):
    """ssh -L through one sshd on this host: only if it can log in to
    localhost without a password already (BatchMode)."""
    if not shutil.which("ssh"):
        return None
    port = free_port()
    ok = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
                         "-o", "StrictHostKeyChecking=no", "127.0.0.1", "true"],
                        capture_output=True)
    if ok.returncode != 0:
        return None
    run.spawn(["ssh", "-N", "-o", "BatchMode=yes", "-L",
               f"127.0.0.1:{port}:127.0.0.1:{backend}", "127.0.0.1"], f"ssh-{port}")
    wait_port(port)
    return port


def tunnel_portal(run, backend):
    pre = os.path.join(ROOT, "configs", "07-portal-over-two-transport-hops-")
    outp, midp, inp = free_port(), free_port(), free_port()
    env = {"SERVICE_PORT": str(backend), "OUTLET_PORT": str(outp),
           "MIDDLE_PORT": str(midp), "INLET_PORT": str(inp), "OCKAM_LOG": "warn"}
    for name, port in (("outlet", outp), ("middle", midp)):
        run.spawn([run.host, pre + name + ".yaml"], f"portal-{name}-{port}", env)
        wait_port(port)
    run.portal_nodes = [run.procs[-2]]  # the outlet
    run.spawn([run.host, pre + "inlet.yaml"], f"portal-inlet-{inp}", env)
    run.portal_nodes.append(run.procs[-1])
    wait_port(inp)
    time.sleep(0.3)  # the channel's handshake
    return inp


TUNNELS = [("socat", "socat chain (2 hops)", tunnel_socat),
           ("stunnel", "stunnel TLS 1.3 (2 hops)", tunnel_stunnel),
           ("ssh", "ssh -L", tunnel_ssh),
           ("portal", "ockam portal, secure channel (2 hops)", tunnel_portal)]


def iperf(run, port, reverse):
    argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(run.secs), "-J"]
    if reverse:
        argv.append("-R")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=run.secs + 30)
    if out.returncode != 0:
        raise RuntimeError(f"iperf3 failed: {out.stdout[-300:]}{out.stderr[-300:]}")
    return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6


def conn_rate(run, port):
    n, end = 0, time.time() + run.secs
    while time.time() < end:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"x")
        if s.recv(1) != b"x":
            raise RuntimeError("no echo")
        s.close()
        n += 1
    return n / run.secs


def rtt64(run, port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg, lat = b"r" * 64, []
    end = time.time() + run.secs
    while time.time() < end:
        t0 = time.perf_counter()
        s.sendall(msg)
        got = b""
        while len(got) < 64:
            d = s.recv(64 - len(got))
            if not d:
                raise RuntimeError("closed")
            got += d
        lat.append((time.perf_counter() - t0) * 1e6)
    s.close()
    return statistics.median(lat)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


IDLE = 1000


def idle_cost(run, port):
    """Bytes of node memory per open, idle portal connection: VmRSS of
    the inlet and outlet nodes before and after IDLE connections that each
    echoed one byte (so both ends hold an open stream)."""
    nodes = run.portal_nodes
    before = [rss_kib(p.pid) for p in nodes]
    socks = []
    for _ in range(IDLE):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"x")
        socks.append(s)
    for s in socks:
        if s.recv(1) != b"x":
            raise RuntimeError("no echo")
    time.sleep(0.2)
    after = [rss_kib(p.pid) for p in nodes]
    for s in socks:
        s.close()
    return [(a - b) * 1024 / IDLE for a, b in zip(after, before)]



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--echo-server", type=int)
    a = ap.parse_args()
    if a.echo_server:
        echo_server(a.echo_server)
        return 0
    # 1,000 idle connections need the descriptors (soft limit up to hard).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > 4096:
        hard = 4096
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    global IDLE
    IDLE = max(100, min(IDLE, hard - 200))
    if not shutil.which("iperf3"):
        print("portal bench: iperf3 is not installed (scripts/deps); skipped")
        return 0
    run = Run(a.build, 1 if a.quick else 3, 1 if a.quick else 3)
    results, notes = {}, []
    try:
        ip = free_port()
        run.spawn(["iperf3", "-s", "-p", str(ip), "-B", "127.0.0.1"], "iperf3-server")
        ep = free_port()
        run.spawn([sys.executable, os.path.abspath(__file__), "--echo-server", str(ep)],
                  "echo-server")
        wait_port(ip)
        wait_port(ep)
        for key, label, make in TUNNELS:
            try:
                tp = make(run, ip)
                te = make(run, ep)
                if tp is None or te is None:
                    notes.append(f"{label}: not available here (skipped)")
                    continue
                r = {}
                for name, fn in (("up_mbit", lambda: iperf(run, tp, False)),
                                 ("down_mbit", lambda: iperf(run, tp, True)),
                                 ("conn_s", lambda: conn_rate(run, te)),
                                 ("rtt64_us", lambda: rtt64(run, te))):
                    r[name] = statistics.median(fn() for _ in range(run.reps))
                if key == "portal":
                    # The last portal trio made is the echo one.
                    r["idle_outlet_b"], r["idle_inlet_b"] = idle_cost(run, te)
                results[key] = r
            except Exception as e:  # a broken system is reported, not fatal
                notes.append(f"{label}: n/a ({e})")
    finally:
        run.stop_all()
    label = {k: l for k, l, _ in TUNNELS}
    print("\n## TCP portal next to other tunnels (iperf3 -t %d, median of %d)\n"
          % (run.secs, run.reps))
    print("| system | iperf3 up Mbit/s | iperf3 down (-R) Mbit/s | new connections/s | 64 B RTT us |")
    print("| --- | --- | --- | --- | --- |")
    for k, r in results.items():
        print(f"| {label[k]} | {r['up_mbit']:.0f} | {r['down_mbit']:.0f} | "
              f"{r['conn_s']:.0f} | {r['rtt64_us']:.0f} |")
    if "portal" in results:
        p = results["portal"]
        print("\n| portal ratio | bulk up | bulk down | conn/s | 64 B RTT |")
        print("| --- | --- | --- | --- | --- |")
        for base in ("socat", "stunnel", "ssh"):
            if base in results:
                b = results[base]
                print(f"| vs {label[base]} | {p['up_mbit'] / b['up_mbit']:.2f}x | "
                      f"{p['down_mbit'] / b['down_mbit']:.2f}x | "
                      f"{p['conn_s'] / b['conn_s']:.2f}x | "
                      f"{p['rtt64_us'] / b['rtt64_us']:.2f}x |")
        print(f"\nIdle cost: {p['idle_inlet_b']:.0f} bytes per open connection on the inlet node, "
              f"{p['idle_outlet_b']:.0f} on the outlet node (VmRSS growth over {IDLE} idle connections; "
              f"kernel socket memory not included).")
        print("\nTargets (issue #13, reported, not asserted): bulk >= 2x stunnel and "
              ">= 0.8x socat; RTT <= 1.2x socat.")
    for n in notes:
        print(f"- {n}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "notes": notes}, f, indent=2)
    shutil.rmtree(run.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
