#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Prove an installed ockam-host alone is enough to write a plugin: install
# into a DESTDIR, copy only the installed example (<datadir>/ockam/sdk/
# example: uppercase.c, its meson.build template and Makefile) out of it,
# build it with nothing but the installed headers (found through the
# installed ockam-plugin.pc), once with make and once with meson, and run
# each in a node that sends it a message: the make-built one in the
# installed host, the meson-built one in the build tree's host.
#
# usage: out_of_tree.sh BUILD_ROOT SOURCE_ROOT PREFIX LIBDIR BINDIR DATADIR
#   LIBDIR, BINDIR and DATADIR are absolute (prefix already applied).
set -eu

build=$1 src=$2 prefix=$3 libdir=$4 bindir=$5 datadir=$6

# fail(), install_destdir
. "$(dirname "$0")/destdir.sh"

for tool in meson make pkg-config cc; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "SKIP: $tool not found"
		exit 77
	}
done

# 1. Install.
install_destdir ockam-kit
host=$dest$bindir/ockam-host
pcdir=$dest$libdir/pkgconfig
[ -x "$host" ] || fail "no ockam-host at $host"
[ -f "$pcdir/ockam-plugin.pc" ] || fail "no ockam-plugin.pc in $pcdir"
# Every shipped config (meson has no glob: install_data lists them by hand,
# and this catches one added to configs/ but not to that list).
for f in "$src"/configs/*; do
	case $f in *.in) continue ;; esac # generated (the systemd unit): install_unit.sh
	[ -f "$dest$datadir/ockam/configs/${f##*/}" ] ||
		fail "configs/${f##*/} is not installed in $datadir/ockam/configs: add it to install_data in meson.build"
done
[ -f "$dest$prefix/include/ockam/ockam.h" ] ||
	fail "headers not installed in $prefix/include/ockam"

# 2. Build out of tree: copies of the installed example folder (nothing
# from the source tree), and pkg-config that sees only the installed .pc
# file, rooted in DESTDIR.
example=$dest$datadir/ockam/sdk/example
for f in uppercase.c meson.build Makefile uppercase.yaml; do
	[ -f "$example/$f" ] || fail "no $f in the installed example $datadir/ockam/sdk/example"
done
cp -R "$example" "$tmp/uppercase"
cp -R "$example" "$tmp/example"
PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
cflags=$(echo $(pkg-config --cflags ockam-plugin)) # trims the trailing space
[ "$cflags" = "-I$dest$prefix/include" ] ||
	fail "pkg-config --cflags ockam-plugin gave '$cflags', want '-I$dest$prefix/include'"
plugindir=$(pkg-config --variable=plugindir ockam-plugin)
case $plugindir in
*"$libdir/ockam/plugins") ;;
*) fail "plugindir is '$plugindir', want it to end in $libdir/ockam/plugins" ;;
esac
make -s -C "$tmp/uppercase" >"$tmp/make.log" 2>&1 || {
	cat "$tmp/make.log" >&2
	fail "out-of-tree make failed"
}
[ -f "$tmp/uppercase/uppercase.so" ] || fail "make did not produce uppercase.so"
# The installed meson.build template: setup, compile, and install into a
# second DESTDIR, which must land in the .pc's plugindir.
(cd "$tmp/example" && meson setup build && meson compile -C build &&
	meson install -C build --no-rebuild --destdir "$tmp/plugin-dest") \
	>"$tmp/meson.log" 2>&1 || {
	cat "$tmp/meson.log" >&2
	fail "out-of-tree meson build of the installed example failed"
}
[ -f "$tmp/example/build/uppercase.so" ] ||
	fail "the meson.build template did not produce build/uppercase.so"
grep -q -- "-I$dest$prefix/include" "$tmp/example/build/compile_commands.json" ||
	fail "the meson.build template did not compile against the installed headers"
