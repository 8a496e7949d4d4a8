#!/usr/bin/env bash
# Provides the Pulumi engine offline (`make pulumi`).
#
# 1. A `pulumi` already on PATH is used when it is v3 and not older than the @pulumi/pulumi SDK we pin.
# 2. Otherwise the CLI is built from the Go module proxy through our wrapper module (tools/pulumi-build),
#    with its version set at link time, and cached in ~/.cache/netpersona/pulumi-<version>/bin.
# 3. The Node.js language host (pulumi-language-nodejs), which runs a project from its folder with
#    `pulumi up`: taken from a complete installation on PATH when there is one, else built from the Go
#    module proxy through tools/language-build. Its own module is refused by the proxy, but up to v3.68.0
#    the host lived inside github.com/pulumi/pulumi/sdk/v3, which is served; the wrapper pins that version.
#    It talks to the engine over the stable language-host gRPC protocol and runs the program with the
#    project's own @pulumi/pulumi, so an older host serves a newer engine and SDK (tested by the CLI e2e
#    tests: TypeScript and JavaScript projects, config, outputs, refresh, destroy).
# 4. The YAML language host (pulumi-language-yaml) from github.com/pulumi/pulumi-yaml via tools/yaml-build,
#    and the Python language host (pulumi-language-python, sdk/v3 v3.68.0) via tools/language-build.
# 5. The dynamic-provider plugin (pulumi-resource-pulumi-nodejs, shipped in the @pulumi/pulumi npm
#    package) is copied into the same bin folder, because the engine looks for plugins next to `pulumi`
#    or on PATH, never in node_modules.
# Prints the bin folder to put on PATH as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version="v$(node -p 'require(process.argv[1]).version' "$here/node_modules/@pulumi/pulumi/package.json" 2>/dev/null || true)"
if [ "$version" = "v" ]; then
  echo "pulumi.sh: node_modules/@pulumi/pulumi is missing: run 'npm ci' first (make deps does)" >&2
  exit 1
fi
cache="${NETPERSONA_CACHE:-$HOME/.cache/netpersona}/pulumi-$version/bin"
mkdir -p "$cache"
log() { printf 'pulumi.sh: %s\n' "$*" >&2; }

