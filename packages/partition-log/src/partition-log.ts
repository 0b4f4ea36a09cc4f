import { EventEmitter } from "node:events";
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import { decodeRecord, encodeRecord, HEADER_BYTES, setRecordOffset, type StoredRecord } from "./record-format";
import { fsyncDir } from "./fs-util";

/**
 * One partition of a topic: an append-only sequence of segment files named by the offset of their first
 * record (`00000000000000000000.log`). Appends are group-committed: records handed in while a flush is
 * running wait and go out together in the next write + fdatasync, so the cost of durability is shared by
 * everything that arrived in the meantime. Readers only ever see durable records.
 */
export interface PartitionLogOptions {
  segmentBytes: number;
  /** Read-only: for inspecting a log another process is writing (no recovery, no appends). */
  readOnly?: boolean;
  /** Deflate large record values (record-format.ts encodeRecord); readers inflate whatever they find. */
  compress?: boolean;
}

interface IndexEntry {
  offset: number;
  position: number;
}

interface Segment {
  base: number;
  file: string;
  size: number;
  /** Sparse offset → position index; built while appending, or by a scan the first time it is needed. */
  index: IndexEntry[];
  indexed: boolean;
  /** Next offset after this segment's last record (known once indexed). */
  end: number;
  minTimestamp: number;
  maxTimestamp: number;
  handle?: FileHandle;
}

interface Pending {
  buffers: Buffer[];
  bytes: number;
  resolve: (firstOffset: number) => void;
  reject: (err: Error) => void;
  /** Withdraws the append while it still waits for a group commit (see append's signal). */
  forget?: () => void;
}

/** An append withdrawn by its signal before it was written: none of its records are in the log. */
export class AppendAbortedError extends Error {
  override name = "AbortError";
  constructor() {
    super("the append was withdrawn before it was written");
  }
}

const INDEX_EVERY_BYTES = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

/**
 * What a read record holds in memory: a deflated value is returned inflated (4-5× its stored size for
 * log lines), so a reader's byte limit counts that, not the bytes on disk: a batch bounded to 4 MiB is
 * 4 MiB in memory, and what a stage makes of it scales with that.
 */
function heldBytes(r: StoredRecord): number {
  return Math.max(r.size, r.value.length);
}

export class PartitionLog extends EventEmitter {
  private segments: Segment[] = [];
  private active: FileHandle | undefined;
  private pending: Pending[] = [];
  private flushing = false;
  private closed = false;
  /** Offset the next durable record gets; everything below it is on disk and fsync'd. */
  private durableEnd = 0;
  /**
   * Set when a failed write could not be cut off again: the active segment may hold bytes past its
   * last durable record, so nothing is appended until they are gone (appends would land after them).
   */
  private damaged: Error | undefined;
  private lastIndexedPosition = 0;
  private readOnlyScannedSize = -1;

  private constructor(
    readonly dir: string,
    private readonly options: PartitionLogOptions,
  ) {
    super();
    this.setMaxListeners(0);
  }

  static async open(dir: string, options: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(dir, options);
    await log.load();
    return log;
  }

  get startOffset(): number {
    return this.segments[0]?.base ?? this.durableEnd;
  }

