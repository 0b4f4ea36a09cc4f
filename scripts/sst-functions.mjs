// Bundles Lambda handlers the way the SST CLI does for `sst.aws.Function` (sst 4.17,
// pkg/runtime/node/build.go), and checks the artifacts SST would upload: esbuild, one ESM file per
// function with SST's createRequire banner, platform node, target from the Lambda runtime, main fields
// module/main, `sharp`/`pg-native`, the `nodejs.install` packages and `nodejs.esbuild.external` left
// external; SST then runs `npm install --force --os=linux --cpu=x64` (no lockfile, install scripts run)
// beside the bundle for the `nodejs.install` packages, on the deploying machine. So an artifact is
// right for Lambda only if the bundle needs nothing native and the installed packages build nothing:
// `nativeReferences`, `installClosure`/`installProblems`, and `loadIsolated` (the bundle loads with only
// what SST installs beside it) check that. Used by test/stacks/bundle.test.ts and lambda-artifacts.test.ts;
// on the command line it bundles every functions/*.ts with the `nodejs` the stacks give it and checks them:
//   node --import tsx scripts/sst-functions.mjs [--out DIR] [functions/x.ts ...]
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** esbuild targets SST uses per Lambda runtime (build.go `targetMap`, plus Node 24). */
export const TARGETS = { "nodejs20.x": "es2023", "nodejs22.x": "es2023", "nodejs24.x": "es2024" };
/** Always external in SST's build (build.go `forceExternal`). */
export const FORCE_EXTERNAL = ["sharp", "pg-native"];
/** The handler file extensions SST tries, in order (node.go `NODE_EXTENSIONS`). */
const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

const BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

