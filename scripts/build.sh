#!/usr/bin/env bash
# Builds the package: TypeScript to dist/, the agent bundle and its supervisor. Run by `make build` and by
# npm's `prepare` (so that an install from a git URL gets a usable dist/). Needs the devDependencies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin=node_modules/.bin
"$bin/tsc" -p tsconfig.json
bash scripts/bundle-agent.sh
"$bin/esbuild" provider/bootstrap/supervisor.ts --bundle --platform=node --target=node20 --format=cjs \
  --log-level=warning --outfile=dist/agent/netpersona-supervisor.js
chmod +x bin/netpersona bin/pulumi-resource-netpersona
