#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# `meson install` puts the systemd unit where systemd looks for units, with
# the configured bindir in ExecStart: the unit's directory is worked out
# here independently of meson.build (the systemdsystemunitdir option, else
# systemd.pc's variable, else <prefix>/lib/systemd/system) and checked in a
# DESTDIR, with the binary the unit names.
#
# usage: install_unit.sh BUILD_ROOT PREFIX BINDIR UNITDIR_OPTION
#   BINDIR is absolute (prefix applied); UNITDIR_OPTION may be empty.
set -eu

build=$1 prefix=$2 bindir=$3 option=$4

# fail(), install_destdir
. "$(dirname "$0")/destdir.sh"

if [ "$option" = no ]; then
	echo "SKIP: -Dsystemdsystemunitdir=no installs no unit"
	exit 77
fi
unitdir=$option
if [ -z "$unitdir" ] && command -v pkg-config >/dev/null 2>&1; then
	unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
fi
[ -n "$unitdir" ] || unitdir=$prefix/lib/systemd/system

install_destdir ockam-unit

unit=$dest$unitdir/ockam-host.service
[ -f "$unit" ] || fail "no unit at $unitdir/ockam-host.service; installed: $(cd "$dest" && find . -name 'ockam-host.service*')"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "$bindir/ockam-host /etc/ockam/node.yaml" ] ||
	fail "ExecStart=$exec_start, want $bindir/ockam-host /etc/ockam/node.yaml"
[ -x "$dest$bindir/ockam-host" ] || fail "the unit's $bindir/ockam-host is not installed"
grep -q '@BINDIR@' "$unit" && fail "the unit still has @BINDIR@"
# Only one copy, the one systemd reads (not also a data file).
copies=$(cd "$dest" && find . -name 'ockam-host.service*' | wc -l)
[ "$copies" -eq 1 ] || fail "$copies copies of the unit installed: $(cd "$dest" && find . -name 'ockam-host.service*')"
echo "ok: $unitdir/ockam-host.service, ExecStart=$exec_start"
