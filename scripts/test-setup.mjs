#!/usr/bin/env node
// The test suite's own set-up, run by `npm test` before vitest (npm's "pretest"): the tests use real
// senders, a real Kafka-protocol broker (built here from librdkafka's source, scripts/build-test-broker.mjs)
// and a real browser, so they need a few Debian packages; the optional native Kafka client is built too
// (its adapter has a contract run of its own, and typecheck reads its types). This installs what is missing when it may (root, or sudo without a password) and
// otherwise names it in one line. Nothing here is needed to run the product (`npm start`).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildTestBroker } from "./build-test-broker.mjs";

/** What the tests use, the Debian package it comes from, and how to tell it is there. */
const NEEDS = [
  { pkg: "bsdutils", why: "logger, a real syslog sender", present: () => onPath("logger") },
  { pkg: "syslog-ng-core", why: "loggen, a real syslog load generator (TLS)", present: () => onPath("loggen") },
  { pkg: "openssl", why: "self-signed certificates for the TLS tests", present: () => onPath("openssl") },
  { pkg: "gcc", why: "compiles the Kafka test broker (librdkafka's mock cluster)", present: () => onPath("cc") },
  { pkg: "make", why: "builds the Kafka test broker", present: () => onPath("make") },
  { pkg: "patch", why: "applies the Kafka test broker's patch to librdkafka", present: () => onPath("patch") },
  { pkg: "python3", why: "librdkafka's configure script", present: () => onPath("python3") || onPath("perl") },
  { pkg: "chromium", why: "the browser of the web UI tests", present: () => existsSync("/usr/bin/chromium") },
  { pkg: "iproute2", why: "ip, which gives the webhook tests a public address in a network namespace of their own", present: () => onPath("ip") || existsSync("/usr/sbin/ip") || existsSync("/sbin/ip") },
];

/**
 * rsyslog and syslog-ng-core conflict in Debian (both provide system-log-daemon): loggen comes from the
 * installed syslog-ng-core, rsyslogd is unpacked from its .deb into a folder of the tests' own (its
 * libraries do not conflict and are installed as packages). A system rsyslogd is used when there is one.
 */
const RSYSLOG_ROOT = "node_modules/.cache/unmeltable-test/rsyslog";
const RSYSLOG_LIBS = ["libestr0", "libfastjson4", "liblognorm5", "libuuid1", "libzstd1", "zlib1g"];

/** What building @confluentinc/kafka-javascript against the system's librdkafka needs. */
const KAFKA_CLIENT_BUILD = ["librdkafka-dev", "libssl-dev", "zlib1g-dev", "libzstd-dev", "libcurl4-openssl-dev", "liblz4-dev", "libsasl2-dev", "python3", "make", "g++"];

