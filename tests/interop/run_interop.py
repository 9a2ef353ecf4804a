#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Run noise-peer (our C Noise library) against dissononce_peer.py (Debian's
python3-dissononce) in both roles over loopback TCP and check that the two
sides agree: same handshake hash, each remote static equals the other's
local static, every transport message echoed intact.  Also checks that a
suite mismatch makes both sides fail promptly instead of hanging.

usage: run_interop.py --noise-peer PATH --dissononce-peer PATH
"""
import argparse
import os
import select
import subprocess
import sys
import time

SUITES = [
    "Noise_XX_25519_ChaChaPoly_BLAKE2b",
    "Noise_XX_25519_ChaChaPoly_SHA256",
    "Noise_XX_25519_AESGCM_SHA256",
]
COUNT = 3
PAYLOAD = "interop check: \u00e9t\u00e9 caf\u00e9 42"
DEADLINE = 20.0  # per run; the peers time out on their own after 10 s


class Failure(Exception):
    pass


def kill(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def read_port(proc, deadline):
    """The listener prints listening=<port> (flushed) before accepting."""
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise Failure("listener did not print its port in time")
        ch = os.read(proc.stdout.fileno(), 1)
        if not ch:
            raise Failure("listener exited before listening: %s"
                          % proc.stderr.read().decode(errors="replace").strip())
        line += ch
    text = line.decode().strip()
    if not text.startswith("listening="):
        raise Failure("unexpected first line from listener: %r" % text)
    return int(text.split("=", 1)[1])


def parse(out):
    fields = {}
    for line in out.decode(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key] = value
    return fields


def run_pair(resp_cmd, init_cmd, resp_suite, init_suite):
    """Start the responder (listening), then the initiator; return
    (responder rc, fields, stderr), (initiator rc, fields, stderr)."""
    deadline = time.monotonic() + DEADLINE
    common = ["--count", str(COUNT), "--payload", PAYLOAD]
    resp = subprocess.Popen(resp_cmd + ["--role", "responder", "--suite", resp_suite,
                                        "--listen", "127.0.0.1:0"] + common,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    init = None
    try:
        port = read_port(resp, deadline)
        init = subprocess.Popen(init_cmd + ["--role", "initiator", "--suite", init_suite,
                                            "--connect", "127.0.0.1:%d" % port] + common,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        results = []
        for proc in (init, resp):
            try:
                out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise Failure("a peer hung past %.0f s" % DEADLINE)
            results.append((proc.returncode, parse(out), err.decode(errors="replace").strip()))
        return results[1], results[0]
    finally:
        for proc in (init, resp):
            if proc is not None:
                kill(proc)
                for stream in (proc.stdout, proc.stderr):
                    if stream:
                        stream.close()


def check_agreement(resp, init):
    for name, (rc, fields, err) in (("responder", resp), ("initiator", init)):
        if rc != 0:
            raise Failure("%s exited %d: %s" % (name, rc, err))
        for key in ("handshake_hash", "local_static", "remote_static", "echoed"):
            if key not in fields:
                raise Failure("%s printed no %s" % (name, key))
    r, i = resp[1], init[1]
    if r["handshake_hash"] != i["handshake_hash"]:
        raise Failure("handshake hashes differ: %s vs %s"
                      % (r["handshake_hash"], i["handshake_hash"]))
    if r["remote_static"] != i["local_static"]:
        raise Failure("responder saw static %s, initiator has %s"
                      % (r["remote_static"], i["local_static"]))
    if i["remote_static"] != r["local_static"]:
        raise Failure("initiator saw static %s, responder has %s"
                      % (i["remote_static"], r["local_static"]))
    if r["echoed"] != str(COUNT) or i["echoed"] != str(COUNT):
        raise Failure("echo count: responder %s, initiator %s, want %d"
                      % (r["echoed"], i["echoed"], COUNT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--noise-peer", required=True)
    parser.add_argument("--dissononce-peer", required=True)
    args = parser.parse_args()
    ours = [args.noise_peer]
    theirs = [sys.executable if sys.executable else "/usr/bin/python3",
              args.dissononce_peer]
    impls = {"noise-peer": ours, "dissononce": theirs}

    failures = 0
    cases = []
    for suite in SUITES:
        cases.append((suite, "noise-peer", "dissononce"))
        cases.append((suite, "dissononce", "noise-peer"))
    for suite, resp_name, init_name in cases:
        label = "%s: responder %s, initiator %s" % (suite, resp_name, init_name)
        try:
            resp, init = run_pair(impls[resp_name], impls[init_name], suite, suite)
            check_agreement(resp, init)
            print("PASS %s (h=%s...)" % (label, resp[1]["handshake_hash"][:16]))
        except Failure as exc:
            failures += 1
            print("FAIL %s: %s" % (label, exc))

    # Mismatched hash functions: both sides must fail, promptly.
    for resp_name, init_name in (("noise-peer", "dissononce"), ("dissononce", "noise-peer")):
        label = "mismatch: responder %s (BLAKE2b), initiator %s (SHA256)" % (resp_name, init_name)
        try:
            resp, init = run_pair(impls[resp_name], impls[init_name],
                                  "Noise_XX_25519_ChaChaPoly_BLAKE2b",
                                  "Noise_XX_25519_ChaChaPoly_SHA256")
            if resp[0] == 0 or init[0] == 0:
                raise Failure("a side succeeded: responder rc %d, initiator rc %d"
                              % (resp[0], init[0]))
            print("PASS %s (initiator: %s)" % (label, init[2]))
        except Failure as exc:
            failures += 1
            print("FAIL %s: %s" % (label, exc))

    print("%d of %d interop checks failed" % (failures, len(cases) + 2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
