// Bundles sst.config.ts the way the SST CLI does before `sst deploy` (pkg/project/run.go and pkg/js/js.go
// in https://github.com/anomalyco/sst): SST's run() wrapper + the config, the global shim injected, `$app`/`$cli`/`$dev`
// defined, `aws`/`sst` imports prepended to every file of ours, @pulumi/* external (resolved from
// .sst/platform/node_modules at run time). It fails on what the CLI would refuse: a top-level import
// in sst.config.ts, an import that does not resolve, a duplicate declaration.
// Needs the generated platform: `npm run sst:types` first. Exit 0 when the bundle builds.
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const platform = path.join(root, ".sst", "platform");

/** SST refuses `import` statements at the top of sst.config.ts (ErrTopLevelImport): use `await import()` in run(). */
export function topLevelImports(source) {
  return source
    .split("\n")
    .map((line, i) => ({ line: i + 1, text: line }))
    .filter((l) => /^\s*import\s+(?!\()/.test(l.text) && !/^\s*import\s+type\s/.test(l.text));
}

export async function bundleCheck({ stage = "ci" } = {}) {
  if (!existsSync(path.join(platform, "config.d.ts"))) throw new Error(".sst/platform is missing: run `npm run sst:types` first");
  const imports = topLevelImports(readFileSync(path.join(root, "sst.config.ts"), "utf8"));
  if (imports.length) throw new Error(`sst.config.ts has top-level imports (SST refuses them; use await import() inside run()): ${imports.map((l) => `line ${l.line}`).join(", ")}`);

  const esbuild = createRequire(path.join(platform, "package.json"))("esbuild");
  const injectGlobals = {
    name: "sst-inject-globals",
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (args.path.includes(`${path.sep}.sst${path.sep}`) || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, "utf8");
        const ext = path.extname(args.path).slice(1);
        const loader = ext.startsWith("t") || ext === "mts" || ext === "cts" ? "ts" : "js";
        return {
          contents: `import * as aws from "@pulumi/aws";\nimport * as sst from ${JSON.stringify(path.join(platform, "src", "components", "index.ts"))};\n${source}`,
          loader,
        };
      });
    },
  };
  const result = await esbuild.build({
    stdin: {
      contents: [
        `import { run } from ${JSON.stringify(path.join(platform, "src", "auto", "run.ts"))};`,
        `import mod from ${JSON.stringify(path.join(root, "sst.config.ts"))};`,
        `export default await run(mod.run);`,
      ].join("\n"),
      resolveDir: root,
      loader: "ts",
      sourcefile: "eval.ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "esnext",
    write: false,
    metafile: true,
    outfile: path.join(platform, `sst.config.check.mjs`),
    nodePaths: [path.join(platform, "node_modules")],
    external: ["@pulumi/*", "@aws-sdk/*", "undici", "esbuild", "archiver", "glob", "vite", "@pulumiverse/*", "@sst-provider/*"],
    define: {
      $app: JSON.stringify({ name: "unmeltable", stage, removal: "remove", providers: {}, protect: false }),
      $cli: JSON.stringify({ command: "deploy", dev: false, paths: { root, work: path.join(root, ".sst"), platform, home: root } }),
      $dev: "false",
    },
    inject: [path.join(platform, "src", "shim", "run.js")],
    plugins: [injectGlobals],
    logLevel: "silent",
  });
  const ours = Object.keys(result.metafile.inputs).filter((p) => !p.includes(".sst/") && !p.includes("node_modules/"));
  return { bytes: result.outputFiles[0].contents.length, inputs: ours, warnings: result.warnings.map((w) => w.text) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const r = await bundleCheck();
    console.log(`sst.config.ts bundles as SST would: ${(r.bytes / 1024).toFixed(0)} KiB, our files: ${r.inputs.join(", ")}`);
  } catch (err) {
    console.error(err.errors ? err.errors.map((e) => `${e.text} ${e.location ? `${e.location.file}:${e.location.line}` : ""}`).join("\n") : err.message);
    process.exit(1);
  }
}
