// Bundles every Lambda function in functions/ the way SST does (esbuild, ESM, Node 20), one
// self-contained file each in dist/functions/<name>/index.mjs. Native addons cannot be bundled: they are
// listed in NATIVE and must be installed next to the bundle (SST: `nodejs.install`).
import { readdirSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

export const NATIVE = ["@confluentinc/kafka-javascript", "better-sqlite3"];

export async function buildFunctions({ outdir = "dist/functions", quiet = false } = {}) {
  const names = readdirSync("functions").filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3));
  const results = {};
  for (const name of names) {
    const result = await build({
      entryPoints: [path.join("functions", `${name}.ts`)],
      outfile: path.join(outdir, name, "index.mjs"),
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      sourcemap: true,
      metafile: true,
      external: NATIVE,
      // Some bundled CommonJS packages call require(): give ESM output a require.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: quiet ? "silent" : "warning",
    });
    results[name] = result.metafile;
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const results = await buildFunctions();
  process.stderr.write(`bundled ${Object.keys(results).length} functions into dist/functions/ in ${Date.now() - started} ms\n`);
}
