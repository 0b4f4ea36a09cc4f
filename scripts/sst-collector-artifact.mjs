// Makes the collectors' program artifact (config `collector.artifact` kind "s3"): a tarball with the
// built program (bin/, dist/) and a package.json listing exactly the third-party packages the bundle
// loads, pinned to the versions installed here. The collector's boot script unpacks it and runs
// `npm install --omit=dev` there, so native packages (librdkafka, SQLite) are built for the instance.
//   node scripts/sst-collector-artifact.mjs [--out DIR]       → DIR/unmeltable-collector-<version>.tgz
// Then upload it where stacks/config.ts points, e.g.
//   aws s3 cp dist/artifacts/unmeltable-collector-0.1.0.tgz s3://unmeltable-artifacts/collector/
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outDir = path.resolve(root, args.includes("--out") ? args[args.indexOf("--out") + 1] : "dist/artifacts");
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

/** Third-party packages the bundles load: the workspace packages' dependencies whose names the bundles mention. */
export function runtimeDependencies(bundles, workspaceDeps) {
  const text = bundles.join("\n");
  return [...workspaceDeps].filter((name) => !name.startsWith("@unmeltable/") && (text.includes(`"${name}"`) || text.includes(`"${name}/`))).sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  execFileSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
  const { version } = readJson(path.join(root, "package.json"));
  const name = `unmeltable-collector-${version}`;
  const bundles = ["unmeltable.mjs", "index-writer-worker.mjs", "index-reader-worker.mjs"].map((f) => readFileSync(path.join(root, "dist", f), "utf8"));
  const workspaceDeps = new Set();
  for (const dir of readdirSync(path.join(root, "packages"))) {
    const pj = path.join(root, "packages", dir, "package.json");
    if (existsSync(pj)) for (const dep of Object.keys(readJson(pj).dependencies ?? {})) workspaceDeps.add(dep);
  }
  const dependencies = Object.fromEntries(
    runtimeDependencies(bundles, workspaceDeps).map((dep) => [dep, readJson(path.join(root, "node_modules", dep, "package.json")).version]),
  );

  const stage = path.join(outDir, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(path.join(stage, "dist"), { recursive: true });
  cpSync(path.join(root, "bin"), path.join(stage, "bin"), { recursive: true });
  for (const f of readdirSync(path.join(root, "dist"))) if (/\.mjs(\.map)?$/.test(f)) cpSync(path.join(root, "dist", f), path.join(stage, "dist", f));
  writeFileSync(
    path.join(stage, "package.json"),
    JSON.stringify({ name: "unmeltable-collector", version, private: true, type: "module", bin: { unmeltable: "bin/unmeltable.mjs" }, engines: { node: ">=20.19" }, dependencies }, null, 2) + "\n",
  );
  const tarball = path.join(outDir, `${name}.tgz`);
  execFileSync("tar", ["-czf", tarball, "-C", outDir, name]);
  rmSync(stage, { recursive: true, force: true });
  console.log(`${path.relative(root, tarball)}: the program and ${Object.keys(dependencies).length} runtime dependencies (${Object.keys(dependencies).join(", ")})`);
}
