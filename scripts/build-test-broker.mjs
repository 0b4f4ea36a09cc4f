#!/usr/bin/env node
// Builds the tests' Kafka-protocol broker: librdkafka's mock cluster, from the librdkafka source that the
// npm registry ships inside @confluentinc/kafka-javascript (deps/librdkafka), with a few protocol
// versions and admin APIs added by test/kafka/librdkafka-mock.patch (the pure-JavaScript client speaks
// newer request versions than the mock answers), linked statically with test/kafka/mock-cluster.c.
//
// Debian's librdkafka 2.0.2 mock cannot serve @platformatic/kafka (Fetch v12+, Metadata v9+, FindCoordinator
// v4+, OffsetFetch v8+ are its lowest versions), hence a build of our own. Called by scripts/test-setup.mjs
// (npm test's pretest) and by test/helpers/kafka.ts when the binary is missing. The result is cached in
// node_modules/.cache/unmeltable-test/ and rebuilt only when the source, the patch or the launcher change.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = path.join(ROOT, "node_modules/.cache/unmeltable-test");
const PACKAGE = "@confluentinc/kafka-javascript@1.10.1";
const LIBRDKAFKA = "2.15.1";
const LAUNCHER = path.join(ROOT, "test/kafka/mock-cluster.c");
const PATCH = path.join(ROOT, "test/kafka/librdkafka-mock.patch");
export const BROKER_BINARY = path.join(CACHE, "mock-cluster");
const STAMP = `${BROKER_BINARY}.stamp`;
const WORK = path.join(CACHE, `librdkafka-${LIBRDKAFKA}`);
/** Bump when the configure flags or the link line below change: the cached broker is rebuilt. */
const RECIPE = "configure-minimal-1";

function step(line) {
  process.stderr.write(`test setup: ${line}\n`);
}

/**
 * librdkafka's source: the installed optional client's copy, or the one in its npm tarball (a machine
 * where npm skipped the optional package; UNMELTABLE_TEST_BROKER_FROM_NPM=1 forces this path).
 */
export function findSource() {
  const installed = path.join(ROOT, "node_modules/@confluentinc/kafka-javascript/deps/librdkafka");
  if (isVersion(installed) && !process.env.UNMELTABLE_TEST_BROKER_FROM_NPM) return installed;
  const into = path.join(CACHE, "kafka-javascript-1.10.1");
  const unpacked = path.join(into, "package/deps/librdkafka");
  if (isVersion(unpacked)) return unpacked;
  step(`fetching librdkafka ${LIBRDKAFKA}'s source from the npm registry (${PACKAGE})`);
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const out = execFileSync("npm", ["pack", PACKAGE, "--silent", "--pack-destination", CACHE], { cwd: CACHE, encoding: "utf8" }).trim().split("\n").pop();
  execFileSync("tar", ["-xzf", path.join(CACHE, out), "-C", into, "package/deps/librdkafka"]);
  rmSync(path.join(CACHE, out));
  if (!isVersion(unpacked)) throw new Error(`${PACKAGE} did not contain librdkafka ${LIBRDKAFKA}`);
  return unpacked;
}

function isVersion(dir) {
  const header = path.join(dir, "src/rdkafka.h");
  return existsSync(header) && /#define RD_KAFKA_VERSION 0x020f01ff/.test(readFileSync(header, "utf8"));
}

/** What the binary is made of: a change to any of these rebuilds it. */
function fingerprint() {
  const h = createHash("sha256");
  h.update(LIBRDKAFKA);
  h.update(readFileSync(LAUNCHER));
  h.update(readFileSync(PATCH));
  h.update(RECIPE);
  return h.digest("hex");
}

export function testBrokerReady() {
  return existsSync(BROKER_BINARY) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === fingerprint();
}

/**
 * Builds the broker unless the cached one is current; returns its path. Test files start in parallel and
 * may all find it missing: one builds (holding a lock directory), the others wait for it.
 */
export function buildTestBroker() {
  if (testBrokerReady()) return BROKER_BINARY;
  mkdirSync(CACHE, { recursive: true });
  const lock = path.join(CACHE, "mock-cluster.lock");
  const waitStep = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      // A lock older than 20 minutes is a build that died: take it over.
      if (waited === 0 && Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(waitStep, 0, 0, 500);
      if (testBrokerReady()) return BROKER_BINARY;
    }
  }
  try {
    if (testBrokerReady()) return BROKER_BINARY;
    return build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function build() {
  const started = Date.now();
  step(`building the Kafka test broker (librdkafka ${LIBRDKAFKA} mock cluster, ~2 min on 2 cores)`);
  const source = findSource();
  // A clean copy of the pristine source each time the patch or launcher change: patches apply to it once.
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  for (const entry of readdirSync(source)) {
    if (["tests", "examples", "packaging", "win32", "src-cpp", "config.cache", "config.log", "config.log.old", "config.h", "Makefile.config"].includes(entry)) continue;
    cpSync(path.join(source, entry), path.join(WORK, entry), {
      recursive: true,
      // Objects of the client's own build may sit next to the source: never reuse them.
      filter: (f) => !/\.(o|d|a|so|so\.\d+|lds|pc)$/.test(f),
    });
  }
  const run = (cmd, args, cwd = WORK) => execFileSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "inherit"] });
  if (readFileSync(PATCH, "utf8").trim()) run("patch", ["-p1", "-s", "-i", PATCH]);
  step("test broker: configuring librdkafka (no TLS, SASL, compression libraries or HTTP: the mock needs none)");
  run("./configure", [
    "--disable-ssl",
    "--disable-gssapi",
    "--disable-zstd",
    "--disable-zlib",
    "--disable-curl",
    "--disable-lz4-ext",
    "--disable-regex-ext",
    "--disable-syslog",
    "--disable-debug-symbols",
    "--no-download",
  ]);
  step("test broker: compiling librdkafka (make -j2)");
  run("make", ["-j2", "-s", "-C", "src", "librdkafka.a"]);
  step("test broker: linking the launcher");
  const include = path.join(WORK, "include/librdkafka");
  mkdirSync(include, { recursive: true });
  for (const h of ["rdkafka.h", "rdkafka_mock.h"]) cpSync(path.join(WORK, "src", h), path.join(include, h));
  const libs = (readFileSync(path.join(WORK, "Makefile.config"), "utf8").match(/^LIBS\+?=(.*)$/gm) ?? []).flatMap((l) => l.replace(/^LIBS\+?=/, "").trim().split(/\s+/)).filter(Boolean);
  const tmp = `${BROKER_BINARY}.tmp`;
  run("cc", ["-O2", "-Wall", "-I", path.join(WORK, "include"), "-o", tmp, LAUNCHER, path.join(WORK, "src/librdkafka.a"), ...libs, "-lpthread", "-lm"], ROOT);
  renameSync(tmp, BROKER_BINARY);
  writeFileSync(STAMP, fingerprint());
  step(`test broker built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${path.relative(ROOT, BROKER_BINARY)}`);
  return BROKER_BINARY;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    buildTestBroker();
  } catch (err) {
    step(`could not build the Kafka test broker: ${err.message} (it needs cc, make, patch and python3 or perl for configure)`);
    process.exit(1);
  }
}
