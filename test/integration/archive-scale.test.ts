/**
 * The archive at scale, as it runs on AWS: the planner (here in the test process) cuts the raw topic of
 * the Kafka test broker into pieces and hands each to a worker in a process of its own (as a Lambda
 * invocation runs), which streams it to S3 (s3rver behind the model of S3's conditional writes). The
 * day is larger than the worker's disk: its TMPDIR is a 2 MB tmpfs (a plain empty folder when mounting is
 * not allowed), which must stay empty. One worker is killed in the middle of its piece, a run runs out of
 * time; the re-run archives every event of the day exactly once. Late data lands in its day on the next
 * run; two planners at once never both run.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- s3rver ships no type declarations
import S3rver from "s3rver";
import { encodeRawBatch, manifestKey, missingArchiveDays, newEventId, RAW_TOPIC, type ArchiveManifest, type RawRecord } from "@unmeltable/core";
import { LeaseHeldError, runArchive, S3Store, type PieceRequest, type PieceResult, type PlannerOptions } from "@unmeltable/archive";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { startMockCluster, type MockCluster } from "../helpers/kafka";
import { startConditionalS3, type ConditionalS3 } from "../helpers/s3-conditional";
import { bundleChild } from "../helpers/child-bundle";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DAY = "2026-02-10";
const START = Date.UTC(2026, 1, 10);
const HOUR = 3_600_000;
const MB = 1024 * 1024;

describe("the archive at scale: Kafka test broker → workers in their own processes → S3", () => {
  let cluster: MockCluster;
  let queue: PlatformaticKafkaQueue;
  let s3: { close(): Promise<void> };
  let conditional: ConditionalS3;
  let store: S3Store;
  let work: string;
  let tmpfs: string;
  let mounted = false;
  /** test/helpers/archive-worker-child.ts, bundled: some twenty workers start in this file. */
  let workerScript: string;
  /** Every event produced, by id → its day. */
  const produced = new Map<string, RawRecord>();
  let rawBytes = 0;
  const measured: { bytes: number; seconds: number; maxRssBytes: number }[] = [];

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "unmeltable-archive-scale-"));
    tmpfs = mkdtempSync(path.join(os.tmpdir(), "unmeltable-archive-tmpfs-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", tmpfs], { stdio: "ignore" });
      mounted = true;
    } catch {
      // Not root here: the folder stays a plain one, and must stay empty all the same.
    }
    workerScript = await bundleChild("test/helpers/archive-worker-child.ts");
    cluster = await startMockCluster(3);
    queue = new PlatformaticKafkaQueue({ brokers: cluster.brokers, createTopics: (t) => cluster.createTopics(t) });
    await queue.admin.ensureTopics([{ name: RAW_TOPIC, partitions: 6 }]);
    const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: path.join(work, "s3"), configureBuckets: [{ name: "archive" }] });
    const { port } = (await server.run()) as { port: number };
    s3 = server;
    conditional = await startConditionalS3(`http://127.0.0.1:${port}`);
    store = new S3Store("archive", "", { endpoint: conditional.url, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });

    // The test broker keeps about 5 MiB per partition (librdkafka's mock cluster drops older records):
    // the day is spread so that no partition holds more than ~4 MB. Partitions 0-4: four tenants'
    // everyday traffic over the whole day and its edges; partition 5: one tenant's burst at 03:00.
    const producer = queue.producer();
    const event = (tenant: string, at: number, raw: string): RawRecord => ({ id: newEventId(at), tenant, receivedAt: at, transport: "tcp", remote: "10.0.0.1", collector: "c1", tags: ["scale"], raw });
    const send = async (partition: number, batches: RawRecord[][]) => {
      for (let i = 0; i < batches.length; i += 50) {
        const records = batches.slice(i, i + 50).map((events) => {
          for (const e of events) produced.set(e.id, e);
          const value = encodeRawBatch(events[0]!.tenant, "c1", events);
          rawBytes += value.length;
          return { key: events[0]!.tenant, partition, value, timestamp: events[0]!.receivedAt };
        });
        await producer.send(RAW_TOPIC, records);
      }
    };
    const tenants = ["acme", "globex", "initech", "umbrella"];
    for (let p = 0; p < 5; p++) {
      const batches: RawRecord[][] = [];
      // From 22:00 the day before to 02:00 the day after, in time order (as collectors write them).
      for (let b = 0; b < 340; b++) {
        const at = START - 2 * HOUR + Math.floor((b / 340) * 28 * HOUR);
        const tenant = tenants[(b + p) % tenants.length]!;
        batches.push(Array.from({ length: 40 }, (_, i) => event(tenant, at + i, `${tenant} ${randomBytes(90).toString("hex")} line ${b}.${i}`)));
      }
      await send(p, batches);
    }
    const burst: RawRecord[][] = [];
    for (let b = 0; b < 110; b++) burst.push(Array.from({ length: 30 }, (_, i) => event("bigco", START + 3 * HOUR + b * 5000 + i, randomBytes(800).toString("base64"))));
    await send(5, burst);
    await producer.close();
  }, 240_000);

  afterAll(async () => {
    await queue?.close();
    await cluster?.stop();
    await conditional?.close();
    await s3?.close();
    if (mounted) execFileSync("umount", [tmpfs]);
    rmSync(tmpfs, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    if (workerScript) rmSync(workerScript, { force: true });
  });

  /** A worker process for one piece; `hangAfterBytes`: it stops halfway and is SIGKILLed there. */
  const childWorker =
    (options: { hangAfterBytes?: (r: PieceRequest) => number | undefined } = {}) =>
    (request: PieceRequest): Promise<PieceResult> =>
      new Promise((resolve, reject) => {
        const hangAfterBytes = options.hangAfterBytes?.(request);
        // Few open streams and a small hold: ended streams go up both ways (held and put, deferred multipart).
        const input = { request, brokers: cluster.brokers, endpoint: conditional.url, bucket: "archive", maxOpen: 6, partBytes: 5 * MB, holdBytes: 256 * 1024, hangAfterBytes };
        const child = spawn(process.execPath, [workerScript, JSON.stringify(input)], { cwd: ROOT, env: { ...process.env, TMPDIR: tmpfs }, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          if (out.includes("hanging\n")) child.kill("SIGKILL");
        });
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.on("close", (code, signal) => {
          if (code !== 0) return reject(new Error(`worker ${signal ?? `exit ${code}`}: ${err.slice(-500)}`));
          const last = JSON.parse(out.trim().split("\n").pop()!) as { result: PieceResult; seconds: number; maxRssBytes: number };
          measured.push({ bytes: last.result.bytes, seconds: last.seconds, maxRssBytes: last.maxRssBytes });
          resolve(last.result);
        });
      });

  const plan = (extra: Partial<PlannerOptions> & Pick<PlannerOptions, "invoke">): Promise<Awaited<ReturnType<typeof runArchive>>> =>
    runArchive({ queue, store, concurrency: 2, maxBytesPerPiece: 2 * MB, bootstrapFrom: "earliest", ...extra });

  async function objectBytes(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  const manifestOf = async (day: string) => JSON.parse((await objectBytes(manifestKey(day))).toString("utf8")) as ArchiveManifest;

  /** Every archived object decoded: each event id with how often it appears, and where. */
  async function archived(): Promise<Map<string, { count: number; key: string }>> {
    const seen = new Map<string, { count: number; key: string }>();
    for (const key of await store.list("raw/")) {
      if (!key.endsWith(".ndjson.gz")) continue;
      for (const line of zlib.gunzipSync(await objectBytes(key)).toString("utf8").split("\n")) {
        if (!line) continue;
        const e = JSON.parse(line) as RawRecord;
        const s = seen.get(e.id);
        if (s) s.count++;
        else seen.set(e.id, { count: 1, key });
      }
    }
    return seen;
  }

  const daysOf = () => [...new Set([...produced.values()].map((e) => new Date(e.receivedAt).toISOString().slice(0, 10)))].sort();

  it(
    "archives a day larger than the worker's disk exactly once, after a worker killed mid-piece and a run that ran out of time",
    async () => {
      expect(rawBytes).toBeGreaterThan(16 * MB);
      // Run 1: partition 1's worker hangs after 1 MB and is killed; after two finished pieces the run's time is up.
      let done = 0;
      let skew = 0;
      const first = await plan({
        invoke: async (r) => {
          const result = await childWorker({ hangAfterBytes: (q) => (q.partition === 1 ? MB : undefined) })(r);
          if (++done === 2) skew = 86_400_000;
          return result;
        },
        now: () => Date.now() + skew,
        deadline: Date.now() + 3_600_000,
      });
      expect(first.failed).toEqual([expect.objectContaining({ partition: 1, from: 0, error: expect.stringContaining("SIGKILL") })]);
      expect(first.lost).toEqual([]);
      expect(first.unfinished).toContain(1);
      expect(first.unfinished.length).toBeGreaterThanOrEqual(2);
      // Nothing of the killed piece is visible: its objects are completed only when the piece is done.
      expect((await store.list("raw/")).filter((k) => k.includes("/1-0."))).toEqual([]);
      // The day shows as missing: the archive is behind its end.
      expect(await missingArchiveDays(store, { now: START + 2 * 86_400_000 + 3 * HOUR, days: 2 })).toContain(DAY);

      // Run 2: the same planner again (what the next hour or Lambda's retry does). Partition 4's first
      // worker is told its time is up at once: it completes what it read and the next piece goes on.
      const second = await plan({ invoke: (r) => childWorker()(r.partition === 4 && r.from === 0 ? { ...r, deadline: Date.now() } : r) });
      expect(second.failed).toEqual([]);
      expect(second.unfinished).toEqual([]);
      expect(second.pieces.find((p) => p.partition === 1)!.first).toBe(0);
      expect(second.lost).toEqual([]);
      // The worker told its time was up read one chunk, not its 2 MB, and the planner went on from there.
      const hurried = second.pieces.filter((p) => p.partition === 4);
      expect(hurried[0]).toMatchObject({ first: 0 });
      expect(hurried[0]!.bytes).toBeLessThan(2 * MB);
      expect(hurried[1]!.first).toBe(hurried[0]!.next);
      expect(second.pieces.some((p) => p.parts > 0)).toBe(true);
      expect(second.pieces.some((p) => p.puts > 0)).toBe(true);

      // Every event produced is archived exactly once, in its day, tenant and hour.
      const seen = await archived();
      expect(seen.size).toBe(produced.size);
      for (const [id, e] of produced) {
        const s = seen.get(id);
        expect(s?.count, id).toBe(1);
        const at = new Date(e.receivedAt);
        expect(s!.key.startsWith(`raw/${at.toISOString().slice(0, 10)}/${e.tenant}/${String(at.getUTCHours()).padStart(2, "0")}/`), s!.key).toBe(true);
      }
      // The manifests agree with the objects: counts per day, the listed files are the objects, checksums match.
      for (const day of daysOf()) {
        const m = await manifestOf(day);
        expect(m.events).toBe([...produced.values()].filter((e) => new Date(e.receivedAt).toISOString().startsWith(day)).length);
        const objects = (await store.list(`raw/${day}/`)).filter((k) => k.endsWith(".ndjson.gz"));
        expect(m.files.map((f) => f.key)).toEqual(objects);
        for (const f of m.files) expect(createHash("sha256").update(await objectBytes(f.key)).digest("hex")).toBe(f.sha256);
      }
      expect(await missingArchiveDays(store, { now: START + 2 * 86_400_000 + 3 * HOUR, days: 2 })).not.toContain(DAY);
      // The worker never wrote to its disk.
      expect(readdirSync(tmpfs)).toEqual([]);
      const total = measured.reduce((a, m) => ({ bytes: a.bytes + m.bytes, seconds: a.seconds + m.seconds }), { bytes: 0, seconds: 0 });
      console.log(
        `archive scale: ${(rawBytes / MB).toFixed(1)} MiB raw, ${produced.size} events; workers read ${(total.bytes / MB).toFixed(1)} MiB in ${total.seconds.toFixed(1)} s ` +
          `(${(total.bytes / MB / total.seconds).toFixed(1)} MiB/s per worker incl. S3), peak RSS ${(Math.max(...measured.map((m) => m.maxRssBytes)) / MB).toFixed(0)} MiB; TMPDIR ${mounted ? "a 2 MB tmpfs" : "a plain folder"}`,
      );
    },
    300_000,
  );

  it("late data written after the run (a batch spooled for hours) lands in its day on the next run; a run with nothing new changes nothing", async () => {
    const before = await manifestOf(DAY);
    const at = START + 14 * HOUR + 7;
    const late = Array.from({ length: 5 }, (_, i): RawRecord => ({ id: newEventId(at + i), tenant: "acme", receivedAt: at + i, transport: "tcp", remote: "10.0.0.2", collector: "c2", tags: [], raw: `spooled ${i}` }));
    const producer = queue.producer();
    // Written the next morning, when the collector got the queue back.
    await producer.send(RAW_TOPIC, [{ key: "acme", partition: 2, value: encodeRawBatch("acme", "c2", late), timestamp: START + 30 * HOUR }]);
    await producer.close();
    for (const e of late) produced.set(e.id, e);

    const run = await plan({ invoke: childWorker() });
    expect(run.failed).toEqual([]);
    expect(run.pieces.map((p) => p.days)).toEqual([[DAY]]);
    const after = await manifestOf(DAY);
    expect(after.events).toBe(before.events + late.length);
    expect(after.pieces!.length).toBe(before.pieces!.length + 1);
    const seen = await archived();
    for (const e of late) expect(seen.get(e.id)).toEqual({ count: 1, key: expect.stringMatching(new RegExp(`^raw/${DAY}/acme/14/2-\\d+\\.0\\.ndjson\\.gz$`)) });

    const again = await plan({ invoke: childWorker(), days: [DAY] });
    expect(again.pieces).toEqual([]);
    expect((await manifestOf(DAY)).checksum).toBe(after.checksum);
  }, 120_000);

  it("two planners at once (a retry while the run goes on): the second is refused by the lease, the first finishes", async () => {
    const producer = queue.producer();
    const at = START + 20 * HOUR;
    await producer.send(RAW_TOPIC, [{ key: "acme", partition: 0, value: encodeRawBatch("acme", "c1", [{ id: newEventId(at), tenant: "acme", receivedAt: at, transport: "tcp", remote: "10.0.0.3", collector: "c1", tags: [], raw: "one more" }]), timestamp: at }]);
    await producer.close();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const slow = plan({
      invoke: async (r) => {
        entered();
        await gate;
        return childWorker()(r);
      },
    });
    await inside;
    await expect(plan({ invoke: childWorker() })).rejects.toBeInstanceOf(LeaseHeldError);
    release();
    const done = await slow;
    expect(done.failed).toEqual([]);
    expect(done.pieces).toHaveLength(1);
    // The lease was given back: the next run starts (and finds nothing to do).
    expect((await plan({ invoke: childWorker() })).pieces).toEqual([]);
  }, 120_000);

  it("records that left the raw topic before they were archived are reported as lost, and the rest is archived", async () => {
    const [before] = (await queue.admin.offsets(RAW_TOPIC)).filter((p) => p.partition === 0);
    // More than the test broker keeps per partition (~5 MiB): its oldest records go, as after 72 h on MSK.
    const producer = queue.producer();
    const at = START + 22 * HOUR;
    for (let b = 0; b < 8; b++) {
      const events = Array.from({ length: 800 }, (_, i): RawRecord => ({ id: newEventId(at + b * 1000 + i), tenant: "acme", receivedAt: at + b * 1000 + i, transport: "tcp", remote: "10.0.0.4", collector: "c1", tags: [], raw: randomBytes(700).toString("base64") }));
      await producer.send(RAW_TOPIC, [{ key: "acme", partition: 0, value: encodeRawBatch("acme", "c1", events), timestamp: at }]);
    }
    await producer.close();
    const [after] = (await queue.admin.offsets(RAW_TOPIC)).filter((p) => p.partition === 0);
    expect(after!.start).toBeGreaterThan(before!.end);
    const run = await plan({ invoke: childWorker() });
    expect(run.lost).toEqual([{ partition: 0, from: before!.end, to: after!.start }]);
    expect(run.failed).toEqual([]);
    expect(run.pieces.filter((p) => p.partition === 0).map((p) => p.first)[0]).toBe(after!.start);
    expect(run.unfinished).toEqual([]);
  }, 120_000);
});
