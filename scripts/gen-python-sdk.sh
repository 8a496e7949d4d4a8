#!/usr/bin/env bash
# Generates the Python SDK (sdk/python, committed, never hand-edited) from schema.json with the engine's own
# Python code generator (github.com/pulumi/pulumi/pkg/v3/codegen/python, the one `pulumi package gen-sdk
# --language python` runs inside the Python language host, which the Go module proxy cannot give us).
# The generator, tools/pulumi-build/gen-sdk, is built from the engine's wrapper module (same pkg/v3 version)
# and cached next to the engine, keyed by the hash of its source and go.mod.
#   scripts/gen-python-sdk.sh [OUT_DIR]     (default: sdk/python; the test writes to a temporary folder)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="${1:-$here/sdk/python}"
version="v$(node -p 'require(process.argv[1]).version' "$here/node_modules/@pulumi/pulumi/package.json")"
cache="${NETPERSONA_CACHE:-$HOME/.cache/netpersona}/pulumi-$version/bin"
mkdir -p "$cache"
gen="$cache/netpersona-gen-sdk"
stamp=$(cat "$here/tools/pulumi-build/go.mod" "$here/tools/pulumi-build/gen-sdk/main.go" | sha256sum | cut -d' ' -f1)
if ! [ -x "$gen" ] || [ "$(cat "$gen.built" 2>/dev/null)" != "$stamp" ]; then
  command -v go >/dev/null || { echo "gen-python-sdk.sh: Go is required to build the generator" >&2; exit 1; }
  echo "gen-python-sdk.sh: building the generator (first time only; about 2 minutes)" >&2
  (cd "$here/tools/pulumi-build" && nice -n 10 go build -trimpath -o "$gen.tmp.$$" ./gen-sdk)
  mv -f "$gen.tmp.$$" "$gen"
  echo "$stamp" >"$gen.built"
fi
rm -rf "$out"
"$gen" "$here/schema.json" "$out"
