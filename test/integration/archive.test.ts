import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- s3rver ships no type declarations
import S3rver from "s3rver";
import { encodeRawBatch, hourKey, manifestKey, newEventId, parseQuery, RAW_TOPIC, type ArchiveManifest, type ObjectStore, type Queue, type RawRecord } from "@unmeltable/core";
import { archiveDay, archivePiece, DirectoryStore, pieceManifestKey, replay, S3Store, type ArchiveStore, type PieceManifest } from "@unmeltable/archive";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { startMockCluster, type MockCluster } from "../helpers/kafka";

const DAY = "2026-01-07";
const START = Date.UTC(2026, 0, 7);
const HOUR = 3_600_000;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "unmeltable-archive-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** s3rver holding an "archive" bucket; `store(prefix)` is the real S3 client's store on it. */
interface ArchiveBucket {
  store(prefix: string): S3Store;
  close(): Promise<void>;
}

async function startArchiveBucket(): Promise<ArchiveBucket> {
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: tmp(), configureBuckets: [{ name: "archive" }] });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    store: (prefix) => new S3Store("archive", prefix, { endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } }),
    close: () => (server as { close(): Promise<void> }).close(),
  };
}

interface Sent {
  inDay: RawRecord[];
  all: RawRecord[];
}

/**
 * Writes raw batches for two tenants across the day and its edges: some events the evening before, some
 * just after midnight the day after, and one batch written late (spooled) with events from the day.
 */
async function produceDay(queue: Queue): Promise<Sent> {
  await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 2 }]);
  const producer = queue.producer();
  const all: RawRecord[] = [];
  const at = (offsetMs: number, tenant: string, i: number): RawRecord => ({ id: newEventId(START + offsetMs), tenant, receivedAt: START + offsetMs, transport: "tcp", remote: "10.0.0.1", collector: "c1", tags: ["a"], raw: `${tenant} event ${i} at ${new Date(START + offsetMs).toISOString()}` });
  const moments = [-2 * HOUR, -1000, 0, 10 * 60_000, 3 * HOUR + 5, 3 * HOUR + 6, 12 * HOUR, 23 * HOUR + 59 * 60_000, 24 * HOUR - 1, 24 * HOUR, 25 * HOUR];
  let i = 0;
  for (const m of moments) {
    for (const tenant of ["acme", "globex"]) {
      const batch = [at(m, tenant, i++), at(m + 1, tenant, i++)];
      all.push(...batch);
      await producer.send(RAW_TOPIC, [{ key: tenant, partition: tenant === "acme" ? 0 : 1, value: encodeRawBatch(tenant, "c1", batch), timestamp: START + m }]);
    }
  }
  // Spooled while the queue was away: events of 14:00 written at 20:00.
  const late = [at(14 * HOUR, "acme", i++)];
  all.push(...late);
  await producer.send(RAW_TOPIC, [{ key: "acme", partition: 0, value: encodeRawBatch("acme", "c1", late), timestamp: START + 20 * HOUR }]);
  await producer.close();
  return { all, inDay: all.filter((e) => e.receivedAt >= START && e.receivedAt < START + 24 * HOUR) };
}

async function readLines(store: ObjectStore, key: string): Promise<RawRecord[]> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return zlib
    .gunzipSync(Buffer.concat(chunks))
    .toString("utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RawRecord);
}

async function checkArchive(queue: Queue, store: ArchiveStore, sent: Sent): Promise<ArchiveManifest> {
  const manifest = await archiveDay({ queue, store, day: DAY });
  expect(manifest.events).toBe(sent.inDay.length);
  expect(manifest.files.reduce((n, f) => n + f.events, 0)).toBe(sent.inDay.length);
  // Every file holds exactly its tenant's events of its hour.
  const archived: RawRecord[] = [];
  for (const f of manifest.files) {
    const events = await readLines(store, f.key);
    expect(events).toHaveLength(f.events);
    for (const e of events) {
      expect(e.tenant).toBe(f.tenant);
      expect(new Date(e.receivedAt).getUTCHours()).toBe(f.hour);
    }
    archived.push(...events);
  }
  expect(archived.map((e) => e.id).sort()).toEqual(sent.inDay.map((e) => e.id).sort());
  expect(archived.find((e) => e.raw.includes("at 2026-01-07T14:00"))).toBeTruthy();
  expect(manifest.partitions["0"]!.records).toBeGreaterThan(0);
  // The manifest is stored with the files, and a rerun writes the same objects.
  const stored = JSON.parse((await readAllText(store, manifestKey(DAY))) || "{}") as ArchiveManifest;
  expect(stored.checksum).toBe(manifest.checksum);
  const again = await archiveDay({ queue, store, day: DAY });
  expect(again.checksum).toBe(manifest.checksum);
  expect(again.files).toEqual(manifest.files);
  return manifest;
}

