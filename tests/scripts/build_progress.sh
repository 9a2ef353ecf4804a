#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# scripts/build (what scripts/demo builds with) shows progress instead of
# being silent: on a first build "configuring", "building" and one
# "[n/m] ..." line per step, then "done", all on stderr; on a second run
# with nothing to do, nothing; a compile error is shown with a non-zero
# exit.  Run on a three-file meson project in a temp dir, so it takes
# seconds, not the minute the real tree does.
#
# usage: build_progress.sh SOURCE_ROOT
set -eu

src=$1
command -v meson >/dev/null 2>&1 || { echo "SKIP: meson not found"; exit 77; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ockam-build-progress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
proj=$tmp/proj
mkdir "$proj"
cat >"$proj/meson.build" <<'M'
project('progress', 'c')
executable('p', 'a.c', 'b.c', 'c.c')
M
printf 'int b(void);\nint c(void);\nint main(void) { return b() + c(); }\n' >"$proj/a.c"
printf 'int b(void) { return 0; }\n' >"$proj/b.c"
printf 'int c(void) { return 0; }\n' >"$proj/c.c"

"$src/scripts/build" "$tmp/build" "$proj" >"$tmp/out" 2>"$tmp/err" ||
	{ cat "$tmp/err" >&2; fail "first build failed"; }
[ ! -s "$tmp/out" ] || fail "stdout is not empty: $(cat "$tmp/out")"
grep -q "^build: configuring $tmp/build (first run)\$" "$tmp/err" ||
	fail "no 'configuring' line: $(cat "$tmp/err")"
grep -q "^build: building in $tmp/build\$" "$tmp/err" ||
	fail "no 'building' line: $(cat "$tmp/err")"
steps=$(grep -c '^\[[0-9]*/[0-9]*\] ' "$tmp/err" || true)
[ "$steps" -ge 4 ] || fail "$steps progress lines, expected one per step: $(cat "$tmp/err")"
grep -q '^\[\([0-9]*\)/\1\] ' "$tmp/err" || fail "no last step [m/m]: $(cat "$tmp/err")"
[ "$(tail -n 1 "$tmp/err")" = "build: done" ] || fail "last line is not 'build: done'"

# Nothing to do: nothing said.
"$src/scripts/build" "$tmp/build" "$proj" >"$tmp/out" 2>"$tmp/err" ||
	fail "second build failed"
[ ! -s "$tmp/err" ] || fail "up to date, yet: $(cat "$tmp/err")"

# A compile error: shown, exit non-zero.
printf 'int c(void) { return undeclared_thing; }\n' >"$proj/c.c"
if "$src/scripts/build" "$tmp/build" "$proj" >"$tmp/out" 2>"$tmp/err"; then
	fail "a broken build exited 0"
fi
grep -q "undeclared_thing" "$tmp/err" || fail "the compiler's error is not shown: $(cat "$tmp/err")"
grep -q "^build: failed" "$tmp/err" || fail "no 'build: failed' line"
echo "ok"