  get endOffset(): number {
    return this.durableEnd;
  }

  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /**
   * Appends records; resolves with the offset of the first one once all of them are durable. When the
   * write or its fdatasync fails (ENOSPC, EIO...), every append of that group commit is rejected and the
   * segment is cut back to its last durable record: a rejected append never shows up later.
   *
   * `signal` withdraws the append while it still waits for its group commit (it then rejects with
   * AppendAbortedError and nothing of it is written); once its write has begun, the append settles with
   * the write's outcome whatever the signal says.
   */
  append(records: { key: string | null; value: Buffer; timestamp: number; headers?: Record<string, string> }[], signal?: AbortSignal): Promise<number> {
    if (this.options.readOnly) return Promise.reject(new Error("partition log is open read-only"));
    if (this.closed) return Promise.reject(new Error("partition log is closed"));
    if (signal?.aborted) return Promise.reject(new AppendAbortedError());
    const buffers = records.map((r) => encodeRecord(r.key, r.value, r.timestamp, r.headers, this.options.compress === true));
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    return new Promise<number>((resolve, reject) => {
      const entry: Pending = { buffers, bytes, resolve, reject };
      if (signal) {
        const onAbort = () => {
          const at = this.pending.indexOf(entry);
          if (at < 0) return; // already being written
          this.pending.splice(at, 1);
          reject(new AppendAbortedError());
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.forget = () => signal.removeEventListener("abort", onAbort);
      }
      this.pending.push(entry);
      if (!this.flushing) {
        this.flushing = true;
        // Let the current tick add more records before the write: that is the group commit.
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const group = this.pending;
        this.pending = [];
        // From here on these appends are being written: their signals no longer withdraw them.
        for (const p of group) p.forget?.();
        await this.flushGroup(group);
      }
    } finally {
      this.flushing = false;
      if (this.pending.length > 0 && !this.closed) {
        this.flushing = true;
        setImmediate(() => void this.flushLoop());
      }
    }
  }

  private async flushGroup(group: Pending[]): Promise<void> {
    let bytes = 0;
    for (const p of group) bytes += p.bytes;
    try {
      if (this.damaged) await this.repair();
      let seg = this.segments[this.segments.length - 1]!;
      if (seg.size > 0 && seg.size + bytes > this.options.segmentBytes) seg = await this.roll();
      const handle = this.active!;
      const startSize = seg.size;
      let offset = this.durableEnd;
      const firstOffsets: number[] = [];
      const all: Buffer[] = [];
      const positions: IndexEntry[] = [];
      let position = startSize;
      let lastIndexed = this.lastIndexedPosition;
      let minTs = seg.minTimestamp;
      let maxTs = seg.maxTimestamp;
      for (const p of group) {
        firstOffsets.push(offset);
        for (const b of p.buffers) {
          setRecordOffset(b, offset);
          if (position - lastIndexed >= INDEX_EVERY_BYTES || (seg.index.length === 0 && positions.length === 0)) {
            positions.push({ offset, position });
            lastIndexed = position;
          }
          const ts = b.readDoubleBE(HEADER_BYTES + 2);
          if (ts < minTs) minTs = ts;
          if (ts > maxTs) maxTs = ts;
          all.push(b);
          position += b.length;
          offset++;
        }
      }
      try {
        await writevAll(handle, all, startSize);
        await handle.datasync();
      } catch (err) {
        // Leave the segment exactly as it was, so these records never appear (not after a restart
        // either) and the next append does not follow a torn record.
        await this.cutBack(handle, startSize, err as Error);
        throw err;
      }
      seg.size = position;
      seg.index.push(...positions);
      this.lastIndexedPosition = lastIndexed;
      seg.end = offset;
      seg.minTimestamp = minTs;
      seg.maxTimestamp = maxTs;
      this.durableEnd = offset;
      for (let i = 0; i < group.length; i++) group[i]!.resolve(firstOffsets[i]!);
      this.emit("durable", this.durableEnd);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const p of group) p.reject(error);
    }
  }

  /** Truncates the active segment back to `size` after a failed write; remembers when that fails too. */
  private async cutBack(handle: FileHandle, size: number, cause: Error): Promise<void> {
    try {
      await handle.truncate(size);
      await handle.datasync();
      this.damaged = undefined;
    } catch {
      this.damaged = cause;
    }
  }

  /** Before writing after a failed cut-back: cut again, and make sure the file ends at the last durable record. */
  private async repair(): Promise<void> {
    const seg = this.segments[this.segments.length - 1]!;
    const handle = this.active!;
    await this.cutBack(handle, seg.size, this.damaged!);
    if (this.damaged || (await handle.stat()).size !== seg.size) {
      throw new Error(`the log cannot be written until a failed write is cut off (${this.damaged?.message ?? "size mismatch"})`);
    }
  }

  /** Starts a new segment. Nothing changes until the new file exists and is durable in the directory. */
  private async roll(): Promise<Segment> {
    const seg = newSegment(this.dir, this.durableEnd);
    const handle = await fsp.open(seg.file, "a+");
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      // An empty segment file may stay behind; the next roll (or a restart) takes it as it is.
      await handle.close().catch(() => undefined);
      throw err;
    }
    const previous = this.active;
    this.active = handle;
    this.segments.push(seg);
    this.lastIndexedPosition = 0;
    // Everything in the previous segment was fdatasync'd by its group commit.
    await previous?.close().catch(() => undefined);
    return seg;
  }

