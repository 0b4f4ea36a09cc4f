/**
 * Ingest while another tenant queries: the real program (`node dist/unmeltable.mjs start`), tenant A
 * (the default tenant) sends syslog over UDP and TCP at a fixed rate, then over TCP as fast as it can,
 * once with the machine otherwise quiet and once while tenant B runs heavy queries in a loop (wide range
 * counts, histograms, facets, wildcard searches, a 300-clause glob) over its own events.
 *
 *   node --import tsx bench/ingest-under-query.ts [--heavy-events 200000] [--udp-rate 2000] [--tcp-rate 2000]
 *                                                  [--seconds 20] [--max-seconds 10] [--query-clients 2]
 *
 * Per phase: events sent, stored (counted through the search API once the queries stopped), lost, and
 * the ingest rate — events indexed per second from the first send until the last was indexed (at the
 * fixed rate, and flat out), and events made durable per second while sending flat out. Phases alternate
 * (quiet, queries, quiet, queries, …: --rounds) so that the machine's other load falls on both alike.
 * Results go to stdout and bench/out/ingest-under-query-<timestamp>.json.
 */
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { Corpus, rfc5424 } from "./lib/corpus";
import { ROOT, startServer, type BenchServer } from "./lib/server";

const { values: args } = parseArgs({
  options: {
    "heavy-events": { type: "string", default: "200000" },
    "udp-rate": { type: "string", default: "2000" },
    "tcp-rate": { type: "string", default: "2000" },
    seconds: { type: "string", default: "20" },
    "max-seconds": { type: "string", default: "5" },
    "query-clients": { type: "string", default: "2" },
    rounds: { type: "string", default: "2" },
  },
});
const HEAVY = Number(args["heavy-events"]);
const UDP_RATE = Number(args["udp-rate"]);
const TCP_RATE = Number(args["tcp-rate"]);
const SECONDS = Number(args.seconds);
const MAX_SECONDS = Number(args["max-seconds"]);
const CLIENTS = Number(args["query-clients"]);
const ROUNDS = Number(args.rounds);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`${s}\n`);

async function api(server: BenchServer, token: string, p: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${p}`, { headers: { Authorization: `bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function countOf(server: BenchServer, token: string, q: string): Promise<number> {
  for (;;) {
    const r = await retrying(() => api(server, token, `/apiv2/events/count?from=-3h&until=now&q=${encodeURIComponent(q)}`));
    if (r.status === 200) return r.body.count as number;
    await sleep(500);
  }
}

/** Tries again while the server does not answer (a server whose event loop stalls resets connections). */
async function retrying<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (attempt >= 100) throw err;
      await sleep(500);
    }
  }
}

const indexed = (server: BenchServer) => retrying(() => server.metric("unmeltable_stage_events_out_total", 'stage="index.default"'));
const durable = (server: BenchServer) => retrying(() => server.metric("unmeltable_events_durable_total"));

