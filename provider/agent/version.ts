// The agent's version, reported by GetInfo and `--version`; kept equal to package.json's (test-agent-mtls checks).
export const AGENT_VERSION = "0.1.0";
