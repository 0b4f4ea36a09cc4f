import type { LogEvent } from "./event";

/**
 * A processed batch: the value of one processed-topic record, the events of one tenant as the process
 * stage made them. Each event is its JSON document — the form both indexes store (SQLite keeps it as
 * the row's document, OpenSearch takes it as the bulk source), so no stage re-encodes it.
 *
 *   "UPB" u8 version=1   u16 len + tenant   u32 count   per event: u32 len + event JSON (UTF-8)
 */
const MAGIC = [0x55, 0x50, 0x42]; // "UPB"
const VERSION = 1;

export class ProcessedBatchDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProcessedBatchDecodeError";
  }
}

export function encodeProcessedBatch(tenant: string, events: readonly LogEvent[]): Buffer {
  return encodeProcessedDocs(tenant, events.map((e) => JSON.stringify(e)));
}

/** Encodes events already serialised as JSON documents. */
export function encodeProcessedDocs(tenant: string, docs: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4 + 2 + Buffer.byteLength(tenant) + 4);
  head[0] = MAGIC[0]!;
  head[1] = MAGIC[1]!;
  head[2] = MAGIC[2]!;
  head[3] = VERSION;
  const n = head.write(tenant, 6, "utf8");
  head.writeUInt16BE(n, 4);
  head.writeUInt32BE(docs.length, 6 + n);
  parts.push(head);
  for (const d of docs) {
    const body = Buffer.from(d, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length, 0);
    parts.push(len, body);
  }
  return Buffer.concat(parts);
}

/**
 * Encodes documents given as UTF-8 byte ranges of one buffer (the process stage's parsed form, see
 * stages/parse-raw.ts): event k of `events` is src[start(k) .. docEnds[k]), start(k) being the previous
 * event's end, or 0 for the first. One allocation, no strings.
 */
export function encodeProcessedRanges(tenant: string, src: Uint8Array, docEnds: Uint32Array, events: readonly number[]): Buffer {
  const tenantBytes = Buffer.byteLength(tenant);
  let total = 4 + 2 + tenantBytes + 4;
  for (const k of events) total += 4 + docEnds[k]! - (k === 0 ? 0 : docEnds[k - 1]!);
  const out = Buffer.allocUnsafe(total);
  out[0] = MAGIC[0]!;
  out[1] = MAGIC[1]!;
  out[2] = MAGIC[2]!;
  out[3] = VERSION;
  out.writeUInt16BE(tenantBytes, 4);
  out.write(tenant, 6, "utf8");
  out.writeUInt32BE(events.length, 6 + tenantBytes);
  let p = 6 + tenantBytes + 4;
  for (const k of events) {
    const start = k === 0 ? 0 : docEnds[k - 1]!;
    const end = docEnds[k]!;
    out.writeUInt32BE(end - start, p);
    out.set(src.subarray(start, end), p + 4);
    p += 4 + end - start;
  }
  return out;
}

/** The JSON documents of a processed batch, undecoded (the index can store them as they are). */
export function decodeProcessedDocs(value: Buffer): { tenant: string; docs: string[] } {
  if (value.length < 10 || value[0] !== MAGIC[0] || value[1] !== MAGIC[1] || value[2] !== MAGIC[2]) throw new ProcessedBatchDecodeError("not a processed batch (bad magic)");
  if (value[3] !== VERSION) throw new ProcessedBatchDecodeError(`unsupported processed batch version ${value[3]}`);
  const tLen = value.readUInt16BE(4);
  if (6 + tLen + 4 > value.length) throw new ProcessedBatchDecodeError("processed batch is truncated");
  const tenant = value.toString("utf8", 6, 6 + tLen);
  const count = value.readUInt32BE(6 + tLen);
  let p = 6 + tLen + 4;
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 4 > value.length) throw new ProcessedBatchDecodeError("processed batch is truncated");
    const len = value.readUInt32BE(p);
    p += 4;
    if (p + len > value.length) throw new ProcessedBatchDecodeError("processed batch is truncated");
    docs.push(value.toString("utf8", p, p + len));
    p += len;
  }
  if (p !== value.length) throw new ProcessedBatchDecodeError("processed batch has trailing bytes");
  return { tenant, docs };
}

export function decodeProcessedBatch(value: Buffer): { tenant: string; events: LogEvent[] } {
  const { tenant, docs } = decodeProcessedDocs(value);
  return { tenant, events: docs.map((d) => JSON.parse(d) as LogEvent) };
}
