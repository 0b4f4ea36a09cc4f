/**
 * Which Kafka client, and why the raw batch envelope: producer throughput into the test broker
 * (librdkafka's mock cluster, 3 brokers, acks=all, lz4 where the client has it), for
 *
 *   - KafkaJS 2.2.4 (pure JavaScript, unmaintained) and @confluentinc/kafka-javascript (librdkafka),
 *   - one 200-byte event per Kafka record, and raw batches of --batch events per record (our envelope).
 *
 *   node --import tsx bench/kafka-producer.ts [--seconds 10] [--batch 500]
 *
 * Events/s are counted from the broker's end offsets (records) times events per record.
 */
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { newEventId, RawBatchBuilder } from "@unmeltable/core";
import { NativeKafkaQueue as KafkaQueue } from "@unmeltable/queue-kafka/native";
import { startMockCluster } from "../test/helpers/kafka";
import { messageRing } from "./lib/senders";

const { values: args } = parseArgs({ options: { seconds: { type: "string", default: "10" }, batch: { type: "string", default: "500" } } });
const SECONDS = Number(args.seconds);
const BATCH = Number(args.batch);
const require = createRequire(import.meta.url);

const ring = messageRing({ seed: 1, size: 200, token: "3efaaddc-211f-4fa5-8b8a-10e64c81708f" }).map((m) => Buffer.from(m));
const batches = Array.from({ length: 16 }, (_, k) => {
  const b = new RawBatchBuilder("bench", "c1");
  for (let i = 0; i < BATCH; i++) b.add({ id: newEventId(), receivedAt: Date.now(), transport: "tcp", remote: "127.0.0.1", tags: ["bench"], bytes: ring[(k * BATCH + i) % ring.length]! });
  return b.finish();
});

interface Row {
  client: string;
  mode: string;
  recordsPerSec: number;
  eventsPerSec: number;
  mbPerSec: number;
}

async function endOffsetSum(queue: KafkaQueue, topic: string): Promise<number> {
  return (await queue.admin.offsets(topic)).reduce((n, p) => n + p.end, 0);
}

/** Keeps `inflight` sends going for SECONDS; returns records acknowledged. */
async function drive(send: (i: number) => Promise<unknown>, inflight: number): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let sent = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < deadline) {
        await send(i++);
        sent++;
      }
    }),
  );
  return sent;
}

const rows: Row[] = [];
for (const client of ["kafkajs", "confluent"] as const) {
  for (const mode of ["1 event/record", `${BATCH} events/record`] as const) {
    const cluster = await startMockCluster(3);
    const topic = "bench";
    await cluster.createTopics([{ name: topic, partitions: 8 }]);
    const admin = new KafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
    const perRecord = mode.startsWith("1 ") ? 1 : BATCH;
    const values = perRecord === 1 ? ring : batches;
    const bytes = values.reduce((n, v) => n + v.length, 0) / values.length;
    const chunk = perRecord === 1 ? 1000 : 2; // records per send() call
    let send: (i: number) => Promise<unknown>;
    let close: () => Promise<void>;
    if (client === "kafkajs") {
      const { Kafka, logLevel } = require("kafkajs") as typeof import("kafkajs");
      const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      send = (i) => producer.send({ topic, acks: -1, messages: Array.from({ length: chunk }, (_, k) => ({ key: `t${(i * chunk + k) % 8}`, value: values[(i * chunk + k) % values.length]! })) });
      close = () => producer.disconnect();
    } else {
      const q = new KafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
      const producer = q.producer();
      send = (i) => producer.send(topic, Array.from({ length: chunk }, (_, k) => ({ key: `t${(i * chunk + k) % 8}`, value: values[(i * chunk + k) % values.length]! })));
      close = async () => {
        await producer.close();
        await q.close();
      };
    }
    const before = await endOffsetSum(admin, topic);
    const t0 = performance.now();
    await drive(send, 8);
    const secs = (performance.now() - t0) / 1000;
    const records = (await endOffsetSum(admin, topic)) - before;
    await close();
    await admin.close();
    await cluster.stop();
    const row = { client, mode, recordsPerSec: Math.round(records / secs), eventsPerSec: Math.round((records * perRecord) / secs), mbPerSec: Math.round(((records * bytes) / secs / 1e6) * 10) / 10 };
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
}
console.log(`\nKafka producer into librdkafka's mock cluster (3 brokers, acks=all), ${SECONDS} s each, 200-byte events`);
console.log("| client | mode | records/s | events/s | MB/s |\n|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.client} | ${r.mode} | ${r.recordsPerSec} | ${r.eventsPerSec} | ${r.mbPerSec} |`);
