import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { kafkaClientKind } from "../../packages/runtime/src/queue-config";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FUNCTIONS = ["alerts", "archive", "index", "lifecycle", "process", "search", "topics"];

/** What a bundle of these entries reaches: our source files, and the packages it leaves to node_modules. */
async function reach(entries: string[]): Promise<{ files: string[]; packages: Set<string>; code: string }> {
  const packages = new Set<string>();
  const result = await build({
    entryPoints: entries.map((e) => path.join(ROOT, e)),
    bundle: true,
    write: false,
    outdir: path.join(ROOT, "node_modules/.cache/unmeltable-test/entries"),
    platform: "node",
    format: "esm",
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        name: "packages-outside",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith("@unmeltable/")) return undefined;
            packages.add(args.path.startsWith("@") ? args.path.split("/").slice(0, 2).join("/") : args.path.split("/")[0]!);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return { files: Object.keys(result.metafile!.inputs), packages, code: result.outputFiles!.map((f) => f.text).join("\n") };
}

describe("Kafka client entries", () => {
  it("no function reaches the native client: only @unmeltable/queue-kafka/native does", async () => {
    const functions = await reach(FUNCTIONS.map((f) => `functions/${f}.ts`));
    expect(functions.packages).not.toContain("@confluentinc/kafka-javascript");
    // Not even through createRequire, which a bundler does not follow but Lambda would run.
    expect(functions.code).not.toMatch(/["']@confluentinc\/kafka-javascript["']/);
    expect(functions.files.some((f) => f.includes("queue-kafka/src/native"))).toBe(false);
    // The functions that talk to Kafka get the pure-JS client.
    expect(functions.packages).toContain("@platformatic/kafka");

    const native = await reach(["packages/queue-kafka/src/native.ts"]);
    expect(native.files.some((f) => f.endsWith("queue-kafka/src/native-queue.ts"))).toBe(true);
  });

  it("bundles into one file that runs with nothing beside it, given the WebAssembly inlined (wasm-utils/bundled)", async () => {
    // @platformatic/wasm-utils reads its lz4/snappy/crc32c module from "../dist/native.wasm" next to
    // itself, which a bundle does not have; its "bundled" entry carries the module inline. The stacks
    // cannot alias (SST 4.17 passes no esbuild `alias`): they install wasm-utils beside the bundle instead,
    // checked in test/stacks/lambda-artifacts.test.ts. This is the one-file alternative, and proves the
    // client's compression runs bundled.
    const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-kafka-bundle-"));
    try {
      await build({
        stdin: {
          contents: `import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
            import { compressionsAlgorithms } from "@platformatic/kafka";
            const data = Buffer.from("lz4 ".repeat(100));
            const lz4 = compressionsAlgorithms.lz4;
            const q = new PlatformaticKafkaQueue({ brokers: ["127.0.0.1:1"] });
            await q.close();
            console.log(Buffer.compare(lz4.decompressSync(lz4.compressSync(data)), data) === 0 ? "ok" : "corrupt");`,
          resolveDir: path.join(ROOT, "packages/queue-kafka"),
          loader: "ts",
        },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        outfile: path.join(dir, "index.mjs"),
        alias: { "@platformatic/wasm-utils": "@platformatic/wasm-utils/bundled" },
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
        logLevel: "silent",
      });
      expect(execFileSync(process.execPath, [path.join(dir, "index.mjs")], { cwd: dir, encoding: "utf8" }).trim()).toBe("ok");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the runtime picks the client from --kafka-client, else UNMELTABLE_KAFKA_CLIENT, else js", () => {
    expect(kafkaClientKind(undefined, {})).toBe("js");
    expect(kafkaClientKind(undefined, { UNMELTABLE_KAFKA_CLIENT: "native" })).toBe("native");
    expect(kafkaClientKind("js", { UNMELTABLE_KAFKA_CLIENT: "native" })).toBe("js");
    expect(() => kafkaClientKind("rdkafka", {})).toThrow(/js or native/);
  });
});
