#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""docs/configuration.md's plugin option tables are generated from the
plugins' declared options (`ockam-host --options-doc TYPE`).  Each block

    <!-- options: TYPE (generated ...) -->
    ...
    <!-- end options: TYPE -->

must be exactly what the host prints for TYPE; this fails with a diff when
one drifted, and rewrites them with --update (meson compile options-doc).

usage: options_doc.py OCKAM_HOST CONFIGURATION_MD [--update]
"""
import difflib
import re
import subprocess
import sys

# Every bundled plugin must have its block: a document that lost one
# would otherwise pass.
BUNDLED = ["tcp", "hop", "echoer", "secure_channel"]

BLOCK = re.compile(r"^<!-- options: (\S+) .*?^<!-- end options: \1 -->\n",
                   re.S | re.M)


def generated(host, name):
    out = subprocess.run([host, "--options-doc", name], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        sys.exit(f"{host} --options-doc {name} failed: {out.stderr}")
    return out.stdout


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and
                                       sys.argv[3] != "--update"):
        sys.exit(__doc__)
    host, doc = sys.argv[1], sys.argv[2]
    update = len(sys.argv) == 4
    text = open(doc, encoding="utf-8").read()
    found = [m.group(1) for m in BLOCK.finditer(text)]
    missing = [n for n in BUNDLED if n not in found]
    if missing:
        sys.exit(f"{doc}: no generated option table for {', '.join(missing)}"
                 " (add '<!-- options: TYPE -->' ... '<!-- end options:"
                 " TYPE -->' and run with --update)")
    drift = 0

    def replace(m):
        nonlocal drift
        want = generated(host, m.group(1))
        if m.group(0) != want:
            drift += 1
            if not update:
                sys.stdout.writelines(difflib.unified_diff(
                    m.group(0).splitlines(True), want.splitlines(True),
                    f"{doc} ({m.group(1)})",
                    f"ockam-host --options-doc {m.group(1)}"))
        return want

    new = BLOCK.sub(replace, text)
    if update:
        if new != text:
            open(doc, "w", encoding="utf-8").write(new)
        print(f"{doc}: {drift} table(s) rewritten")
        return 0
    if drift:
        print(f"\n{doc}: {drift} option table(s) differ from the plugins'"
              " declarations; run `meson compile -C build options-doc`")
        return 1
    print(f"{doc}: {len(found)} option tables match the declarations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
