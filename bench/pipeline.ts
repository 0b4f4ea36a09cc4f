/**
 * End-to-end benchmark of the single-machine pipeline (collector → queue → process → index → search):
 *
 * 1. Throughput: a burst of --events seeded syslog lines over TCP as fast as they go; events/s from the
 *    first byte sent until the index stage has stored the last one.
 * 2. Latency: a steady --rate events/s over HTTP bulk for --seconds; one event in 100 is a probe carrying
 *    its number. A live tail (the server's /apiv2/tail, fed right after each index commit) receives the
 *    probes; ingest-to-searchable latency = tail arrival - HTTP acknowledgement of the probe's request.
 *
 *   npm run bench:pipeline -- [--events 1000000] [--rate 10000] [--seconds 30] [--program bench/out/<build>/unmeltable.mjs]
 */
import http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { messageRing, sendTcp } from "./lib/senders";
import { ROOT, startServer, type BenchServer } from "./lib/server";
import { followProbes } from "./lib/tail";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "1000000" }, rate: { type: "string", default: "10000" }, seconds: { type: "string", default: "30" }, seed: { type: "string", default: "1" }, program: { type: "string" } } });

async function indexed(s: BenchServer): Promise<number> {
  return s.metric("unmeltable_stage_events_out_total", 'stage="index.default"');
}

async function throughput(): Promise<Record<string, number>> {
  const s = await startServer([], { program: args.program });
  try {
    const total = Number(args.events);
    const ring = messageRing({ seed: Number(args.seed), size: 0, token: s.ingestToken });
    const cpu0 = s.stats().cpuSeconds;
    const t0 = performance.now();
    await sendTcp({ host: "127.0.0.1", port: s.syslogPort, ring, total, connections: 2, octet: false });
    const sentSeconds = (performance.now() - t0) / 1000;
    let n = 0;
    while ((n = await indexed(s)) < total) {
      process.stderr.write(`\r  indexed ${n.toLocaleString()} / ${total.toLocaleString()}   `);
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - t0) / 1000;
    process.stderr.write("\n");
    const st = s.stats();
    return { events: total, sentSeconds: round(sentSeconds), seconds: round(seconds), eventsPerSec: Math.round(total / seconds), serverCpuPct: Math.round(((st.cpuSeconds - cpu0) / seconds) * 100), peakRssMiB: st.peakRssMiB };
  } finally {
    await s.stop();
  }
}

async function latency(): Promise<Record<string, number>> {
  const s = await startServer([], { program: args.program });
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const acked = new Map<number, number>();
  const latencies: number[] = [];
  // The tail: probes come back as server-sent events.
  const tail = followProbes(s.httpPort, s.apiToken, "latencyprobe", (n, at) => {
    const ackedAt = acked.get(n);
    if (ackedAt !== undefined) latencies.push(at - ackedAt);
  });
  await new Promise((r) => setTimeout(r, 500));
  const ring = messageRing({ seed: Number(args.seed), size: 0, token: undefined }).map((l) => l.slice(l.indexOf(" - ") + 3));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const perRequest = Math.max(1, Math.round(rate / 100)); // a request every 10 ms
  const started = performance.now();
  let probe = 0;
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
    const due = started + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lines: string[] = [];
    const probes: number[] = [];
    for (let i = 0; i < perRequest; i++, sent++) {
      if (sent % 100 === 0) {
        probes.push(probe);
        lines.push(`latencyprobe ${probe++} ${ring[sent % ring.length]}`);
      } else lines.push(ring[sent % ring.length]!);
    }
    const body = lines.join("\n");
    const p = new Promise<void>((resolve) => {
      const req = http.request({ host: "127.0.0.1", port: s.httpPort, method: "POST", path: `/bulk/${s.ingestToken}/tag/latency`, agent, headers: { "Content-Length": Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on("end", () => {
          const now = performance.now();
          if (res.statusCode === 200) for (const pr of probes) acked.set(pr, now);
          resolve();
        });
      });
      req.on("error", () => resolve());
      req.end(body);
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  const deadline = performance.now() + 30_000;
  while (latencies.length < acked.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  tail.destroy();
  agent.destroy();
  await s.stop();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!);
  return { rate, seconds, probes: acked.size, probesSeen: latencies.length, p50Ms: pct(50), p90Ms: pct(90), p99Ms: pct(99), maxMs: round(latencies[latencies.length - 1]!) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

process.stderr.write("throughput (burst over TCP)...\n");
const t = await throughput();
process.stderr.write(`${JSON.stringify(t)}\nlatency (steady HTTP bulk, live tail)...\n`);
const l = await latency();
process.stderr.write(`${JSON.stringify(l)}\n`);
console.log(`\npipeline: send → searchable (embedded queue + SQLite FTS5 index, node ${process.version})`);
console.log(`throughput: ${t.events} events in ${t.seconds} s = ${t.eventsPerSec} events/s end to end (sending took ${t.sentSeconds} s), server CPU ${t.serverCpuPct} %, peak RSS ${t.peakRssMiB} MiB`);
console.log(`latency at ${l.rate} events/s for ${l.seconds} s: p50 ${l.p50Ms} ms, p90 ${l.p90Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms (${l.probesSeen}/${l.probes} probes)`);
mkdirSync(path.join(ROOT, "bench/out"), { recursive: true });
const file = path.join(ROOT, "bench/out", `pipeline-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ throughput: t, latency: l }, null, 2));
console.log(`written to ${path.relative(ROOT, file)}`);
