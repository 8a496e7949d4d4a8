#!/usr/bin/env bash
# The Python environment for Pulumi Python programs (examples/persona-python and its lab test): a virtualenv
# with the Pulumi Python SDK `pulumi` from PyPI at the engine's version (the @pulumi/pulumi we pin, v3.259.0)
# and the generated SDK sdk/python (pulumi_netpersona), cached in ~/.cache/netpersona/python-pulumi-<version>/venv.
# Reinstalled only when sdk/python, the version or the Python interpreter changes; a second run prints one line.
# Run by `make pulumi` (so `make test`); NETPERSONA_SKIP_PYTHON=1 skips it (the Python lab test then fails,
# saying so). Prints the virtualenv's folder as its last line; activate it (PATH=<venv>/bin:$PATH) so that
# the Python language host runs the program with its python3.
#   scripts/python-deps.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'python-deps: %s\n' "$*" >&2; }
version=$(node -p 'require(process.argv[1]).version' "$here/node_modules/@pulumi/pulumi/package.json" 2>/dev/null || true)
if [ -z "$version" ]; then
  log "node_modules/@pulumi/pulumi is missing: run 'npm ci' first (make deps does)"
  exit 1
fi
venv="${NETPERSONA_CACHE:-$HOME/.cache/netpersona}/python-pulumi-$version/venv"
if [ "${NETPERSONA_SKIP_PYTHON:-}" = 1 ]; then
  log "skipped (NETPERSONA_SKIP_PYTHON=1)"
  echo "$venv"
  exit 0
fi
python=${NETPERSONA_PYTHON:-python3}
command -v "$python" >/dev/null || { log "no $python on PATH: install Python >= 3.9 (apt-get install python3 python3-venv)"; exit 1; }
sdk_hash=$(cd "$here/sdk/python" && find . -type f ! -name '*.pyc' ! -path '*/build/*' ! -path '*.egg-info*' -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
stamp="pulumi==$version $("$python" -c 'import sys; print(sys.version.split()[0])') sdk=$sdk_hash"
if [ -x "$venv/bin/python3" ] && [ "$(cat "$venv/.netpersona-stamp" 2>/dev/null)" = "$stamp" ]; then
  log "cached: $venv (pulumi $version, pulumi_netpersona from sdk/python)"
  echo "$venv"
  exit 0
fi
start=$(date +%s)
fresh=0
if ! [ -x "$venv/bin/python3" ] || ! "$venv/bin/python3" -c 'import sys' 2>/dev/null; then
  log "creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" || { log "'$python -m venv' failed: apt-get install python3-venv"; exit 1; }
  fresh=1
fi
pip=("$venv/bin/python3" -m pip --disable-pip-version-check --no-input -q)
log "installing pulumi==$version from PyPI and pulumi_netpersona from sdk/python"
# The SDK is copied first: pip builds a local folder in place (build/, *.egg-info), and sdk/python is
# committed, generated output.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -r "$here/sdk/python/." "$src/"
"${pip[@]}" install "pulumi==$version" "$src"
# An update: the regenerated SDK keeps its version, so pip would keep the old one.
[ "$fresh" = 1 ] || "${pip[@]}" install --force-reinstall --no-deps "$src"
"$venv/bin/python3" -c 'import pulumi, pulumi_netpersona' || { log "the installed SDKs do not import"; exit 1; }
echo "$stamp" >"$venv/.netpersona-stamp"
log "ready in $(( $(date +%s) - start )) s: $venv"
echo "$venv"
