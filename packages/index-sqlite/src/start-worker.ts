import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";

/**
 * Starts one of this package's threads: from its bundle next to the program in dist/ (scripts/build.mjs
 * builds `bundle` from `source`), or, when running from the TypeScript sources (tests, tools), from the
 * source through tsx's loader, registered inside the thread.
 */
export function startWorker(bundle: string, source: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const bundled = new URL(`./${bundle}`, import.meta.url);
  if (existsSync(bundled)) return new Worker(bundled, { workerData, resourceLimits });
  const src = new URL(`./${source}`, import.meta.url).href;
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const tsx = pathToFileURL(path.join(tsxRoot, "dist/esm/api/index.mjs")).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(src)}); });`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}
