// Bundles the program with esbuild: our workspace packages (TypeScript sources) are compiled in,
// third-party packages stay in node_modules (scripts/esbuild-externals.mjs).
import { build } from "esbuild";
import { buildNativeUdpAndSay } from "./build-native.mjs";
import { buildWeb } from "./build-web.mjs";
import { externalizeDependencies } from "./esbuild-externals.mjs";

const started = Date.now();
await build({
  entryPoints: {
    unmeltable: "packages/runtime/src/main.ts",
    // The index writer and the index readers run in worker threads, loaded from next to the main bundle.
    "index-writer-worker": "packages/index-sqlite/src/writer-worker.ts",
    "index-reader-worker": "packages/index-sqlite/src/reader-worker.ts",
    // The UDP syslog socket's receiver (issue 16).
    "udp-receiver-worker": "packages/collector/src/udp-receiver-worker.ts",
    // The process stage's parsing in `start` (issue 16).
    "process-parse-worker": "packages/runner/src/parse-worker.ts",
    // The derived-field rules API's pattern checks and previews, off the main thread.
    "derived-rules-worker": "packages/alerts/src/rule-worker.ts",
  },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  plugins: [externalizeDependencies],
});
process.stderr.write(`built dist/ in ${Date.now() - started} ms\n`);

// The UDP socket's native receive path, beside the bundle (optional: without it UDP uses Node's dgram).
buildNativeUdpAndSay();

// The web UI (Vite), served by the program at `/`.
const web = await buildWeb({ force: process.argv.includes("--force") });
if (!web.skipped) process.stderr.write(`built dist/web in ${web.ms} ms\n`);

