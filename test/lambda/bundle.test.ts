import { builtinModules } from "node:module";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildFunctions, NATIVE } from "../../scripts/build-functions.mjs";

interface Metafile {
  outputs: Record<string, { imports: { path: string; external?: boolean }[]; bytes: number }>;
}

describe("every Lambda function bundles with esbuild", () => {
  it("into one file that needs nothing but Node's builtins and the native addons installed beside it", async () => {
    const results = (await buildFunctions({ outdir: mkdtempSync(path.join(os.tmpdir(), "unmeltable-fn-")), quiet: true })) as Record<string, Metafile>;
    expect(Object.keys(results).sort()).toEqual(expect.arrayContaining(["index", "process", "search", "topics"]));
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    for (const [name, meta] of Object.entries(results)) {
      const [, output] = Object.entries(meta.outputs).find(([file]) => file.endsWith(".mjs"))!;
      const external = output.imports.filter((i) => i.external).map((i) => i.path);
      const unexpected = external.filter((p) => !builtins.has(p) && !(NATIVE as string[]).some((n) => p === n || p.startsWith(`${n}/`)));
      expect(unexpected, `${name} imports ${unexpected.join(", ")}`).toEqual([]);
      expect(output.bytes).toBeGreaterThan(10_000);
    }
  }, 120_000);
});
