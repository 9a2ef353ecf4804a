#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Profile the secure two-hop path (docs/performance.md, "Profile").

  python3 tests/bench/profile.py --build build-bench [--mode oneway] [--size 64] [--secs 3]
                                 [--window N] [--only cost,copies,perf,strace]

  --mode echo --size 12 --window 1 is the 05 tutorial's echo, one message
  at a time (each alone in its record and frame).

Runs responder + middle + initiator (bench worker) like scripts/bench does,
once per part:
  cost    CPU per message on each node, as cycles: `perf stat -e cycles`
          where the CPU exposes the counter, otherwise CPU time (the
          threads' schedstat, in ns) x the nominal clock from
          /proc/cpuinfo, which is an estimate and says so.  No tracer is
          attached in this run.
  copies  bytes copied per message on each node by memcpy/memmove/mempcpy,
          and heap allocations per message (tests/bench/copycount.c,
          preloaded only in this run: the node itself counts nothing),
          with the call sites that copy and allocate most.
  perf    `perf record` on all three nodes (top symbols per node).
  strace  `strace -c` (syscalls per message per node).
  idle    what an idle responder node (echoer, bench_sink, a secure
          channel listener, tcp) is made of: Rss, Pss and anonymous
          pages per mapping, from /proc/<pid>/smaps.
A part whose tool is missing is skipped with a line saying so.
"""
import argparse
import bisect
import glob
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ("cost", "copies", "perf", "strace", "idle")


def one_run(run, args, attach, before=None):
    """One bench run through the secure two hops.  `before(pids)` runs once
    the responder and middle are up, before the initiator starts;
    `attach(pids)` once the initiator has warmed up, and returns tools
    to stop with SIGINT at the end.  Returns (bench figures, pids, ns),
    `ns` the CPU time of each node (cpu_ns, cpu_ticks) read just before
    it stops."""
    with rb.Ockam(run, True) as sut:
        pids = {"middle": sut.middle.pid, "responder": sut.responder.pid}
        if before:
            before(pids)
        yaml = sut.initiator_yaml(args.mode, args.size,
                                  args.window or rb.window_for(args.size))
        yaml = yaml.replace(f"duration: {run.dur}ms", f"duration: {int(args.secs * 1000)}ms")
        p = run.node(yaml, "initiator")
        pids["initiator"] = p.pid
        time.sleep(0.3)  # warm-up and handshake
        tools = attach(pids) if attach else []
        line = run.wait_line(p, timeout=args.secs + 30)[0]
        for t in tools:
            t.send_signal(2)
            t.wait(30)
        ns = {name: (cpu_ns(pid), cpu_ticks(pid)) for name, pid in pids.items()}
        run.stop(p)
        return rb.parse_bench(line), pids, ns


def cpu_ns(pid):
    """CPU time of all the process's threads, in ns (schedstat's first
    field: time spent running, user and kernel)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def cpu_ticks(pid):
    """(user, system) clock ticks of all the process's threads."""
    u = k = 0
    for path in glob.glob(f"/proc/{pid}/task/*/stat"):
        try:
            with open(path) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            u += int(fields[11])
            k += int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return u, k


def nominal_mhz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1])
    except OSError:
        pass
    return None


def perf_cycles_supported():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "stat", "-x", ",", "-e", "cycles", "true"],
                       capture_output=True, text=True)
    return r.returncode == 0 and "<not supported>" not in r.stderr and \
        re.search(r"^\d+,", r.stderr, re.M) is not None


