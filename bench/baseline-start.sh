#!/bin/sh
# Started over ssh by the fleet baseline (bench/fleet-baseline.ts): runs the agent detached from the ssh session.
#   sh baseline-start.sh LOG NODE AGENT_ARGS...
set -eu
log=$1
shift
setsid "$@" </dev/null >"$log" 2>&1 &
