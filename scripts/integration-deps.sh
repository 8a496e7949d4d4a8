#!/usr/bin/env bash
# Installs what the integration tests need (docs/monitoring.md, docs/integrations.md), only when something is
# missing: Prometheus and promtool (Debian `prometheus`) for the metrics test, netplan (Debian `netplan.io`)
# to validate the netplan export. Idempotent: a second run prints one line and changes nothing.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have prometheus || need+=(prometheus)
have promtool || need+=(prometheus)
have netplan || need+=(netplan.io)
if [ ${#need[@]} -eq 0 ]; then
  echo "integration-deps: all present (prometheus, promtool, netplan)" >&2
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "integration-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "integration-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "integration-deps: installed ${need[*]}" >&2