installed=$(find "$tmp/plugin-dest" -name '*.so')
case $installed in
*"$libdir/ockam/plugins/uppercase.so") ;;
*) fail "meson install of the template put '$installed', want ...$libdir/ockam/plugins/uppercase.so" ;;
esac
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# 3. Run the installed host.  Its compiled-in plugin dir does not point
# into DESTDIR, so the bundled plugins come through OCKAM_PLUGIN_PATH.
OCKAM_PLUGIN_PATH=$dest$libdir/ockam/plugins
export OCKAM_PLUGIN_PATH
mkdir "$tmp/node"
cat >"$tmp/node/node.yaml" <<YAML
node: kit
log_level: info
plugin_dir: $tmp/uppercase
workers:
  shout:
    type: uppercase
    options:
      prefix: "uppercase says: "
      report_every: 10s
  echoer:
    type: echoer
messages:
  - route: [shout]
    payload: Hello Ockam!
  - route: [echoer]
    payload: bundled plugins load too
YAML
rc=0
timeout 30 "$host" "$tmp/node/node.yaml" >"$tmp/out" 2>"$tmp/err" || rc=$?
want='App Received: uppercase says: HELLO OCKAM!
App Received: bundled plugins load too'
if [ "$rc" != 0 ] || [ "$(cat "$tmp/out")" != "$want" ]; then
	echo "--- stdout:" >&2
	cat "$tmp/out" >&2
	echo "--- stderr:" >&2
	cat "$tmp/err" >&2
	fail "installed host with out-of-tree plugin: exit $rc, want 0 and: $want"
fi
# The SDK helpers it calls (OCKAM_HOST_HAS, timer_add_periodic at start,
# log_limited_flush at stop) are in the installed host.
grep -q " kit shout: answered 1 message(s) in all\$" "$tmp/err" || {
	cat "$tmp/err" >&2
	fail "uppercase's stop line 'answered 1 message(s) in all' is missing"
}

# 4. The plugin's option checking reaches the user as file:line:col.
cat >"$tmp/node/typo.yaml" <<YAML
node: kit
plugin_dir: $tmp/uppercase
workers:
  shout:
    type: uppercase
    options:
      prefx: "x"
YAML
rc=0
timeout 30 "$host" "$tmp/node/typo.yaml" >"$tmp/out" 2>"$tmp/err" || rc=$?
want="$tmp/node/typo.yaml:7:7: unknown key 'prefx' in the options of 'shout' (did you mean 'prefix'?)"
if [ "$rc" != 2 ] || ! grep -qxF "$want" "$tmp/err"; then
	cat "$tmp/err" >&2
	fail "typo in options: exit $rc, want 2 and: $want"
fi

# 5. The meson-built plugin, in the build tree's host, found through
# OCKAM_PLUGIN_PATH (the bundled echoer comes from the build tree).
OCKAM_PLUGIN_PATH=$tmp/example/build
cat >"$tmp/node/meson.yaml" <<YAML
node: kit-meson
workers:
  shout:
    type: uppercase
    options:
      prefix: "meson-built: "
  echoer:
    type: echoer
messages:
  - route: [shout]
    payload: route me through it
  - route: [echoer]
    payload: still here
YAML
rc=0
timeout 30 "$build/host/ockam-host" "$tmp/node/meson.yaml" >"$tmp/out" 2>"$tmp/err" || rc=$?
want='App Received: meson-built: ROUTE ME THROUGH IT
App Received: still here'
if [ "$rc" != 0 ] || [ "$(cat "$tmp/out")" != "$want" ]; then
	echo "--- stdout:" >&2
	cat "$tmp/out" >&2
	echo "--- stderr:" >&2
	cat "$tmp/err" >&2
	fail "build-tree host with the meson-built example: exit $rc, want 0 and: $want"
fi
# And the installed example's own uppercase.yaml, as docs/plugins.md runs it.
rc=0
(cd "$tmp/example" && timeout 30 "$build/host/ockam-host" uppercase.yaml) \
	>"$tmp/out" 2>"$tmp/err" || rc=$?
want='App Received: uppercase says: HELLO OCKAM!'
if [ "$rc" != 0 ] || [ "$(cat "$tmp/out")" != "$want" ]; then
	cat "$tmp/out" "$tmp/err" >&2
	fail "OCKAM_PLUGIN_PATH=build ockam-host uppercase.yaml: exit $rc, want 0 and: $want"
fi
echo "ok: the installed example builds out of tree (make and meson) and loads"
