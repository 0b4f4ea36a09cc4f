import { createHash, type Hash } from "node:crypto";
import zlib from "node:zlib";
import { dayOf, decodeRawBatch, errorFields, RAW_TOPIC, type ArchiveFile, type Logger, type Queue } from "@unmeltable/core";
import { pieceId, pieceManifestKey, pieceObjectKey } from "./keys";
import { MIN_PART_BYTES, type ArchiveStore, type PartUpload } from "./stores";

/**
 * The archive worker: one piece of the raw topic — one partition, from one offset — read with the
 * queue's reader and streamed to the object store as gzipped NDJSON per day, tenant and hour, with no
 * local disk: compressed bytes are held in memory until they make a part (S3's 5 MiB minimum), and at
 * most `maxOpen` tenant-hour streams are open (the least recently written one is ended as a segment of
 * its own when another is needed; a small one is held, up to `holdBytes` in all, to be put in one
 * request at the end). So memory is about `maxOpen × partBytes + holdBytes` plus one read, however big
 * the piece.
 *
 * Nothing is visible before the piece is done: multipart uploads are completed, and small objects put,
 * only after the last record was read; then a piece manifest per day it touched. A worker that dies
 * before leaves incomplete uploads (aborted here when it can, else by the bucket's lifecycle rule) and
 * the planner redoes the piece from the same offset, which writes the same keys with the same bytes
 * (records in offset order, gzip without timestamps).
 */
export interface PieceRequest {
  partition: number;
  /** First offset of the piece (the partition's checkpoint). */
  from: number;
  /** Read up to this offset (exclusive): the partition's end when the run was planned. */
  to: number;
  /** Stop after the first record that brings the raw bytes read to this (the piece's size bound). */
  maxBytes?: number;
  /** Epoch ms after which no further record is read (the piece then ends where it got to). */
  deadline?: number;
}

export interface PieceOptions extends PieceRequest {
  queue: Queue;
  store: ArchiveStore;
  /** Open tenant-hour streams at most (default 16). */
  maxOpen?: number;
  /** Compressed bytes per part (default 8 MiB, at least 5 MiB). */
  partBytes?: number;
  /** Compressed bytes of ended small streams held for one put each at the end (default 4 parts). */
  holdBytes?: number;
  /** gzip level (default 6). */
  level?: number;
  /** Called after each read (tests kill a worker from here). */
  onRead?: (p: { offset: number; records: number; bytes: number }) => void | Promise<void>;
  /** Records skipped (not raw batches) and uploads that could not be aborted: warn lines. */
  logger?: Logger;
}

/** What a piece wrote for one day (stored as its piece manifest). */
export interface PieceManifest {
  piece: string;
  partition: number;
  /** The piece's offsets: [first, next). */
  first: number;
  next: number;
  day: string;
  events: number;
  files: ArchiveFile[];
  /** Records with events of this day: their first and last offset and count. */
  offsets: { first: number; last: number; records: number };
}

export interface PieceResult {
  piece: string;
  partition: number;
  first: number;
  /** Where the next piece of the partition starts. */
  next: number;
  records: number;
  /** Raw record bytes read. */
  bytes: number;
  events: number;
  /** Records that were not raw batches (counted and logged, not archived). */
  undecodable: number;
  /** Timestamp of the last record read (the collector's write time), or undefined when none was read. */
  lastTimestamp: number | undefined;
  /** Days the piece wrote events of (each with its piece manifest). */
  days: string[];
  /** Multipart parts uploaded, objects put: the piece's S3 write requests besides the manifests. */
  parts: number;
  puts: number;
}

/** Bytes of records asked for in one read (a raw record is up to ~900 KiB): bounds a read's memory. */
const READ_BYTES = 16 * 1024 * 1024;
const MAX_READ = 500;

interface Stream {
  day: string;
  tenant: string;
  hour: number;
  segment: number;
  gzip: zlib.Gzip;
  /** Lines not yet handed to gzip: one write per record and stream (a zlib call per line is slow). */
  lines: string[];
  chunks: Buffer[];
  buffered: number;
  bytes: number;
  events: number;
  sha256: Hash;
  upload: PartUpload | undefined;
  ended: Promise<void>;
  /** Ended (evicted): a new segment is opened for more events of its tenant and hour. */
  closed: boolean;
}

interface Finished {
  key: string;
  file: ArchiveFile;
  day: string;
  /** A completed-later upload, or the whole (small) object to put. */
  upload: PartUpload | undefined;
  body: Buffer | undefined;
}