def part_cost(run, args):
    """Cycles per message per node (see the module comment)."""
    counted = perf_cycles_supported()
    mhz = nominal_mhz()
    start, outs, perfs = {}, {}, []

    def before(pids):
        for name, pid in pids.items():
            start[name] = (cpu_ns(pid), cpu_ticks(pid))

    def attach(pids):
        start["initiator"] = (0, (0, 0))  # from its start: handshake included (~ms)
        if not counted:
            return []
        for name, pid in pids.items():
            outs[name] = os.path.join(run.tmp, f"perfstat-{name}.csv")
            perfs.append(subprocess.Popen(
                ["perf", "stat", "-x", ",", "-e", "cycles,instructions", "-p", str(pid),
                 "-o", outs[name]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return perfs

    m, pids, ns = one_run(run, args, attach, before)
    n = m.get("n", 0) or 1
    what = "echo (request and reply)" if args.mode == "echo" else "message"
    if counted:
        method = "perf stat -e cycles (hardware counter; from 0.3 s after the initiator started)"
    elif mhz:
        method = (f"estimated: CPU time (schedstat, all threads) x {mhz:.0f} MHz nominal "
                  f"(/proc/cpuinfo); this CPU exposes no cycle counter to perf")
    else:
        method = "CPU time only (no cycle counter, no nominal clock known)"
    print(f"## cost: {args.mode} {args.size} B, {int(n)} per run: {m}\n")
    print(f"Cycles per {what}, {method}.\n")
    print(f"| node | CPU ms | user share | cycles per {what} | of which user space | instructions per {what} |")
    print("|---|---|---|---|---|---|")
    total = total_user = 0.0
    for name in ("initiator", "middle", "responder"):
        d = ns[name][0] - start[name][0]
        du = ns[name][1][0] - start[name][1][0]
        dk = ns[name][1][1] - start[name][1][1]
        share = du / (du + dk) if du + dk else 0.0
        cyc, ins = None, None
        if counted and name in outs:
            with open(outs[name]) as f:
                for line in f:
                    parts = line.split(",")
                    if len(parts) > 2 and parts[0].isdigit():
                        if parts[2].startswith("cycles"):
                            cyc = int(parts[0]) / n
                        elif parts[2].startswith("instructions"):
                            ins = int(parts[0]) / n
        elif mhz:
            cyc = d / 1000.0 * mhz / n
        total += cyc or 0
        total_user += (cyc or 0) * share
        print(f"| {name} | {d / 1e6:.0f} | {share:.0%} | " +
              (f"{cyc:.0f} | {cyc * share:.0f} |" if cyc is not None else "n/a | n/a |") +
              (f" {ins:.0f} |" if ins is not None else " n/a |"))
    print(f"| all three | | | {total:.0f} | {total_user:.0f} | |\n")
    print("User share: utime / (utime + stime) of the same interval, in 10 ms ticks.\n")
    return m


def copycount_lib(run):
    """Build tests/bench/copycount.c for this run (any build: old trees
    have no target for it)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    out = os.path.join(run.tmp, "copycount.so")
    r = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", out,
                        os.path.join(HERE, "copycount.c"), "-ldl"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"copies: cannot build copycount.so: {r.stderr.strip()}", file=sys.stderr)
        return None
    return out


_symtabs = {}


def symbolize(obj, off):
    """The function holding file offset `off` of `obj` (from nm, static
    functions included when the object is not stripped)."""
    if obj not in _symtabs:
        syms = []
        for flags in (["-n", "--defined-only"], ["-n", "-D", "--defined-only"]):
            try:
                out = subprocess.run(["nm"] + flags + [obj], capture_output=True,
                                     text=True).stdout
            except OSError:
                break
            for line in out.splitlines():
                f = line.split()
                if len(f) >= 3 and f[1] in "tTwWiI":
                    syms.append((int(f[0], 16), f[2]))
            if syms:
                break
        syms.sort()
        _symtabs[obj] = ([a for a, _ in syms], [s for _, s in syms])
    addrs, names = _symtabs[obj]
    i = bisect.bisect_right(addrs, off) - 1
    base = os.path.basename(obj)
    return f"{base}:{names[i]}" if i >= 0 else f"{base}+{off:#x}"


def part_copies(run, args):
    lib = copycount_lib(run)
    if not lib:
        print("## copies: skipped (no C compiler to build tests/bench/copycount.c)\n")
        return
    prefix = os.path.join(run.tmp, "copies")
    saved = dict(run.env)
    run.env.update(LD_PRELOAD=lib, COPYCOUNT_OUT=prefix)
    try:
        # The nodes write their counts as they exit: the initiator in
        # one_run, the responder and middle when the `with` ends.
        m, pids, _ = one_run(run, args, None)
    finally:
        run.env.clear()
        run.env.update(saved)
    n = m.get("n", 0) or 1
    what = "echo (request and reply)" if args.mode == "echo" else "message"
    print(f"## copies: {args.mode} {args.size} B, {int(n)} per run: {m}\n")
    print(f"Bytes copied per {what} by memcpy/memmove/mempcpy calls (through the PLT: "
          "inlined struct copies and the kernel's read/write copies are not seen), "
          "start-up included (a few KB per node, spread over the run).\n")
    print(f"| node | copy calls per {what} | bytes copied per {what} | payload sizes ({args.size} B) per {what} | top copy sites (bytes per {what}) | allocations per {what} | top allocation sites (calls per {what}) |")
    print("|---|---|---|---|---|---|---|")
    for name in ("initiator", "middle", "responder"):
        path = f"{prefix}.{pids[name]}"
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            print(f"| {name} | n/a | n/a | n/a | no count written | n/a | |")
            continue
        calls = nbytes = allocs = 0
        sites = {"site": [], "asite": []}
        for line in lines:
            f = line.split()
            if f[0] == "total":
                calls, nbytes = int(f[1]), int(f[2])
            elif f[0] == "allocs":
                allocs = int(f[1])
            elif f[0] in sites and len(f) == 5:
                sites[f[0]].append((int(f[4]), int(f[3]), f[1], int(f[2], 16)))

        def top(kind, by):
            merged = {}
            for b, c, obj, off in sites[kind]:
                key = symbolize(obj, off) if obj != "?" else f"?{off:#x}"
                mb, mc = merged.get(key, (0, 0))
                merged[key] = (mb + b, mc + c)
            best = sorted(merged.items(), key=lambda kv: -kv[1][by])[:5]
            fmt = "{:.0f}" if by == 0 else "{:.3f}"
            return ", ".join(f"{k} " + fmt.format(v[by] / n) for k, v in best
                             if v[by] / n >= (1 if by == 0 else 0.001))
        print(f"| {name} | {calls / n:.1f} | {nbytes / n:.0f} | {nbytes / n / max(args.size, 1):.2f} "
              f"| {top('site', 0)} | {allocs / n:.3f} | {top('asite', 1)} |")
    print("\nAllocations: malloc, calloc, realloc and the aligned forms, counted the same way "
          "(start-up included: a few hundred per node).\n")


def part_perf(run, args):
    if not shutil.which("perf"):
        print("## perf: skipped (no perf)\n")
        return
    data = {}

    def perf(pids):
        ts = []
        for name, pid in pids.items():
            data[name] = os.path.join(run.tmp, f"perf-{name}.data")
            ts.append(subprocess.Popen(["perf", "record", "-q", "-F", "2000", "-g", "-p", str(pid),
                                        "-o", data[name]], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL))
        return ts
    m, _, _ = one_run(run, args, perf)
    print(f"## perf: {args.mode} {args.size} B through a secure channel over two hops: {m}\n")
    for name, path in data.items():
        out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--stdio",
                              "--sort", "dso,symbol", "-g", "none", "--percent-limit", "1.5"],
                             capture_output=True, text=True).stdout
        rows = [l for l in out.splitlines() if re.match(r"\s+[0-9.]+%", l)]
        print(f"### {name}\n```\n" + "\n".join(rows[:18]) + "\n```\n")


def part_strace(run, args):
    if not shutil.which("strace"):
        print("## strace: skipped (no strace)\n")
        return
    logs = {}

    def strace(pids):
        ts = []
        for name, pid in pids.items():
            logs[name] = os.path.join(run.tmp, f"strace-{name}.txt")
            ts.append(subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", logs[name]],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return ts
    m, _, _ = one_run(run, args, strace)
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
    print()


def smaps_summary(pid):
    """{mapping: [rss, pss, anon]} in KiB; files by base name, anonymous
    mappings and the stack together."""
    out, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = head[5] if len(head) > 5 else ""
                if name.startswith("/"):
                    name = os.path.basename(name)
                elif name not in ("[heap]",):
                    name = "anonymous mappings, stack, vdso"
                cur = out.setdefault(name, [0, 0, 0])
            elif cur is not None and head[0] in ("Rss:", "Pss:", "Anonymous:"):
                cur[("Rss:", "Pss:", "Anonymous:").index(head[0])] += int(head[1])
    return out


def part_idle(run, args):
    port = rb.free_port()
    p = run.node(rb.responder_yaml(port, True), "idle-responder")
    try:
        rb.wait_port(port, p)
        time.sleep(0.5)
        vm = rb.rss_kib(p.pid)
        anon = rb.rss_kib(p.pid, "RssAnon:")
        maps = smaps_summary(p.pid)
    finally:
        run.stop(p)
    print(f"## idle responder node: VmRSS {vm} KiB, RssAnon {anon} KiB\n")
    print("| mapping | Rss KiB | Pss KiB | Anonymous KiB |")
    print("|---|---|---|---|")
    tot = [0, 0, 0]
    for name, v in sorted(maps.items(), key=lambda kv: -kv[1][0]):
        if v[0] == 0:
            continue
        tot = [a + b for a, b in zip(tot, v)]
        print(f"| {name} | {v[0]} | {v[1]} | {v[2]} |")
    print(f"| total | {tot[0]} | {tot[1]} | {tot[2]} |\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--mode", default="oneway")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--secs", type=float, default=3)
    ap.add_argument("--window", type=int, default=0,
                    help="messages in flight (default: as scripts/bench; 1 for one at a time)")
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma-separated parts: " + ",".join(PARTS))
    args = ap.parse_args()
    parts = [p for p in args.only.split(",") if p]
    for p in parts:
        if p not in PARTS:
            ap.error(f"unknown part '{p}' (parts: {', '.join(PARTS)})")
    run = rb.Run(os.path.abspath(args.build), False)
    run.dur = int(args.secs * 1000)
    try:
        for p in parts:
            {"cost": part_cost, "copies": part_copies, "perf": part_perf,
             "strace": part_strace, "idle": part_idle}[p](run, args)
    finally:
        run.stop_all()


if __name__ == "__main__":
    main()
