#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Prove a plugin built outside the tree loads: install ockam-host into a
# DESTDIR, build plugins/examples/uppercase from a copy of its folder with
# only the installed headers (found through the installed ockam-plugin.pc),
# and run the installed host on a node YAML that sends it a message.
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

# 2. Build out of tree: a copy of the example folder, and pkg-config that
# sees only the installed .pc file, rooted in DESTDIR.
mkdir "$tmp/uppercase"
cp "$src/plugins/examples/uppercase/uppercase.c" \
	"$src/plugins/examples/uppercase/Makefile" "$tmp/uppercase/"
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
echo "ok: out-of-tree uppercase.so loaded by the installed host"