/** Tenant B's events over the last two hours, through the real bulk endpoint. */
async function loadHeavy(server: BenchServer, token: string): Promise<void> {
  const corpus = new Corpus(7);
  const now = Date.now();
  const started = performance.now();
  const batch = 2000;
  const post = async (from: number) => {
    const lines: string[] = [];
    for (let k = from; k < Math.min(HEAVY, from + batch); k++) lines.push(rfc5424(corpus.next(new Date(now - 7_200_000 + Math.floor((k / HEAVY) * 7_100_000))), undefined, new Date(now - 7_200_000 + Math.floor((k / HEAVY) * 7_100_000))));
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/bulk/${token}/tag/heavy`, { method: "POST", body: lines.join("\n") });
    if (res.status !== 200) throw new Error(`bulk load answered ${res.status}`);
  };
  for (let i = 0; i < HEAVY; i += batch * 2) await Promise.all([post(i), ...(i + batch < HEAVY ? [post(i + batch)] : [])]);
  log(`heavy tenant: ${HEAVY.toLocaleString()} events sent in ${((performance.now() - started) / 1000).toFixed(1)} s; waiting until indexed`);
}

interface QueryStats {
  [name: string]: { runs: number; ok: number; overBudget: number; busy: number; failed: number; totalMs: number };
}

/**
 * Tenant B's heavy queries in `clients` loops until stopped, from a thread of their own: like a remote
 * client, their answers are read without slowing this thread's senders.
 */
function runQueries(server: BenchServer, token: string, clients: number): { stop(): Promise<QueryStats> } {
  const globs = Array.from({ length: 300 }, (_, i) => `*q${i}*z*`).join(" OR ");
  const queries: [string, string][] = [
    ["count, all, 3 h", "/apiv2/events/count?from=-3h"],
    ["count, common term, 3 h", "/apiv2/events/count?from=-3h&q=GET"],
    ["count, wildcard, 3 h", `/apiv2/events/count?from=-3h&q=${encodeURIComponent("*ord*")}`],
    ["histogram, all, 3 h, 1 m", "/apiv2/events/histogram?from=-3h&interval=1m"],
    ["histogram, wildcard, 3 h", `/apiv2/events/histogram?from=-3h&q=${encodeURIComponent("*rror*")}`],
    ["facet, syslog.appName, 3 h", "/apiv2/fields/syslog.appName/?from=-3h&facet_size=50"],
    ["facet, json.path of a range query", `/apiv2/fields/json.path/?from=-3h&facet_size=50&q=${encodeURIComponent("json.status:>=200")}`],
    ["search, wildcard, 1,000 events", `/apiv2/events/iterate?from=-3h&size=1000&q=${encodeURIComponent("*sess*")}`],
    ["count, 300-clause glob", `/apiv2/events/count?from=-3h&q=${encodeURIComponent(globs)}`],
  ];
  const code = `
    const { parentPort, workerData: { base, token, queries, clients } } = require("node:worker_threads");
    const stats = Object.fromEntries(queries.map(([name]) => [name, { runs: 0, ok: 0, overBudget: 0, busy: 0, failed: 0, totalMs: 0 }]));
    let running = true;
    parentPort.on("message", () => (running = false));
    const loop = async (k) => {
      for (let i = k; running; i++) {
        const [name, p] = queries[i % queries.length];
        const t = performance.now();
        const s = stats[name];
        let res;
        try {
          res = await fetch(base + p, { headers: { Authorization: "bearer " + token } });
          await res.arrayBuffer();
        } catch {
          // The connection was reset or closed without an answer.
          s.runs++;
          s.failed++;
          s.totalMs += performance.now() - t;
          continue;
        }
        s.runs++;
        s.totalMs += performance.now() - t;
        if (res.status === 200) s.ok++;
        else if (res.status === 504) s.overBudget++;
        else if (res.status === 503) s.busy++;
        else throw new Error(name + ": " + res.status);
      }
    };
    Promise.all(Array.from({ length: clients }, (_, k) => loop(k * 4))).then(() => parentPort.postMessage(stats));
  `;
  const worker = new Worker(code, { eval: true, workerData: { base: `http://127.0.0.1:${server.httpPort}`, token, queries, clients } });
  const done = new Promise<QueryStats>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    stop: async () => {
      worker.postMessage("stop");
      const stats = await done;
      await worker.terminate();
      return stats;
    },
  };
}

const line = (token: string, tag: string, i: number) => `<14>1 ${new Date().toISOString()} bench-a app - - [${token}@41058 tag="${tag}"] ${tag} event ${i} user=u${i % 5000} took ${i % 900} ms`;

/** UDP and TCP at fixed rates for SECONDS: sent per transport. */
async function sendFixed(server: BenchServer, tag: string): Promise<{ udp: number; tcp: number }> {
  const udp = dgram.createSocket("udp4");
  const tcp = net.connect(server.syslogPort, "127.0.0.1");
  await new Promise<void>((resolve, reject) => tcp.once("connect", resolve).once("error", reject));
  const started = performance.now();
  let u = 0;
  let t = 0;
  const end = SECONDS * 1000;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= end) break;
    const dueU = Math.floor((elapsed / 1000) * UDP_RATE);
    for (; u < dueU; u++) udp.send(line(server.ingestToken, `${tag}-udp`, u), server.syslogPort, "127.0.0.1");
    const dueT = Math.floor((elapsed / 1000) * TCP_RATE);
    if (dueT > t) {
      const chunk: string[] = [];
      for (; t < dueT; t++) chunk.push(`${line(server.ingestToken, `${tag}-tcp`, t)}\n`);
      if (!tcp.write(chunk.join(""))) await new Promise((r) => tcp.once("drain", r));
    }
    await sleep(5);
  }
  await new Promise<void>((r) => tcp.end(r));
  await sleep(100);
  udp.close();
  return { udp: u, tcp: t };
}

/** TCP as fast as the server takes it, for MAX_SECONDS. */
async function sendMax(server: BenchServer, tag: string): Promise<number> {
  const tcp = net.connect(server.syslogPort, "127.0.0.1");
  await new Promise<void>((resolve, reject) => tcp.once("connect", resolve).once("error", reject));
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < MAX_SECONDS * 1000) {
    const chunk: string[] = [];
    for (let k = 0; k < 500; k++, n++) chunk.push(`${line(server.ingestToken, `${tag}-max`, n)}\n`);
    if (!tcp.write(chunk.join(""))) await new Promise((r) => tcp.once("drain", r));
  }
  await new Promise<void>((r) => tcp.end(r));
  return n;
}

