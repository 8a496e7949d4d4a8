#!/usr/bin/env bash
# Runs examples/ci the way its pipeline (.github/workflows/netpersona.yml) does, against a lab on this
# machine: the pull-request job (`pulumi preview`, plan saved), then the main-branch job (`pulumi up`, then
# `pulumi preview --expect-no-changes`). The project is copied to a folder outside the repository and the
# package is installed from its packed tarball, as in a user's repository. `make ci-example` runs it.
#
# Usage: scripts/ci-example.sh [--keep]   (--keep leaves the stack, the lab and the folder for a look;
#        then `scripts/ci-example.sh --down` removes them). A lab of that name that is already running is
#        used and left running.
# Environment: NETPERSONA_CI_LAB (lab name, default "ci"), NETPERSONA_CI_DIR (default /tmp/netpersona-ci),
# NETPERSONA_TARBALL (default: the newest out/pulumi-netpersona-*.tgz, made by `make pack`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lab="${NETPERSONA_CI_LAB:-ci}"
work="${NETPERSONA_CI_DIR:-/tmp/netpersona-ci}"
netpersona() { node "$root/bin/netpersona" "$@"; }
say() { printf '\n== %s\n' "$*"; }

export PULUMI_BACKEND_URL="file://$work/.backend"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-netpersona-ci-example}"
export PULUMI_HOME="$work/.pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
export PULUMI_STACK=prod

down() {
  if [ -d "$work/project" ]; then
    (cd "$work/project" && pulumi destroy --yes --skip-preview --non-interactive --color never) || true
  fi
  if [ -f "$work/.made-lab" ]; then netpersona lab down --name "$lab" >/dev/null || true; fi
  rm -rf "$work"
}
if [ "${1:-}" = "--down" ]; then down; exit 0; fi
keep=false
[ "${1:-}" = "--keep" ] && keep=true

tarball="${NETPERSONA_TARBALL:-$(ls "$root"/out/pulumi-netpersona-*.tgz 2>/dev/null | tail -n1 || true)}"
[ -n "$tarball" ] || { echo "ci-example: no out/pulumi-netpersona-*.tgz: run 'make pack' first" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work/.backend" "$work/.pulumi-home"
if netpersona lab status --name "$lab" >/dev/null 2>&1; then
  say "lab '$lab' is running: using it (and leaving it running)"
else
  say "lab '$lab' with 2 hosts"
  netpersona lab up --name "$lab" --hosts 2 >/dev/null
  touch "$work/.made-lab"
fi
$keep || trap down EXIT

say "the repository: examples/ci, hosts.yaml written from the lab's inventory"
mkdir -p "$work/project"
(cd "$root/examples/ci" && tar --exclude=node_modules --exclude=bin -cf - .) | (cd "$work/project" && tar -xf -)
cd "$work/project"
netpersona lab status --name "$lab" --json >"$work/lab.json"
node - "$work/lab.json" <<'JS'
const inv = require(process.argv[2]);
const personas = ["web", "bulk"];
const hosts = inv.hosts.map((h, i) => ({
  name: h.name,
  persona: personas[i % personas.length],
  host: h.address,
  port: h.sshPort,
  user: h.user,
  hostKey: h.hostPublicKey,
  installDir: `${inv.stateDir}/agents/${h.name}/opt`,
  stateDir: `${inv.stateDir}/agents/${h.name}/state`,
  resolvConfPath: `/etc/netns/${h.netns}/resolv.conf`,
}));
require("fs").writeFileSync("hosts.yaml", "# written by scripts/ci-example.sh from the lab's inventory\n" + JSON.stringify(hosts, null, 2) + "\n");
JS
key=$(node -p "require('$work/lab.json').hosts[0].privateKeyPath")
npm install --no-audit --no-fund --prefer-offline "$tarball" >/dev/null
pulumi stack init "$PULUMI_STACK" --non-interactive >/dev/null

say "pull request: pulumi preview (the plan a reviewer reads)"
pulumi stack select "$PULUMI_STACK"
pulumi config set --secret sshPrivateKey <"$key"
pulumi preview --diff --non-interactive --color never | tee "$work/preview.txt"
pulumi preview --json --non-interactive >"$work/preview.json"
npx netpersona review "$work/preview.json" >"$work/review.md"
say "pull request: the review posted on it ($work/review.md)"
head -n 20 "$work/review.md"

say "main: pulumi up"
pulumi up --yes --non-interactive --color never | tee "$work/up.txt"
pulumi preview --expect-no-changes --non-interactive --color never >"$work/after.txt"
say "main: a second preview plans no change"

pulumi stack output --json >"$work/outputs.json"
if $keep; then
  say "kept: the project in $work/project, the lab '$lab'; remove both with: $0 --down"
fi
