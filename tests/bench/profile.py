#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Profile the secure two-hop path (docs/performance.md, "Profile").

  python3 tests/bench/profile.py --build build-bench [--mode oneway] [--size 64] [--secs 3]

Runs responder + middle + initiator (bench worker) like scripts/bench does,
then: `perf record` on all three nodes (top symbols per node), and a second
run under `strace -c` (syscalls per message per node).
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402


def one_run(run, args, attach):
    with rb.Ockam(run, True) as sut:
        yaml = sut.initiator_yaml(args.mode, args.size, rb.window_for(args.size))
        yaml = yaml.replace(f"duration: {run.dur}ms", f"duration: {int(args.secs * 1000)}ms")
        p = run.node(yaml, "initiator")
        time.sleep(0.3)  # warm-up and handshake
        tools = attach({"initiator": p.pid, "middle": sut.middle.pid,
                        "responder": sut.responder.pid})
        line = run.wait_line(p, timeout=args.secs + 30)[0]
        for t in tools:
            t.send_signal(2)
            t.wait(30)
        run.stop(p)
        return rb.parse_bench(line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--mode", default="oneway")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--secs", type=float, default=3)
    args = ap.parse_args()
    run = rb.Run(os.path.abspath(args.build), False)
    run.dur = int(args.secs * 1000)
    try:
        data = {}

        def perf(pids):
            ts = []
            for name, pid in pids.items():
                data[name] = os.path.join(run.tmp, f"perf-{name}.data")
                ts.append(subprocess.Popen(["perf", "record", "-q", "-F", "2000", "-g", "-p", str(pid),
                                            "-o", data[name]], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
            return ts
        m = one_run(run, args, perf)
        print(f"## perf: {args.mode} {args.size} B through a secure channel over two hops: {m}\n")
        for name, path in data.items():
            out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--stdio",
                                  "--sort", "dso,symbol", "-g", "none", "--percent-limit", "1.5"],
                                 capture_output=True, text=True).stdout
            rows = [l for l in out.splitlines() if re.match(r"\s+[0-9.]+%", l)]
            print(f"### {name}\n```\n" + "\n".join(rows[:18]) + "\n```\n")

        logs = {}

        def strace(pids):
            ts = []
            for name, pid in pids.items():
                logs[name] = os.path.join(run.tmp, f"strace-{name}.txt")
                ts.append(subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", logs[name]],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            return ts
        m = one_run(run, args, strace)
        n = m.get("n", 0) or 1
        print(f"## strace -c: {m}\n")
        for name, path in logs.items():
            with open(path) as f:
                text = f.read()
            total = re.search(r"\n\S*\s*[0-9.]+\s+[0-9.]+\s+\d+\s+(\d+)\s+(\d+)?\s*total", text)
            calls = {}
            for l in text.splitlines():
                f_ = l.split()
                if len(f_) >= 5 and f_[-1] not in ("total", "syscall") and f_[3].isdigit():
                    calls[f_[-1]] = int(f_[3])
            top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
            print(f"- {name}: " + ", ".join(f"{k} {v / n:.3f}/msg" for k, v in top)
                  + (f" (total {int(total.group(1)) / n:.3f}/msg)" if total else ""))
    finally:
        run.stop_all()


if __name__ == "__main__":
    main()
