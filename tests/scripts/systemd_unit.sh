#!/usr/bin/env bash
# The systemd unit (configs/ockam-host.service.in, as meson generated it):
#   verify  - it has ExecReload=, and `systemd-analyze verify` accepts it
#             (with ExecStart pointing at this build's ockam-host);
#             skipped (77) without systemd-analyze.
#   reload  - under a running systemd user manager: the unit (sandboxing
#             that needs root dropped) starts a node, `systemctl --user
#             reload` makes it re-read its YAML, and a worker added to the
#             file answers a ping; skipped (77) without a running manager.
# Usage: systemd_unit.sh verify|reload BUILD_DIR HOST_BINARY
set -euo pipefail
mode=$1 build=$2 host=$3
unit_in="$build/ockam-host.service"
[ -f "$unit_in" ] || { echo "no $unit_in (meson -Dsystemdsystemunitdir=no?)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ockam-systemd-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit_in" ||
  { echo "FAIL: $unit_in has no ExecReload=/bin/kill -HUP \$MAINPID"; exit 1; }

case "$mode" in
verify)
  command -v systemd-analyze >/dev/null ||
    { echo "skipped: no systemd-analyze"; exit 77; }
  sed "s|^ExecStart=.*ockam-host |ExecStart=$host |" "$unit_in" > "$tmp/ockam-host.service"
  if ! out=$(systemd-analyze verify --man=no "$tmp/ockam-host.service" 2>&1); then
    echo "FAIL: systemd-analyze verify:"; echo "$out"; exit 1
  fi
  # verify prints warnings without failing: none is acceptable either.
  if [ -n "$out" ]; then echo "FAIL: systemd-analyze verify said:"; echo "$out"; exit 1; fi
  echo "ok: systemd-analyze verify accepts the unit"
  ;;
reload)
  if ! command -v systemctl >/dev/null || ! systemctl --user show-environment >/dev/null 2>&1; then
    echo "skipped: no running systemd user manager (systemctl --user)"; exit 77
  fi
  unit="ockam-host-test-$$.service"
  port=$((20000 + RANDOM % 20000))
  cat > "$tmp/node.yaml" <<YAML
node: unit-test
transports:
  tcp:
    listen: 127.0.0.1:$port
workers:
  echoer:
    type: echoer
YAML
  # A user manager cannot apply DynamicUser=, capabilities and most
  # Protect*= settings: keep the [Service] lines that matter here.
  {
    echo "[Service]"
    grep -E '^(Type|ExecReload|KillSignal|TimeoutStopSec)=' "$unit_in"
    echo "ExecStart=$host $tmp/node.yaml"
  } > "$tmp/$unit"
  mkdir -p "$HOME/.config/systemd/user"
  cp "$tmp/$unit" "$HOME/.config/systemd/user/$unit"
  cleanup() {
    systemctl --user stop "$unit" >/dev/null 2>&1 || true
    rm -f "$HOME/.config/systemd/user/$unit"
    systemctl --user daemon-reload >/dev/null 2>&1 || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  systemctl --user daemon-reload
  systemctl --user start "$unit"
  for _ in $(seq 50); do "$host" ping -c 1 -W 200ms "tcp:127.0.0.1:$port,echoer" >/dev/null 2>&1 && break; sleep 0.1; done
  "$host" ping -c 1 "tcp:127.0.0.1:$port,echoer" >/dev/null
  if "$host" ping -c 1 -W 500ms "tcp:127.0.0.1:$port,e2" >/dev/null 2>&1; then
    echo "FAIL: e2 answered before the reload"; exit 1
  fi
  printf '  e2:\n    type: echoer\n' >> "$tmp/node.yaml"
  systemctl --user reload "$unit"
  for _ in $(seq 50); do "$host" ping -c 1 -W 200ms "tcp:127.0.0.1:$port,e2" >/dev/null 2>&1 && break; sleep 0.1; done
  "$host" ping -c 1 "tcp:127.0.0.1:$port,e2" >/dev/null ||
    { echo "FAIL: e2 added by systemctl reload does not answer"; exit 1; }
  [ "$(systemctl --user show -p MainPID --value "$unit")" != 0 ] ||
    { echo "FAIL: the node is not running after the reload"; exit 1; }
  echo "ok: systemctl --user reload added a worker"
  ;;
*) echo "usage: $0 verify|reload BUILD HOST"; exit 2 ;;
esac
