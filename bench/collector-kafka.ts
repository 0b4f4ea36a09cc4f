/**
 * Collector → Kafka, end to end, for each Kafka client and next to rsyslog's omkafka, in one run on this
 * machine: `unmeltable collector --queue kafka --kafka-client js|native` (env UNMELTABLE_KAFKA_CLIENT too)
 * and rsyslog 8.2302 imtcp → omkafka (Debian's librdkafka), each producing into a fresh test broker
 * (test/helpers/kafka.ts: 3 brokers; acks=all and lz4 for all three), each fed over TCP by two `blast`
 * senders (bench/blast.c, built into bench/out/: low CPU, pre-formatted 200-byte RFC 5424 lines without a token,
 * so the collector runs with --default-tenant) for --seconds.
 *
 *   node --import tsx bench/collector-kafka.ts [--seconds 10] [--runs 3] [--servers js,native,rsyslog]
 *
 * Runs are interleaved (js, native, rsyslog, js, ...). Counted in Kafka's terms: the collector's events
 * written to Kafka (unmeltable_events_produced_total; a record is a batch of events), rsyslog's records
 * (one per message: the topic's end offsets). events/s = written / (first byte sent .. the count's last
 * growth); server CPU over the same span (% of one core); load1 read before each run; "other %" the CPU
 * the rest of the machine used meanwhile (not the server, not the senders). Medians at the end.
 * rsyslog is unpacked from its Debian packages (rsyslog, rsyslog-kafka) into
 * node_modules/.cache/unmeltable-test/rsyslog, as the test set-up does; without omkafka it is skipped.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startMockCluster, type MockCluster } from "../test/helpers/kafka";
import { clientVersions, endOffsets, load1, machineBusySeconds, median, processCpuSeconds, SPLIT } from "./lib/kafka-clients";
import { ROOT } from "./lib/server";

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, runs: { type: "string", default: "3" }, servers: { type: "string", default: "js,native,rsyslog" }, senders: { type: "string", default: "2" } },
});
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const SENDERS = Number(args.senders);
const SERVERS = args.servers.split(",") as Server[];
type Server = "js" | "native" | "rsyslog";
const TOPIC = "raw";

const BLAST_SRC = path.join(ROOT, "bench/blast.c");
const BLAST = path.join(ROOT, "bench/out/blast");
const RSYSLOG_ROOT = path.join(ROOT, "node_modules/.cache/unmeltable-test/rsyslog");

function blast(): string {
  if (existsSync(BLAST)) return BLAST;
  mkdirSync(path.dirname(BLAST), { recursive: true });
  execFileSync("cc", ["-O2", "-o", BLAST, BLAST_SRC]);
  return BLAST;
}

/** rsyslogd and its module directory, if omkafka is unpacked there and loads. */
function rsyslog(): { bin: string; modDir: string; version: string } | undefined {
  const bin = path.join(RSYSLOG_ROOT, "usr/sbin/rsyslogd");
  const modDir = path.join(RSYSLOG_ROOT, "usr/lib/x86_64-linux-gnu/rsyslog");
  if (!existsSync(bin) || !existsSync(path.join(modDir, "omkafka.so"))) return undefined;
  try {
    const version = execFileSync(bin, ["-v"], { encoding: "utf8" }).split("\n")[0]!.split(/\s+/)[1]!;
    return { bin, modDir, version };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const port = () => 21000 + Math.floor(Math.random() * 9000);

interface Started {
  child: ChildProcess;
  syslogPort: number;
  count: () => Promise<number>;
  dir: string;
}

async function startCollector(client: "js" | "native", cluster: MockCluster): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-bench-"));
  const syslogPort = port();
  const httpPort = syslogPort + 1;
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "dist/unmeltable.mjs"), "collector", "--data-dir", dir, "--host", "127.0.0.1", "--syslog-port", String(syslogPort), "--http-port", String(httpPort), "--queue", "kafka", "--brokers", cluster.brokers.join(","), ...(SPLIT ? ["--kafka-client", client] : []), "--default-tenant", "default"],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, UNMELTABLE_KAFKA_CLIENT: client } },
  );
  for (let i = 0; i < 600; i++) {
    if ((await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status === 200) break;
    if (child.exitCode !== null) throw new Error(`collector (${client}) exited with ${child.exitCode}`);
    await sleep(50);
  }
  const count = async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return [...text.matchAll(/^unmeltable_events_produced_total(?:\{[^}]*\})? (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  return { child, syslogPort, count, dir };
}

async function startRsyslog(r: NonNullable<ReturnType<typeof rsyslog>>, cluster: MockCluster): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-bench-rsyslog-"));
  mkdirSync(path.join(dir, "work"));
  const syslogPort = port();
  // The collector's producer settings: acks=all, lz4.
  writeFileSync(
    path.join(dir, "rsyslog.conf"),
    [
      `global(workDirectory="${dir}/work")`,
      `module(load="omkafka")`,
      `module(load="imtcp")`,
      `ruleset(name="bench") {`,
      `  action(type="omkafka" broker=["${cluster.brokers.join('", "')}"] topic="${TOPIC}" confParam=["compression.codec=lz4", "request.required.acks=-1"])`,
      `}`,
      `input(type="imtcp" address="127.0.0.1" port="${syslogPort}" ruleset="bench")`,
    ].join("\n") + "\n",
  );
  const child = spawn(r.bin, ["-n", "-f", path.join(dir, "rsyslog.conf"), "-M", r.modDir, "-i", path.join(dir, "rsyslogd.pid")], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((res) => {
      const s = new net.Socket();
      s.once("error", () => res(false)).connect(syslogPort, "127.0.0.1", () => (s.destroy(), res(true)));
    });
    if (up) break;
    if (child.exitCode !== null) throw new Error(`rsyslogd exited with ${child.exitCode}`);
    await sleep(50);
  }
  return { child, syslogPort, count: () => endOffsets(cluster.brokers, TOPIC), dir };
}

interface Row {
  server: Server;
  run: number;
  load: number;
  sent: number;
  written: number;
  eventsPerSec: number;
  cpuPct: number;
  otherPct: number;
}

execFileSync(process.execPath, [path.join(ROOT, "scripts/build.mjs")], { stdio: "ignore" });
const sender = blast();
const rs = rsyslog();
const servers = SERVERS.filter((s) => {
  if (s === "rsyslog" && !rs) console.error(`rsyslog with omkafka is not unpacked in ${RSYSLOG_ROOT} (apt-get download rsyslog rsyslog-kafka; dpkg -x each there): skipped`);
  if (s === "js" && !SPLIT) console.error("the queue has no pure-JS adapter yet (no @unmeltable/queue-kafka/native entry): the js collector is skipped");
  return (s !== "rsyslog" || rs) && (s !== "js" || SPLIT);
});
console.error(`${new Date().toISOString()} ${os.hostname()}: ${os.cpus().length} cores; ${clientVersions()}; rsyslog ${rs?.version ?? "absent"}; node ${process.version}; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

const rows: Row[] = [];
for (let run = 1; run <= RUNS; run++) {
  for (const server of servers) {
    const load = load1();
    const cluster = await startMockCluster(3);
    await cluster.createTopics([
      { name: TOPIC, partitions: 4 },
      { name: "deadletter", partitions: 1 },
      // The collector checks the topics it may write to exist (it creates missing ones at start).
      { name: "processed.default", partitions: 4 },
    ]);
    const s = server === "rsyslog" ? await startRsyslog(rs!, cluster) : await startCollector(server, cluster);
    const base = await s.count();
    const cpu0 = processCpuSeconds(s.child.pid!);
    const busy0 = machineBusySeconds();
    const t0 = performance.now();
    const blasts = await Promise.all(
      Array.from(
        { length: SENDERS },
        () =>
          new Promise<{ out: string }>((resolve, reject) => {
            const b = spawn(sender, ["tcp", "127.0.0.1", String(s.syslogPort), "200", "100000000", String(SECONDS)], { stdio: ["ignore", "pipe", "inherit"] });
            let out = "";
            b.stdout.on("data", (c: Buffer) => (out += c.toString()));
            b.once("error", reject);
            b.once("exit", () => resolve({ out }));
          }),
      ),
    );
    const sent = blasts.reduce((n, b) => n + Number(/sent=(\d+)/.exec(b.out)?.[1] ?? 0), 0);
    // Wait until the count stops growing for 2 s (or 120 s in all).
    let written = 0;
    let last = -1;
    let doneAt = performance.now();
    let cpuAt = Number.NaN;
    let busyAt = busy0;
    for (const start = performance.now(); performance.now() - start < 120_000; ) {
      written = (await s.count()) - base;
      if (written !== last) {
        last = written;
        doneAt = performance.now();
        cpuAt = processCpuSeconds(s.child.pid!);
        busyAt = machineBusySeconds();
      } else if (performance.now() - doneAt > 2000) break;
      await sleep(100);
    }
    const secs = (doneAt - t0) / 1000;
    const serverCpu = cpuAt - cpu0;
    // "other": the machine's busy time minus the server's: the senders, the broker and everything else.
    const otherPct = Math.max(0, Math.round(((busyAt - busy0 - serverCpu) / secs) * 100));
    s.child.kill("SIGTERM");
    await new Promise((r) => (s.child.exitCode !== null ? r(undefined) : s.child.once("exit", r)));
    await cluster.stop();
    rmSync(s.dir, { recursive: true, force: true });
    const row: Row = { server, run, load: Math.round(load * 100) / 100, sent, written, eventsPerSec: Math.round(written / secs), cpuPct: Math.round((serverCpu / secs) * 100), otherPct };
    rows.push(row);
    console.error(JSON.stringify(row));
    await sleep(2000);
  }
}

const NAMES: Record<Server, string> = {
  js: "unmeltable collector, pure-JS client (@platformatic/kafka)",
  native: "unmeltable collector, native client (librdkafka)",
  rsyslog: `rsyslog ${rs?.version ?? ""} imtcp → omkafka (librdkafka)`,
};
console.log(`\nCollector → Kafka (test broker, 3 brokers, acks=all, lz4), ${SENDERS} blast senders × 200-byte lines, ${SECONDS} s × ${RUNS} interleaved runs`);
console.log("| server | run | load1 before | sent | written to Kafka | events/s | server CPU % | other CPU % |\n|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${NAMES[r.server]} | ${r.run} | ${r.load} | ${r.sent} | ${r.written} | ${r.eventsPerSec} | ${r.cpuPct} | ${r.otherPct} |`);
console.log("\n| server | median events/s | median server CPU % |\n|---|---|---|");
for (const s of servers) {
  const mine = rows.filter((r) => r.server === s);
  console.log(`| ${NAMES[s]} | ${median(mine.map((r) => r.eventsPerSec))} | ${median(mine.map((r) => r.cpuPct))} |`);
}
