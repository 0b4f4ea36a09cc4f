#!/usr/bin/env node
/**
 * `npm run bench:peers`: unmeltable side by side with rsyslog and syslog-ng in one run on this machine
 * (issue 16): builds this checkout, then runs the shared peers bench's `side-by-side.sh` with UNM set to
 * this checkout. The harness is not kept here: it lives in the peers bench folder, by default
 * ../shared/peers-bench next to the repository, or wherever PEERS_BENCH=<dir> says. It is run from a copy
 * under bench/out/ with one change: it read the tenant's API token from `tenants list --json`, which
 * shows none since API tokens are stored hashed, so its end-to-end part could not search; the copy takes
 * a new token with `tenants rotate-token default --json` instead.
 *
 * Every knob of the harness passes through the environment (RUNS, DURATION, SIZE, CONNS, PORT, HPORT,
 * SERVERS, UDP_RATES, PARTS, E2E_EVENTS, E2E_RUNS, RG, LOAD_MAX, STATE, RESULTS, KEEP, ...), e.g.
 *
 *   npm run bench:peers                                           # everything, ~15-20 min
 *   PARTS="tcp" SERVERS="unmcoll" RUNS=1 DURATION=5 npm run bench:peers   # a quick look
 *
 * rsyslog comes from RSYSLOG_ROOT (an unpacked .deb), by default the copy `npm test`'s set-up unpacked into
 * node_modules/.cache/unmeltable-test/rsyslog. Extra arguments go to side-by-side.sh as they are.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const fromEnv = process.env.PEERS_BENCH;
const dir = path.resolve(ROOT, fromEnv ?? "../shared/peers-bench");
const harness = path.join(dir, "side-by-side.sh");
if (!existsSync(harness)) {
  console.error(`bench:peers: no side-by-side.sh in ${dir}: set PEERS_BENCH=<dir> to the peers bench folder (the one holding side-by-side.sh)`);
  process.exit(2);
}

const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
if (build.status !== 0) {
  console.error("bench:peers: npm run build failed");
  process.exit(build.status ?? 1);
}

const listing = "node dist/unmeltable.mjs tenants list --data-dir \"$1\" --json";
const original = readFileSync(harness, "utf8");
if (!original.includes(listing)) {
  console.error(`bench:peers: ${harness} no longer reads tokens with \`${listing}\`: update bench/peers.mjs`);
  process.exit(2);
}
const copy = path.join(ROOT, "bench/out/side-by-side.sh");
mkdirSync(path.dirname(copy), { recursive: true });
writeFileSync(copy, original.replace(listing, "node dist/unmeltable.mjs tenants rotate-token default --data-dir \"$1\" --json"));

// rsyslog: the copy npm test's set-up unpacked, unless RSYSLOG_ROOT names another. Always absolute: rsyslogd
// loads its modules (lmnsd_ptcp for TCP) from that path in a folder of its own, where a relative one
// found nothing (the rsyslog column of a run went missing that way).
const unpacked = path.join(ROOT, "node_modules/.cache/unmeltable-test/rsyslog");
const rsyslogRoot = process.env.RSYSLOG_ROOT ? path.resolve(process.env.RSYSLOG_ROOT) : existsSync(path.join(unpacked, "usr/sbin/rsyslogd")) ? unpacked : undefined;
const env = { ...process.env, UNM: ROOT, PEERS_DIR: process.env.PEERS_DIR ?? dir, ...(rsyslogRoot ? { RSYSLOG_ROOT: rsyslogRoot } : {}) };
const run = spawnSync("bash", [copy, ...process.argv.slice(2)], { cwd: ROOT, stdio: "inherit", env });
process.exit(run.status ?? (run.signal ? 1 : 0));
