/**
 * Collector → Kafka throughput, side by side with rsyslog's omkafka (../shared/peers-bench/peers.sh,
 * SERVERS=rsyslog-kafka): `unmeltable collector --queue kafka` into librdkafka's mock cluster, fed over TCP
 * by the same low-CPU sender (`blast`, built from ../shared/peers-bench/blast.c; 200-byte messages without
 * a token, so the collector runs with --default-tenant) or, without it, by our Node sender with tokens.
 * Counted on the collector: events written to Kafka (unmeltable_events_produced_total).
 *
 *   node --import tsx bench/collector-kafka.ts [--seconds 10]
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startMockCluster } from "../test/helpers/kafka";
import { messageRing, sendTcp } from "./lib/senders";
import { ROOT } from "./lib/server";

const { values: args } = parseArgs({ options: { seconds: { type: "string", default: "10" } } });
const SECONDS = Number(args.seconds);
const BLAST_SRC = path.resolve(ROOT, "../shared/peers-bench/blast.c");
const BLAST = path.join(ROOT, "bench/out/blast");

function blast(): string | undefined {
  if (existsSync(BLAST)) return BLAST;
  if (!existsSync(BLAST_SRC)) return undefined;
  mkdirSync(path.dirname(BLAST), { recursive: true });
  execFileSync("cc", ["-O2", "-o", BLAST, BLAST_SRC]);
  return BLAST;
}

execFileSync(process.execPath, [path.join(ROOT, "scripts/build.mjs")], { stdio: "ignore" });
const cluster = await startMockCluster(3);
await cluster.createTopics([
  { name: "raw", partitions: 4 },
  { name: "deadletter", partitions: 1 },
  { name: "processed.default", partitions: 4 },
]);
const dataDir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-bench-"));
const syslogPort = 21000 + Math.floor(Math.random() * 10000);
const httpPort = syslogPort + 1;
const child = spawn(process.execPath, [path.join(ROOT, "dist/unmeltable.mjs"), "collector", "--data-dir", dataDir, "--host", "127.0.0.1", "--syslog-port", String(syslogPort), "--http-port", String(httpPort), "--queue", "kafka", "--brokers", cluster.brokers.join(","), "--default-tenant", "default"], { stdio: ["ignore", "ignore", "inherit"] });
for (let i = 0; i < 400; i++) {
  if ((await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status === 200) break;
  await new Promise((r) => setTimeout(r, 50));
}
const produced = async () => {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return [...text.matchAll(/^unmeltable_events_produced_total\{via="\w+"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
};
const cpu = () => {
  const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(stat[11]) + Number(stat[12])) / 100;
};
const cpu0 = cpu();
const t0 = performance.now();
const sender = blast();
let sent: number;
if (sender) {
  const out = execFileSync(sender, ["tcp", "127.0.0.1", String(syslogPort), "200", "100000000", String(SECONDS)]).toString();
  sent = Number(/sent=(\d+)/.exec(out)![1]);
} else {
  const tokens = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, "dist/unmeltable.mjs"), "tenants", "list", "--data-dir", dataDir, "--json"]).toString().split("\n")[0]!) as { ingestToken: string };
  sent = (await sendTcp({ host: "127.0.0.1", port: syslogPort, ring: messageRing({ seed: 1, size: 200, token: tokens.ingestToken }), total: 3_000_000, connections: 2, octet: false })).sent;
}
let n = 0;
let last = -1;
let doneAt = performance.now();
for (;;) {
  n = await produced();
  if (n !== last) {
    last = n;
    doneAt = performance.now();
  } else if (performance.now() - doneAt > 2000) break;
  await new Promise((r) => setTimeout(r, 100));
}
const seconds = (doneAt - t0) / 1000;
const cpuPct = Math.round(((cpu() - cpu0) / seconds) * 100);
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
await cluster.stop();
rmSync(dataDir, { recursive: true, force: true });
console.log(`collector → Kafka (mock cluster, 3 brokers, acks=all, lz4), sender ${sender ? "blast" : "node"}: sent ${sent}, produced ${n} (${((1 - n / sent) * 100).toFixed(3)} % short) in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} events/s, collector CPU ${cpuPct} %`);
