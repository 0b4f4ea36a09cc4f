/**
 * The two Kafka clients the benches compare, behind the queue's own adapters:
 *
 *   js      `@unmeltable/queue-kafka`         (@platformatic/kafka, pure JavaScript; the default)
 *   native  `@unmeltable/queue-kafka/native`  (@confluentinc/kafka-javascript, librdkafka; optional)
 *
 * When the adapters are not split yet (the package has no `./native` entry), `native` is the package's
 * only entry and `js` is @platformatic/kafka's Producer driven directly with the settings the adapter
 * uses (acks=all, idempotent, lz4); rows then say "direct".
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./server";

export type ClientKind = "js" | "native";

interface QueueLike {
  producer(): { send(topic: string, records: { key?: string; value: Buffer }[]): Promise<unknown>; close(): Promise<void> };
  admin: { offsets(topic: string): Promise<{ end: number }[]> };
  close(): Promise<void>;
}
type QueueClass = new (options: { brokers: string[]; createTopics?: unknown }) => QueueLike;

const pkg = JSON.parse(readFileSync(path.join(ROOT, "packages/queue-kafka/package.json"), "utf8")) as { exports: Record<string, string> };
/** The adapters are split: `@unmeltable/queue-kafka` is pure JS, `/native` is librdkafka. */
export const SPLIT = Boolean(pkg.exports["./native"]);

async function queueClass(kind: ClientKind): Promise<QueueClass> {
  // A specifier in a variable: the `/native` entry exists only once the adapters are split.
  const specifier = kind === "native" && SPLIT ? "@unmeltable/queue-kafka/native" : "@unmeltable/queue-kafka";
  const mod = (await import(specifier)) as Record<string, unknown>;
  const cls = (SPLIT ? (kind === "native" ? mod.NativeKafkaQueue : mod.PlatformaticKafkaQueue) : mod.KafkaQueue) as QueueClass | undefined;
  if (!cls) throw new Error(`no queue class exported for the ${kind} client`);
  return cls;
}

export interface BenchProducer {
  label: string;
  send(topic: string, records: { key: string; value: Buffer }[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function openProducer(kind: ClientKind, brokers: string[]): Promise<BenchProducer> {
  if (kind === "js" && !SPLIT) {
    const { Producer, ProduceAcks } = await import("@platformatic/kafka");
    const producer = new Producer({ clientId: "bench", bootstrapBrokers: brokers, acks: ProduceAcks.ALL, idempotent: true, compression: "lz4", autocreateTopics: false });
    return {
      label: "js (@platformatic/kafka direct)",
      send: (topic, records) => producer.send({ messages: records.map((r) => ({ topic, key: Buffer.from(r.key), value: r.value })) }),
      close: () => producer.close(),
    };
  }
  const Queue = await queueClass(kind);
  const q = new Queue({ brokers });
  const producer = q.producer();
  return {
    label: kind === "js" ? "js (@unmeltable/queue-kafka, @platformatic/kafka)" : SPLIT ? "native (@unmeltable/queue-kafka/native, librdkafka)" : "native (@unmeltable/queue-kafka, librdkafka)",
    send: (topic, records) => producer.send(topic, records),
    close: async () => {
      await producer.close();
      await q.close();
    },
  };
}

/** Sum of the topic's partition end offsets (records written), read with whichever adapter is there. */
export async function endOffsets(brokers: string[], topic: string): Promise<number> {
  const Queue = await queueClass(SPLIT ? "js" : "native");
  const q = new Queue({ brokers });
  try {
    return (await q.admin.offsets(topic)).reduce((n, p) => n + p.end, 0);
  } finally {
    await q.close();
  }
}

/** Client versions, for the results. */
export function clientVersions(): string {
  const v = (name: string) => {
    const p = path.join(ROOT, "node_modules", name, "package.json");
    return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version : "absent";
  };
  return `@platformatic/kafka ${v("@platformatic/kafka")}, @confluentinc/kafka-javascript ${v("@confluentinc/kafka-javascript")}`;
}

/** The 1-minute load average now, and the machine's cores (the results say under what load a row ran). */
export function load1(): number {
  return os.loadavg()[0]!;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Whole-machine busy CPU seconds (user nice system irq softirq steal), to report what else ran. */
export function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

/** CPU seconds (user + system, all threads) of a process. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(stat[11]) + Number(stat[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
