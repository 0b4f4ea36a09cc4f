import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, promises as fsp, rmSync, type WriteStream } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { dayOf, decodeRawBatch, hourKey, manifestKey, parseDay, RAW_TOPIC, type ArchiveFile, type ArchiveManifest, type ObjectStore, type Queue } from "@unmeltable/core";

/**
 * The daily archive: the previous day's raw events, read back from the queue by time, written per
 * tenant and hour as gzipped newline-delimited JSON with a manifest (see core/archive/layout.ts), to S3
 * on AWS and under the data dir on one machine. It is the pipeline's own copy of what it accepted —
 * ingestion is decoupled from indexing, so a lost or bad index can be rebuilt from it (replay.ts).
 *
 * - Idempotent: a rerun of a day over the same queue data writes byte-identical objects (records in
 *   partition and offset order, gzip without timestamps), so the manifest checksum matches.
 * - Streaming: records are read in chunks and written to gzip files on local disk as they come; at most
 *   MAX_OPEN files are open at once (a file closed early is continued as another gzip member, which
 *   every gzip reader concatenates), so memory stays bounded however large the day.
 * - By time: the raw topic's record timestamps (the collector's write time) locate the day's offsets;
 *   a margin on both sides catches batches written late (spooled while the queue was away), and each
 *   event is placed by its own receive time.
 */
export interface ArchiveProgress {
  partition: number;
  partitions: number;
  offset: number;
  end: number;
  events: number;
}

export interface ArchiveOptions {
  queue: Queue;
  store: ObjectStore;
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** How far beyond the day's edges to look for late batches (default 6 h). */
  marginMs?: number;
  onProgress?: (p: ArchiveProgress) => void;
}

const MAX_OPEN = 64;
const CHUNK = 500;

interface OpenFile {
  tenant: string;
  hour: number;
  file: string;
  gzip: zlib.Gzip | undefined;
  out: WriteStream | undefined;
  done: Promise<void> | undefined;
  events: number;
}

export async function archiveDay(options: ArchiveOptions): Promise<ArchiveManifest> {
  const from = parseDay(options.day);
  const until = from + 86_400_000;
  const margin = options.marginMs ?? 6 * 3_600_000;
  const { queue } = options;
  const tmp = mkdtempSync(path.join(os.tmpdir(), `unmeltable-archive-${options.day}-`));
  const files = new Map<string, OpenFile>();
  const open: OpenFile[] = [];
  const partitionsRead: ArchiveManifest["partitions"] = {};
  let events = 0;
  try {
    const [starts, ends, bounds] = await Promise.all([queue.admin.offsetsForTime(RAW_TOPIC, from - margin), queue.admin.offsetsForTime(RAW_TOPIC, until + margin), queue.admin.offsets(RAW_TOPIC)]);
    const partitions = bounds.length;
    for (const { partition, start: oldest } of bounds) {
      const begin = Math.max(starts.get(partition) ?? oldest, oldest);
      const end = ends.get(partition) ?? begin;
      let offset = begin;
      let empty = 0;
      while (offset < end) {
        const records = await queue.reader.read(RAW_TOPIC, partition, offset, Math.min(CHUNK, end - offset));
        if (records.length === 0) {
          // Records below `end` exist: an empty read is a slow broker, never the end of the day's data.
          if (++empty > 5) throw new Error(`raw topic partition ${partition}: no records readable at offset ${offset} (end ${end}); the archive of ${options.day} is incomplete, run it again`);
          await new Promise((r) => setTimeout(r, 1000 * empty));
          continue;
        }
        empty = 0;
        for (const record of records) {
          let batch;
          try {
            batch = decodeRawBatch(record.value);
          } catch {
            continue; // not a raw batch: it went to the dead letters when it was processed
          }
          let used = false;
          for (const e of batch.events) {
            if (e.receivedAt < from || e.receivedAt >= until) continue;
            const hour = new Date(e.receivedAt).getUTCHours();
            await write(await fileFor(e.tenant, hour), `${JSON.stringify(e)}\n`);
            events++;
            used = true;
          }
          if (used) {
            const p = (partitionsRead[String(partition)] ??= { first: record.offset, last: record.offset, records: 0 });
            p.last = record.offset;
            p.records++;
          }
        }
        offset = records[records.length - 1]!.offset + 1;
        options.onProgress?.({ partition, partitions, offset, end, events });
      }
    }
    for (const f of open.splice(0)) await close(f);

    const written: ArchiveFile[] = [];
    for (const f of [...files.values()].sort((a, b) => (a.tenant === b.tenant ? a.hour - b.hour : a.tenant < b.tenant ? -1 : 1))) {
      const key = hourKey(options.day, f.tenant, f.hour);
      const sha256 = createHash("sha256");
      await pipeline(createReadStream(f.file), sha256);
      const { size } = await fsp.stat(f.file);
      await options.store.put(key, { stream: createReadStream(f.file), length: size }, "application/gzip");
      written.push({ key, tenant: f.tenant, hour: f.hour, events: f.events, bytes: size, sha256: sha256.digest("hex") });
    }
    const checksum = createHash("sha256");
    for (const f of written) checksum.update(`${f.key} ${f.sha256}\n`);
    const manifest: ArchiveManifest = { day: options.day, from, until, events, files: written, partitions: partitionsRead, checksum: checksum.digest("hex") };
    await options.store.put(manifestKey(options.day), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), "application/json");
    return manifest;
  } finally {
    for (const f of open) f.gzip?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }

  async function fileFor(tenant: string, hour: number): Promise<OpenFile> {
    const key = `${tenant}\u0000${hour}`;
    let f = files.get(key);
    if (!f) {
      f = { tenant, hour, file: path.join(tmp, `${files.size}.gz`), gzip: undefined, out: undefined, done: undefined, events: 0 };
      files.set(key, f);
    }
    if (!f.gzip) {
      if (open.length >= MAX_OPEN) await close(open.shift()!);
      // A new gzip member appended to the file (mtime 0 in the header: deterministic output).
      f.gzip = zlib.createGzip({ level: 6 });
      f.out = createWriteStream(f.file, { flags: "a" });
      f.done = pipeline(f.gzip, f.out);
      open.push(f);
    }
    return f;
  }

  async function write(f: OpenFile, line: string): Promise<void> {
    f.events++;
    if (!f.gzip!.write(line)) await new Promise((r) => f.gzip!.once("drain", r));
  }

  async function close(f: OpenFile): Promise<void> {
    f.gzip!.end();
    await f.done;
    f.gzip = f.out = f.done = undefined;
  }
}

/** The day an archive run at `now` covers: yesterday (UTC). */
export function previousDay(now = Date.now()): string {
  return dayOf(now - 86_400_000);
}
