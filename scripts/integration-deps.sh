#!/usr/bin/env bash
# Installs what the integration tests need (docs/monitoring.md, docs/integrations.md), only when something is
# missing: Prometheus and promtool (Debian `prometheus`) for the metrics test, netplan (Debian `netplan.io`)
# to validate the netplan export, and nmstatectl (not packaged in Debian 12) built from crates.io with cargo
# into ~/.cache/netpersona/nmstatectl-<version>/bin, like scripts/pulumi.sh builds Pulumi (a few minutes, once;
# NETPERSONA_NO_NMSTATECTL=1 skips the build; the nmstate test then fails naming this script). Idempotent: a second run prints one line and changes nothing.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have prometheus || need+=(prometheus)
have promtool || need+=(prometheus)
have netplan || need+=(netplan.io)
nmstate_version=2.2.62
nmstate_bin="${NETPERSONA_CACHE:-$HOME/.cache/netpersona}/nmstatectl-$nmstate_version"
if [ ! -x "$nmstate_bin/bin/nmstatectl" ] && [ -z "${NETPERSONA_NO_NMSTATECTL:-}" ]; then
  if command -v cargo >/dev/null 2>&1; then
    echo "integration-deps: building nmstatectl $nmstate_version (gen_conf only) into $nmstate_bin" >&2
    cargo install --quiet --locked "nmstatectl@$nmstate_version" --no-default-features --features gen_conf \
      --root "$nmstate_bin" >&2
  else
    echo "integration-deps: no cargo: nmstatectl not built, the nmstate test will fail until it is (apt-get install cargo)" >&2
  fi
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "integration-deps: all present (prometheus, promtool, netplan, nmstatectl)" >&2
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
