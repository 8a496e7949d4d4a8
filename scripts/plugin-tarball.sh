#!/usr/bin/env bash
# Makes the provider plugin's tarball for `pulumi plugin install resource netpersona <version> --file <tarball>`:
# the package as `npm pack` makes it, its production dependencies, and at the root the executable the engine
# starts, pulumi-resource-netpersona (a two-line script that runs node on the package's plugin entry).
# Needs node on the PATH where the plugin runs, as the dynamic provider does.
#   scripts/plugin-tarball.sh [OUT_DIR]   prints the tarball's path
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="${1:-$here/out}"
version=$(node -p 'require(process.argv[1]).version' "$here/package.json")
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
