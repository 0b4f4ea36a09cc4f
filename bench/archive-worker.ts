/**
 * Throughput of one archive worker (packages/archive, archivePiece): one raw partition of --mb MB of
 * syslog-like events (--tenants tenants, spread over a day) in the embedded queue, archived as one piece
 * to s3rver through the real S3 client (multipart, 8 MiB parts) and to a directory. MB/s of raw record
 * bytes; the compressed size; peak RSS of this process (worker, queue and, for S3, s3rver together).
 *
 *   node --import tsx bench/archive-worker.ts [--mb 200] [--tenants 20] [--level 6]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
// @ts-expect-error -- s3rver ships no type declarations
import S3rver from "s3rver";
import { encodeRawBatch, newEventId, RAW_TOPIC, type RawRecord } from "@unmeltable/core";
import { archivePiece, DirectoryStore, S3Store, type ArchiveStore } from "@unmeltable/archive";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { seededRandom } from "../test/helpers/seeded";

const { values: args } = parseArgs({ options: { mb: { type: "string", default: "200" }, tenants: { type: "string", default: "20" }, level: { type: "string", default: "6" } } });
const MB = 1024 * 1024;
const work = mkdtempSync(path.join(os.tmpdir(), "unmeltable-bench-archive-"));
const random = seededRandom(1);
const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
const paths = ["/api/orders", "/api/users", "/login", "/static/app.js", "/health", "/api/search"];
const hosts = Array.from({ length: 40 }, (_, i) => `web-${i}`);

async function fill(queue: EmbeddedQueue): Promise<{ bytes: number; events: number }> {
  await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 1 }]);
  const producer = queue.producer();
  const day = Date.UTC(2026, 0, 7);
  let bytes = 0;
  let events = 0;
  // ~480 KiB per batch: the batches of the day in time order (as collectors write them).
  const batches = Math.ceil((Number(args.mb) * MB) / (480 * 1024));
  for (let b = 0; bytes < Number(args.mb) * MB; b++) {
    const tenant = `tenant-${b % Number(args.tenants)}`;
    const at = day + Math.floor((b / batches) * 86_400_000);
    const batch = Array.from({ length: 2000 }, (_, i): RawRecord => {
      const t = at + i;
      return {
        id: newEventId(t),
        tenant,
        receivedAt: t,
        transport: "tcp",
        remote: "10.0.0.1",
        collector: "c1",
        tags: ["bench"],
        raw: `<134>1 ${new Date(t).toISOString()} ${pick(hosts)} app ${1000 + Math.floor(random() * 9000)} - - GET ${pick(paths)}?id=${Math.floor(random() * 1e9)} ${pick([200, 200, 200, 404, 500])} ${Math.floor(random() * 900)}ms user=${Math.floor(random() * 1e5)}`,
      };
    });
    const value = encodeRawBatch(tenant, "c1", batch);
    bytes += value.length;
    events += batch.length;
    await producer.send(RAW_TOPIC, [{ key: tenant, partition: 0, value, timestamp: at }]);
  }
  await producer.close();
  return { bytes, events };
}

async function run(name: string, queue: EmbeddedQueue, store: ArchiveStore, records: number) {
  const t0 = performance.now();
  const r = await archivePiece({ queue, store, partition: 0, from: 0, to: records, level: Number(args.level), maxOpen: 32 });
  const s = (performance.now() - t0) / 1000;
  const written = (await store.list("raw/")).filter((k) => k.endsWith(".gz")).length;
  console.log(
    `${name}: ${(r.bytes / MB).toFixed(0)} MiB raw, ${r.events.toLocaleString()} events in ${s.toFixed(1)} s = ${(r.bytes / MB / s).toFixed(1)} MiB/s, ${(r.events / s).toFixed(0)} events/s; ${written} objects, ${r.parts} parts, ${r.puts} puts; peak RSS ${((process.resourceUsage().maxRSS * 1024) / MB).toFixed(0)} MiB`,
  );
}

const queue = await EmbeddedQueue.open({ dir: path.join(work, "queue") });
const filled = await fill(queue);
const records = (await queue.admin.offsets(RAW_TOPIC))[0]?.end;
console.log(`filled: ${(filled.bytes / MB).toFixed(0)} MiB raw, ${filled.events.toLocaleString()} events, ${records} records; gzip level ${args.level}`);
await run("directory", queue, new DirectoryStore(path.join(work, "dir")), records!);
const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: path.join(work, "s3"), configureBuckets: [{ name: "archive" }] });
const { port } = (await server.run()) as { port: number };
await run("s3rver", queue, new S3Store("archive", "", { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } }), records!);
await server.close();
await queue.close();
rmSync(work, { recursive: true, force: true });
