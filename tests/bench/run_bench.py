#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ockam-host next to what users already have, in one run (scripts/bench).

Everything runs on 127.0.0.1 with free ports.  Each measurement is repeated
and reported as the median with min-max; every ockam-host figure also
appears as a ratio to the baseline measured in the same run.  Prints a
markdown table and writes JSON.  Targets are reported, never asserted: the
exit status is nonzero only if something is broken.
"""
import argparse
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
# The suite a user would pick where both ends have AES-NI: measured next to
# the default so that choice is a measured one too (docs/performance.md).
AES_SUITE = "Noise_XX_25519_AESGCM_SHA256"
ACK = 16          # sink acknowledges every ACK messages (both systems)
WINDOW_BYTES = 2 << 20  # in-flight bytes, below the tcp plugin's queue limit
MAX_SIZE = 65000  # largest payload a secure channel message can carry here
SIZES_RTT = [64, 1024]
SIZES_TP = [64, 1024, 16384, MAX_SIZE]
# 64 B one-way again with the bench worker's deepest window: at 64 B every
# system's msg/s is about window / loaded round trip of an ack, so the
# figure depends on the window as much as on the system (performance.md).
DEEP_WINDOW = 1000


class Broken(Exception):
    pass


def cpu_has_aes():
    """AESGCM needs AES-NI and PCLMUL (libsodium's aes256gcm_is_available)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    except OSError:
        return False
    return "aes" in flags and "pclmulqdq" in flags


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc=None, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise Broken(f"process {proc.args} exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise Broken(f"nothing listens on port {port}")


def parse_bench(line):
    return {k: (float(v) if re.fullmatch(r"[0-9.]+", v) else v)
            for k, v in re.findall(r"(\w+)=(\S+)", line)}


def rss_kib(pid, field="VmRSS:"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    """Proportional set size: private pages plus this process's share of
    the shared ones (libc, libsodium...), so summing it over processes
    never counts a page twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Run:
    def __init__(self, build, quick):
        self.build = build
        self.quick = quick
        self.tmp = tempfile.mkdtemp(prefix="ockam-bench-")
        self.procs = []
        self.host = os.path.join(build, "host", "ockam-host")
        self.tcp = os.path.join(build, "tests", "bench", "bench_tcp")
        self.noise = os.path.join(build, "tests", "bench", "bench_noise")
        self.env = dict(os.environ, OCKAM_PLUGIN_PATH=os.path.join(build, "tests", "bench"),
                        OCKAM_LOG="warn")
        self.reps = 1 if quick else 3
        self.dur = 150 if quick else 1000
        self.results = []
        self.n_file = 0

    # ---- processes -------------------------------------------------
    def spawn(self, args, name):
        out = open(os.path.join(self.tmp, f"{name}.out"), "w+")
        err = open(os.path.join(self.tmp, f"{name}.err"), "w+")
        p = subprocess.Popen(args, stdout=out, stderr=err, env=self.env,
                             start_new_session=True)
        p.out_path, p.err_path, p.name = out.name, err.name, name
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)

    def node(self, yaml, name):
        self.n_file += 1
        path = os.path.join(self.tmp, f"{name}-{self.n_file}.yaml")
        with open(path, "w") as f:
            f.write(yaml)
        return self.spawn([self.host, path], name)

    def wait_line(self, p, prefix="BENCH ", timeout=60.0, count=1):
        end = time.time() + timeout
        while time.time() < end:
            with open(p.out_path) as f:
                lines = [l for l in f.read().splitlines() if l.startswith(prefix)]
            if len(lines) >= count:
                return lines[:count]
            if p.poll() is not None:
                break
            time.sleep(0.01)
        with open(p.err_path) as f:
            tail = f.read()[-1500:]
        raise Broken(f"{p.name}: no '{prefix.strip()}' line (exit {p.poll()}); stderr:\n{tail}")

    # ---- result bookkeeping ----------------------------------------
    def record(self, group, system, size, metric, values, unit, extra=None):
        values = [v for v in values if v is not None]
        r = {"group": group, "system": system, "size": size, "metric": metric,
             "unit": unit, "values": values}
        if values:
            r.update(median=statistics.median(values), min=min(values), max=max(values))
        if extra:
            r.update(extra)
        self.results.append(r)
        return r

    def find(self, group, system, size, metric):
        for r in self.results:
            if (r["group"], r["system"], r["size"], r["metric"]) == (group, system, size, metric):
                return r
        return None


# ---- systems under test -----------------------------------------------

TCP_OPTS = "max_message_size: 1MiB, send_queue_limit: 16MiB"


def responder_yaml(port, secure, extra_workers="", suite=SUITE):
    sc = f"""
  bob_listener:
    type: secure_channel
    options: {{ role: listener, trust: everyone, suite: {suite} }}""" if secure else ""
    return f"""node: responder
log_level: warn
transports:
  tcp: {{ listen: 127.0.0.1:{port}, {TCP_OPTS} }}
workers:
  echoer:
    type: echoer
  sink:
    type: bench_sink
    options: {{ ack_every: {ACK} }}{sc}{extra_workers}
"""


def hop_node_yaml(port, hops=1):
    # Each hop may connect to the next node (all on loopback).
    workers = "".join(f"\n  hop{'' if i == 0 else i}:\n    type: hop\n    options: {{ to: ['tcp:127.0.0.1:*'] }}" for i in range(hops))
    return f"""node: middle{port}
log_level: warn
transports:
  tcp: {{ listen: 127.0.0.1:{port}, {TCP_OPTS} }}
workers:{workers}
"""


def yaml_list(items):
    return "[" + ", ".join(items) + "]"


def bench_worker_yaml(route, mode, size, dur, window, warmup=20):
    return f"""  bench:
    type: bench
    options:
      route: {yaml_list(route)}
      mode: {mode}
      size: {size}
      duration: {dur}ms
      window: {window}
      ack_every: {ACK}
      warmup: {warmup}
"""


def window_for(size, want=256):
    """Messages in flight: `want`, at most WINDOW_BYTES, at least the ack batch."""
    return max(ACK, min(want, WINDOW_BYTES // (size + 64)))


class Baseline:
    """(a) direct, (b) socat chain, (e) stunnel TLS 1.3: all ending at bench_tcp."""

    def __init__(self, run, kind):
        self.run, self.kind = run, kind

    def __enter__(self):
        r = self.run
        self.procs = []
        backend = free_port()
        p = r.spawn([r.tcp, "server", str(backend)], f"{self.kind}-server")
        self.procs.append(p)
        wait_port(backend, p)
        if self.kind == "direct":
            self.port = backend
        elif self.kind == "socat":
            p2, p1 = free_port(), free_port()
            for listen, to in ((p2, backend), (p1, p2)):
                q = r.spawn(["socat", "-b", "65536",
                             f"TCP-LISTEN:{listen},bind=127.0.0.1,reuseaddr,fork,nodelay",
                             f"TCP:127.0.0.1:{to},nodelay"], f"socat-{listen}")
                self.procs.append(q)
                wait_port(listen, q)
            self.port = p1
        elif self.kind == "stunnel":
            p2, p1 = free_port(), free_port()
            cert = r.tls_cert()
            for role, listen, to in (("server", p2, backend), ("client", p1, p2)):
                conf = os.path.join(r.tmp, f"stunnel-{role}.conf")
                with open(conf, "w") as f:
                    f.write(f"foreground = yes\npid =\nsyslog = no\ndebug = 3\n"
                            f"socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n"
                            f"[b]\nclient = {'yes' if role == 'client' else 'no'}\n"
                            f"accept = 127.0.0.1:{listen}\nconnect = 127.0.0.1:{to}\n"
                            f"sslVersionMin = TLSv1.3\n"
                            + (f"cert = {cert[0]}\nkey = {cert[1]}\n" if role == "server" else ""))
                q = r.spawn([r.stunnel, conf], f"stunnel-{role}")
                self.procs.append(q)
                wait_port(listen, q)
            self.port = p1
        return self

    def measure(self, mode, size, window):
        r = self.run
        dur = r.dur if mode != "rtt" else max(r.dur, 200)
        p = r.spawn([r.tcp, "client", "127.0.0.1", str(self.port), mode, str(size),
                     str(dur), str(window), str(ACK), "20"], f"{self.kind}-client")
        try:
            p.wait(dur / 1000 + 30)
        except subprocess.TimeoutExpired:
            pass
        line = r.wait_line(p, timeout=1)[0]
        r.stop(p)
        return parse_bench(line)

    def __exit__(self, *exc):
        for p in self.procs:
            self.run.stop(p)


class Ockam:
    """(c) plaintext and (d) secure channel over two TCP hops (configs 04/05)."""

    def __init__(self, run, secure, suite=SUITE):
        self.run, self.secure, self.suite = run, secure, suite

    def __enter__(self):
        r = self.run
        self.rport, self.mport = free_port(), free_port()
        self.responder = r.node(responder_yaml(self.rport, self.secure, suite=self.suite),
                                "responder")
        wait_port(self.rport, self.responder)
        self.middle = r.node(hop_node_yaml(self.mport), "middle")
        wait_port(self.mport, self.middle)
        return self

    def initiator_yaml(self, mode, size, window):
        path = [f"tcp:127.0.0.1:{self.mport}", "hop", f"tcp:127.0.0.1:{self.rport}"]
        target = "sink" if mode == "oneway" else "echoer"
        dur = self.run.dur if mode != "rtt" else max(self.run.dur, 200)
        head = f"node: initiator\nlog_level: warn\ntransports:\n  tcp: {{ {TCP_OPTS} }}\nworkers:\n"
        if self.secure:
            head += (f"  alice:\n    type: secure_channel\n    options:\n"
                     f"      role: initiator\n      trust: everyone\n      suite: {self.suite}\n"
                     f"      queue_limit: 1024\n"
                     f"      route: {yaml_list(path + ['bob_listener'])}\n")
            route = ["alice", target]
        else:
            route = path + [target]
        return head + bench_worker_yaml(route, mode, size, dur, window)

    def measure(self, mode, size, window):
        r = self.run
        p = r.node(self.initiator_yaml(mode, size, window), "initiator")
        try:
            line = r.wait_line(p, timeout=r.dur / 1000 + 30)[0]
        finally:
            r.stop(p)
        for q in (self.responder, self.middle):
            if q.poll() is not None:
                raise Broken(f"{q.name} died")
        return parse_bench(line)

    def __exit__(self, *exc):
        self.run.stop(self.middle)
        self.run.stop(self.responder)


class Relayed(Ockam):
    """The same, with the responder reachable only through a relay
    (configs/08's shape): it has no listener and registers as bob at a
    relay_service, in plaintext (08 registers through a second channel);
    the initiator's route is [tcp:relay, forward_to_bob, ...]."""

    def __enter__(self):
        r = self.run
        self.rport = free_port()
        self.relay = r.node(f"""node: relay
log_level: warn
transports:
  tcp: {{ listen: 127.0.0.1:{self.rport}, {TCP_OPTS} }}
workers:
  relay:
    type: relay_service
    options: {{ trust: everyone }}
""", "relay")
        wait_port(self.rport, self.relay)
        resp = responder_yaml(self.rport, self.secure, f"""
  relay_client:
    type: relay
    options: {{ at: [tcp:127.0.0.1:{self.rport}, relay], name: bob }}""", suite=self.suite)
        # No listener: the responder only dials the relay.
        resp = resp.replace(f"listen: 127.0.0.1:{self.rport}, ", "")
        self.responder = r.node(resp, "relayed-responder")
        # Registered once a message gets through (its INFO line is not
        # logged at warn).
        end = time.time() + 10
        while True:
            ping = subprocess.run([r.host, "ping", "-c", "1", "-W", "1",
                                   f"tcp:127.0.0.1:{self.rport},forward_to_bob,echoer"],
                                  capture_output=True, env=r.env)
            if ping.returncode == 0:
                break
            if time.time() > end or self.responder.poll() is not None:
                raise Broken("the responder did not register at the relay")
            time.sleep(0.05)
        self.middle = self.relay  # for measure()'s liveness check
        return self

    def initiator_yaml(self, mode, size, window):
        path = [f"tcp:127.0.0.1:{self.rport}", "forward_to_bob"]
        target = "sink" if mode == "oneway" else "echoer"
        dur = self.run.dur if mode != "rtt" else max(self.run.dur, 200)
        head = f"node: initiator\nlog_level: warn\ntransports:\n  tcp: {{ {TCP_OPTS} }}\nworkers:\n"
        if self.secure:
            head += (f"  alice:\n    type: secure_channel\n    options:\n"
                     f"      role: initiator\n      trust: everyone\n      suite: {self.suite}\n"
                     f"      queue_limit: 1024\n"
                     f"      route: {yaml_list(path + ['bob_listener'])}\n")
            route = ["alice", target]
        else:
            route = path + [target]
        return head + bench_worker_yaml(route, mode, size, dur, window)

    def __exit__(self, *exc):
        self.run.stop(self.responder)
        self.run.stop(self.relay)


def measure_relay(run, notes):
    """RTT p50 and 64 B one-way msg/s through a relay, next to the 2-hop
    route through a hop (configs 04/05 against 08), measured together."""
    cases = [("c", "plain", lambda: Ockam(run, False)),
             ("relay-plain", "plain", lambda: Relayed(run, False)),
             ("d", "secure", lambda: Ockam(run, True)),
             ("relay-secure", "secure", lambda: Relayed(run, True))]
    for key, _, factory in cases:
        try:
            with factory() as sut:
                p50 = []
                ms = []
                for _ in range(run.reps):
                    m = sut.measure("rtt", 64, 1)
                    if "error" in m:
                        raise Broken(f"rtt: {m}")
                    p50.append(m["p50_us"])
                    m = sut.measure("oneway", 64, window_for(64))
                    if "error" in m:
                        raise Broken(f"oneway: {m}")
                    ms.append(m["msg_s"])
                run.record("relay", key, 64, "p50", p50, "us")
                run.record("relay", key, 64, "msg_s", ms, "msg/s")
        except Broken as e:
            notes.append(f"relay ({key}): n/a ({str(e).splitlines()[0]})")
            print(f"bench: relay {key} failed: {e}", file=sys.stderr)


SYSTEMS = [  # key, label, factory
    ("a", "TCP direct", lambda r: Baseline(r, "direct")),
    ("b", "socat chain (2 hops)", lambda r: Baseline(r, "socat")),
    ("c", "ockam plaintext (2 hops)", lambda r: Ockam(r, False)),
    ("d", "ockam secure channel (2 hops)", lambda r: Ockam(r, True)),
    ("f", "ockam secure channel, AESGCM (2 hops)", lambda r: Ockam(r, True, AES_SUITE)),
    ("e", "stunnel TLS 1.3 (2 hops)", lambda r: Baseline(r, "stunnel")),
]
LABEL = {k: l for k, l, _ in SYSTEMS}
BASE_FOR = {"c": "b", "d": "b", "f": "b"}  # ratio column baseline (d, f also vs e)


def measure_system(run, key, factory, notes):
    """Latency (1) and throughput (2) of one system, sizes and repeats."""
    try:
        with factory(run) as sut:
            for size in SIZES_RTT:
                p50, p99 = [], []
                for _ in range(run.reps):
                    m = sut.measure("rtt", size, 1)
                    if "error" in m:
                        raise Broken(f"{LABEL[key]} rtt {size}: {m}")
                    p50.append(m["p50_us"])
                    p99.append(m["p99_us"])
                run.record("rtt", key, size, "p50", p50, "us")
                run.record("rtt", key, size, "p99", p99, "us")
            if key == "a":
                return
            sizes = SIZES_TP if not run.quick else [64, MAX_SIZE]
            for size in sizes:
                for mode in ("oneway", "echo"):
                    ms, mb = [], []
                    for _ in range(run.reps):
                        m = sut.measure(mode, size, window_for(size))
                        if "error" in m:
                            raise Broken(f"{LABEL[key]} {mode} {size}: {m}")
                        ms.append(m["msg_s"])
                        mb.append(m["mb_s"])
                    run.record(mode, key, size, "msg_s", ms, "msg/s")
                    run.record(mode, key, size, "mb_s", mb, "MB/s")
            ms = []
            for _ in range(run.reps):
                m = sut.measure("oneway", 64, DEEP_WINDOW)
                if "error" in m:
                    raise Broken(f"{LABEL[key]} oneway 64 window {DEEP_WINDOW}: {m}")
                ms.append(m["msg_s"])
            run.record("oneway_deep", key, 64, "msg_s", ms, "msg/s")
    except Broken as e:
        notes.append(f"{LABEL[key]}: n/a ({str(e).splitlines()[0]})")
        print(f"bench: {LABEL[key]} failed: {e}", file=sys.stderr)


# ---- handshakes (3) ----------------------------------------------------

def measure_handshakes(run, notes):
    for suite in ([SUITE] if run.quick else
                  [SUITE, "Noise_XX_25519_ChaChaPoly_SHA256", "Noise_XX_25519_AESGCM_SHA256",
                   "Noise_XX_25519_AESGCM_BLAKE2b"]):
        vals = []
        for _ in range(run.reps):
            out = subprocess.run([run.noise, "handshake", suite, "0.3" if run.quick else "1"],
                                 capture_output=True, text=True, check=True).stdout
            m = parse_bench(out)
            if "per_s" in m:
                vals.append(m["per_s"])
        run.record("handshake", "noise-crypto", 0, suite, vals, "hs/s")

    # One listener, several concurrent initiator nodes, each with K channels.
    nodes, per = (2, 50) if run.quick else (4, 50)
    rport = free_port()
    resp = run.node(responder_yaml(rport, True), "hs-responder")
    try:
        wait_port(rport, resp)
        vals = []
        for _ in range(run.reps):
            t0 = time.time()
            ps = [run.node(fanout_yaml(rport, per, f"i{j}"), f"hs-init{j}") for j in range(nodes)]
            try:
                ends = []
                for p in ps:
                    m = parse_bench(run.wait_line(p, timeout=60)[0])
                    if "error" in m or m.get("replied") != per:
                        raise Broken(f"handshake fan-out: {m}")
                    ends.append(m["end_wall_us"] / 1e6)
                vals.append(nodes * per / (max(ends) - t0))
            finally:
                for p in ps:
                    run.stop(p)
        run.record("handshake", "d", 0, "listener", vals, "hs/s",
                   {"initiators": nodes, "channels_each": per})
    except Broken as e:
        notes.append(f"handshakes: n/a ({str(e).splitlines()[0]})")
    finally:
        run.stop(resp)

    # TLS 1.3 full handshakes: openssl s_time -new against s_server.
    if shutil.which("openssl"):
        port = free_port()
        cert = run.tls_cert()
        srv = run.spawn(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", cert[0],
                         "-key", cert[1], "-tls1_3", "-quiet", "-no_ticket"], "s_server")
        try:
            wait_port(port, srv)
            vals = []
            secs = 1 if run.quick else 3
            for _ in range(run.reps):
                out = subprocess.run(["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new",
                                      "-tls1_3", "-time", str(secs)],
                                     capture_output=True, text=True).stdout
                m = re.search(r"(\d+) connections in ([\d.]+)s;", out)
                if m:
                    vals.append(int(m.group(1)) / float(m.group(2)) if float(m.group(2)) else None)
                m2 = re.search(r"(\d+) connections in (\d+) real seconds", out)
                if m2 and vals:
                    vals[-1] = int(m2.group(1)) / max(1, int(m2.group(2)))
            run.record("handshake", "tls13", 0, "s_time", vals, "hs/s")
        finally:
            run.stop(srv)


# ---- handshake flood (3b) ---------------------------------------------------

def hs1_frames(count):
    """`count` Noise message 1s with random keys to [bob_listener], return
    [flooder], as TCP frames (docs/protocol.md), back to back."""
    head = bytes([0, 0, 0, 60, 1, 1, 0, 12]) + b"bob_listener" + bytes([1, 0, 7]) + b"flooder" + bytes([33, 1])
    return b"".join(head + os.urandom(32) for _ in range(count))


class Flood:
    """`conns` connections writing message 1s as fast as the listener takes
    them (and reading what comes back), from a thread."""
    def __init__(self, port, conns):
        self.buf = hs1_frames(1024)
        self.socks = []
        for _ in range(conns):
            sk = socket.create_connection(("127.0.0.1", port))
            sk.setblocking(False)
            self.socks.append(sk)
        self.sent = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        sel = selectors.DefaultSelector()
        off = {}
        for sk in self.socks:
            sel.register(sk, selectors.EVENT_READ | selectors.EVENT_WRITE)
            off[sk] = 0
        while not self.stop_flag:
            for key, ev in sel.select(0.1):
                sk = key.fileobj
                try:
                    if ev & selectors.EVENT_READ:
                        sk.recv(65536)
                    if ev & selectors.EVENT_WRITE:
                        n = sk.send(self.buf[off[sk]:])
                        self.sent += n
                        off[sk] = (off[sk] + n) % len(self.buf)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    sel.unregister(sk)
        sel.close()

    def stop(self):
        self.stop_flag = True
        self.thread.join()
        for sk in self.socks:
            sk.close()
        return self.sent // 64


def listener_counts(run, port):
    """The secure channel listener's status row (hs_* counters)."""
    out = subprocess.run([run.host, "status", "--to", f"tcp:127.0.0.1:{port}", "--json"],
                         capture_output=True, text=True, timeout=30, env=run.env).stdout
    for row in json.loads(out)["rows"]:
        if row.get("kind") == "secure_channel_listener":
            return row
    raise Broken("flood: no secure_channel_listener row in the status")


def measure_flood(run, notes):
    """Honest handshakes while 1 and 100 connections send message 1s as fast
    as the listener takes them: honest rate and success next to no flood,
    and what the listener did with the flood (admitted, replaced, evicted,
    refused) per second.  Nothing asserted."""
    per = 20 if run.quick else 50
    secs = 1.0 if run.quick else 3.0
    for conns in ([0, 1] if run.quick else [0, 1, 100]):
        rport = free_port()
        resp = run.node(responder_yaml(rport, True).replace("log_level: warn", "log_level: warn\nstatus: true"),
                        f"flood-responder{conns}")
        try:
            wait_port(rport, resp)
            flood = Flood(rport, conns) if conns else None
            try:
                if flood:
                    time.sleep(secs / 2)  # the flood is on before the honest start
                before = listener_counts(run, rport) if conns else None
                t0 = time.time()
                p = run.node(fanout_yaml(rport, per, "honest"), "flood-honest")
                try:
                    m = parse_bench(run.wait_line(p, timeout=60)[0])
                finally:
                    run.stop(p)
                took = max(1e-6, m["end_wall_us"] / 1e6 - t0) if "end_wall_us" in m else None
                if flood:
                    rest = secs - (time.time() - t0)
                    if rest > 0:
                        time.sleep(rest)
                    after = listener_counts(run, rport)
                    span = time.time() - t0
                    frames = flood.stop()
                    flood = None
                    extra = {"conns": conns, "frames_written": frames, "secs": span}
                    for k in ("hs_started", "hs_replaced", "hs_evicted", "hs_busy"):
                        extra[k + "_per_s"] = (after.get(k, 0) - before.get(k, 0)) / span
                else:
                    extra = {"conns": 0}
                replied = m.get("replied", 0)
                run.record("flood", conns, 0, "honest_hs_s",
                           [replied / took if took else None], "hs/s",
                           dict(extra, honest=per, replied=replied))
            finally:
                if flood:
                    flood.stop()
        except (Broken, OSError, ValueError) as e:
            notes.append(f"flood ({conns} connections): n/a ({str(e).splitlines()[0]})")
        finally:
            run.stop(resp)


def fanout_yaml(rport, n, name, route_extra=None):
    workers = "".join(
        f"  alice{i}:\n    type: secure_channel\n    options: {{ role: initiator, trust: everyone, "
        f"suite: {SUITE}, route: [tcp:127.0.0.1:{rport}, bob_listener] }}\n" for i in range(n))
    return (f"node: {name}\nlog_level: warn\ntransports:\n  tcp: {{}}\nworkers:\n{workers}"
            f"  bench:\n    type: bench\n    options: {{ mode: fanout, n: {n}, prefix: alice, "
            f"tail: [echoer], window: {n}, size: 16 }}\n")


# ---- memory (4) ------------------------------------------------------------

def measure_memory(run, notes):
    port = free_port()
    bare = run.node(f"node: idle\nlog_level: warn\ntransports:\n  tcp: {{ listen: 127.0.0.1:{port} }}\n",
                    "idle")
    try:
        wait_port(port, bare)
        time.sleep(0.3)
        run.record("memory", "d", 0, "idle_node_tcp_only", [rss_kib(bare.pid)], "KiB")
        # Idle TCP connections held by the node.
        n = 200 if run.quick else 800
        before = rss_kib(bare.pid)
        socks = []
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(0.5)
        after = rss_kib(bare.pid)
        for s in socks:
            s.close()
        run.record("memory", "d", 0, "per_tcp_connection", [(after - before) * 1024 / n], "B",
                   {"connections": n})
    except Broken as e:
        notes.append(f"memory (idle node): n/a ({e})")
    finally:
        run.stop(bare)

    rport = free_port()
    resp = run.node(responder_yaml(rport, True), "mem-responder")
    inits = []
    try:
        wait_port(rport, resp)
        time.sleep(0.3)
        idle = rss_kib(resp.pid)
        run.record("memory", "d", 0, "idle_node_responder_05", [idle], "KiB")
        # VmRSS counts shared library pages (libc alone is ~1.4 MiB);
        # RssAnon is what the node itself allocated.
        run.record("memory", "d", 0, "idle_node_responder_05_private",
                   [rss_kib(resp.pid, "RssAnon:")], "KiB")
        run.record("memory", "d", 0, "idle_node_responder_05_pss",
                   [pss_kib(resp.pid)], "KiB")
        per, total = (200, 400) if run.quick else (200, 10000)
        avail = 0
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1])
        # Each initiator node holds `per` channel ends; leave memory for others.
        while total > per and avail and total // per * 40 * 1024 > avail / 2:
            total //= 2
        # An initiator node with one channel: what the node costs before
        # its channels, so the per-channel figure below is growth only.
        # Its channel goes to a responder of its own: the listener above
        # must have all of its max_channels (10000) for the fan-out.
        port1 = free_port()
        resp1 = run.node(responder_yaml(port1, True), "mem-responder-one")
        try:
            wait_port(port1, resp1)
            one = run.node(fanout_yaml(port1, 1, "m-one"), "mem-init-one")
            m = parse_bench(run.wait_line(one, timeout=60)[0])
            if "error" in m or m.get("replied") != 1:
                raise Broken(f"one-channel initiator: {m}")
            time.sleep(0.2)
            one_rss = rss_kib(one.pid)
            run.stop(one)
        finally:
            run.stop(resp1)
        points = []
        done = 0
        while done < total:
            p = run.node(fanout_yaml(rport, per, f"m{done}"), f"mem-init{done}")
            inits.append(p)
            m = parse_bench(run.wait_line(p, timeout=60)[0])
            if "error" in m or m.get("replied") != per:
                raise Broken(f"channel fan-out stopped at {done}: {m}")
            done += per
            if done % 1000 == 0 or done == total:
                time.sleep(0.2)
                points.append((done, rss_kib(resp.pid)))
        init_rss = rss_kib(inits[0].pid)
        growth = [(b - idle) * 1024 / n for n, b in points]
        run.record("memory", "d", 0, "per_secure_channel_listener", [growth[-1]], "B",
                   {"channels": total, "points_kib": points})
        run.record("memory", "d", 0, "initiator_node_per_channel", [init_rss * 1024 / per], "B",
                   {"channels": per})
        # The same node's growth from one channel to `per`: what an idle
        # channel costs the initiator side (the row above also spreads
        # the node itself, ~2.5 MiB, over its channels).
        run.record("memory", "d", 0, "initiator_per_channel_growth",
                   [(init_rss - one_rss) * 1024 / (per - 1)], "B", {"channels": per})
    except Broken as e:
        notes.append(f"memory (secure channels): n/a ({str(e).splitlines()[0]})")
    finally:
        for p in inits:
            run.stop(p)
        run.stop(resp)


# ---- hops (5) ----------------------------------------------------------------

def measure_hops(run, notes):
    counts = [1, 2] if run.quick else [1, 2, 4, 8]
    for where in ("nodes", "local"):
        for k in counts:
            procs = []
            try:
                rport = free_port()
                extra = "".join(f"\n  h{i}:\n    type: hop" for i in range(k)) if where == "local" else ""
                resp = run.node(responder_yaml(rport, False, extra), "hops-responder")
                procs.append(resp)
                wait_port(rport, resp)
                if where == "local":
                    route = [f"tcp:127.0.0.1:{rport}"] + [f"h{i}" for i in range(k)]
                else:
                    route = []
                    for i in range(k):
                        port = free_port()
                        q = run.node(hop_node_yaml(port), f"hops-mid{i}")
                        procs.append(q)
                        wait_port(port, q)
                        route += [f"tcp:127.0.0.1:{port}", "hop"]
                    route.append(f"tcp:127.0.0.1:{rport}")
                for mode, size, metric in (("rtt", 64, "p50_us"), ("echo", 1024, "msg_s")):
                    vals = []
                    for _ in range(run.reps):
                        yaml = ("node: initiator\nlog_level: warn\ntransports:\n"
                                f"  tcp: {{ {TCP_OPTS} }}\nworkers:\n"
                                + bench_worker_yaml(route + ["echoer"], mode, size,
                                                    max(run.dur, 200), 1 if mode == "rtt" else 128))
                        p = run.node(yaml, "hops-init")
                        try:
                            m = parse_bench(run.wait_line(p, timeout=run.dur / 1000 + 30)[0])
                        finally:
                            run.stop(p)
                        if "error" in m:
                            raise Broken(f"{k} hops: {m}")
                        vals.append(m[metric])
                    run.record("hops", where, k, metric, vals, "us" if mode == "rtt" else "msg/s")
            except Broken as e:
                notes.append(f"hops ({where}, {k}): n/a ({str(e).splitlines()[0]})")
            finally:
                for p in procs:
                    run.stop(p)


# ---- crypto per suite (6) ---------------------------------------------------

def measure_crypto(run):
    for suite in ("Noise_XX_25519_ChaChaPoly_BLAKE2b", "Noise_XX_25519_AESGCM_BLAKE2b"):
        # MAX_SIZE: the AEAD-only limit of the largest secure message.
        for size in (64, 1024, 16384, MAX_SIZE):
            out = subprocess.run([run.noise, "transport", suite, str(size),
                                  "0.1" if run.quick else "0.5"],
                                 capture_output=True, text=True, check=True).stdout
            m = parse_bench(out)
            cipher = suite.split("_")[3]
            if "error" in m:
                run.record("crypto", cipher, size, "mb_s", [], "MB/s", {"note": out.strip()})
            else:
                run.record("crypto", cipher, size, "mb_s", [m["mb_s"]], "MB/s",
                           {"msg_s": m["msg_s"]})


# ---- report -------------------------------------------------------------------

def fmt(r, digits=None):
    if not r or "median" not in r:
        return "n/a"
    def f(v):
        if v >= 100000:
            return f"{v/1e6:.2f}M" if v >= 1e6 else f"{v/1e3:.0f}k"
        if v >= 100:
            return f"{v:.0f}"
        return f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    if len(r["values"]) == 1:
        return f(r["median"])
    return f"{f(r['median'])} ({f(r['min'])}–{f(r['max'])})"


def ratio(a, b):
    if not a or not b or "median" not in a or "median" not in b or not b["median"]:
        return None
    return a["median"] / b["median"]


def rs(x):
    return "n/a" if x is None else f"{x:.2f}x"


def report(run, notes):
    R = run.find
    L = []
    L.append("### 1. Round-trip latency (µs, median of runs, min–max)\n")
    L.append("| system | 64 B p50 | 64 B p99 | 1 KiB p50 | 1 KiB p99 | 64 B p50 vs socat | vs stunnel |")
    L.append("|---|---|---|---|---|---|---|")
    for key, label, _ in SYSTEMS:
        row = [label] + [fmt(R("rtt", key, s, m)) for s in SIZES_RTT for m in ("p50", "p99")]
        row.append(rs(ratio(R("rtt", key, 64, "p50"), R("rtt", "b", 64, "p50"))))
        row.append(rs(ratio(R("rtt", key, 64, "p50"), R("rtt", "e", 64, "p50"))))
        L.append("| " + " | ".join(row) + " |")
    L.append("\n### 2. Throughput (window of outstanding messages; MB/s and msg/s)\n")
    L.append("| system | mode | size | msg/s | MB/s | vs socat | vs stunnel |")
    L.append("|---|---|---|---|---|---|---|")
    for mode in ("oneway", "echo"):
        for size in SIZES_TP:
            for key in ("b", "c", "d", "f", "e"):
                ms, mb = R(mode, key, size, "msg_s"), R(mode, key, size, "mb_s")
                if not ms:
                    continue
                L.append(f"| {LABEL[key]} | {mode} | {size} | {fmt(ms)} | {fmt(mb)} | "
                         f"{rs(ratio(mb, R(mode, 'b', size, 'mb_s')))} | "
                         f"{rs(ratio(mb, R(mode, 'e', size, 'mb_s')))} |")
    L.append(f"\n64 B one way with a window of {DEEP_WINDOW} messages (256 above):\n")
    L.append("| system | msg/s | vs socat | vs stunnel |")
    L.append("|---|---|---|---|")
    for key in ("b", "c", "d", "f", "e"):
        r = R("oneway_deep", key, 64, "msg_s")
        if r:
            L.append(f"| {LABEL[key]} | {fmt(r)} | {rs(ratio(r, R('oneway_deep', 'b', 64, 'msg_s')))} | "
                     f"{rs(ratio(r, R('oneway_deep', 'e', 64, 'msg_s')))} |")
    L.append("\n### 3. Handshakes per second\n")
    L.append("| what | per second | vs Noise crypto-only | vs TLS 1.3 |")
    L.append("|---|---|---|---|")
    crypto = R("handshake", "noise-crypto", 0, SUITE)
    tls = R("handshake", "tls13", 0, "s_time")
    for r in run.results:
        if r["group"] == "handshake":
            what = {"noise-crypto": f"Noise crypto only, one process ({r['metric']})",
                    "d": "ockam secure channel listener, concurrent initiators",
                    "tls13": "openssl s_time -new, TLS 1.3"}[r["system"]]
            L.append(f"| {what} | {fmt(r)} | {rs(ratio(r, crypto))} | {rs(ratio(r, tls))} |")
    L.append("\n### 3b. Handshakes under a message-1 flood\n")
    L.append("Connections write Noise message 1s with random keys as fast as the listener takes "
             "them; meanwhile one node opens honest channels through the same listener.  "
             "Per second, what the listener did with the flood: admitted (a DH each), "
             "replaced (a source over max_handshakes_per_source), evicted (fair eviction), "
             "refused (BUSY notice, no DH).\n")
    L.append("| flooding connections | honest hs/s | vs no flood | honest done | flood admitted/s | replaced/s | evicted/s | refused/s |")
    L.append("|---|---|---|---|---|---|---|---|")
    base = R("flood", 0, 0, "honest_hs_s")
    for r in run.results:
        if r["group"] == "flood":
            def g(k):
                v = r.get(k + "_per_s")
                return "–" if v is None else f"{v:,.0f}"
            L.append(f"| {r['system']} | {fmt(r)} | {rs(ratio(r, base))} | {r['replied']}/{r['honest']} | "
                     f"{g('hs_started')} | {g('hs_replaced')} | {g('hs_evicted')} | {g('hs_busy')} |")
    L.append("\n### 4. Memory\n")
    L.append("| what | value |")
    L.append("|---|---|")
    for r in run.results:
        if r["group"] == "memory":
            L.append(f"| {r['metric']} | {fmt(r)} {r['unit']}"
                     + (f" ({r['channels']} channels)" if "channels" in r else "") + " |")
    sc = R("memory", "d", 0, "per_secure_channel_listener")
    idle = R("memory", "d", 0, "idle_node_responder_05")
    if sc and idle and sc.get("points_kib"):
        L.append("\nListener RSS as idle secure channels are added (200 per initiator node):\n")
        L.append("| channels | listener VmRSS | growth over idle, per 1,000 channels |")
        L.append("|---|---|---|")
        for n, kib in sc["points_kib"]:
            L.append(f"| {n} | {kib} KiB | {(kib - idle['median']) * 1000 / n:.0f} KiB |")
    L.append("\n### 5. Hops (RTT p50 64 B, µs; echo 1 KiB, msg/s)\n")
    L.append("| hop workers | across nodes RTT | across nodes msg/s | within a node RTT | within a node msg/s |")
    L.append("|---|---|---|---|---|")
    for k in sorted({r["size"] for r in run.results if r["group"] == "hops"}):
        L.append(f"| {k} | {fmt(R('hops', 'nodes', k, 'p50_us'))} | {fmt(R('hops', 'nodes', k, 'msg_s'))} "
                 f"| {fmt(R('hops', 'local', k, 'p50_us'))} | {fmt(R('hops', 'local', k, 'msg_s'))} |")
    L.append("\n### 5b. Through a relay (64 B; RTT p50 µs, one-way msg/s)\n")
    L.append("The responder reachable only through a relay (configs/08: no listener, "
             "registered as bob) next to the 2-hop route through a hop (configs/04, 05).\n")
    L.append("| route | plaintext RTT | plaintext msg/s | secure channel RTT | secure channel msg/s |")
    L.append("|---|---|---|---|---|")
    for what, kp, ks in (("2 hops: tcp, hop, tcp", "c", "d"),
                         ("relay: tcp, forward_to_bob (down the responder's connection, registered in plaintext)",
                          "relay-plain", "relay-secure")):
        L.append(f"| {what} | {fmt(R('relay', kp, 64, 'p50'))} | {fmt(R('relay', kp, 64, 'msg_s'))} "
                 f"| {fmt(R('relay', ks, 64, 'p50'))} | {fmt(R('relay', ks, 64, 'msg_s'))} |")
    L.append("\n### 6. Transport crypto only (encrypt + decrypt, MB/s)\n")
    L.append(f"| cipher | 64 B | 1 KiB | 16 KiB | {MAX_SIZE} B |")
    L.append("|---|---|---|---|---|")
    for c in ("ChaChaPoly", "AESGCM"):
        L.append(f"| {c} | " + " | ".join(fmt(R("crypto", c, s, "mb_s"))
                                         for s in (64, 1024, 16384, MAX_SIZE)) + " |")
    hs_rows = [r for r in run.results if r["group"] == "handshake" and r["system"] == "noise-crypto"]
    if len(hs_rows) > 1:
        L.append("\nHandshake rate by suite (crypto only): " +
                 ", ".join(f"{r['metric'].replace('Noise_XX_25519_', '')} {fmt(r)}/s" for r in hs_rows))

    # Targets: reported, never asserted.
    def tgt(name, value, ok):
        run.targets.append({"target": name, "value": value, "met": ok})
    run.targets = []
    x = ratio(R("rtt", "d", 64, "p50"), R("rtt", "b", 64, "p50"))
    tgt("64 B RTT p50 secure <= 1.2x socat chain", rs(x), None if x is None else x <= 1.2)
    x = ratio(R("rtt", "d", 64, "p50"), R("rtt", "e", 64, "p50"))
    tgt("64 B RTT p50 secure <= 0.6x stunnel", rs(x), None if x is None else x <= 0.6)
    x = ratio(R("oneway", "d", MAX_SIZE, "mb_s"), R("oneway", "e", MAX_SIZE, "mb_s"))
    tgt(f"one-way secure {MAX_SIZE} B MB/s >= 2x stunnel", rs(x), None if x is None else x >= 2)
    x = ratio(R("oneway", "f", MAX_SIZE, "mb_s"), R("oneway", "e", MAX_SIZE, "mb_s"))
    if x is not None:
        tgt(f"one-way secure {MAX_SIZE} B MB/s >= 2x stunnel (AESGCM suite)", rs(x), x >= 2)
    r = R("oneway", "d", 64, "msg_s")
    tgt("64 B one-way secure >= 1,000,000 msg/s (window 256)", fmt(r),
        None if not r else r["median"] >= 1e6)
    r = R("oneway_deep", "d", 64, "msg_s")
    tgt(f"64 B one-way secure >= 1,000,000 msg/s (window {DEEP_WINDOW})", fmt(r),
        None if not r else r["median"] >= 1e6)
    x = ratio(r, R("oneway_deep", "e", 64, "msg_s"))
    tgt(f"64 B one-way secure >= 1x stunnel (window {DEEP_WINDOW})", rs(x),
        None if x is None else x >= 1)
    # The AEAD-only limit: encrypt + decrypt of the same size in one
    # process (section 6), the crypto a message costs end to end.
    x = ratio(R("oneway", "d", MAX_SIZE, "mb_s"), R("crypto", "ChaChaPoly", MAX_SIZE, "mb_s"))
    tgt(f"one-way secure {MAX_SIZE} B MB/s >= 0.8x the AEAD-only limit", rs(x),
        None if x is None else x >= 0.8)
    for size in (1024, 16384):
        x = ratio(R("echo", "d", size, "mb_s"), R("echo", "b", size, "mb_s"))
        tgt(f"{size // 1024} KiB secure echo MB/s >= 1x socat chain", rs(x),
            None if x is None else x >= 1)
    hs = R("handshake", "d", 0, "listener")
    x = ratio(hs, crypto)
    tgt("handshakes/s >= 0.8x crypto-only", rs(x), None if x is None else x >= 0.8)
    x = ratio(hs, tls)
    tgt("handshakes/s >= 4x TLS 1.3", rs(x), None if x is None else x >= 4)
    r = R("memory", "d", 0, "idle_node_responder_05")
    tgt("idle node RSS <= 2 MiB (VmRSS)", fmt(r) + " KiB", None if not r else r["median"] <= 2048)
    # VmRSS counts every resident page of the shared libraries (libc alone
    # is ~1.4 MiB); PSS charges the node its share of them only.
    r = R("memory", "d", 0, "idle_node_responder_05_pss")
    tgt("idle node RSS <= 2 MiB (PSS)", fmt(r) + " KiB", None if not r else r["median"] <= 2048)
    r = R("memory", "d", 0, "per_secure_channel_listener")
    tgt("<= 1 KiB per idle secure channel", fmt(r) + " B", None if not r else r["median"] <= 1024)
    r = R("memory", "d", 0, "initiator_per_channel_growth")
    tgt("<= 1 KiB per idle secure channel, initiator side", fmt(r) + " B",
        None if not r else r["median"] <= 1024)
    L.append("\n### Targets (reported, not asserted)\n")
    L.append("| target | measured | status |")
    L.append("|---|---|---|")
    for t in run.targets:
        st = "n/a" if t["met"] is None else ("met" if t["met"] else "not met")
        L.append(f"| {t['target']} | {t['value']} | {st} |")
    if notes:
        L.append("\n### Not measured\n")
        L += [f"- {n}" for n in notes]
    return "\n".join(L)


def machine():
    info = {"kernel": platform.release(), "cores": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        info["cpu"] = m.group(1).strip() if m else "?"
    except OSError:
        info["cpu"] = "?"
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", required=True)
    ap.add_argument("--only", default="", help="comma list: latency,handshakes,memory,hops,relay,crypto")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    run = Run(os.path.abspath(a.build), a.quick)
    run.stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    certs = {}

    def tls_cert():
        if "c" not in certs:
            c, k = os.path.join(run.tmp, "cert.pem"), os.path.join(run.tmp, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out", c,
                            "-days", "2", "-subj", "/CN=127.0.0.1"],
                           check=True, capture_output=True)
            certs["c"] = (c, k)
        return certs["c"]
    run.tls_cert = tls_cert
    only = set(filter(None, a.only.split(",")))
    notes = []
    t0 = time.time()
    try:
        if not only or "latency" in only:
            for key, label, factory in SYSTEMS:
                if key in "be" and not (shutil.which("socat") if key == "b" else run.stunnel):
                    notes.append(f"{label}: n/a (not installed)")
                    continue
                if key == "f" and not cpu_has_aes():
                    notes.append(f"{label}: skipped (this CPU has no AES-NI; the plugin refuses AESGCM)")
                    continue
                print(f"bench: {label}", file=sys.stderr)
                measure_system(run, key, factory, notes)
        if not only or "handshakes" in only:
            print("bench: handshakes", file=sys.stderr)
            measure_handshakes(run, notes)
            print("bench: handshakes under a flood", file=sys.stderr)
            measure_flood(run, notes)
        if not only or "memory" in only:
            print("bench: memory", file=sys.stderr)
            measure_memory(run, notes)
        if not only or "hops" in only:
            print("bench: hops", file=sys.stderr)
            measure_hops(run, notes)
        if not only or "relay" in only:
            print("bench: relay", file=sys.stderr)
            measure_relay(run, notes)
        if not only or "crypto" in only:
            print("bench: crypto", file=sys.stderr)
            measure_crypto(run)
    finally:
        run.stop_all()
    text = report(run, notes)
    mach = machine()
    print(f"## ockam-host benchmark ({'quick' if a.quick else 'full'}, {time.time()-t0:.0f} s)\n")
    print(f"Machine: {mach['cpu']}, {mach['cores']} cores, Linux {mach['kernel']}; "
          f"{run.reps} run(s) per figure, median (min–max).\n")
    print(text)
    with open(a.json, "w") as f:
        json.dump({"machine": mach, "quick": a.quick, "reps": run.reps, "results": run.results,
                   "targets": run.targets, "notes": notes}, f, indent=1)
    print(f"\nJSON: {a.json}")
    shutil.rmtree(run.tmp, ignore_errors=True)
    # Broken means a system that should work did not (not a slow one).
    return 1 if any("n/a" in n and "not installed" not in n for n in notes) and not only else 0


if __name__ == "__main__":
    sys.exit(main())
