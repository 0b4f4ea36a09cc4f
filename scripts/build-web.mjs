// Builds the web UI (packages/web) with Vite into dist/web, which the program serves at `/`.
// Skipped when dist/web is newer than every source file (the test setup builds before each run);
// `--force` rebuilds anyway. The new build is written next to dist/web and swapped in, so a server
// running meanwhile never sees a half-written directory for more than a rename.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const web = path.join(root, "packages/web");
const out = path.join(root, "dist/web");

function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const name of readdirSync(p)) if (name !== "node_modules") t = Math.max(t, newest(path.join(p, name)));
  return t;
}

export async function buildWeb({ force = false } = {}) {
  const started = Date.now();
  const stamp = path.join(out, "index.html");
  if (!force && existsSync(stamp) && statSync(stamp).mtimeMs > newest(web)) return { skipped: true };
  const { build } = await import("vite");
  const tmp = path.join(root, "dist", `.web-${process.pid}`);
  const old = path.join(root, "dist", `.web-old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    await build({ configFile: path.join(web, "vite.config.ts"), logLevel: "warn", build: { outDir: tmp, emptyOutDir: true } });
    // Another build (a parallel test run) may swap its own output in at the same moment: theirs is
    // built from the same sources, so whichever lands is fine.
    try {
      renameSync(out, old);
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
    }
    try {
      renameSync(tmp, out);
    } catch (err) {
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  return { skipped: false, ms: Date.now() - started };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildWeb({ force: process.argv.includes("--force") });
  process.stderr.write(r.skipped ? "dist/web is up to date\n" : `built dist/web in ${r.ms} ms\n`);
}
