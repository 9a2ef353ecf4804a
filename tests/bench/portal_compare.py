#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Before/after for TCP portals on a shared, noisy machine
(docs/performance.md, "Where the portal's bytes go").

  python3 tests/bench/portal_compare.py --build OLD/build-bench --build build-bench \
      [--window 1MiB] [--rounds 5] [--secs 3]

Runs the socat chain, stunnel and the 07 portal trio of every --build
(each with the configs of its own source tree), and with --window the
last build again with that window on both ends, in rounds: each round
runs every system once, iperf3 upload then download, so that the
machine's load falls on all of them alike.  Prints the median of the
rounds in Mbit/s with ratios to socat and stunnel, and for the portal
rows the CPU time of the three nodes per MiB carried (from
/proc/<pid>/schedstat), the repeatable measure when other work shares the
cores.  Uses tests/bench/portal_bench.py's tunnels; asserts nothing.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import portal_bench as pb  # noqa: E402

PRE = "07-portal-over-two-transport-hops-"


def source_root(build):
    """The source tree a meson build directory was configured from (its
    meson-info says)."""
    with open(os.path.join(build, "meson-info", "meson-info.json")) as f:
        return json.load(f)["directories"]["source"]


def windowed_root(src, window, tmp):
    """A copy of `src`'s 07 configs with `window:` set on inlet and outlet."""
    root = os.path.join(tmp, "window-" + window)
    os.makedirs(os.path.join(root, "configs"), exist_ok=True)
    for name in ("inlet", "middle", "outlet"):
        with open(os.path.join(src, "configs", PRE + name + ".yaml")) as f:
            text = f.read()
        if name == "inlet":
            text = text.replace("      route: [alice, outlet]\n",
                                f"      route: [alice, outlet]\n      window: {window}\n")
        elif name == "outlet":
            text = text.replace("      connect: 127.0.0.1:${SERVICE_PORT:-8000}\n",
                                "      connect: 127.0.0.1:${SERVICE_PORT:-8000}\n"
                                f"      window: {window}\n")
        with open(os.path.join(root, "configs", PRE + name + ".yaml"), "w") as f:
            f.write(text)
    return root


def run_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def one(system, secs):
    """(up Mbit/s, down Mbit/s, node CPU ms per MiB or None) for one system."""
    name, kind, build, root = system
    run = pb.Run(build, secs, 1)
    try:
        ip = pb.free_port()
        run.spawn(["iperf3", "-s", "-p", str(ip), "-B", "127.0.0.1"], "iperf3-server")
        pb.wait_port(ip)
        if kind == "socat":
            port = pb.tunnel_socat(run, ip)
        elif kind == "stunnel":
            port = pb.tunnel_stunnel(run, ip)
            if port is None:
                return None
        else:
            pb.ROOT = root
            port = pb.tunnel_portal(run, ip)
        # After the iperf3 server: outlet, middle, inlet.
        nodes = [p.pid for p in run.procs[1:4]] if kind == "portal" else []
        res = []
        cpu_ms = mib = 0.0
        for down in (False, True):
            for attempt in range(3):
                try:
                    before = [run_ns(p) for p in nodes]
                    mbit = pb.iperf(run, port, down)
                    cpu_ms += sum(run_ns(p) - b for p, b in zip(nodes, before)) / 1e6
                    # What iperf3 carried: its rate over its duration.
                    mib += mbit * 1e6 / 8 * secs / 2**20
                    res.append(mbit)
                    break
                except Exception as e:  # a failed iperf3 run is retried
                    print(f"  {name}: {e}; again", file=sys.stderr)
                    time.sleep(1)
            else:
                return None
        return res[0], res[1], (cpu_ms / mib if nodes and mib else None)
    finally:
        run.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="append", required=True)
    ap.add_argument("--window")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--secs", type=int, default=3)
    a = ap.parse_args()
    for prog in ("iperf3", "socat"):
        if not shutil.which(prog):
            print(f"portal_compare: {prog} is not installed (scripts/deps)")
            return 0
    tmp = tempfile.mkdtemp(prefix="portal-compare-")
    systems = [("socat chain (2 hops)", "socat", a.build[0], None),
               ("stunnel TLS 1.3 (2 hops)", "stunnel", a.build[0], None)]
    for b in a.build:
        systems.append((f"portal, {b}", "portal", b, source_root(b)))
    if a.window:
        b = a.build[-1]
        systems.append((f"portal, {b}, window: {a.window}", "portal", b,
                        windowed_root(source_root(b), a.window, tmp)))
    got = {s[0]: [] for s in systems}
    for r in range(a.rounds):
        for s in systems:
            x = one(s, a.secs)
            if x:
                got[s[0]].append(x)
                print(f"round {r + 1}: {s[0]}: up {x[0]:.0f} down {x[1]:.0f} Mbit/s"
                      + (f", {x[2]:.2f} ms CPU/MiB" if x[2] else ""), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    med = {}
    for k, v in got.items():
        if v:
            cpu = [x[2] for x in v if x[2]]
            med[k] = (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                      statistics.median(cpu) if cpu else None)
    print(f"\n## iperf3 -t {a.secs}, median of {a.rounds} interleaved rounds\n")
    print("| system | up Mbit/s | down Mbit/s | up vs socat | down vs socat "
          "| up vs stunnel | down vs stunnel | nodes' CPU ms/MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    s, t = med.get(systems[0][0]), med.get(systems[1][0])
    for k, m in med.items():
        vs = lambda base, i: f"{m[i] / base[i]:.2f}x" if base else "n/a"  # noqa: E731
        print(f"| {k} | {m[0]:.0f} | {m[1]:.0f} | {vs(s, 0)} | {vs(s, 1)} | "
              f"{vs(t, 0)} | {vs(t, 1)} | {m[2]:.2f} |" if m[2] else
              f"| {k} | {m[0]:.0f} | {m[1]:.0f} | {vs(s, 0)} | {vs(s, 1)} | "
              f"{vs(t, 0)} | {vs(t, 1)} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