async function readAllText(store: ObjectStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

describe("the daily archive", () => {
  it("archives a day from the embedded queue, per tenant and hour, with matching manifest counts, idempotently", async () => {
    const queue = await EmbeddedQueue.open({ dir: tmp() });
    const sent = await produceDay(queue);
    const store = new DirectoryStore(tmp());
    const manifest = await checkArchive(queue, store, sent);
    expect(manifest.files.map((f) => `${f.tenant}/${f.hour}`)).toContain("acme/3");
    await queue.close();
  });

  describe("from the Kafka test broker, to S3 (s3rver with the real @aws-sdk/client-s3)", () => {
    let cluster: MockCluster;
    let s3: ArchiveBucket;
    beforeAll(async () => {
      cluster = await startMockCluster(3);
      s3 = await startArchiveBucket();
    });
    afterAll(async () => {
      await s3.close();
      await cluster.stop();
    });
    const s3Store = () => s3.store("unmeltable/");

    it("writes the same archive through Kafka and S3", async () => {
      const queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
      const sent = await produceDay(queue);
      await checkArchive(queue, s3Store(), sent);
      expect((await s3Store().list("raw/2026-01-07/")).filter((k) => k.endsWith(".gz")).length).toBeGreaterThan(4);
      await queue.close();
    });

    it("replays the archive into an emptied index (every event once) and over a full one (nothing added)", async () => {
      const store = s3Store();
      const dir = tmp();
      const index = new EmbeddedIndex({ dir, writer: "inline" });
      const range = { from: START, until: START + 24 * HOUR - 1 };
      const first = await replay({ store, index, tenant: "acme", ...range });
      const acmeInDay = (await readManifest(store)).files.filter((f) => f.tenant === "acme").reduce((n, f) => n + f.events, 0);
      expect(first).toMatchObject({ events: acmeInDay, indexed: acmeInDay, existing: 0, rejected: 0 });
      expect(await index.count({ tenant: "acme", query: parseQuery("*"), from: range.from, until: range.until })).toBe(acmeInDay);
      const second = await replay({ store, index, tenant: "acme", ...range });
      expect(second).toMatchObject({ events: acmeInDay, indexed: 0, existing: acmeInDay });
      expect(await index.count({ tenant: "acme", query: parseQuery("*"), from: range.from, until: range.until })).toBe(acmeInDay);
      // Another tenant's events are not replayed into this one.
      expect(await index.count({ tenant: "globex", query: parseQuery("*"), from: range.from, until: range.until })).toBe(0);
      await index.close();
    });
  });
});

async function readManifest(store: ObjectStore): Promise<ArchiveManifest> {
  return JSON.parse(await readAllText(store, manifestKey(DAY))) as ArchiveManifest;
}


describe("an archive piece bigger than S3's part (embedded queue → s3rver, the real S3 client)", () => {
  let s3: ArchiveBucket;
  beforeAll(async () => {
    s3 = await startArchiveBucket();
  });
  afterAll(async () => {
    await s3.close();
  });

  it("goes up in 5 MiB parts; a worker failing mid-piece leaves nothing visible; the redo writes the same bytes", async () => {
    const store = s3.store("");
    const queue = await EmbeddedQueue.open({ dir: tmp() });
    await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 1 }]);
    const producer = queue.producer();
    const ids: string[] = [];
    const at = START + 5 * HOUR;
    // Random text: gzip keeps ~3/4 of it, so one tenant-hour is ~12 MB compressed.
    for (let b = 0; b < 16; b++) {
      const events = Array.from({ length: 1000 }, (_, i): RawRecord => ({ id: newEventId(at + b * 1000 + i), tenant: "bigco", receivedAt: at + b * 1000 + i, transport: "tcp", remote: "10.0.0.1", collector: "c1", tags: [], raw: randomBytes(750).toString("base64") }));
      ids.push(...events.map((e) => e.id));
      await producer.send(RAW_TOPIC, [{ key: "bigco", partition: 0, value: encodeRawBatch("bigco", "c1", events), timestamp: at }]);
    }
    await producer.close();
    const piece = { queue, store, partition: 0, from: 0, to: 16, partBytes: 5 * 1024 * 1024 };

    await expect(
      archivePiece({
        ...piece,
        onRead: (p) => {
          if (p.bytes > 8 * 1024 * 1024) throw new Error("injected: the worker dies here");
        },
      }),
    ).rejects.toThrow("injected");
    expect(await store.list("raw/")).toEqual([]);

    const done = await archivePiece(piece);
    expect(done).toMatchObject({ next: 16, records: 16, events: ids.length, days: [DAY] });
    expect(done.parts).toBeGreaterThanOrEqual(3);
    const [key] = (await store.list(`raw/${DAY}/bigco/`)).filter((k) => k.endsWith(".gz"));
    const bytes = await readAllBytes(store, key!);
    expect(bytes.length).toBeGreaterThan(10 * 1024 * 1024);
    const lines = zlib.gunzipSync(bytes).toString("utf8").split("\n").filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as RawRecord).id)).toEqual(ids);
    const pieceManifest = JSON.parse((await readAllBytes(store, pieceManifestKey(DAY, "0-0"))).toString("utf8")) as PieceManifest;
    expect(pieceManifest.files).toEqual([{ key, tenant: "bigco", hour: 5, events: ids.length, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") }]);

    await archivePiece(piece);
    expect(createHash("sha256").update(await readAllBytes(store, key!)).digest("hex")).toBe(pieceManifest.files[0]!.sha256);
    await queue.close();
  });
});

