/**
 * Ingest benchmark: how many events/s the collector takes in AND makes durable in the embedded queue,
 * per transport, with the server's peak RSS and CPU. Each transport gets a fresh server on a fresh data
 * dir. Events are counted on the server (unmeltable_events_durable_total), not at the sender.
 *
 *   npm run bench:ingest -- [--transports tcp,tcp-octet,udp,http] [--events 2000000] [--size 200]
 *                           [--connections 2] [--udp-rate 100000] [--seed 1]
 *                           [--command start|collector] [--program dist/unmeltable.mjs]
 *                           [--lines-per-request 1000] [--http-clients 4]
 *
 * `--command collector` runs the collectors alone (no index competing for the two cores), which shows
 * the cost of the ingest edge itself; `--program` measures another build (e.g. a copy of an older
 * dist/unmeltable.mjs kept inside the repository, so that it finds node_modules) instead of building.
 *
 * Results go to stdout and bench/out/ingest-<timestamp>.json.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { messageRing, sendHttpBulk, sendTcp, sendUdp, type SendResult } from "./lib/senders";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    transports: { type: "string", default: "tcp,tcp-octet,udp,http" },
    events: { type: "string", default: "2000000" },
    size: { type: "string", default: "200" },
    connections: { type: "string", default: "2" },
    "udp-rate": { type: "string", default: "100000" },
    "udp-events": { type: "string", default: "1000000" },
    seed: { type: "string", default: "1" },
    command: { type: "string", default: "start" },
    "lines-per-request": { type: "string", default: "1000" },
    "http-clients": { type: "string", default: "4" },
    program: { type: "string" },
  },
});

const TOTAL = Number(args.events);
const SIZE = Number(args.size);
const PROGRAM = path.resolve(args.program ?? path.join(ROOT, "dist/unmeltable.mjs"));
if (args.command !== "start" && args.command !== "collector") throw new Error("--command is start or collector");

interface Server {
  child: ChildProcess;
  dataDir: string;
  syslogPort: number;
  httpPort: number;
  token: string;
}

async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-bench-"));
  const syslogPort = 20000 + Math.floor(Math.random() * 20000);
  const httpPort = syslogPort + 1;
  const child = spawn(process.execPath, [PROGRAM, args.command!, "--data-dir", dataDir, "--host", "127.0.0.1", "--syslog-port", String(syslogPort), "--http-port", String(httpPort)], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const list = execFileSync(process.execPath, [PROGRAM, "tenants", "list", "--data-dir", dataDir, "--json"]).toString();
  const token = (JSON.parse(list.split("\n")[0]!) as { ingestToken: string }).ingestToken;
  return { child, dataDir, syslogPort, httpPort, token };
}

async function durable(server: Server): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const m = text.match(/^unmeltable_events_durable_total (\d+)/m);
  return m ? Number(m[1]) : 0;
}

function procStat(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const hwm = Number(status.match(/VmHWM:\s+(\d+) kB/)![1]);
  return { cpuSeconds: ticks / 100, peakRssMiB: Math.round(hwm / 1024) };
}

interface Row {
  transport: string;
  sent: number;
  durable: number;
  lossPct: number;
  seconds: number;
  eventsPerSec: number;
  serverCpuPct: number;
  peakRssMiB: number;
}

async function measure(transport: string): Promise<Row> {
  const server = await startServer();
  try {
    const ring = messageRing({ seed: Number(args.seed), size: SIZE, token: server.token });
    const pid = server.child.pid!;
    const cpu0 = procStat(pid).cpuSeconds;
    const t0 = performance.now();
    let result: SendResult;
    const total = transport === "udp" ? Number(args["udp-events"]) : TOTAL;
    if (transport === "tcp" || transport === "tcp-octet") {
      result = await sendTcp({ host: "127.0.0.1", port: server.syslogPort, ring, total, connections: Number(args.connections), octet: transport === "tcp-octet" });
    } else if (transport === "udp") {
      result = await sendUdp({ host: "127.0.0.1", port: server.syslogPort, ring, total, ratePerSec: Number(args["udp-rate"]) });
    } else {
      result = await sendHttpBulk({ host: "127.0.0.1", port: server.httpPort, token: server.token, ring, total, linesPerRequest: Number(args["lines-per-request"]), concurrency: Number(args["http-clients"]) });
    }
    // Wait until the server has made everything durable (or, for UDP, stopped growing).
    let last = -1;
    let lastChange = performance.now();
    let count = 0;
    let doneAt = performance.now();
    for (;;) {
      count = await durable(server);
      if (count !== last) {
        last = count;
        lastChange = performance.now();
        doneAt = lastChange;
      }
      if (count >= result.sent || performance.now() - lastChange > 3000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (doneAt - t0) / 1000;
    const st = procStat(pid);
    return {
      transport,
      sent: result.sent,
      durable: count,
      lossPct: Number((((result.sent - count) / result.sent) * 100).toFixed(3)),
      seconds: Number(seconds.toFixed(2)),
      eventsPerSec: Math.round(count / seconds),
      serverCpuPct: Math.round(((st.cpuSeconds - cpu0) / seconds) * 100),
      peakRssMiB: st.peakRssMiB,
    };
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
    rmSync(server.dataDir, { recursive: true, force: true });
  }
}

if (args.program === undefined) execFileSync(process.execPath, [path.join(ROOT, "scripts/build.mjs")], { stdio: "inherit" });
const rows: Row[] = [];
for (const t of String(args.transports).split(",")) {
  process.stderr.write(`measuring ${t} ...\n`);
  const row = await measure(t);
  rows.push(row);
  process.stderr.write(`  ${JSON.stringify(row)}\n`);
}
console.log(`\ningest benchmark (${path.relative(ROOT, PROGRAM)} ${args.command}): ${SIZE}-byte RFC 5424 messages with a token, durable in the embedded queue (fsync), ${os.cpus().length} cores, node ${process.version}`);
console.log("| transport | sent | durable | loss % | seconds | events/s | server CPU % | peak RSS MiB |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.transport} | ${r.sent} | ${r.durable} | ${r.lossPct} | ${r.seconds} | ${r.eventsPerSec} | ${r.serverCpuPct} | ${r.peakRssMiB} |`);
mkdirSync(path.join(ROOT, "bench/out"), { recursive: true });
const file = path.join(ROOT, "bench/out", `ingest-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), node: process.version, size: SIZE, program: path.relative(ROOT, PROGRAM), command: args.command, rows }, null, 2));
console.log(`\nwritten to ${path.relative(ROOT, file)}`);
