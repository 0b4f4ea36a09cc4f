/**
 * Every function the stacks deploy bundles the way SST bundles it (scripts/sst-functions.mjs follows
 * the SST CLI's esbuild options), with the arguments the stacks give it (handler, runtime,
 * `nodejs.install`); and sst.config.ts bundles the way the SST CLI bundles it before a deploy.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NATIVE_KAFKA_CLIENT } from "../../stacks/config";
import { bundleHandler, handlerFile, ROOT } from "../../scripts/sst-functions.mjs";
import { bundleCheck, topLevelImports } from "../../scripts/sst-bundle-check.mjs";
import { componentsOf, runApp, T, type Untyped } from "./harness";

/** The handlers `functions/` must provide (issue 7's contract with the functions' author). */
const REQUIRED = ["process", "index", "search", "topics", "lifecycle", "archive", "archive-worker", "alerts"];

let outDir: string;
let deployed: { name: string; handler: string; runtime: string; nodejs: Record<string, Untyped> }[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), "unmeltable-sst-bundle-"));
  await runApp({ stage: "prod" });
  const seen = new Set<string>();
  deployed = componentsOf(T.function)
    .map((c) => ({ name: c.name, handler: c.args.handler as string, runtime: c.args.runtime as string, nodejs: c.args.nodejs ?? {} }))
    .filter((f) => !seen.has(f.handler) && seen.add(f.handler));
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("functions/", () => {
  it("has the eight handlers the stacks deploy", () => {
    const present = readdirSync(path.join(ROOT, "functions")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
    const missing = REQUIRED.filter((n) => !present.includes(n));
    expect(missing, `missing functions/${missing.join(".ts, functions/")}.ts`).toEqual([]);
  });

  it("every deployed handler is one of them or a deploy-time step of the stacks", () => {
    expect(deployed.map((d) => d.handler).sort()).toEqual([...REQUIRED.map((n) => `functions/${n}.handler`), "stacks/handlers/index-access.handler"].sort());
  });
});

describe("each deployed function bundles as SST would", () => {
  it.each([...REQUIRED.map((n) => `functions/${n}.handler`), "stacks/handlers/index-access.handler"])("%s", async (handler) => {
    const fn = deployed.find((d) => d.handler === handler)!;
    expect(fn, `no function deploys ${handler}`).toBeDefined();
    expect(handlerFile(handler), `${handler}: no file for SST to build`).toBeDefined();
    const b = await bundleHandler({ handler, runtime: fn.runtime, nodejs: fn.nodejs, outDir });
    expect(b.exports).toContain("handler");
    expect(existsSync(b.outfile)).toBe(true);
    // The native Kafka client is in no bundle (test/stacks/lambda-artifacts.test.ts checks the artifacts in full).
    expect(b.inputs.filter((p: string) => p.includes(NATIVE_KAFKA_CLIENT.name))).toEqual([]);
  });
});

describe("sst.config.ts", () => {
  it("has no top-level imports (the SST CLI refuses them)", async () => {
    const { readFileSync } = await import("node:fs");
    expect(topLevelImports(readFileSync(path.join(ROOT, "sst.config.ts"), "utf8"))).toEqual([]);
    expect(topLevelImports('import * as x from "y";\nconst a = await import("z");')).toEqual([{ line: 1, text: 'import * as x from "y";' }]);
  });

  const platform = existsSync(path.join(ROOT, ".sst/platform/config.d.ts"));
  it.skipIf(!platform)("bundles as the SST CLI bundles it (needs .sst/platform: npm run sst:types)", async () => {
    const r = await bundleCheck();
    expect(r.inputs).toEqual(expect.arrayContaining(["sst.config.ts", "stacks/network.ts", "stacks/queue.ts", "stacks/index.ts", "stacks/pipeline.ts", "stacks/collectors.ts", "stacks/archive.ts", "stacks/api.ts", "stacks/web.ts"]));
  });
});
