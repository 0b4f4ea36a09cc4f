import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";

/**
 * Starts one of a package's threads: from its bundle next to the program in dist/ (scripts/build.mjs
 * builds `bundle` from `source`), or, when running from the TypeScript sources (tests, tools), from the
 * source through tsx's loader, registered inside the thread. `base` is the caller's `import.meta.url`:
 * both names are relative to the calling module.
 */
export function startWorker(base: string, bundle: string, source: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const bundled = new URL(`./${bundle}`, base);
  if (existsSync(bundled)) return new Worker(bundled, { workerData, resourceLimits });
  const src = new URL(`./${source}`, base).href;
  const tsxRoot = path.dirname(createRequire(base).resolve("tsx/package.json"));
  const tsx = pathToFileURL(path.join(tsxRoot, "dist/esm/api/index.mjs")).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(src)}); });`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}
