/**
 * The layering, kept by the build (`npm run lint` runs `depcruise`; CONTRIBUTING.md explains it):
 *   core                      the domain and its ports: imports no other package
 *   partition-log, sizing     libraries of their own: import no other package
 *   adapters                  implement a port: import only core (and partition-log, the on-disk log)
 *   web                       the browser UI: only core's browser-safe types (@unmeltable/core/event)
 *   runtime, lambda           wire adapters together (one machine; AWS Lambda)
 *   functions, stacks         the Lambda entry points and the SST stacks
 * Paths are resolved (workspace symlinks followed), so a relative import out of a package is caught too.
 */
const ADAPTERS = "alerts|api|archive|collector|index-opensearch|index-sqlite|queue-embedded|queue-kafka|runner|tenants-config";

/** @type {import('dependency-cruiser').IConfiguration} */
// eslint-disable-next-line no-undef -- a CommonJS config file, as dependency-cruiser reads it
module.exports = {
  forbidden: [
    {
      name: "core-imports-no-package",
      comment: "core is the domain and its ports: it depends on no other package of ours.",
      severity: "error",
      from: { path: "^packages/core/" },
      to: { path: "^packages/", pathNot: "^packages/core/" },
    },
    {
      name: "libraries-import-no-package",
      comment: "partition-log and sizing stand alone.",
      severity: "error",
      from: { path: "^packages/(partition-log|sizing)/" },
      to: { path: "^packages/", pathNot: "^packages/$1/" },
    },
    {
      name: "adapters-import-only-core",
      comment: "An adapter implements a port of core; it never reaches into another adapter or the wiring.",
      severity: "error",
      from: { path: `^packages/(${ADAPTERS})/` },
      to: { path: "^packages/", pathNot: "^packages/($1|core|partition-log)/" },
    },
    {
      name: "web-imports-only-browser-safe-core",
      comment: "The web UI runs in browsers: core's barrel needs Node; its event types do not.",
      severity: "error",
      from: { path: "^packages/web/" },
      to: { path: "^packages/", pathNot: "^packages/(web/|core/src/event\\.ts$)" },
    },
    {
      name: "only-entry-points-import-the-wiring",
      comment: "runtime and lambda wire things; only they, the functions, the stacks, tests, benches and scripts use them.",
      severity: "error",
      from: { pathNot: "^(packages/(runtime|lambda)/|functions/|stacks/|sst\\.config\\.ts$|test/|bench/|scripts/)" },
      to: { path: "^packages/(runtime|lambda)/" },
    },
    {
      name: "no-circular",
      comment: "A cycle between modules makes load order matter and the layers blur.",
      severity: "error",
      from: { path: "^(packages|functions|stacks)/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|\\.sst)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], mainFields: ["module", "main", "types"], extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".json"] },
    combinedDependencies: true,
  },
};