/** `functions/process.handler` → the file SST would build, or undefined. */
export function handlerFile(handler, root = ROOT) {
  const dir = path.dirname(handler);
  const base = path.basename(handler).split(".").slice(0, -1).join(".");
  for (const ext of EXTENSIONS) {
    const f = path.join(root, dir, base + ext);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/**
 * Bundles one handler as SST does with the function's `nodejs` arguments (`install`, `esbuild.external`,
 * `esbuild.target`/`mainFields`/`conditions`/`define`/`nodePaths`/`keepNames`/`sourcemap`, `banner`,
 * `loader`: the options build.go reads). Returns the output's exports, the packages left external, the
 * bundled inputs and esbuild's messages; throws when esbuild reports errors (unresolvable imports, ...).
 * @param {{ handler: string, runtime?: string, nodejs?: { install?: string[] | Record<string, string>, esbuild?: Record<string, any>, banner?: string, loader?: Record<string, string>, format?: string }, install?: string[] | Record<string, string>, outDir: string, root?: string }} options
 */
export async function bundleHandler({ handler, runtime = "nodejs24.x", nodejs = {}, install, outDir, root = ROOT }) {
  const file = handlerFile(handler, root);
  if (!file) throw new Error(`handler not found: ${handler} (SST looks for ${EXTENSIONS.map((e) => handler.replace(/\.[^.]+$/, e)).join(", ")})`);
  if (nodejs.format === "cjs") throw new Error(`${handler}: nodejs.format "cjs" is not mirrored here (SST's default, ESM, is)`);
  const outfile = path.join(outDir, handler.replace(/[^a-zA-Z0-9]/g, "_"), "bundle.mjs");
  const installNames = installList(install ?? nodejs.install);
  const es = nodejs.esbuild ?? {};
  const result = await build({
    entryPoints: [file],
    platform: "node",
    bundle: true,
    format: "esm",
    target: es.target ?? TARGETS[runtime] ?? "esnext",
    outfile,
    external: [...FORCE_EXTERNAL, ...installNames, ...(es.external ?? [])],
    loader: nodejs.loader,
    keepNames: es.keepNames ?? true,
    sourcemap: es.sourcemap ?? "linked",
    metafile: true,
    mainFields: es.mainFields ?? ["module", "main"],
    conditions: es.conditions,
    define: es.define,
    nodePaths: es.nodePaths,
    banner: { js: [BANNER, nodejs.banner ?? ""].join("\n") },
    logLevel: "silent",
    absWorkingDir: root,
  });
  const output = Object.entries(result.metafile.outputs).find(([k]) => k.endsWith(".mjs"))[1];
  const externals = new Set();
  const builtin = (p) => p.startsWith("node:") || p === "<runtime>" || builtinModules.includes(p.split("/")[0]);
  for (const input of Object.values(result.metafile.inputs)) for (const imp of input.imports) if (imp.external && !builtin(imp.path)) externals.add(imp.path);
  return {
    file: path.relative(root, file),
    outfile,
    bytes: output.bytes,
    exports: output.exports,
    /** Packages left out of the bundle (Node's own modules not listed). */
    externals: [...externals].sort(),
    inputs: Object.keys(result.metafile.inputs),
    /** Inputs that contribute code to the bundle (tree-shaken modules are parsed but not in here). */
    bundled: Object.entries(output.inputs).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k),
    warnings: result.warnings.map((w) => `${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ""}`),
  };
}

/** `nodejs.install` as SST reads it: a list of names, or names → versions. */
export function installList(install) {
  return Array.isArray(install) ? install : Object.keys(install ?? {});
}

/** Packages that are native addons or load one (their JS is useless without a compiled `.node` file). */
export const NATIVE_PACKAGES = ["@confluentinc/kafka-javascript", "better-sqlite3", "bindings", "node-gyp-build", "node-pre-gyp", "@mapbox/node-pre-gyp", "prebuild-install", "node-addon-api", "nan"];

/**
 * Native packages a bundle may name without needing them: the code tries them in try/catch and has a
 * pure-JS path, and nothing installs them beside a function (lambda-artifacts.test.ts checks both).
 */
export const OPTIONAL_NATIVE = {
  "@node-rs/crc32": "@platformatic/kafka (dist/protocol/crc32c.js) tries it and falls back to the CRC-32C of @platformatic/wasm-utils",
};

const SPECIFIER = String.raw`["'\x60]((?:@[\w.-]+\/)?[\w.-]+)(?:\/[^"'\x60]*)?["'\x60]`;
const MODULE_REFERENCE = new RegExp(String.raw`(?:\brequire\w*\s*\(\s*|\bimport\s*\(\s*|\bfrom\s*|\bimport\s+)` + SPECIFIER + "|" + String.raw`\bcreateRequire\w*\([^)]*\)\s*\(\s*` + SPECIFIER, "g");

/**
 * What in a bundle's code points at native code: a string naming a `.node` file, `process.dlopen`, or
 * a module reference (static or dynamic import, require, createRequire(...)(...)) to a native package.
 * Each finding is `{ kind, what, line }`; OPTIONAL_NATIVE references come back with kind "optional".
 */
export function nativeReferences(code) {
  const found = [];
  const lineOf = (index) => code.slice(0, index).split("\n").length;
  for (const m of code.matchAll(/["'\x60]([^"'\x60\s]*\.node)["'\x60]/g)) found.push({ kind: "node-file", what: m[1], line: lineOf(m.index) });
  for (const m of code.matchAll(/\bprocess\.dlopen\b/g)) found.push({ kind: "dlopen", what: "process.dlopen", line: lineOf(m.index) });
  for (const m of code.matchAll(MODULE_REFERENCE)) {
    const name = m[1] ?? m[2];
    if (NATIVE_PACKAGES.includes(name)) found.push({ kind: "native-package", what: name, line: lineOf(m.index) });
    else if (name in OPTIONAL_NATIVE) found.push({ kind: "optional", what: name, line: lineOf(m.index) });
  }
  return found;
}

/** The directory Node would load `name` from, starting at `fromDir` (node_modules lookup, upwards). */
export function packageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The packages `npm install` would put beside a bundle for `install`: the named ones and, recursively,
 * their dependencies, optional and non-optional peer dependencies (npm installs all three), as this
 * repository's node_modules resolves them. Each entry: `{ name, dir, pkg, from, optional }`; `dir` is
 * undefined for a dependency not installed here (an optional one for another platform).
 */
export function installClosure(install, root = ROOT) {
  const seen = new Map();
  const visit = (name, fromDir, from, optional) => {
    const dir = packageDir(name, fromDir);
    const key = dir ?? `missing:${name}`;
    if (seen.has(key)) return;
    const pkg = dir ? JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) : undefined;
    seen.set(key, { name, dir, pkg, from, optional });
    if (!pkg) return;
    const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, name, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, name, true);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) if (!optionalPeers.has(dep)) visit(dep, dir, name, false);
  };
  for (const name of installList(install)) visit(name, root, undefined, false);
  return [...seen.values()];
}

