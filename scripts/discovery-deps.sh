#!/usr/bin/env bash
# Installs the Debian packages discovery and its traffic generators need, only when something is missing:
# conntrack (every connection's whole life), PostgreSQL (server, pgbench, pg_isready), Redis (server,
# redis-cli, redis-benchmark) and MariaDB (server, client, mysqlslap) for database traffic, nginx for web,
# video and HTTP downloads, iperf3 and rsync for bulk, openssh-client for interactive sessions and scp,
# socat for a line-mode session, util-linux's setpriv to run servers as their own user, iproute2 for `ss`.
# Idempotent: a second run prints one line and changes nothing.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
pg_bin() { for d in /usr/lib/postgresql/*/bin; do [ -x "$d/$1" ] && return 0; done; return 1; }
pg_bin postgres || need+=(postgresql)
pg_bin pgbench || need+=(postgresql)
pg_bin pg_isready || need+=(postgresql-client)
have iperf3 || need+=(iperf3)
have conntrack || need+=(conntrack)
have redis-server || need+=(redis-server)
have redis-benchmark || need+=(redis-tools)
have mariadbd || need+=(mariadb-server)
have mariadb || need+=(mariadb-client)
have mysqlslap || need+=(mariadb-client)
have nginx || need+=(nginx-light)
have rsync || need+=(rsync)
have socat || need+=(socat)
have scp || need+=(openssh-client)
have ssh || need+=(openssh-client)
have setpriv || need+=(util-linux)
have ss || need+=(iproute2)
getent passwd postgres >/dev/null || need+=(postgresql)
getent passwd mysql >/dev/null || need+=(mariadb-server)
getent passwd redis >/dev/null || need+=(redis-server)
if [ ${#need[@]} -eq 0 ]; then
  echo "discovery-deps: all present (conntrack, postgresql, redis, mariadb, nginx, iperf3, rsync, socat, openssh-client, setpriv, ss)" >&2
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "discovery-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "discovery-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "discovery-deps: installed ${need[*]}" >&2
