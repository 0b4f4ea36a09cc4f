/**
 * Every file in functions/ (deployed or not yet) bundles as SST bundles a function (scripts/sst-functions.mjs,
 * SST 4.17's esbuild options) into one ESM file that needs nothing native: its imports are Node's own
 * modules, the pure-JS Kafka client's two unbundlable packages and what Lambda never runs (stacks/config.ts).
 * test/stacks/lambda-artifacts.test.ts checks the deployed artifacts with each stack's own `nodejs`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LAMBDA_EXCLUDED, LAMBDA_KAFKA_RUNTIME, LAMBDA_RUNTIME } from "../../stacks/config";
// @ts-expect-error -- a plain .mjs build script without type declarations
import { bundleHandler, nativeReferences, ROOT } from "../../scripts/sst-functions.mjs";

const outDir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-fn-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const files = readdirSync(path.join(ROOT, "functions")).filter((f) => f.endsWith(".ts"));

describe("every function in functions/ bundles with esbuild as SST bundles it", () => {
  it("covers the seven handlers at least", () => {
    expect(files.map((f) => f.replace(/\.ts$/, ""))).toEqual(expect.arrayContaining(["process", "index", "search", "topics", "lifecycle", "archive", "alerts"]));
  });

  it.each(files)("%s: one file, nothing native, nothing external but Node's modules and the Kafka client's WebAssembly helpers", async (file) => {
    const handler = `functions/${file.replace(/\.ts$/, "")}.handler`;
    const nodejs = { install: { ...LAMBDA_KAFKA_RUNTIME }, esbuild: { external: [...LAMBDA_EXCLUDED] } };
    const b = (await bundleHandler({ handler, runtime: LAMBDA_RUNTIME, nodejs, outDir })) as { outfile: string; exports: string[]; externals: string[]; bytes: number };
    expect(b.exports).toContain("handler");
    const allowed = [...Object.keys(LAMBDA_KAFKA_RUNTIME), ...LAMBDA_EXCLUDED, "aws-sdk"];
    expect(b.externals.filter((e) => !allowed.some((a) => e === a || e.startsWith(`${a}/`)))).toEqual([]);
    const native = (nativeReferences(readFileSync(b.outfile, "utf8")) as { kind: string; what: string; line: number }[]).filter((f) => f.kind !== "optional");
    expect(native.map((f) => `line ${f.line}: ${f.what}`)).toEqual([]);
    expect(b.bytes).toBeGreaterThan(10_000);
  }, 120_000);
});
