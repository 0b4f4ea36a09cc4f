/**
 * Issue 12 §1: no native addon in any Lambda artifact. Every function the stacks deploy is built the way
 * SST builds it, with the `nodejs` arguments the stacks give it (read from the stack definitions under
 * Pulumi mocks, so the check cannot drift from the deployment), and checked as SST would upload it:
 * the bundle names no `.node` file and no native package; what SST npm-installs beside it (on the
 * deploying machine, no lockfile, install scripts run) is pure JavaScript at versions that cannot move;
 * the bundle loads with only that beside it; and only the functions that talk to Kafka hold the client.
 * scripts/sst-functions.mjs has the builder and the checks (and runs them on the command line).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_EXCLUDED, LAMBDA_KAFKA_RUNTIME, NATIVE_KAFKA_CLIENT } from "../../stacks/config";
import { KAFKA_HANDLERS } from "../../stacks/functions";
import { bundleHandler, installClosure, installList, installProblems, loadIsolated, nativeReferences, OPTIONAL_NATIVE } from "../../scripts/sst-functions.mjs";
import { componentsOf, runApp, T, type Untyped } from "./harness";

interface Built {
  name: string;
  handler: string;
  nodejs: { install?: Record<string, string>; esbuild?: { external?: string[] } };
  outfile: string;
  code: string;
  externals: string[];
  bundled: string[];
}

let outDir: string;
const built: Built[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), "unmeltable-lambda-artifacts-"));
  await runApp({ stage: "prod" });
  const seen = new Set<string>();
  for (const c of componentsOf(T.function)) {
    const handler = c.args.handler as string;
    if (seen.has(handler)) continue;
    seen.add(handler);
    const nodejs = (c.args.nodejs ?? {}) as Built["nodejs"];
    // One at a time: esbuild is fast, the machine has two cores.
    const b = await bundleHandler({ handler, runtime: c.args.runtime as string, nodejs: nodejs as Untyped, outDir });
    built.push({ name: c.name, handler, nodejs, outfile: b.outfile, code: readFileSync(b.outfile, "utf8"), externals: b.externals, bundled: b.bundled });
  }
}, 300_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

// Named here for it.each (known before the stacks run); the count check below fails when a deployed function is missing.
const handlers = ["process", "index", "search", "topics", "lifecycle", "archive", "archive-worker", "alerts"].map((n) => `functions/${n}.handler`).concat("stacks/handlers/index-access.handler");
const fn = (handler: string) => {
  const b = built.find((x) => x.handler === handler);
  if (!b) throw new Error(`no deployed function has handler ${handler}`);
  return b;
};

describe("each deployed function's artifact, built as SST builds it", () => {
  it.each(handlers)("%s: the bundle names no .node file and no native package", (handler) => {
    const found = nativeReferences(fn(handler).code);
    expect(found.filter((f: { kind: string }) => f.kind !== "optional")).toEqual([]);
    // A native package the code only tries (with a pure-JS fallback) is named, never installed.
    const installed = installClosure(fn(handler).nodejs.install ?? {}).map((p: { name: string }) => p.name);
    for (const f of found.filter((x: { kind: string }) => x.kind === "optional")) {
      expect(Object.keys(OPTIONAL_NATIVE)).toContain(f.what);
      expect(installed).not.toContain(f.what);
    }
  });

  it.each(handlers)("%s: what SST installs beside it has no install script, no native build, and exact versions from the lockfile", (handler) => {
    expect(installProblems(fn(handler).nodejs.install ?? {})).toEqual([]);
  });

  /** Left out by esbuild because they are not installed, tried in try/catch by the code that needs them. */
  const TRIED: Record<string, string> = {
    "aws-sdk": "@opensearch-project/opensearch/aws imports AWS SDK v2 in try/catch only after v3 (bundled) failed",
  };
  it.each(handlers)("%s: leaves out only Node's modules, what is installed beside it, and what Lambda never runs", (handler) => {
    const b = fn(handler);
    const allowed = [...installList(b.nodejs.install), ...LAMBDA_EXCLUDED, ...Object.keys(TRIED)];
    expect(b.externals.filter((e) => !allowed.some((a) => e === a || e.startsWith(`${a}/`)))).toEqual([]);
  });

  it.each(handlers)(
    "%s: loads with only what SST installs beside it",
    (handler) => {
      expect(loadIsolated(fn(handler).outfile, fn(handler).nodejs.install ?? {})).toContain("handler");
    },
    120_000,
  );
});