/** Files under `dir` (not in nested node_modules) whose names end in `.node`: compiled addons. */
function nodeFiles(root, dir = root) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...nodeFiles(root, p));
    else if (entry.name.endsWith(".node")) out.push(path.relative(root, p));
  }
  return out;
}

/**
 * Why `npm install` of `install` beside a bundle would not be the same pure-JS files on every machine:
 * an install script (npm runs preinstall/install/postinstall, and `node-gyp rebuild` for a binding.gyp),
 * a node-pre-gyp `binary` or `gypfile`, a compiled `.node` file, an optional dependency (npm picks those
 * per --os/--cpu), a version that is not exact or not the lockfile's (SST's install has no lockfile),
 * a dependency not itself pinned in `install` (npm would resolve its range on the day). [] when clean.
 */
export function installProblems(install, { root = ROOT, lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) } = {}) {
  const problems = [];
  const pinned = Array.isArray(install) ? {} : install ?? {};
  const names = installList(install);
  for (const name of names) {
    const version = pinned[name];
    if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version ?? "")) problems.push(`${name}: version ${JSON.stringify(version ?? "*")} is not exact (SST's npm install has no lockfile)`);
    const locked = lock.packages?.[`node_modules/${name}`]?.version;
    if (locked !== version) problems.push(`${name}: ${version} here, ${locked ?? "absent"} in package-lock.json`);
  }
  for (const p of installClosure(install, root)) {
    const label = p.from ? `${p.name} (a dependency of ${p.from})` : p.name;
    if (!p.dir) {
      problems.push(`${label}: not installed here${p.optional ? " (optional: npm installs it for --os=linux --cpu=x64 only)" : ""}`);
      continue;
    }
    if (p.optional) problems.push(`${label}: an optional dependency, installed per platform`);
    for (const script of ["preinstall", "install", "postinstall"]) if (p.pkg.scripts?.[script]) problems.push(`${label}: ${script} script \`${p.pkg.scripts[script]}\``);
    if (p.pkg.gypfile) problems.push(`${label}: gypfile`);
    if (existsSync(path.join(p.dir, "binding.gyp"))) problems.push(`${label}: binding.gyp (npm runs node-gyp rebuild)`);
    if (p.pkg.binary) problems.push(`${label}: binary ${JSON.stringify(p.pkg.binary)} (node-pre-gyp downloads a build for the installing machine)`);
    for (const f of nodeFiles(p.dir)) problems.push(`${label}: compiled addon ${f}`);
    if (p.from && !names.includes(p.name)) problems.push(`${label}: not pinned in nodejs.install, npm would resolve its range when it installs`);
    else if (p.from && pinned[p.name] && p.pkg.version !== pinned[p.name]) problems.push(`${label}: ${p.from} resolves ${p.pkg.version} here, ${pinned[p.name]} is installed`);
  }
  return problems;
}

/**
 * Loads a bundle the way Lambda does, in a directory that holds only the bundle and what SST installs
 * beside it (copied from this repository's node_modules, without their own node_modules), with no
 * node_modules above it. Returns the module's export names; throws with Node's error if it does not load.
 */