async function readAllBytes(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("a day archived by the former daily job", () => {
  it("keeps its files when late events of the day are archived, and replay reads both", async () => {
    const day = "2026-01-05";
    const at = Date.UTC(2026, 0, 5, 3);
    const store = new DirectoryStore(tmp());
    const old: RawRecord[] = [0, 1].map((i) => ({ id: newEventId(at + i), tenant: "acme", receivedAt: at + i, transport: "tcp", remote: "10.0.0.1", collector: "c1", tags: [], raw: `archived by the daily job ${i}` }));
    const body = zlib.gzipSync(old.map((e) => `${JSON.stringify(e)}\n`).join(""));
    const legacyKey = hourKey(day, "acme", 3);
    await store.put(legacyKey, body);
    const legacy: ArchiveManifest = { day, from: Date.UTC(2026, 0, 5), until: Date.UTC(2026, 0, 6), events: 2, files: [{ key: legacyKey, tenant: "acme", hour: 3, events: 2, bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") }], partitions: {}, checksum: "x" };
    await store.put(manifestKey(day), Buffer.from(JSON.stringify(legacy)));

    // A batch of that day spooled by a collector and written two days later.
    const queue = await EmbeddedQueue.open({ dir: tmp() });
    await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 1 }]);
    const late: RawRecord = { id: newEventId(at + 5000), tenant: "acme", receivedAt: at + 5000, transport: "tcp", remote: "10.0.0.1", collector: "c1", tags: [], raw: "spooled" };
    await queue.producer().send(RAW_TOPIC, [{ key: "acme", partition: 0, value: encodeRawBatch("acme", "c1", [late]), timestamp: at + 2 * 86_400_000 }]);
    const manifest = await archiveDay({ queue, store, day });
    expect(manifest.events).toBe(3);
    expect(manifest.files.map((f) => f.key)).toEqual([legacyKey, `raw/${day}/acme/03/0-0.0.ndjson.gz`]);

    const index = new EmbeddedIndex({ dir: tmp(), writer: "inline" });
    const replayed = await replay({ store, index, tenant: "acme", from: Date.UTC(2026, 0, 5), until: Date.UTC(2026, 0, 6) - 1 });
    expect(replayed).toMatchObject({ files: 2, events: 3, indexed: 3 });
    await index.close();
    await queue.close();
  });
});