describe("the Kafka client", () => {
  const bundlesKafka = (b: Built) => b.bundled.some((p) => p.includes("node_modules/@platformatic/kafka/"));

  it("is in the bundles of exactly the functions KAFKA_HANDLERS names, and only they get its packages installed", () => {
    expect(built.length).toBe(handlers.length);
    const withClient = built.filter(bundlesKafka).map((b) => b.handler);
    expect(new Set(withClient)).toEqual(new Set(KAFKA_HANDLERS));
    for (const b of built) expect(b.nodejs.install, b.handler).toEqual(bundlesKafka(b) ? LAMBDA_KAFKA_RUNTIME : undefined);
  });

  it("installs beside them exactly the client's packages that must be loaded from node_modules, at package-lock.json's versions", () => {
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { version?: string }> };
    for (const [name, version] of Object.entries(LAMBDA_KAFKA_RUNTIME)) expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
    // The WebAssembly file is read beside wasm-utils' own module when it loads (esbuild does not copy it).
    const wasmUtils = readFileSync(path.join("node_modules", "@platformatic/wasm-utils", "dist", "index.js"), "utf8");
    expect(wasmUtils).toMatch(/readFileSync\(new URL\(['"][^'"]*native\.wasm['"], import\.meta\.url\)\)/);
    // Every Kafka bundle imports both from node_modules, so they share one copy of dynamic-buffer.
    for (const b of built.filter(bundlesKafka)) expect(b.externals).toEqual(expect.arrayContaining(Object.keys(LAMBDA_KAFKA_RUNTIME)));
  });
});

describe("the check", () => {
  it("refuses what was deployed before: the native client npm-installed beside every function", () => {
    const problems = installProblems({ [NATIVE_KAFKA_CLIENT.name]: NATIVE_KAFKA_CLIENT.version }).join("\n");
    expect(problems).toMatch(/install script `[^`]*node-pre-gyp/);
    expect(problems).toMatch(/binary .*node_abi/);
    expect(problems).toMatch(/not pinned in nodejs\.install/);
  });

  it("refuses a version range, and a version other than the lockfile's", () => {
    const [name, version] = Object.entries(LAMBDA_KAFKA_RUNTIME)[0];
    expect(installProblems({ ...LAMBDA_KAFKA_RUNTIME, [name]: `^${version}` }).join("\n")).toMatch(/is not exact/);
    expect(installProblems({ ...LAMBDA_KAFKA_RUNTIME, [name]: "0.0.1" }).join("\n")).toMatch(/in package-lock\.json/);
    expect(installProblems([name]).join("\n")).toMatch(/"\*" is not exact/);
  });

  it("finds native code in a bundle however it is reached, and not in names that merely look alike", () => {
    const code = [
      `const rd = createRequire(import.meta.url)("@confluentinc/kafka-javascript");`,
      `import Database from "better-sqlite3";`,
      `const b = require("bindings")("addon");`,
      `const p = "./build/Release/addon.node";`,
      `process.dlopen(module, p);`,
      `const lazy = await import("node-gyp-build");`,
      `const crc = require3("@node-rs/crc32");`,
      `const bindings = { byName: {} }; const n = bindings.byName.node; const s = "node_modules/x.js";`,
    ].join("\n");
    expect(nativeReferences(code).map((f: { kind: string; what: string; line: number }) => `${f.line} ${f.kind} ${f.what}`).sort()).toEqual(
      [
        "1 native-package @confluentinc/kafka-javascript",
        "2 native-package better-sqlite3",
        "3 native-package bindings",
        "4 node-file ./build/Release/addon.node",
        "5 dlopen process.dlopen",
        "6 native-package node-gyp-build",
        "7 optional @node-rs/crc32",
      ].sort(),
    );
  });
});
