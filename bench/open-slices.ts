/**
 * Open files and memory of the embedded index with 1,000 tenants × 30 day slices (issue 13: "show that
 * 1,000 tenants with 30 days of slices stay within the process's file-descriptor and memory limits").
 *
 *   npm run bench:open-slices -- [--tenants 1000] [--days 30] [--events 5] [--rounds 3] [--root <checkout>] [--dir /dev/shm]
 *
 * Uses the EmbeddedIndex of the checkout at --root (default this one; the "before" figure runs it on a
 * worktree of main) with its default settings, as the server has it: the writer thread and two reader
 * threads. Every tenant's 30 slice files are made ahead (copied from one made by that checkout's writer,
 * as the lifecycle job prepares slices; making 30,000 schemas one by one takes minutes here), then each
 * tenant's events are written (one batch of events × days per tenant), then every tenant is searched over
 * its 30 days (two at a time, so both reader threads work), then `rounds` rounds of steady ingest (one
 * batch per tenant into its newest slice, as 1,000 active tenants do). Sampled after each phase and every 50 tenants:
 * this process's open descriptors (all, and those of slice files) and memory (/proc/self/status).
 * Prints one JSON line.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { newEventId } from "@unmeltable/core";

const HERE = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    tenants: { type: "string", default: "1000" },
    days: { type: "string", default: "30" },
    events: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    root: { type: "string", default: HERE },
    dir: { type: "string", default: "/dev/shm" },
  },
});
const TENANTS = Number(args.tenants);
const DAYS = Number(args.days);
const EVENTS = Number(args.events);
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 9, 1, 12, 0, 0);

type Index = {
  write(tenant: string, docs: string[]): Promise<{ status: string }[]>;
  count(q: unknown): Promise<number>;
  close(): Promise<void>;
  openSliceStats?: () => { open: number; evictions: number; limit: number };
};
const lib = (await import(path.join(path.resolve(args.root!), "packages/index-sqlite/src/index.ts"))) as {
  EmbeddedIndex: new (o: { dir: string }) => Index;
  IndexWriter: new (root: string, sliceOf: () => string) => { prepare(t: string, at: number, l: string): void; close(): void };
  sliceFor(ts: number, l: string): { name: string };
};
const { parseQuery } = await import("@unmeltable/core");

function status(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/self/status", "utf8").split("\n")) {
    const m = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|Threads):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

function fds(dir: string): { all: number; slices: number } {
  let slices = 0;
  const list = readdirSync("/proc/self/fd");
  for (const fd of list) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) slices++;
    } catch {
      // closed meanwhile
    }
  }
  return { all: list.length, slices };
}

const work = mkdtempSync(path.join(args.dir!, "unmeltable-open-slices-bench-"));
const dir = path.join(work, "index");
try {
  const tpl = new lib.IndexWriter(path.join(work, "template"), () => "day");
  tpl.prepare("tpl", BASE, "day");
  tpl.close();
  const template = path.join(work, "template", "tpl", `${lib.sliceFor(BASE, "day").name}.db`);
  for (let t = 0; t < TENANTS; t++) {
    mkdirSync(path.join(dir, `t${t}`), { recursive: true });
    for (let d = 0; d < DAYS; d++) copyFileSync(template, path.join(dir, `t${t}`, `${lib.sliceFor(BASE + d * DAY, "day").name}.db`));
  }

  const before = { fds: fds(dir), mem: status() };
  const index = new lib.EmbeddedIndex({ dir });
  let peak = { fds: 0, sliceFds: 0, rssKiB: 0 };
  const sample = () => {
    const f = fds(dir);
    const m = status();
    peak = { fds: Math.max(peak.fds, f.all), sliceFds: Math.max(peak.sliceFds, f.slices), rssKiB: Math.max(peak.rssKiB, m.VmRSS ?? 0) };
  };

  let t0 = performance.now();
  for (let t = 0; t < TENANTS; t++) {
    const docs: string[] = [];
    for (let d = 0; d < DAYS; d++) {
      for (let e = 0; e < EVENTS; e++) {
        const at = BASE + d * DAY + e * 60_000;
        docs.push(JSON.stringify({ id: newEventId(at), tenant: `t${t}`, timestamp: at, receivedAt: at, tags: [], logtypes: ["syslog"], raw: `hello tenant${t} day${d} event${e}`, logmsg: `hello tenant${t}`, unparsed: null, event: { syslog: { host: "web-01", appName: "api" } } }));
      }
    }
    const results = await index.write(`t${t}`, docs);
    if (results.some((r) => r.status !== "created")) throw new Error(`tenant t${t}: ${JSON.stringify(results.find((r) => r.status !== "created"))}`);
    if (t % 50 === 0) sample();
  }
  const writeS = (performance.now() - t0) / 1000;
  sample();
  const afterWrite = { fds: fds(dir), mem: status() };

  t0 = performance.now();
  const range = { from: BASE - DAY, until: BASE + DAYS * DAY };
  for (let t = 0; t < TENANTS; t += 2) {
    const counts = await Promise.all([t, t + 1].map((k) => index.count({ tenant: `t${k}`, query: parseQuery(`tenant${k}`), ...range })));
    if (counts.some((n) => n !== DAYS * EVENTS)) throw new Error(`tenant t${t}: counted ${counts.join(", ")}, not ${DAYS * EVENTS}`);
    if (t % 50 === 0) sample();
  }
  const searchS = (performance.now() - t0) / 1000;
  sample();
  const afterSearch = { fds: fds(dir), mem: status() };
  const afterSearchStats = index.openSliceStats?.();

  // Steady ingest: every tenant writes to its newest slice, round after round.
  const roundSeconds: number[] = [];
  for (let r = 0; r < Number(args.rounds); r++) {
    t0 = performance.now();
    for (let t = 0; t < TENANTS; t++) {
      const docs: string[] = [];
      for (let e = 0; e < EVENTS; e++) {
        const at = BASE + (DAYS - 1) * DAY + 3_600_000 + r * 60_000 + e;
        docs.push(JSON.stringify({ id: newEventId(at), tenant: `t${t}`, timestamp: at, receivedAt: at, tags: [], logtypes: ["syslog"], raw: `steady tenant${t} round${r}`, logmsg: `steady tenant${t}`, unparsed: null, event: {} }));
      }
      await index.write(`t${t}`, docs);
      if (t % 50 === 0) sample();
    }
    roundSeconds.push(Math.round((performance.now() - t0) / 100) / 10);
  }
  const afterRounds = { fds: fds(dir), mem: status() };
  const stats = index.openSliceStats?.();
  await index.close();
  process.stdout.write(
    `${JSON.stringify({
      root: path.resolve(args.root!),
      tenants: TENANTS,
      days: DAYS,
      eventsPerSlice: EVENTS,
      fdLimit: /Max open files\s+(\S+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1],
      before,
      afterWrite,
      afterSearch,
      afterRounds,
      peak,
      writeSeconds: Math.round(writeS * 10) / 10,
      searchSeconds: Math.round(searchS * 10) / 10,
      roundSeconds,
      openSliceStats: { afterSearch: afterSearchStats, end: stats },
    })}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