/** Waits until the index stage has indexed `target` events in total (or made no progress for 15 s). */
async function untilIndexed(server: BenchServer, target: number): Promise<number> {
  let last = await indexed(server);
  let lastChange = performance.now();
  for (;;) {
    const n = await indexed(server);
    if (n >= target) return performance.now();
    if (n !== last) {
      last = n;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > 15_000) return lastChange;
    await sleep(50);
  }
}

/** CPU seconds of the server's threads: the main thread, the reader threads (niced), the others (writer, libuv, V8). */
interface ThreadTimes {
  main: number;
  mainWaited: number;
  readers: number;
  others: number;
}

interface Snapshot {
  total: number;
  mainWaited: number;
  perThread: Map<number, { cpu: number; niced: boolean }>;
}

/** From /proc: the process's CPU (exited threads included), each thread's, and the main thread's wait for a CPU (schedstat). */
function snapshot(pid: number): Snapshot {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const snap: Snapshot = { total: (Number(stat[11]) + Number(stat[12])) / 100, mainWaited: Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e9, perThread: new Map() };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
      snap.perThread.set(Number(tid), { cpu: (Number(f[11]) + Number(f[12])) / 100, niced: Number(f[16]) > 0 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return snap;
}

function since(pid: number, a: Snapshot, b: Snapshot): ThreadTimes {
  const delta = (tid: number) => (b.perThread.get(tid)?.cpu ?? 0) - (a.perThread.get(tid)?.cpu ?? 0);
  const main = delta(pid);
  // Reader threads may be replaced (one stopped over its budget): count each from its own start.
  let readers = 0;
  for (const [tid, t] of b.perThread) if (t.niced) readers += delta(tid);
  return { main, mainWaited: b.mainWaited - a.mainWaited, readers, others: Math.max(0, b.total - a.total - main - readers) };
}

interface Phase {
  phase: string;
  udpSent: number;
  tcpSent: number;
  stored: number;
  lost: number;
  fixedIndexedPerSec: number;
  maxSent: number;
  maxDurablePerSec: number;
  maxIndexedPerSec: number;
  maxStored: number;
  seconds: number;
  threads: ThreadTimes;
  load: number;
}

async function phase(server: BenchServer, name: string): Promise<Omit<Phase, "stored" | "lost" | "maxStored">> {
  const base = await indexed(server);
  const started = performance.now();
  const times0 = snapshot(server.child.pid!);
  const load0 = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  const sent = await sendFixed(server, name);
  const done = await untilIndexed(server, base + sent.udp + sent.tcp);
  const fixedIndexedPerSec = ((await indexed(server)) - base) / ((done - started) / 1000);
  log(`${name}: fixed rate sent ${sent.udp} UDP + ${sent.tcp} TCP, indexed at ${Math.round(fixedIndexedPerSec)}/s`);
  const d0 = await durable(server);
  const i0 = await indexed(server);
  const t0 = performance.now();
  const maxSent = await sendMax(server, name);
  const maxDurablePerSec = ((await durable(server)) - d0) / ((performance.now() - t0) / 1000);
  const drained = await untilIndexed(server, i0 + maxSent);
  const maxIndexedPerSec = ((await indexed(server)) - i0) / ((drained - t0) / 1000);
  log(`${name}: flat out sent ${maxSent} over TCP, ${Math.round(maxDurablePerSec)} durable/s, indexed at ${Math.round(maxIndexedPerSec)}/s`);
  const threads = since(server.child.pid!, times0, snapshot(server.child.pid!));
  const load = (load0 + Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0])) / 2;
  return { phase: name, udpSent: sent.udp, tcpSent: sent.tcp, fixedIndexedPerSec, maxSent, maxDurablePerSec, maxIndexedPerSec, seconds: (performance.now() - started) / 1000, threads, load };
}

