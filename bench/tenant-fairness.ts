/**
 * Fairness between tenants (issue 16 §3), through the real program (`unmeltable start`, fresh data dir):
 * tenant A (the `default` tenant) sends a backlog of --events syslog lines over TCP as fast as the
 * server takes them, while tenant B sends --rate events/s steadily over HTTP (`/inputs`, one event per
 * request). B's ingest→searchable latency is measured per event: from its request's acknowledgement (and
 * from just before the request) until the live tail (`/apiv2/tail`, fed right after each index commit)
 * delivers it. Reported over B's events sent while A's burst was being taken in and indexed.
 *
 * B's name decides which raw/processed partition it shares: `calm` hashes to the same partition as
 * `default` (4 partitions, the default), the worst case, where B's events queue behind A's; `steady` to
 * another one.
 *
 *   npm run bench:fairness -- [--events 1000000] [--rate 100] [--tenant calm] [--program dist/unmeltable.mjs]
 */
import { execFileSync } from "node:child_process";
import http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { messageRing, sendTcp } from "./lib/senders";
import { ROOT, startServer } from "./lib/server";
import { followProbes } from "./lib/tail";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    rate: { type: "string", default: "100" },
    tenant: { type: "string", default: "calm" },
    seed: { type: "string", default: "1" },
    "lead-seconds": { type: "string", default: "3" },
    program: { type: "string" },
  },
});

const total = Number(args.events);
const rate = Number(args.rate);
const s = await startServer([], { program: args.program });
const cli = (a: string[]) => execFileSync(process.execPath, [path.resolve(args.program ?? path.join(ROOT, "dist/unmeltable.mjs")), ...a, "--data-dir", s.dataDir]).toString();
try {
  const b = JSON.parse(cli(["tenants", "add", args.tenant, "--json"])) as { ingestToken: string; apiToken: string };
  // The running server picks the new tenant up from the data dir.
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${s.httpPort}/apiv2/events/count`, { headers: { Authorization: `bearer ${b.apiToken}` } }).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");
  const loadBefore = load();

  // B's events come back through its live tail.
  const sentAt = new Map<number, number>();
  const ackedAt = new Map<number, number>();
  const seenAt = new Map<number, number>();
  const tail = followProbes(s.httpPort, b.apiToken, "fairprobe", (n, at) => {
    if (!seenAt.has(n)) seenAt.set(n, at);
  });
  await new Promise((r) => setTimeout(r, 500));

  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  let steadyOn = true;
  const inflight = new Set<Promise<void>>();
  const steady = (async () => {
    const started = performance.now();
    for (let i = 0; steadyOn; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const body = `fairprobe ${i} steady tenant event`;
      sentAt.set(i, performance.now());
      const p = new Promise<void>((resolve) => {
        const req = http.request({ host: "127.0.0.1", port: s.httpPort, method: "POST", path: `/inputs/${b.ingestToken}/tag/steady`, agent, headers: { "Content-Length": Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) ackedAt.set(i, performance.now());
            resolve();
          });
        });
        req.on("error", () => resolve());
        req.end(body);
      });
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
  })();

  await new Promise((r) => setTimeout(r, Number(args["lead-seconds"]) * 1000));
  const indexedA = () => s.metric("unmeltable_tenant_indexed_events_total", 'tenant="default"');
  const cpu0 = s.stats().cpuSeconds;
  const burstStart = performance.now();
  const ring = messageRing({ seed: Number(args.seed), size: 0, token: s.ingestToken });
  const sending = sendTcp({ host: "127.0.0.1", port: s.syslogPort, ring, total, connections: 2, octet: false });
  let sentSeconds = 0;
  void sending.then((r) => (sentSeconds = r.seconds));
  let n = 0;
  const loads: string[] = [];
  let lastLoad = 0;
  while ((n = await indexedA()) < total) {
    if (performance.now() - lastLoad > 10_000) {
      process.stderr.write(`  A indexed ${n.toLocaleString()} / ${total.toLocaleString()}, B sent ${sentAt.size} seen ${seenAt.size}, load ${load()}\n`);
      loads.push(load());
      lastLoad = performance.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const burstEnd = performance.now();
  await sending;
  steadyOn = false;
  await steady;
  await Promise.all(inflight);
  const deadline = performance.now() + 30_000;
  while (seenAt.size < ackedAt.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  tail.destroy();
  agent.destroy();
  const st = s.stats();

  // B's events sent while A's burst was in flight (from its first byte until its last event was indexed).
  const during = [...sentAt].filter(([, t]) => t >= burstStart && t <= burstEnd).map(([i]) => i);
  const fromAck = during.filter((i) => ackedAt.has(i) && seenAt.has(i)).map((i) => seenAt.get(i)! - ackedAt.get(i)!);
  const fromSend = during.filter((i) => seenAt.has(i)).map((i) => seenAt.get(i)! - sentAt.get(i)!);
  const missing = during.filter((i) => ackedAt.has(i) && !seenAt.has(i)).length;
  const pct = (xs: number[], p: number) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
  };
  const burstSeconds = (burstEnd - burstStart) / 1000;
  // Where in the burst B waited: its worst latency (from the acknowledgement) per 5 s of sending.
  const slices: { fromS: number; events: number; maxMs: number }[] = [];
  for (const i of during) {
    if (!ackedAt.has(i) || !seenAt.has(i)) continue;
    const k = Math.floor((sentAt.get(i)! - burstStart) / 5000);
    slices[k] ??= { fromS: k * 5, events: 0, maxMs: 0 };
    slices[k].events++;
    slices[k].maxMs = Math.max(slices[k].maxMs, Math.round(seenAt.get(i)! - ackedAt.get(i)!));
  }
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    tenantB: args.tenant,
    program: args.program ?? "dist/unmeltable.mjs",
    eventsA: total,
    rateB: rate,
    loadBefore,
    loadDuring: loads,
    aSentSeconds: Math.round(sentSeconds * 10) / 10,
    aIndexedSeconds: Math.round(burstSeconds * 10) / 10,
    aIndexedPerSec: Math.round(total / burstSeconds),
    serverCpuPct: Math.round(((st.cpuSeconds - cpu0) / burstSeconds) * 100),
    peakRssMiB: st.peakRssMiB,
    bEventsDuring: during.length,
    bMissing: missing,
    bFromAckMs: { p50: pct(fromAck, 50), p90: pct(fromAck, 90), p99: pct(fromAck, 99), max: pct(fromAck, 100) },
    bFromSendMs: { p50: pct(fromSend, 50), p90: pct(fromSend, 90), p99: pct(fromSend, 99), max: pct(fromSend, 100) },
    bWorstPer5s: slices.filter(Boolean).map((x) => `${x.fromS}s:${x.maxMs}`).join(" "),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `\nB (${args.tenant}, ${rate}/s) during A's ${total.toLocaleString()}-event burst: ingest→searchable p50 ${result.bFromAckMs.p50} ms, p99 ${result.bFromAckMs.p99} ms, max ${result.bFromAckMs.max} ms ` +
      `(from request start: p99 ${result.bFromSendMs.p99} ms); A sent in ${result.aSentSeconds} s, all indexed after ${result.aIndexedSeconds} s (${result.aIndexedPerSec} events/s); load ${loadBefore}`,
  );
  mkdirSync(path.join(ROOT, "bench/out"), { recursive: true });
  const file = path.join(ROOT, "bench/out", `tenant-fairness-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`written to ${path.relative(ROOT, file)}`);
} finally {
  await s.stop();
}
