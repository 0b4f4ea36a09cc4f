// Bundles Lambda handlers the way the SST CLI does for `sst.aws.Function` (sst 4.17,
// pkg/runtime/node/build.go): esbuild, one ESM file per function with SST's createRequire banner,
// platform node, target from the Lambda runtime, `sharp`/`pg-native` and the `nodejs.install`
// packages left external (SST npm-installs those next to the bundle). Used by test/stacks/bundle.test.ts;
// on the command line it bundles every functions/*.ts and prints their sizes:
//   node scripts/sst-functions.mjs [--out DIR] [functions/x.ts ...]
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** esbuild targets SST uses per Lambda runtime (build.go `targetMap`, plus Node 24). */
export const TARGETS = { "nodejs20.x": "es2023", "nodejs22.x": "es2023", "nodejs24.x": "es2024" };
/** Always external in SST's build (build.go `forceExternal`). */
export const FORCE_EXTERNAL = ["sharp", "pg-native"];
/** The handler file extensions SST tries, in order (node.go `NODE_EXTENSIONS`). */
const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

const BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

/** `functions/process.handler` → the file SST would build, or undefined. */
export function handlerFile(handler, root = ROOT) {
  const dir = path.dirname(handler);
  const base = path.basename(handler).split(".").slice(0, -1).join(".");
  for (const ext of EXTENSIONS) {
    const f = path.join(root, dir, base + ext);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/**
 * Bundles one handler. Returns the output's exports, the packages left external, the bundled inputs
 * and esbuild's messages; throws when esbuild reports errors (unresolvable imports, syntax, ...).
 * @param {{ handler: string, runtime?: string, install?: string[] | Record<string, string>, outDir: string, root?: string }} options
 */
export async function bundleHandler({ handler, runtime = "nodejs24.x", install = [], outDir, root = ROOT }) {
  const file = handlerFile(handler, root);
  if (!file) throw new Error(`handler not found: ${handler} (SST looks for ${EXTENSIONS.map((e) => handler.replace(/\.[^.]+$/, e)).join(", ")})`);
  const outfile = path.join(outDir, handler.replace(/[^a-zA-Z0-9]/g, "_"), "bundle.mjs");
  const installNames = Array.isArray(install) ? install : Object.keys(install);
  const result = await build({
    entryPoints: [file],
    platform: "node",
    bundle: true,
    format: "esm",
    target: TARGETS[runtime] ?? "esnext",
    outfile,
    external: [...FORCE_EXTERNAL, ...installNames],
    keepNames: true,
    sourcemap: "linked",
    metafile: true,
    mainFields: ["module", "main"],
    banner: { js: BANNER },
    logLevel: "silent",
    absWorkingDir: root,
  });
  const output = Object.entries(result.metafile.outputs).find(([k]) => k.endsWith(".mjs"))[1];
  const externals = new Set();
  const builtin = (p) => p.startsWith("node:") || p === "<runtime>" || builtinModules.includes(p.split("/")[0]);
  for (const input of Object.values(result.metafile.inputs)) for (const imp of input.imports) if (imp.external && !builtin(imp.path)) externals.add(imp.path);
  return {
    file: path.relative(root, file),
    outfile,
    bytes: output.bytes,
    exports: output.exports,
    /** Packages left out of the bundle (Node's own modules not listed). */
    externals: [...externals].sort(),
    inputs: Object.keys(result.metafile.inputs),
    warnings: result.warnings.map((w) => `${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ""}`),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const outDir = outAt >= 0 ? path.resolve(args[outAt + 1]) : mkdtempSync(path.join(tmpdir(), "sst-functions-"));
  const files = args.filter((a, i) => !a.startsWith("--") && !(outAt >= 0 && i === outAt + 1));
  const handlers = (files.length ? files : readdirSync(path.join(ROOT, "functions")).filter((f) => f.endsWith(".ts")).map((f) => `functions/${f}`)).map((f) =>
    f.replace(/\.[cm]?[jt]sx?$/, ".handler"),
  );
  let failed = 0;
  for (const handler of handlers) {
    try {
      const b = await bundleHandler({ handler, runtime: "nodejs22.x", install: ["@confluentinc/kafka-javascript"], outDir });
      console.log(`${handler.padEnd(28)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KiB  exports ${b.exports.join(",")}  external ${b.externals.join(",") || "-"}`);
    } catch (err) {
      failed++;
      console.error(`${handler}: ${err.message}`);
    }
  }
  if (outAt < 0) rmSync(outDir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}