const server = await startServer();
try {
  const cli = path.join(ROOT, "dist/unmeltable.mjs");
  const b = JSON.parse(execFileSync(process.execPath, [cli, "tenants", "add", "heavy", "--data-dir", server.dataDir, "--json"]).toString()) as { ingestToken: string; apiToken: string };
  while ((await api(server, b.apiToken, "/apiv2/events/count")).status !== 200) await sleep(200);
  const before = await indexed(server);
  await loadHeavy(server, b.ingestToken);
  await untilIndexed(server, before + HEAVY);
  log(`heavy tenant: ${(await countOf(server, b.apiToken, "*")).toLocaleString()} events searchable`);

  const phases: Awaited<ReturnType<typeof phase>>[] = [];
  const qstats: QueryStats = {};
  for (let round = 1; round <= ROUNDS; round++) {
    phases.push(await phase(server, `quiet${round}`));
    const queries = runQueries(server, b.apiToken, CLIENTS);
    await sleep(2000);
    phases.push(await phase(server, `queries${round}`));
    for (const [name, s] of Object.entries(await queries.stop())) {
      const t = (qstats[name] ??= { runs: 0, ok: 0, overBudget: 0, busy: 0, failed: 0, totalMs: 0 });
      for (const k of ["runs", "ok", "overBudget", "busy", "failed", "totalMs"] as const) t[k] += s[k];
    }
  }

  const rows: Phase[] = [];
  for (const p of phases) {
    const stored = (await countOf(server, server.apiToken, `tag:${p.phase}-udp`)) + (await countOf(server, server.apiToken, `tag:${p.phase}-tcp`));
    const maxStored = await countOf(server, server.apiToken, `tag:${p.phase}-max`);
    rows.push({ ...p, stored, lost: p.udpSent + p.tcpSent - stored + (p.maxSent - maxStored), maxStored });
  }
  const stats = server.stats();
  console.log(`\nheavy tenant: ${HEAVY.toLocaleString()} events; ${CLIENTS} query clients; fixed rate ${UDP_RATE}/s UDP + ${TCP_RATE}/s TCP for ${SECONDS} s; then TCP flat out for ${MAX_SECONDS} s; ${ROUNDS} rounds\n`);
  console.log("| phase | fixed rate: sent (UDP + TCP) | stored | indexed/s | flat out (TCP): sent | stored | durable/s | indexed/s | lost |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const n = (x: number) => Math.round(x).toLocaleString();
    console.log(`| ${r.phase} | ${n(r.udpSent)} + ${n(r.tcpSent)} | ${n(r.stored)} | ${n(r.fixedIndexedPerSec)} | ${n(r.maxSent)} | ${n(r.maxStored)} | ${n(r.maxDurablePerSec)} | ${n(r.maxIndexedPerSec)} | ${r.lost} |`);
  }
  const mean = (kind: string, f: (r: Phase) => number) => {
    const of = rows.filter((r) => r.phase.startsWith(kind));
    return of.reduce((n, r) => n + f(r), 0) / of.length;
  };
  const ratio = (f: (r: Phase) => number) => `${(((mean("queries", f) - mean("quiet", f)) / mean("quiet", f)) * 100).toFixed(1)} %`;
  console.log(`\nwith queries vs quiet (means): fixed-rate indexing ${ratio((r) => r.fixedIndexedPerSec)}, flat-out durable ${ratio((r) => r.maxDurablePerSec)}, flat-out indexed ${ratio((r) => r.maxIndexedPerSec)}; lost ${rows.reduce((n, r) => n + r.lost, 0)}`);
  console.log("\nServer CPU per phase (seconds; the main thread receives syslog and HTTP and runs the process stage; readers run at nice 19; a reader stopped over its budget takes its CPU time along, so readers are a lower bound):\n");
  console.log("| phase | wall s | machine load (1 min) | main thread CPU | main thread waiting for a CPU | reader threads CPU | other threads CPU (writer, libuv, V8) |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.phase} | ${r.seconds.toFixed(0)} | ${r.load.toFixed(1)} | ${r.threads.main.toFixed(1)} | ${r.threads.mainWaited.toFixed(1)} | ${r.threads.readers.toFixed(1)} | ${r.threads.others.toFixed(1)} |`);
  console.log("\n| heavy query (tenant B) | runs | answered | over budget (504) | busy (503) | no answer | mean ms |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [name, s] of Object.entries(qstats)) console.log(`| ${name} | ${s.runs} | ${s.ok} | ${s.overBudget} | ${s.busy} | ${s.failed} | ${s.runs ? Math.round(s.totalMs / s.runs).toLocaleString() : "-"} |`);
  console.log(`\nserver: ${stats.cpuSeconds.toFixed(0)} CPU s, peak RSS ${stats.peakRssMiB} MiB`);
  mkdirSync(path.join(ROOT, "bench/out"), { recursive: true });
  const out = path.join(ROOT, "bench/out", `ingest-under-query-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(out, JSON.stringify({ heavyEvents: HEAVY, udpRate: UDP_RATE, tcpRate: TCP_RATE, seconds: SECONDS, maxSeconds: MAX_SECONDS, clients: CLIENTS, rows, queries: qstats, server: stats }, null, 2));
  log(`wrote ${path.relative(ROOT, out)}`);
} finally {
  await server.stop();
}
