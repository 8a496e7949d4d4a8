// ESLint flat config: typescript-eslint's recommended rules over every TypeScript source, and the
// boundaries between the parts (which folder may import what; test/unit/test-architecture.ts proves each rule
// fails on a deliberate violation). Import cycles are dependency-cruiser's (.dependency-cruiser.cjs).
import { builtinModules } from "node:module";

import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Commands are argument vectors: everywhere. */
const noShellStrings = ["node:child_process", "child_process"].map((name) => ({
  name,
  importNames: ["exec", "execSync"],
  message: "Run commands as argument vectors (execFile/spawn), never as shell strings.",
}));

/** Node's modules by both names (`node:fs`, `fs`): a pure part imports none of them. */
const nodeModules = builtinModules.filter((m) => !m.startsWith("_")).flatMap((m) => [m, `node:${m}`]);

const restricted = (message, groups) => [
  "error",
  {
    paths: [...noShellStrings, ...nodeModules.map((name) => ({ name, message }))],
    patterns: groups.map((group) => ({ group, message })),
  },
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "provider/proto/gen/**", "out/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
      "no-restricted-imports": ["error", { paths: noShellStrings }],
    },
  },
  // Boundaries.
  {
    // The adjustment engine is pure: numbers in, decisions out. No I/O, no wire, no agent.
    files: ["provider/engine/**/*.ts"],
    rules: {
      "no-restricted-imports": restricted(
        "provider/engine is pure (docs/engine.md): no Node modules, no agent, no wire types, no I/O.",
        [
          [
            "**/agent/**",
            "**/proto/**",
            "**/resources/**",
            "**/ssh/**",
            "**/bootstrap/**",
            "**/lab/**",
            "@grpc/*",
            "@pulumi/*",
          ],
        ],
      ),
    },
  },
  {
    // The persona is a schema and its validation: no I/O (files are read by sdk/persona-files.ts).
    files: ["provider/persona/**/*.ts"],
    rules: {
      "no-restricted-imports": restricted(
        "provider/persona is the schema and its validation, with no I/O: read files in sdk/, talk to hosts in the agent.",
        [
          [
            "**/agent/**",
            "**/proto/**",
            "**/resources/**",
            "**/engine/**",
            "**/ssh/**",
            "@grpc/*",
            "@pulumi/*",
          ],
        ],
      ),
    },
  },
  {
    // The sdk reaches the provider's code only through the registry (the serialized shim requires it by
    // package name), so a user's program never loads the agent, SSH or gRPC; types may be shared.
    files: ["sdk/**/*.ts"],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: noShellStrings,
          patterns: [
            {
              group: [
                "**/provider/agent/**",
                "**/provider/resources/**",
                "**/provider/ssh/**",
                "**/provider/bootstrap/**",
                "**/provider/pki/**",
                "**/provider/proto/**",
                "@grpc/*",
              ],
              allowTypeImports: true,
              message:
                "sdk/ reaches the provider only through the registry (sdk/shim.ts): import types only from here.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unused-expressions": "off" },
  },
);