  /** Reads up to `maxRecords` durable records starting at `offset` (clamped to the oldest retained). */
  async read(offset: number, maxRecords: number, maxBytes = 8 * 1024 * 1024): Promise<StoredRecord[]> {
    if (this.options.readOnly) await this.refreshReadOnly();
    const out: StoredRecord[] = [];
    let next = Math.max(offset, this.startOffset);
    let bytes = 0;
    while (out.length < maxRecords && next < this.durableEnd && bytes < maxBytes) {
      const seg = this.segmentFor(next);
      if (!seg) break;
      await this.ensureIndexed(seg);
      const got = await this.readFromSegment(seg, next, maxRecords - out.length, maxBytes - bytes);
      if (got.length === 0) break;
      for (const r of got) {
        out.push(r);
        bytes += heldBytes(r);
      }
      next = got[got.length - 1]!.offset + 1;
    }
    return out;
  }

  private segmentFor(offset: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (s.base <= offset) {
        found = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private async readFromSegment(seg: Segment, offset: number, maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    const handle = await this.readHandle(seg);
    let position = positionBefore(seg.index, offset);
    const limit = seg.size;
    const out: StoredRecord[] = [];
    // Small reads (a lookup, a short poll) should not pay for a megabyte buffer each.
    let chunkSize = maxRecords <= 16 ? 64 * 1024 : READ_CHUNK;
    let bytes = 0;
    while (position < limit && out.length < maxRecords && bytes < maxBytes) {
      const len = Math.min(chunkSize, limit - position);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await handle.read(buf, 0, len, position);
      const view = buf.subarray(0, bytesRead);
      let at = 0;
      let progressed = false;
      while (at < view.length && out.length < maxRecords && bytes < maxBytes) {
        // Records before the wanted offset (between the sparse index point and it) are skipped by their
        // size field alone; only records we return are decoded and checksummed.
        if (view.length - at >= HEADER_BYTES && view.readDoubleBE(at + 8) < offset) {
          const skip = 4 + view.readUInt32BE(at);
          if (at + skip <= view.length) {
            at += skip;
            progressed = true;
            continue;
          }
        }
        const res = decodeRecord(view, at, false);
        if (res.kind === "incomplete") {
          if (!progressed) chunkSize = Math.max(chunkSize, res.needed);
          break;
        }
        if (res.kind === "corrupt") throw new Error(`corrupt record in ${seg.file} at ${position + at}: ${res.why}`);
        const r = res.record;
        at += r.size;
        progressed = true;
        if (r.offset >= this.durableEnd) return out;
        if (r.offset >= offset) {
          out.push(r);
          bytes += heldBytes(r);
        }
      }
      if (!progressed && at === 0 && chunkSize <= len) break; // cannot happen with a consistent file
      position += at;
    }
    return out;
  }

  private async readHandle(seg: Segment): Promise<FileHandle> {
    seg.handle ??= await fsp.open(seg.file, "r");
    return seg.handle;
  }

  /** Scans a segment once to build its sparse index and time bounds (segments written before this start). */
  private async ensureIndexed(seg: Segment): Promise<void> {
    if (seg.indexed) return;
    const scan = await scanSegment(seg.file, seg.base, false);
    seg.index = scan.index;
    seg.end = scan.end;
    seg.minTimestamp = scan.minTimestamp;
    seg.maxTimestamp = scan.maxTimestamp;
    seg.indexed = true;
  }

  /** The first offset whose timestamp is >= ts, or the end offset when there is none. */
  async offsetForTime(ts: number): Promise<number> {
    for (const seg of this.segments) {
      await this.ensureIndexed(seg);
      if (seg.maxTimestamp < ts || seg.end === seg.base) continue;
      let next = seg.base;
      while (next < seg.end) {
        const recs = await this.readFromSegment(seg, next, 1000, 64 * 1024 * 1024);
        if (recs.length === 0) break;
        for (const r of recs) if (r.timestamp >= ts) return r.offset;
        next = recs[recs.length - 1]!.offset + 1;
      }
    }
    return this.durableEnd;
  }

  /** Resolves once records at or beyond `offset` are durable, or after `timeoutMs`. */
  waitFor(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.durableEnd > offset || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off("durable", onDurable);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const onDurable = (end: number) => {
        if (end > offset) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.on("durable", onDurable);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * Deletes whole segments (never the active one) that `isExpendable` allows: retention is by segment,
   * like Kafka's, and a segment goes only when every record in it may go.
   */
  async deleteSegments(isExpendable: (seg: { base: number; end: number; maxTimestamp: number; size: number }) => boolean): Promise<number> {
    let deleted = 0;
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      await this.ensureIndexed(seg);
      const next = this.segments[1]!;
      if (!isExpendable({ base: seg.base, end: next.base, maxTimestamp: seg.maxTimestamp, size: seg.size })) break;
      this.segments.shift();
      await seg.handle?.close();
      await fsp.rm(seg.file, { force: true });
      deleted++;
    }
    return deleted;
  }

  async close(): Promise<void> {
    // Let appends already handed in reach the disk before closing.
    while (this.flushing || this.pending.length > 0) await new Promise((r) => setTimeout(r, 2));
    this.closed = true;
    this.emit("durable", this.durableEnd);
    for (const s of this.segments) {
      await s.handle?.close();
      s.handle = undefined;
    }
    await this.active?.close();
    this.active = undefined;
  }

  private async load(): Promise<void> {
    if (!this.options.readOnly) await fsp.mkdir(this.dir, { recursive: true });
    const names = (await fsp.readdir(this.dir).catch(() => [] as string[])).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    for (const name of names) {
      this.segments.push(newSegment(this.dir, Number(name.slice(0, 20)), false));
    }
    for (const seg of this.segments) seg.size = (await fsp.stat(seg.file)).size;
    if (this.options.readOnly) {
      await this.refreshReadOnly();
      return;
    }
    if (this.segments.length === 0) {
      const seg = newSegment(this.dir, 0);
      this.segments.push(seg);
      this.active = await fsp.open(seg.file, "a+");
      await fsyncDir(this.dir);
      return;
    }
    // Recover the last segment: keep the valid prefix, cut off a torn tail left by a crash.
    const last = this.segments[this.segments.length - 1]!;
    const scan = await scanSegment(last.file, last.base, true);
    if (scan.validBytes < last.size) {
      const h = await fsp.open(last.file, "r+");
      await h.truncate(scan.validBytes);
      await h.datasync();
      await h.close();
      this.emit("recovered", { file: last.file, truncatedBytes: last.size - scan.validBytes });
    }
    Object.assign(last, {
      size: scan.validBytes,
      index: scan.index,
      end: scan.end,
      minTimestamp: scan.minTimestamp,
      maxTimestamp: scan.maxTimestamp,
      indexed: true,
    });
    this.lastIndexedPosition = scan.index[scan.index.length - 1]?.position ?? 0;
    this.durableEnd = scan.end;
    this.active = await fsp.open(last.file, "a+");
  }

  /** Read-only mode follows a log written by another process: pick up new segments and new records. */
  private async refreshReadOnly(): Promise<void> {
    const names = (await fsp.readdir(this.dir).catch(() => [] as string[])).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    const known = new Set(this.segments.map((s) => s.base));
    for (const name of names) {
      const base = Number(name.slice(0, 20));
      if (!known.has(base)) this.segments.push(newSegment(this.dir, base, false));
    }
    this.segments.sort((a, b) => a.base - b.base);
    const present = new Set(names.map((n) => Number(n.slice(0, 20))));
    this.segments = this.segments.filter((s) => present.has(s.base));
    const last = this.segments[this.segments.length - 1];
    if (!last) return;
    const size = (await fsp.stat(last.file).catch(() => ({ size: 0 }))).size;
    if (last.indexed && size === this.readOnlyScannedSize) return;
    this.readOnlyScannedSize = size;
    const scan = await scanSegment(last.file, last.base, true);
    Object.assign(last, { size: scan.validBytes, index: scan.index, end: scan.end, indexed: true, minTimestamp: scan.minTimestamp, maxTimestamp: scan.maxTimestamp });
    this.durableEnd = scan.end;
  }
}

function newSegment(dir: string, base: number, indexed = true): Segment {
  return {
    base,
    file: path.join(dir, `${String(base).padStart(20, "0")}.log`),
    size: 0,
    index: [],
    indexed,
    end: base,
    minTimestamp: Number.POSITIVE_INFINITY,
    maxTimestamp: Number.NEGATIVE_INFINITY,
  };
}

function positionBefore(index: IndexEntry[], offset: number): number {
  let lo = 0;
  let hi = index.length - 1;
  let pos = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = index[mid]!;
    if (e.offset <= offset) {
      pos = e.position;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return pos;
}

interface ScanResult {
  validBytes: number;
  end: number;
  index: IndexEntry[];
  minTimestamp: number;
  maxTimestamp: number;
}

/** Walks a segment from the start, checking every record; stops at the first invalid one. */
async function scanSegment(file: string, base: number, tolerateTail: boolean): Promise<ScanResult> {
  const handle = await fsp.open(file, "r");
  try {
    const size = (await handle.stat()).size;
    const index: IndexEntry[] = [];
    let expected = base;
    let position = 0;
    let lastIndexed = -INDEX_EVERY_BYTES;
    let minTimestamp = Number.POSITIVE_INFINITY;
    let maxTimestamp = Number.NEGATIVE_INFINITY;
    let chunk = READ_CHUNK;
    scan: while (position < size) {
      const len = Math.min(chunk, size - position);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await handle.read(buf, 0, len, position);
      let at = 0;
      while (at < bytesRead) {
        const res = decodeRecord(buf.subarray(0, bytesRead), at, false, false);
        if (res.kind === "incomplete") {
          if (position + at + res.needed > size) {
            position += at; // a torn tail: the valid prefix ends here
            break scan;
          }
          if (at === 0) chunk = res.needed;
          break;
        }
        if (res.kind === "corrupt" || res.record.offset !== expected) {
          if (!tolerateTail) throw new Error(`corrupt segment ${file} at byte ${position + at}`);
          position += at;
          break scan;
        }
        if (position + at - lastIndexed >= INDEX_EVERY_BYTES) {
          index.push({ offset: expected, position: position + at });
          lastIndexed = position + at;
        }
        minTimestamp = Math.min(minTimestamp, res.record.timestamp);
        maxTimestamp = Math.max(maxTimestamp, res.record.timestamp);
        expected++;
        at += res.record.size;
      }
      position += at;
    }
    return { validBytes: position, end: expected, index, minTimestamp, maxTimestamp };
  } finally {
    await handle.close();
  }
}

async function writevAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers per call and may write short.
  let pos = position;
  for (let i = 0; i < buffers.length; i += 1024) {
    const part = buffers.slice(i, i + 1024);
    let total = 0;
    for (const b of part) total += b.length;
    const { bytesWritten } = await handle.writev(part, pos);
    if (bytesWritten < total) {
      const rest = Buffer.concat(part).subarray(bytesWritten);
      await handle.write(rest, 0, rest.length, pos + bytesWritten);
    }
    pos += total;
  }
}
