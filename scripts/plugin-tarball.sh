#!/usr/bin/env bash
# Makes the provider plugin's tarball for `pulumi plugin install resource netpersona <version> --file <tarball>`:
# the package as `npm pack` makes it, its production dependencies, and at the root the executable the engine
# starts, pulumi-resource-netpersona (a two-line script that runs node on the package's plugin entry).
# Needs node on the PATH where the plugin runs, as the dynamic provider does.
# Builds first, as `make pack` does (`make build`: `npm ci` when package-lock.json changed, then scripts/build.sh;
# about 20 s when node_modules is there): a fresh clone has no dist/, and a plugin packed without it fails in
# the engine with nothing more than "could not read plugin ... exit status 1". NETPERSONA_SKIP_BUILD=1 packs
# dist/ as it is, and refuses when the plugin's entry point is not there.
# About a minute on 2 cores (the build, `npm pack`, `npm install --omit=dev` from npm's cache); the tarball is
# about 23 MB, and each plugin version installed from it about 114 MB in ~/.pulumi/plugins.
#   scripts/plugin-tarball.sh [OUT_DIR]   prints the tarball's path (and nothing else) on stdout
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="${1:-$here/out}"
log() { printf 'plugin-tarball: %s\n' "$*" >&2; }
version=$(node -p 'require(process.argv[1]).version' "$here/package.json")
if [ "${NETPERSONA_SKIP_BUILD:-}" != 1 ]; then
  log "building (make build)"
  command -v make >/dev/null || { log "no make on PATH: apt-get install make, or build with 'npm ci && bash scripts/build.sh' and rerun with NETPERSONA_SKIP_BUILD=1"; exit 1; }
  make -C "$here" --no-print-directory build >&2
fi
for f in dist/provider/plugin/server.js dist/sdk/index.js dist/agent/netpersona-agent.js dist/agent/netpersona-supervisor.js; do
  if ! [ -f "$here/$f" ]; then
    log "$f is missing: the package is not built. Run 'make build' (or this script without NETPERSONA_SKIP_BUILD=1)"
    exit 1
  fi
done
log "packing pulumi-netpersona $version with its production dependencies"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
(cd "$here" && npm pack --ignore-scripts --silent --pack-destination "$stage" >/dev/null)
tar -xzf "$stage"/pulumi-netpersona-*.tgz -C "$stage"
rm -f "$stage"/pulumi-netpersona-*.tgz
(cd "$stage/package" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --silent \
  --no-package-lock >/dev/null)
cat >"$stage/pulumi-resource-netpersona" <<'SH'
#!/bin/sh
exec node "$(dirname "$0")/package/bin/pulumi-resource-netpersona" "$@"
SH
chmod +x "$stage/pulumi-resource-netpersona"
mkdir -p "$out"
tarball="$out/pulumi-resource-netpersona-v$version-linux-amd64.tar.gz"
tar -czf "$tarball" -C "$stage" pulumi-resource-netpersona package
echo "$tarball"
