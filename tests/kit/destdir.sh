# SPDX-License-Identifier: Apache-2.0
#
# Sourced by the kit tests (install_unit.sh, out_of_tree.sh), which check
# what `meson install` puts where: fail(), and install_destdir, which
# installs the build tree "$build" into a fresh temp DESTDIR.

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# install_destdir NAME: make the temp dir $tmp ("$TMPDIR/NAME.XXXXXX",
# removed on exit), and `meson install` into $dest ($tmp/dest); fail with
# meson's output if that fails.  --no-rebuild: meson test has built
# everything already.
install_destdir() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT INT TERM
	dest=$tmp/dest
	meson install -C "$build" --no-rebuild --quiet --destdir "$dest" \
		>"$tmp/install.log" 2>&1 || {
		cat "$tmp/install.log" >&2
		fail "meson install --destdir failed"
	}
}