export function loadIsolated(outfile, install, extraEnv = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "sst-artifact-"));
  try {
    for (let d = path.dirname(dir); ; d = path.dirname(d)) {
      if (existsSync(path.join(d, "node_modules"))) throw new Error(`${d}/node_modules would be visible to the bundle: use another TMPDIR`);
      if (path.dirname(d) === d) break;
    }
    cpSync(outfile, path.join(dir, "bundle.mjs"));
    for (const p of installClosure(install)) {
      if (!p.dir) continue;
      mkdirSync(path.join(dir, "node_modules", p.name), { recursive: true });
      for (const entry of readdirSync(p.dir)) if (entry !== "node_modules") cpSync(path.join(p.dir, entry), path.join(dir, "node_modules", p.name, entry), { recursive: true });
    }
    // Handlers start warming up (tenants, clients) when they load, and fail there without the stack's
    // environment: that is not what this checks, unless it is a module or file that is not there.
    const script = [
      `const background = [];`,
      `process.on("unhandledRejection", (e) => background.push(e));`,
      `const m = await import(${JSON.stringify(pathToFileURL(path.join(dir, "bundle.mjs")).href)});`,
      `await new Promise((r) => setTimeout(r, 200));`,
      `const missing = background.filter((e) => ["ERR_MODULE_NOT_FOUND", "MODULE_NOT_FOUND", "ENOENT"].includes(e?.code));`,
      `if (missing.length) { console.error(missing.map((e) => e.message).join("\\n")); process.exit(1); }`,
      `console.log(JSON.stringify(Object.keys(m)));`,
      `process.exit(0);`,
    ].join("\n");
    // The environment contract (stacks/functions.ts) with local, unreachable values: handlers read it
    // when they load. The tenants file is empty.
    writeFileSync(path.join(dir, "tenants.json"), "[]\n");
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "none",
      AWS_SECRET_ACCESS_KEY: "none",
      AWS_LAMBDA_FUNCTION_NAME: "artifact-check",
      UNMELTABLE_KAFKA_BROKERS: "127.0.0.1:9",
      UNMELTABLE_KAFKA_SASL: "aws-msk-iam",
      UNMELTABLE_TIERS: "default",
      UNMELTABLE_TIER: "default",
      UNMELTABLE_TENANTS: path.join(dir, "tenants.json"),
      UNMELTABLE_INDEX: "opensearch",
      UNMELTABLE_OPENSEARCH_ENDPOINTS: JSON.stringify({ default: "https://127.0.0.1:9" }),
      UNMELTABLE_ARCHIVE_BUCKET: "archive",
      UNMELTABLE_ALERTS: "s3://config/alerts/",
      UNMELTABLE_ERROR_HANDLING: "provisioned",
      ...extraEnv,
    };
    try {
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
      return JSON.parse(out.trim().split("\n").pop());
    } catch (err) {
      throw new Error(`${path.basename(path.dirname(outfile))} does not load beside only ${installList(install).join(", ") || "nothing"}: ${String(err.stderr || err.message).trim().split("\n").slice(0, 6).join(" | ")}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Total size of a directory's files, bytes. */
export function dirBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The stacks' own choice of what each function gets (TypeScript: run with --import tsx).
  const { lambdaNodejs } = await import("../stacks/functions.ts");
  const { LAMBDA_RUNTIME } = await import("../stacks/config.ts");
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const outDir = outAt >= 0 ? path.resolve(args[outAt + 1]) : mkdtempSync(path.join(tmpdir(), "sst-functions-"));
  const files = args.filter((a, i) => !a.startsWith("--") && !(outAt >= 0 && i === outAt + 1));
  const handlers = (files.length ? files : readdirSync(path.join(ROOT, "functions")).filter((f) => f.endsWith(".ts")).map((f) => `functions/${f}`)).map((f) =>
    f.replace(/\.[cm]?[jt]sx?$/, ".handler"),
  );
  let failed = 0;
  for (const handler of handlers) {
    try {
      const nodejs = lambdaNodejs(handler);
      const b = await bundleHandler({ handler, runtime: LAMBDA_RUNTIME, nodejs, outDir });
      const native = nativeReferences(readFileSync(b.outfile, "utf8")).filter((f) => f.kind !== "optional");
      const problems = [...native.map((f) => `bundle line ${f.line}: ${f.what}`), ...installProblems(nodejs.install ?? [])];
      loadIsolated(b.outfile, nodejs.install ?? []);
      console.log(`${handler.padEnd(28)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KiB  installs ${installList(nodejs.install).join(",") || "-"}  external ${b.externals.join(",") || "-"}  ${problems.length ? "PROBLEMS" : "ok"}`);
      for (const p of problems) console.log(`  ${p}`);
      if (problems.length) failed++;
    } catch (err) {
      failed++;
      console.error(`${handler}: ${err.message}`);
    }
  }
  if (outAt < 0) rmSync(outDir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}
