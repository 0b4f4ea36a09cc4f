/**
 * A test's child process script (TypeScript, importing the workspace packages) bundled once into one
 * plain .mjs, as scripts/build.mjs bundles the program: the workspace packages compiled in, third-party
 * packages left to node_modules. A child then starts in a fraction of a second, where `node --import tsx`
 * compiles every module again at each start (2.3 s here without tsx's cache, which a child whose TMPDIR
 * must stay empty cannot keep).
 */
import path from "node:path";
import { build } from "esbuild";
import { externalizeDependencies } from "../../scripts/esbuild-externals.mjs";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Bundles `script` (relative to the repository) and gives the bundle's path, inside node_modules/.cache so that its imports resolve. */
export async function bundleChild(script: string): Promise<string> {
  const outfile = path.join(ROOT, "node_modules/.cache/unmeltable-test/children", `${path.basename(script, ".ts")}-${process.pid}.mjs`);
  await build({ entryPoints: [path.join(ROOT, script)], outfile, bundle: true, platform: "node", target: "node20", format: "esm", logLevel: "warning", plugins: [externalizeDependencies] });
  return outfile;
}