export async function archivePiece(options: PieceOptions): Promise<PieceResult> {
  const { queue, store, partition } = options;
  const maxOpen = options.maxOpen ?? 16;
  const partBytes = Math.max(options.partBytes ?? 8 * 1024 * 1024, MIN_PART_BYTES);
  const holdBytes = options.holdBytes ?? 4 * partBytes;
  let held = 0;
  const level = options.level ?? 6;
  const piece = pieceId(partition, options.from);
  const open = new Map<string, Stream>();
  const segments = new Map<string, number>();
  const finished: Finished[] = [];
  const perDay = new Map<string, PieceManifest>();
  const result: PieceResult = { piece, partition, first: options.from, next: options.from, records: 0, bytes: 0, events: 0, undecodable: 0, lastTimestamp: undefined, days: [], parts: 0, puts: 0 };
  let done = false;

  /** Hands a stream's pending lines to gzip in one write. */
  const feed = async (s: Stream) => {
    if (s.lines.length === 0) return;
    const text = s.lines.join("");
    s.lines = [];
    if (!s.gzip.write(text)) await new Promise((r) => s.gzip.once("drain", r));
  };

  /** Uploads a stream's compressed bytes as a part once they reach the part size. */
  const flushPart = async (s: Stream) => {
    if (s.buffered < partBytes) return;
    const body = Buffer.concat(s.chunks);
    s.chunks = [];
    s.buffered = 0;
    s.upload ??= await store.createUpload(pieceObjectKey(s.day, s.tenant, s.hour, piece, s.segment), "application/gzip");
    await s.upload.uploadPart(body);
    result.parts++;
  };

  const openStream = async (day: string, tenant: string, hour: number): Promise<Stream> => {
    const id = `${day}\u0000${tenant}\u0000${hour}`;
    let s = open.get(id);
    if (s) {
      // Most recently written last: the first entry is the one to end when too many are open.
      open.delete(id);
      open.set(id, s);
      return s;
    }
    if (open.size >= maxOpen) {
      const [oldest] = open.keys();
      await endStream(oldest!, true);
    }
    const segment = segments.get(id) ?? 0;
    segments.set(id, segment + 1);
    const gzip = zlib.createGzip({ level });
    s = { day, tenant, hour, segment, gzip, lines: [], chunks: [], buffered: 0, bytes: 0, events: 0, sha256: createHash("sha256"), upload: undefined, ended: Promise.resolve(), closed: false };
    const stream = s;
    gzip.on("data", (c: Buffer) => {
      stream.chunks.push(c);
      stream.buffered += c.length;
      stream.bytes += c.length;
      stream.sha256.update(c);
    });
    s.ended = new Promise((resolve, reject) => {
      gzip.once("end", resolve);
      gzip.once("error", reject);
    });
    open.set(id, s);
    return s;
  };

  /**
   * Ends a stream. One evicted to make room frees its memory now: its remainder goes up as the last part
   * of its upload (completed with the others at the end). A stream ended with the piece that never made
   * a part is put as one object instead (one request, not three).
   */
  const endStream = async (id: string, evicted: boolean) => {
    const s = open.get(id)!;
    open.delete(id);
    s.closed = true;
    await feed(s);
    s.gzip.end();
    await s.ended;
    const rest = Buffer.concat(s.chunks);
    s.chunks = [];
    s.buffered = 0;
    const key = pieceObjectKey(s.day, s.tenant, s.hour, piece, s.segment);
    let body: Buffer | undefined;
    // A small evicted stream is held (compressed) until the piece is done and then put in one request,
    // while the held bytes stay within their budget; beyond it, it goes up as a deferred upload.
    if (evicted && !s.upload && held + rest.length <= holdBytes) {
      held += rest.length;
      evicted = false;
    }
    if (s.upload || evicted) {
      s.upload ??= await store.createUpload(key, "application/gzip");
      if (rest.length > 0) {
        await s.upload.uploadPart(rest);
        result.parts++;
      }
    } else body = rest;
    finished.push({ key, day: s.day, upload: s.upload, body, file: { key, tenant: s.tenant, hour: s.hour, events: s.events, bytes: s.bytes, sha256: s.sha256.digest("hex") } });
  };

  try {
    let offset = options.from;
    let chunk = 64;
    let empty = 0;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    // The deadline is checked after a read, so every piece gets somewhere (the planner needs progress).
    while (offset < options.to && result.bytes < maxBytes && (offset === options.from || options.deadline === undefined || Date.now() < options.deadline)) {
      const records = (await queue.reader.read(RAW_TOPIC, partition, offset, Math.min(chunk, options.to - offset))).filter((r) => r.offset >= offset);
      if (records.length === 0) {
        // Records below `to` exist: an empty read is a slow broker (or a compacted gap), never the end.
        // (Records before the asked offset, which a fetch of whole record batches can answer, are dropped.)
        if (++empty > 5) throw new Error(`raw topic partition ${partition}: no records readable at offset ${offset} (below ${options.to}); the piece is redone by the next run`);
        await new Promise((r) => setTimeout(r, 500 * empty));
        continue;
      }
      empty = 0;
      let readBytes = 0;
      for (const record of records) {
        if (result.bytes >= maxBytes) break;
        readBytes += record.value.length;
        result.bytes += record.value.length;
        result.records++;
        result.lastTimestamp = record.timestamp;
        offset = record.offset + 1;
        let batch;
        try {
          batch = decodeRawBatch(record.value);
        } catch (err) {
          // Not a raw batch: the process stage dead-lettered it; the archive keeps raw batches only.
          result.undecodable++;
          options.logger?.warn("archive: record is not a raw batch, skipped", { partition, offset: record.offset, ...errorFields(err) });
          continue;
        }
        const touched = new Set<PieceManifest>();
        // The events of a batch are one tenant's, close in time: the stream of the event before is
        // almost always the one (a check, not a lookup and an await per event).
        let last: { tenant: string; hourOf: number; stream: Stream; manifest: PieceManifest } | undefined;
        for (const e of batch.events) {
          const hourOf = Math.floor(e.receivedAt / 3_600_000);
          if (!last || last.tenant !== e.tenant || last.hourOf !== hourOf || last.stream.closed) {
            const day = dayOf(e.receivedAt);
            const stream = await openStream(day, e.tenant, new Date(e.receivedAt).getUTCHours());
            let manifest = perDay.get(day);
            if (!manifest) {
              manifest = { piece, partition, first: options.from, next: options.from, day, events: 0, files: [], offsets: { first: record.offset, last: record.offset, records: 0 } };
              perDay.set(day, manifest);
            }
            touched.add(manifest);
            last = { tenant: e.tenant, hourOf, stream, manifest };
          }
          last.stream.events++;
          last.stream.lines.push(`${JSON.stringify(e)}\n`);
          last.manifest.events++;
          result.events++;
        }
        for (const m of touched) {
          m.offsets.last = record.offset;
          m.offsets.records++;
        }
        for (const s of open.values()) {
          await feed(s);
          await flushPart(s);
        }
      }
      result.next = offset;
      // Aim the next read at READ_BYTES from the sizes seen so far.
      chunk = Math.max(1, Math.min(MAX_READ, Math.floor(READ_BYTES / Math.max(1, readBytes / records.length))));
      await options.onRead?.({ offset, records: result.records, bytes: result.bytes });
    }
    result.next = offset;

    // The piece is read: make its objects visible, then say so in its manifests.
    for (const id of [...open.keys()]) await endStream(id, false);
    for (const f of finished) {
      if (f.upload) await f.upload.complete();
      else {
        await store.put(f.key, f.body!, "application/gzip");
        result.puts++;
      }
      perDay.get(f.day)!.files.push(f.file);
    }
    for (const m of [...perDay.values()].sort((a, b) => (a.day < b.day ? -1 : 1))) {
      m.next = result.next;
      m.files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      await store.put(pieceManifestKey(m.day, piece), Buffer.from(`${JSON.stringify(m, null, 2)}\n`), "application/json");
      result.days.push(m.day);
    }
    done = true;
    return result;
  } finally {
    if (!done) {
      for (const s of open.values()) s.gzip.destroy();
      // Discard the parts now rather than leave them to the bucket's lifecycle rule (they cost storage).
      const uploads = [...finished.map((f) => f.upload), ...[...open.values()].map((s) => s.upload)].filter((u): u is PartUpload => u !== undefined);
      for (const u of uploads) {
        await u.abort().catch((err: unknown) => options.logger?.warn("archive: could not abort an upload (the bucket's lifecycle rule removes it)", { partition, piece, ...errorFields(err) }));
      }
    }
  }
}
