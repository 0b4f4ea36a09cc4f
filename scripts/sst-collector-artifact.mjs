// Makes the collectors' program artifact (config `collector.artifact` kind "s3"): a tarball with the
// built program (bin/, dist/), a package.json listing exactly the third-party packages the bundles load,
// and a package-lock.json cut from the repository's own lockfile for those packages (the versions and
// integrity hashes the tests ran with). The collector's boot script unpacks it and runs `npm ci` there,
// so what is installed is pinned, and native packages (SQLite; the optional native Kafka client) are
// built or downloaded for the instance itself, not for the machine that made the artifact.
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

/**
 * The native UDP receive path as source, with its build script, at the same places as in the repository:
 * the boot script compiles it on the instance (`node scripts/build-native.mjs`), for that instance.
 */
export const NATIVE_SOURCES = ["scripts/build-native.mjs", "packages/collector/native/udp-recvmmsg.c"];

/** Third-party packages the bundles load: the workspace packages' dependencies whose names the bundles mention. */
export function runtimeDependencies(bundles, workspaceDeps) {
  const text = bundles.join("\n");
  return [...workspaceDeps].filter((name) => !name.startsWith("@unmeltable/") && (text.includes(`"${name}"`) || text.includes(`"${name}/`))).sort();
}

/**
 * The artifact's package.json and package-lock.json. `dependencies`: what the bundles load from the
 * workspace packages' dependencies; `optionalDependencies`: from their optional ones (the native Kafka
 * client: the boot script installs it only for a collector configured to use it, and npm goes on
 * without it if it cannot build). Versions are the root lockfile's; the lockfile holds each of those
 * packages and everything they need, as the root lockfile places them, with the flags recomputed
 * (`optional` when only optional packages need it; no dev or peer flags: nothing here is for development).
 */
export function artifactManifest({ version, bundles, workspacePackages, rootLock, allowScripts = {} }) {
  const deps = new Set();
  const optional = new Set();
  for (const pj of workspacePackages) {
    for (const d of Object.keys(pj.dependencies ?? {})) deps.add(d);
    for (const d of Object.keys(pj.optionalDependencies ?? {})) optional.add(d);
  }
  const lockVersion = (name) => {
    const entry = rootLock.packages[`node_modules/${name}`];
    if (!entry?.version) throw new Error(`${name} is not in package-lock.json: run npm install`);
    return entry.version;
  };
  const dependencies = Object.fromEntries(runtimeDependencies(bundles, deps).map((d) => [d, lockVersion(d)]));
  const optionalDependencies = Object.fromEntries(runtimeDependencies(bundles, optional).filter((d) => !(d in dependencies)).map((d) => [d, lockVersion(d)]));

  // Walk the root lockfile's tree from each top-level package: a dependency of the package at `at`
  // is the nearest node_modules/<name> going up from it (Node's resolution, which the lockfile records).
  const packages = {};
  const required = new Set();
  const resolve = (name, at) => {
    for (let dir = at; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
      const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (rootLock.packages[key] && !rootLock.packages[key].link) return key;
      if (!dir) return undefined;
    }
  };
  const visit = (key, viaOptional) => {
    const seenRequired = required.has(key);
    if (key in packages && (viaOptional || seenRequired)) return;
    if (!viaOptional) required.add(key);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, optional: _optional, ...entry } = rootLock.packages[key];
    packages[key] = entry;
    for (const [deps, isOptional] of [[entry.dependencies, false], [entry.optionalDependencies, true], [entry.peerDependencies, false]]) {
      for (const name of Object.keys(deps ?? {})) {
        if (deps === entry.peerDependencies && entry.peerDependenciesMeta?.[name]?.optional) continue;
        const found = resolve(name, key);
        if (found) visit(found, viaOptional || isOptional);
        else if (!isOptional) throw new Error(`${key} needs ${name}, which package-lock.json does not have`);
      }
    }
  };
  for (const name of Object.keys(dependencies)) visit(`node_modules/${name}`, false);
  for (const name of Object.keys(optionalDependencies)) visit(`node_modules/${name}`, true);
  for (const key of Object.keys(packages)) if (!required.has(key)) packages[key].optional = true;

  // The repository's install-script policy (npm 11's allowScripts) for the packages in the artifact: the
  // instance's npm then builds exactly what the repository's does, whichever npm version it is.
  const locked = new Set(Object.keys(packages).map((k) => k.slice(k.lastIndexOf("node_modules/") + "node_modules/".length)));
  const scripts = Object.fromEntries(Object.entries(allowScripts).filter(([name]) => locked.has(name)));
  const packageJson = { name: "unmeltable-collector", version, private: true, type: "module", bin: { unmeltable: "bin/unmeltable.mjs" }, engines: { node: ">=20.19" }, dependencies, optionalDependencies, allowScripts: scripts };
  const sorted = Object.fromEntries(Object.keys(packages).sort().map((k) => [k, packages[k]]));
  const lockfile = { name: packageJson.name, version, lockfileVersion: 3, requires: true, packages: { "": { name: packageJson.name, version, dependencies, optionalDependencies, bin: packageJson.bin, engines: packageJson.engines }, ...sorted } };
  return { packageJson, lockfile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  execFileSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
  const { version } = readJson(path.join(root, "package.json"));
  const name = `unmeltable-collector-${version}`;
  const bundles = ["unmeltable.mjs", "index-writer-worker.mjs", "index-reader-worker.mjs", "udp-receiver-worker.mjs"].map((f) => readFileSync(path.join(root, "dist", f), "utf8"));
  const workspacePackages = readdirSync(path.join(root, "packages"))
    .map((dir) => path.join(root, "packages", dir, "package.json"))
    .filter((pj) => existsSync(pj))
    .map(readJson);
  const { packageJson, lockfile } = artifactManifest({ version, bundles, workspacePackages, rootLock: readJson(path.join(root, "package-lock.json")), allowScripts: readJson(path.join(root, "package.json")).allowScripts });

  const stage = path.join(outDir, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(path.join(stage, "dist"), { recursive: true });
  cpSync(path.join(root, "bin"), path.join(stage, "bin"), { recursive: true });
  for (const f of readdirSync(path.join(root, "dist"))) if (/\.mjs(\.map)?$/.test(f)) cpSync(path.join(root, "dist", f), path.join(stage, "dist", f));
  // Not dist/udp-recvmmsg.node: built for this machine, it may not load on the instance (NATIVE_SOURCES).
  for (const f of NATIVE_SOURCES) cpSync(path.join(root, f), path.join(stage, f));
  writeFileSync(path.join(stage, "package.json"), JSON.stringify(packageJson, null, 2) + "\n");
  writeFileSync(path.join(stage, "package-lock.json"), JSON.stringify(lockfile, null, 2) + "\n");
  const tarball = path.join(outDir, `${name}.tgz`);
  execFileSync("tar", ["-czf", tarball, "-C", outDir, name]);
  rmSync(stage, { recursive: true, force: true });
  const deps = Object.keys(packageJson.dependencies);
  const optional = Object.keys(packageJson.optionalDependencies);
  console.log(`${path.relative(root, tarball)}: the program, ${deps.length} runtime dependencies (${deps.join(", ")}), optional ${optional.join(", ") || "none"}; ${Object.keys(lockfile.packages).length - 1} packages locked`);
}
