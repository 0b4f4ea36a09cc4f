import js from "@eslint/js";
import tseslint from "typescript-eslint";

const SOURCES = ["packages/*/src/**/*.{ts,tsx}", "functions/**/*.ts"];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".sst/**", "data/**", "bench/out/**", "packages/*/dist/**", "test/.artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", Buffer: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", URL: "readonly", fetch: "readonly", performance: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // The product's code is linted with its types (recommendedTypeChecked): no floating or misused
  // promises, no unsafe any, no needless assertions. Tests and benches get the promise rules (below).
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: SOURCES })),
  {
    files: SOURCES,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Ports are async by contract; the SQLite and in-memory adapters answer synchronously inside them.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Preact components take callbacks declared as method signatures in their props; they are plain functions.
    files: ["packages/web/src/**/*.{ts,tsx}"],
    rules: { "@typescript-eslint/unbound-method": "off" },
  },
  // Tests and benches: the promise rules of the typed set, the ones whose breach makes a test pass or fail
  // at random (a floating promise, a promise where a callback is expected).
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    ignores: ["test/stacks/**"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
  // SST's config must reference its generated platform types this way.
  { files: ["sst.config.ts"], rules: { "@typescript-eslint/triple-slash-reference": "off" } },
);
