// The agent's version, reported by GetInfo and `--version`: the package's own, read from package.json.
// "pulumi-netpersona/package.json" resolves from the compiled tree (node_modules/pulumi-netpersona in the
// repository, the installed package in a user's project) and, when scripts/bundle-agent.sh bundles the agent,
// esbuild inlines that file into the one-file agent, so the host needs no package.json.
export const AGENT_VERSION: string = (require("pulumi-netpersona/package.json") as { version: string })
  .version;