# vercmp A B: true when A >= B (both vX.Y.Z).
vge() { [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n1)" = "${2#v}" ]; }

# gobuild WHAT MODULE_DIR OUT LOG PACKAGE [go build flags...]: builds PACKAGE in the wrapper module MODULE_DIR
# into OUT (through a temporary file, so a failed or interrupted build leaves no half-written binary), at low
# priority, logging to LOG; on failure prints the module that failed and why, and exits.
gobuild() {
  local what=$1 dir=$2 out=$3 buildlog=$4 pkg=$5
  shift 5
  command -v go >/dev/null || { log "Go is required to build $what offline; install Go >= 1.25"; exit 1; }
  local start tmp
  start=$(date +%s)
  tmp="$out.tmp.$$"
  if ! (cd "$dir" && nice -n 10 go build -trimpath -o "$tmp" "$@" "$pkg") 2>"$buildlog"; then
    rm -f "$tmp"
    log "the build of $what failed; the module that failed and why:"
    grep -E '^(go: |# |.*\.go:[0-9]+)' "$buildlog" | head -20 >&2 || tail -20 "$buildlog" >&2
    log "full log: $buildlog"
    exit 1
  fi
  mv -f "$tmp" "$out"
  log "built $out in $(( $(date +%s) - start )) s"
}

engine=""
if existing=$(command -v pulumi 2>/dev/null) && [ "$existing" != "$cache/pulumi" ]; then
  have=$("$existing" version 2>/dev/null | head -n1 || true)
  if [[ "$have" =~ ^v3\.[0-9]+\.[0-9]+$ ]] && vge "$have" "$version"; then
    log "using $existing ($have, compatible with SDK $version)"
    engine="$existing"
  else
    log "ignoring $existing: version '${have:-unknown}' is not v3 >= $version"
  fi
fi

if [ -z "$engine" ] && [ -x "$cache/pulumi" ] && [ "$("$cache/pulumi" version 2>/dev/null)" = "$version" ]; then
  log "cached: $cache/pulumi ($version)"
  engine="$cache/pulumi"
fi

if [ -z "$engine" ]; then
  want=$(sed -n 's#.*github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\).*#\1#p' "$here/tools/pulumi-build/go.mod" | head -n1)
  if [ "$want" != "$version" ]; then
    log "tools/pulumi-build/go.mod pins pkg/v3 $want but @pulumi/pulumi is $version: update both together"
    exit 1
  fi
  log "building pulumi $version from the Go module proxy (first time only; several minutes on 2 cores)"
  gobuild "the Pulumi CLI" "$here/tools/pulumi-build" "$cache/pulumi" "$cache/build.log" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
  engine="$cache/pulumi"
fi

# The Node.js language host.
language=""
if [ "$engine" != "$cache/pulumi" ] && [ -x "$(dirname "$engine")/pulumi-language-nodejs" ]; then
  language="$(dirname "$engine")/pulumi-language-nodejs"
  log "language host: $language (from the installation on PATH)"
elif [ -x "$cache/pulumi-language-nodejs" ] && [ -f "$cache/pulumi-language-nodejs.built" ] &&
    [ "$(cat "$cache/pulumi-language-nodejs.built")" = "$(sha256sum "$here/tools/language-build/go.mod" | cut -d' ' -f1)" ]; then
  log "language host cached: $cache/pulumi-language-nodejs"
else
  log "building pulumi-language-nodejs (sdk/v3 v3.68.0) from the Go module proxy (first time only; about 1.5 minutes)"
  gobuild "the Node.js language host" "$here/tools/language-build" "$cache/pulumi-language-nodejs" \
    "$cache/language-build.log" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs -ldflags "-s -w"
  sha256sum "$here/tools/language-build/go.mod" | cut -d' ' -f1 >"$cache/pulumi-language-nodejs.built"
fi
[ -z "$language" ] || ln -sfn "$language" "$cache/pulumi-language-nodejs"

# The YAML language host (pulumi-language-yaml), which runs Pulumi YAML programs (examples/persona-yaml) with
# the provider plugin pulumi-resource-netpersona: built from the Go module proxy through tools/yaml-build
# (github.com/pulumi/pulumi-yaml, about 4 minutes on 2 cores the first time), cached next to the engine and
# rebuilt only when tools/yaml-build/go.mod changes. NETPERSONA_SKIP_YAML=1 leaves it out (the YAML lab test
# then fails, saying so).
yaml_stamp=$(sha256sum "$here/tools/yaml-build/go.mod" | cut -d' ' -f1)
if [ "${NETPERSONA_SKIP_YAML:-}" = 1 ]; then
  log "YAML language host skipped (NETPERSONA_SKIP_YAML=1)"
elif [ -x "$cache/pulumi-language-yaml" ] && [ -f "$cache/pulumi-language-yaml.built" ] &&
    [ "$(cat "$cache/pulumi-language-yaml.built")" = "$yaml_stamp" ]; then
  log "YAML language host cached: $cache/pulumi-language-yaml"
else
  yaml_version=$(sed -n 's#.*github.com/pulumi/pulumi-yaml \(v[0-9.]*\).*#\1#p' "$here/tools/yaml-build/go.mod" | head -n1)
  log "building pulumi-language-yaml $yaml_version from the Go module proxy (first time only; about 4 minutes)"
  gobuild "the YAML language host" "$here/tools/yaml-build" "$cache/pulumi-language-yaml" "$cache/yaml-build.log" \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml -ldflags "-s -w"
  echo "$yaml_stamp" >"$cache/pulumi-language-yaml.built"
fi

# The Python language host (pulumi-language-python), which runs Python programs (examples/persona-python) with
# `pulumi up` from their folder. Its own module (sdk/python/cmd/pulumi-language-python/v3) is refused by the Go
# module proxy at every version (403), but up to v3.68.0 it lived inside github.com/pulumi/pulumi/sdk/v3, like
# the Node.js host: built from tools/language-build (same module, same go.mod) with its executor script
# pulumi-language-python-exec (a Python file of that module) copied next to it, where the host looks for it.
# This host runs the program with the `python3` on PATH (or PULUMI_PYTHON_CMD): activate the virtualenv that
# has pulumi and pulumi_netpersona (scripts/python-deps.sh makes one); it does not read Pulumi.yaml's
# runtime.options.virtualenv, which this engine sends only over RPC. Cached, rebuilt when tools/language-build
# changes; NETPERSONA_SKIP_PYTHON=1 leaves it out (the Python lab test then fails, saying so).
python_stamp=$(cat "$here/tools/language-build/go.mod" "$here/tools/language-build/tools.go" | sha256sum | cut -d' ' -f1)
if [ "${NETPERSONA_SKIP_PYTHON:-}" = 1 ]; then
  log "Python language host skipped (NETPERSONA_SKIP_PYTHON=1)"
elif [ -x "$cache/pulumi-language-python" ] && [ -x "$cache/pulumi-language-python-exec" ] &&
    [ "$(cat "$cache/pulumi-language-python.built" 2>/dev/null)" = "$python_stamp" ]; then
  log "Python language host cached: $cache/pulumi-language-python"
else
  log "building pulumi-language-python (sdk/v3 v3.68.0) from the Go module proxy (first time only; about 1.5 minutes)"
  gobuild "the Python language host" "$here/tools/language-build" "$cache/pulumi-language-python" \
    "$cache/python-build.log" github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python -ldflags "-s -w"
  # Its executor script; the stamp below is written last, so the cache is trusted only when both are there.
  sdkdir=$(cd "$here/tools/language-build" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$cache/pulumi-language-python-exec"
  echo "$python_stamp" >"$cache/pulumi-language-python.built"
fi

# The dynamic-provider plugin: a small script shipped in @pulumi/pulumi that runs node on its provider host.
plugin="$here/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
[ -f "$plugin" ] || { log "missing $plugin: reinstall @pulumi/pulumi"; exit 1; }
# A copy, not a link: the script resolves @pulumi/pulumi from the program's folder, so one copy serves
# every checkout.
install -m 0755 "$plugin" "$cache/pulumi-resource-pulumi-nodejs"
[ "$engine" = "$cache/pulumi" ] || ln -sfn "$engine" "$cache/pulumi"
log "engine: $("$cache/pulumi" version) at $cache"
echo "$cache"
