#!/usr/bin/env bash
# Installs the Debian packages the lab, the agent and the tests need, only when something is missing.
# Idempotent: a second run prints one line and changes nothing.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have /usr/sbin/sshd || need+=(openssh-server)
have ssh || need+=(openssh-client)
have ip || need+=(iproute2)
have nft || need+=(nftables)
have iperf3 || need+=(iperf3)
have ping || need+=(iputils-ping)
have ss || need+=(iproute2)
if [ ${#need[@]} -eq 0 ]; then
  echo "system-deps: all present (openssh-server, iproute2, nftables, iperf3, iputils-ping)" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system-deps: installed ${need[*]}" >&2