function onPath(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function debianInstalled(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${db:Status-Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() === "installed";
}

function kafkaClientInstalled() {
  return existsSync("node_modules/@confluentinc/kafka-javascript/package.json");
}

function kafkaClientLoads() {
  // In a child process: a half-built addon must not take this script with it.
  const code = "require(require.resolve('@confluentinc/kafka-javascript', { paths: [process.cwd() + '/packages/queue-kafka'] }))";
  return spawnSync(process.execPath, ["-e", code], { stdio: "ignore" }).status === 0;
}

/** How to run apt-get here: directly as root, through sudo when it asks for no password, else not at all. */
function aptRunner() {
  if (!onPath("apt-get")) return undefined;
  if (process.getuid?.() === 0) return [];
  if (onPath("sudo") && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0) return ["sudo", "-n"];
  return undefined;
}

/** [command, args] running apt-get with these arguments (as root, or through sudo). */
function aptCommand(args) {
  const [cmd, ...rest] = [...(aptRunner() ?? []), "apt-get", ...args];
  return [cmd, rest];
}

function aptInstall(packages) {
  if (!aptRunner()) {
    fail(`the tests need these Debian packages: sudo apt-get install -y ${packages.join(" ")}`);
  }
  const apt = (args) => spawnSync(...aptCommand(args), { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
  step(`installing Debian packages for the tests: ${packages.join(" ")}`);
  const args = ["install", "-y", "-qq", "--no-install-recommends", ...packages];
  // A fresh machine may have no package lists yet, or stale ones: update once and try again.
  if (!apt(args) && !(apt(["update", "-qq"]) && apt(args))) {
    fail(`apt-get could not install ${packages.join(" ")}: install them by hand and run npm test again`);
  }
}

function step(line) {
  process.stderr.write(`test setup: ${line}\n`);
}

function fail(line) {
  process.stderr.write(`test setup: ${line}\n`);
  process.exit(1);
}

const started = Date.now();
const missing = NEEDS.filter((n) => !n.present()).map((n) => n.pkg);
const clientMissing = !kafkaClientLoads();
// Libraries leave no command behind: ask dpkg (elsewhere, try the build and let it say what is missing).
if (clientMissing && onPath("dpkg-query")) missing.push(...KAFKA_CLIENT_BUILD.filter((p) => !debianInstalled(p)));
const toInstall = [...new Set(missing)];
if (toInstall.length > 0) aptInstall(toInstall);

if (!onPath("rsyslogd") && !existsSync(`${RSYSLOG_ROOT}/usr/sbin/rsyslogd`)) {
  if (onPath("dpkg-query")) {
    const libs = RSYSLOG_LIBS.filter((p) => !debianInstalled(p));
    if (libs.length > 0) aptInstall(libs);
  }
  step(`unpacking rsyslog from its Debian package into ${RSYSLOG_ROOT}`);
  mkdirSync(`${RSYSLOG_ROOT}/deb`, { recursive: true });
  const download = () => spawnSync("apt-get", ["download", "rsyslog"], { cwd: `${RSYSLOG_ROOT}/deb`, stdio: "ignore" }).status === 0;
  if (!download() && !(aptRunner() && spawnSync(...aptCommand(["update", "-qq"]), { stdio: "ignore" }).status === 0 && download())) {
    fail("could not download the rsyslog package: apt-get download rsyslog, then dpkg -x it into " + RSYSLOG_ROOT);
  }
  const deb = readdirSync(`${RSYSLOG_ROOT}/deb`).find((f) => f.endsWith(".deb"));
  execFileSync("dpkg", ["-x", `${RSYSLOG_ROOT}/deb/${deb}`, RSYSLOG_ROOT]);
}

// SST's platform (.sst/platform, generated offline from the npm registry, about a minute the first time):
// test/stacks/sst-components.test.ts runs SST's own component code from it, and is skipped without it.
// Mostly downloading and unpacking (npm, 320 MB), so it runs beside the two builds below instead of
// after them (55 s of a 206 s set-up after them in a fresh clone).
const sstPlatform = new Promise((resolve) => {
  const sst = spawn(process.execPath, [fileURLToPath(new URL("./sst-types.mjs", import.meta.url)), "--quiet"], { stdio: "inherit" });
  sst.on("error", () => resolve(false));
  sst.on("exit", (code) => resolve(code === 0));
});

// The Kafka client and the test broker are two long builds (about two minutes and one): they run side by
// side, the client's npm install mostly waiting on npm while the broker compiles. The broker then takes
// librdkafka's source from the npm tarball, not from the client's copy that npm is writing meanwhile.
let clientBuilt;
if (clientMissing) {
  // npm skipped the optional Kafka client (its prebuilt binary is on GitHub, its bundled librdkafka does
  // not build offline): install it again, linked against the system's librdkafka.
  step("building the Kafka client @confluentinc/kafka-javascript against the system's librdkafka (about two minutes), beside the test broker");
  clientBuilt = new Promise((resolve) => {
    // (Not JOBS=max for node-gyp: its make then runs librdkafka's configure and build steps out of order.)
    const npm = spawn("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CKJS_LINKING: "dynamic" } });
    npm.on("error", () => resolve(false));
    npm.on("exit", (code) => resolve(code === 0));
  });
  process.env.UNMELTABLE_TEST_BROKER_FROM_NPM = "1";
}
try {
  buildTestBroker();
} catch (err) {
  fail(`the Kafka test broker did not build: ${err.message}`);
}
if (clientBuilt) {
  if (!(await clientBuilt)) fail(`the Kafka client did not build: see npm's output above (it needs ${KAFKA_CLIENT_BUILD.join(" ")})`);
  if (!kafkaClientInstalled()) {
    // An optional dependency that fails to build is left out by npm, which still exits 0.
    fail(`npm could not build the Kafka client and went on without it (an optional dependency): \`CKJS_LINKING=dynamic npm install --foreground-scripts\` shows why (it needs ${KAFKA_CLIENT_BUILD.join(" ")})`);
  }
  if (!kafkaClientLoads()) fail("the Kafka client was built but does not load: run `CKJS_LINKING=dynamic npm install --foreground-scripts` and read its output");
}
if (!(await sstPlatform)) {
  console.warn("test set-up: SST's platform could not be generated (npm run sst:types); the tests of SST's own components will be skipped");
}
step(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
