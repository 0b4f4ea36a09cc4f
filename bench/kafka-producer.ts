/**
 * Which Kafka client: producer throughput into the test broker (test/helpers/kafka.ts: 3 brokers,
 * acks=all, idempotent, lz4), pure JavaScript (@platformatic/kafka) against native (librdkafka), writing
 * what a collector writes: raw batch envelopes of --batch 200-byte events per record, 8 sends in flight
 * of 2 records each, keyed over 8 partitions.
 *
 *   node --import tsx bench/kafka-producer.ts [--seconds 10] [--runs 3] [--batch 500] [--clients js,native]
 *
 * Runs are interleaved (js, native, js, native, ...), each into a fresh cluster; the 1-minute load is
 * read before each run and the CPU the rest of the machine used during it is reported. Events/s come
 * from the broker's end offsets (records written) times events per record. Medians at the end.
 */
import { parseArgs } from "node:util";
import { newEventId, RawBatchBuilder } from "@unmeltable/core";
import { startMockCluster } from "../test/helpers/kafka";
import { clientVersions, endOffsets, load1, machineBusySeconds, median, openProducer, SPLIT, type ClientKind } from "./lib/kafka-clients";
import { messageRing } from "./lib/senders";

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, runs: { type: "string", default: "3" }, batch: { type: "string", default: "500" }, clients: { type: "string", default: "js,native" } },
});
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const BATCH = Number(args.batch);
const CLIENTS = args.clients.split(",") as ClientKind[];
const TOPIC = "raw";

const ring = messageRing({ seed: 1, size: 200, token: "3efaaddc-211f-4fa5-8b8a-10e64c81708f" }).map((m) => Buffer.from(m));
const batches = Array.from({ length: 16 }, (_, k) => {
  const b = new RawBatchBuilder("bench", "c1");
  for (let i = 0; i < BATCH; i++) b.add({ id: newEventId(), receivedAt: Date.now(), transport: "tcp", remote: "127.0.0.1", tags: ["bench"], bytes: ring[(k * BATCH + i) % ring.length]! });
  return b.finish();
});
const recordBytes = batches.reduce((n, b) => n + b.length, 0) / batches.length;

interface Row {
  client: ClientKind;
  label: string;
  run: number;
  load: number;
  otherCpuPct: number;
  recordsPerSec: number;
  eventsPerSec: number;
  mbPerSec: number;
}

/** Keeps `inflight` sends going for SECONDS. */
async function drive(send: (i: number) => Promise<unknown>, inflight: number): Promise<void> {
  const deadline = performance.now() + SECONDS * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < deadline) await send(i++);
    }),
  );
}

const rows: Row[] = [];
console.error(`${new Date().toISOString()} ${clientVersions()}; adapters split: ${SPLIT}; record ${Math.round(recordBytes)} bytes (${BATCH} events)`);
for (let run = 1; run <= RUNS; run++) {
  for (const client of CLIENTS) {
    const load = load1();
    const cluster = await startMockCluster(3);
    await cluster.createTopics([{ name: TOPIC, partitions: 8 }]);
    const producer = await openProducer(client, cluster.brokers);
    // One send before the clock starts: connections, metadata and the producer id are set up.
    await producer.send(TOPIC, [{ key: "warm", value: batches[0]! }]);
    const before = await endOffsets(cluster.brokers, TOPIC);
    const busy0 = machineBusySeconds();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    await drive((i) => producer.send(TOPIC, [0, 1].map((k) => ({ key: `t${(i * 2 + k) % 8}`, value: batches[(i * 2 + k) % batches.length]! }))), 8);
    const secs = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    // Everything but this process (which holds the client) and the broker: the other helpers' load.
    const records = (await endOffsets(cluster.brokers, TOPIC)) - before;
    const otherCpuPct = Math.max(0, Math.round(((machineBusySeconds() - busy0 - (self.user + self.system) / 1e6) / secs) * 100));
    await producer.close();
    await cluster.stop();
    const row: Row = {
      client,
      label: producer.label,
      run,
      load: Math.round(load * 100) / 100,
      otherCpuPct,
      recordsPerSec: Math.round(records / secs),
      eventsPerSec: Math.round((records * BATCH) / secs),
      mbPerSec: Math.round(((records * recordBytes) / secs / 1e6) * 10) / 10,
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
console.log(`\nProducer into the test broker (3 brokers, acks=all, idempotent, lz4), raw batches of ${BATCH} 200-byte events (${Math.round(recordBytes / 1024)} KiB) per record, ${SECONDS} s × ${RUNS} interleaved runs`);
console.log("| client | run | load1 before | other CPU % (broker + rest of machine) | records/s | events/s | MB/s |\n|---|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.label} | ${r.run} | ${r.load} | ${r.otherCpuPct} | ${r.recordsPerSec} | ${r.eventsPerSec} | ${r.mbPerSec} |`);
console.log("\n| client | median events/s | median MB/s |\n|---|---|---|");
for (const c of CLIENTS) {
  const mine = rows.filter((r) => r.client === c);
  console.log(`| ${mine[0]!.label} | ${median(mine.map((r) => r.eventsPerSec))} | ${median(mine.map((r) => r.mbPerSec))} |`);
}
