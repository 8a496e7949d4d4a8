// dependency-cruiser: the import graph of our own code has no cycle (run by test/unit/test-architecture.ts, part of
// `make test`). Which folder may import which is ESLint's job (eslint.config.mjs, "Boundaries").
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle means two modules are one idea split in two, or one holds what belongs to a third.",
      from: {},
      to: { circular: true },
    },
    {
      name: "agent-rpc-is-plumbing",
      severity: "error",
      comment:
        "provider/agent/rpc is the gRPC plumbing the persona and session parts use; it imports neither (only the session record types its grant check reads).",
      from: { path: "^provider/agent/rpc/" },
      to: { path: "^provider/agent/(session|persona)/", pathNot: "^provider/agent/session/records\\.ts$" },
    },
    {
      name: "product-not-harness",
      severity: "error",
      comment:
        "What the package ships (provider/, sdk/, bin/) never imports the tests, the benchmarks or the scripts: helpers used only by them live there.",
      from: { path: "^(provider|sdk|bin)/" },
      to: { path: "^(test|bench|scripts)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|out|node_modules)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
