/**
 * The raw record: one accepted event exactly as a collector received it, before any parsing.
 * Collectors write raw records to the raw topic; the process stage reads them; the archive stores them.
 */
export type Transport = "udp" | "tcp" | "tls" | "http" | "https";

export interface RawRecord {
  /** Time-ordered UUIDv7, assigned once by the collector. */
  id: string;
  tenant: string;
  /** Epoch ms at which the collector accepted the event. */
  receivedAt: number;
  transport: Transport;
  /** Peer address (IP) of the sender. */
  remote: string;
  /** Which collector instance accepted the event. */
  collector: string;
  tags: string[];
  /** The event text. When the bytes were not valid UTF-8 this is their lossy decoding, for search. */
  raw: string;
  /** The exact bytes, base64, present only when they were not valid UTF-8 (then flags has invalid_utf8). */
  rawBytes?: string;
  /** Content-Type of the HTTP request that carried the event (HTTP only). */
  contentType?: string;
  flags?: string[];
}

/**
 * A raw batch: the value of one queue record. It carries many events of ONE tenant, each with its own id,
 * because a JavaScript Kafka producer tops out near 120-160k records/s while collectors must take far more
 * events than that: the per-record cost is paid once per batch.
 *
 * The encoding is binary and length-prefixed rather than JSON: log lines are full of quotes and
 * backslashes, and escaping them made the JSON envelope cost 2.2-2.6 us per event to encode and 1.4-1.5 us
 * to decode on the project's 2-core machine, against 0.6-0.8 and 0.27-0.31 us for this one: more than
 * everything else the collector does per event (bench/codec.ts; its figures are in bench/RESULTS.md,
 * "Raw batch envelope codec"). All integers big-endian:
 *
 *   "URB" u8 version=2
 *   u16 len + tenant (utf8)          u16 len + collector (utf8)          u32 event count
 *   per event:
 *     36 bytes id (ASCII)            f64 receivedAt                       u8 transport code
 *     u8 len + remote (ASCII)        u8 tag count, per tag u8 len + tag   u8 flags
 *     u32 len + the event bytes      [u16 len + content type]   (flags bit 1)
 *   flags bit 0: the bytes are not valid UTF-8; `raw` is then their lossy decoding and `rawBytes` the
 *   bytes in base64, so the bytes are stored once and rebuilt exactly.
 */
export interface RawBatch {
  tenant: string;
  collector: string;
  events: RawRecord[];
}

const MAGIC = [0x55, 0x52, 0x42]; // "URB"
const VERSION = 2;
const TRANSPORTS: Transport[] = ["udp", "tcp", "tls", "http", "https"];
const TRANSPORT_CODE = new Map(TRANSPORTS.map((t, i) => [t, i]));
const FLAG_INVALID_UTF8 = 1;
const FLAG_CONTENT_TYPE = 2;

export class RawBatchDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RawBatchDecodeError";
  }
}

/** Encodes events of one tenant (all from one collector) as a queue record value. */
/**
 * Buffer's per-encoding methods (latin1Slice, utf8Write, ...) are what buf.toString() and buf.write()
 * dispatch to; calling them directly halves the codec's cost (measured). Node has had them since v0.x,
 * they are only missing from the type definitions.
 */
interface CodecBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
  base64Write(s: string, offset: number, length: number): number;
}

/** One event as a collector hands it to a batch: the bytes exactly as received. */
export interface RawEventInput {
  id: string;
  receivedAt: number;
  transport: Transport;
  remote: string;
  tags: readonly string[];
  /** The event bytes, or its text (written as UTF-8). */
  bytes: Buffer | string;
  /** True when `bytes` is not valid UTF-8. */
  invalidUtf8?: boolean;
  contentType?: string;
}

/**
 * Builds a raw batch incrementally: each event is encoded the moment it is added, so a collector holds
 * one growing buffer per tenant instead of thousands of small objects and strings. (Those would outlive
 * a young-generation GC while the batch waits for its fsync, and copying them into the old generation
 * was the collector's largest single cost.)
 */
export class RawBatchBuilder {
  private buf: CodecBuffer;
  private p: number;
  private readonly countAt: number;
  count = 0;

  constructor(
    readonly tenant: string,
    readonly collector: string,
    initialBytes = 64 * 1024,
  ) {
    const head = 4 + 2 + Buffer.byteLength(tenant) + 2 + Buffer.byteLength(collector) + 4;
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, head + 1024)) as CodecBuffer;
    let p = 0;
    this.buf[p++] = MAGIC[0]!;
    this.buf[p++] = MAGIC[1]!;
    this.buf[p++] = MAGIC[2]!;
    this.buf[p++] = VERSION;
    p = writeStr16(this.buf, p, tenant);
    p = writeStr16(this.buf, p, collector);
    this.countAt = p;
    this.p = p + 4;
  }

  /** Encoded size so far. */
  get size(): number {
    return this.p;
  }

  add(e: RawEventInput): void {
    if (e.id.length !== 36) throw new RangeError(`event id ${JSON.stringify(e.id)} is not a UUID`);
    const remote = e.remote.length > 255 ? e.remote.slice(0, 255) : e.remote;
    const tags = e.tags.length > 255 ? e.tags.slice(0, 255) : e.tags;
    const payload = typeof e.bytes === "string" ? e.bytes.length * 3 : e.bytes.length;
    let need = 36 + 8 + 1 + 1 + remote.length + 1 + 1 + 4 + payload;
    for (const t of tags) need += 1 + t.length * 3;
    if (e.contentType !== undefined) need += 2 + e.contentType.length * 3;
    this.reserve(need);
    const buf = this.buf;
    let p = this.p;
    p += buf.latin1Write(e.id, p, 36);
    buf.writeDoubleBE(e.receivedAt, p);
    p += 8;
    buf[p++] = TRANSPORT_CODE.get(e.transport) ?? 0;
    buf[p++] = remote.length;
    p += buf.latin1Write(remote, p, remote.length);
    buf[p++] = tags.length;
    for (const t of tags) {
      const n = buf.utf8Write(t.length > 64 ? t.slice(0, 64) : t, p + 1, 255);
      buf[p] = n;
      p += 1 + n;
    }
    const hasType = e.contentType !== undefined;
    buf[p++] = (e.invalidUtf8 ? FLAG_INVALID_UTF8 : 0) | (hasType ? FLAG_CONTENT_TYPE : 0);
    let n: number;
    if (typeof e.bytes === "string") n = buf.utf8Write(e.bytes, p + 4, buf.length - p - 4);
    else {
      // TypedArray#set is a plain memmove; Buffer#copy adds argument checks that showed in the profile.
      buf.set(e.bytes, p + 4);
      n = e.bytes.length;
    }
    buf.writeUInt32BE(n, p);
    p += 4 + n;
    if (hasType) p = writeStr16(buf, p, e.contentType!);
    this.p = p;
    this.count++;
  }

  /** The queue record value. The builder must not be used afterwards. */
  finish(): Buffer {
    this.buf.writeUInt32BE(this.count, this.countAt);
    return this.buf.subarray(0, this.p);
  }

  private reserve(need: number): void {
    if (this.p + need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.p + need)) as CodecBuffer;
    this.buf.copy(grown, 0, 0, this.p);
    this.buf = grown;
  }
}

/** Encodes decoded raw records of one tenant again (replays, tests). */
export function encodeRawBatch(tenant: string, collector: string, events: readonly RawRecord[]): Buffer {
  const b = new RawBatchBuilder(tenant, collector, 1024 + events.length * 300);
  for (const e of events) {
    b.add({
      id: e.id,
      receivedAt: e.receivedAt,
      transport: e.transport,
      remote: e.remote,
      tags: e.tags,
      bytes: e.rawBytes !== undefined ? Buffer.from(e.rawBytes, "base64") : e.raw,
      invalidUtf8: e.rawBytes !== undefined,
      contentType: e.contentType,
    });
  }
  return b.finish();
}

/** Decodes a queue record value; throws RawBatchDecodeError on anything that is not a valid raw batch. */
export function decodeRawBatch(value: Buffer | Uint8Array): RawBatch {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  try {
    return decode(buf as CodecBuffer);
  } catch (err) {
    if (err instanceof RawBatchDecodeError) throw err;
    throw new RawBatchDecodeError(`raw batch is truncated or corrupt: ${(err as Error).message}`, { cause: err });
  }
}

function decode(buf: CodecBuffer): RawBatch {
  if (buf.length < 4 || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1] || buf[2] !== MAGIC[2]) throw new RawBatchDecodeError("not a raw batch (bad magic)");
  if (buf[3] !== VERSION) throw new RawBatchDecodeError(`unsupported raw batch version ${buf[3]}`);
  let p = 4;
  const tenantLen = buf.readUInt16BE(p);
  const tenant = utf8(buf, p + 2, tenantLen);
  p += 2 + tenantLen;
  const collectorLen = buf.readUInt16BE(p);
  const collector = utf8(buf, p + 2, collectorLen);
  p += 2 + collectorLen;
  const count = buf.readUInt32BE(p);
  p += 4;
  if (count > buf.length) throw new RawBatchDecodeError(`raw batch claims ${count} events in ${buf.length} bytes`);
  const events: RawRecord[] = new Array<RawRecord>(count);
  for (let i = 0; i < count; i++) {
    if (p + 36 + 8 + 2 > buf.length) throw new RawBatchDecodeError(`raw batch event ${i} is truncated`);
    const id = buf.latin1Slice(p, p + 36);
    p += 36;
    const receivedAt = buf.readDoubleBE(p);
    p += 8;
    const transport = TRANSPORTS[buf[p++]!] ?? "tcp";
    const remoteLen = buf[p++]!;
    const remote = buf.latin1Slice(p, p + remoteLen);
    p += remoteLen;
    const tagCount = buf[p++]!;
    const tags: string[] = new Array<string>(tagCount);
    for (let t = 0; t < tagCount; t++) {
      const n = buf[p]!;
      tags[t] = utf8(buf, p + 1, n);
      p += 1 + n;
    }
    const flags = buf[p++]!;
    const rawLen = buf.readUInt32BE(p);
    p += 4;
    if (p + rawLen > buf.length) throw new RawBatchDecodeError(`raw batch event ${i} is truncated`);
    const rec: RawRecord = { id, tenant, receivedAt, transport, remote, collector, tags, raw: buf.utf8Slice(p, p + rawLen) };
    if (flags & FLAG_INVALID_UTF8) {
      rec.rawBytes = buf.base64Slice(p, p + rawLen);
      rec.flags = ["invalid_utf8"];
    }
    p += rawLen;
    if (flags & FLAG_CONTENT_TYPE) {
      const n = buf.readUInt16BE(p);
      rec.contentType = utf8(buf, p + 2, n);
      p += 2 + n;
    }
    events[i] = rec;
  }
  if (p !== buf.length) throw new RawBatchDecodeError(`raw batch has ${buf.length - p} trailing bytes`);
  return { tenant, collector, events };
}

function writeStr16(buf: Buffer, p: number, s: string): number {
  const n = buf.write(s, p + 2, "utf8");
  buf.writeUInt16BE(n, p);
  return p + 2 + n;
}

function utf8(buf: CodecBuffer, start: number, len: number): string {
  if (start + len > buf.length) throw new RawBatchDecodeError("raw batch field runs past the end");
  return buf.utf8Slice(start, start + len);
}

/** The exact bytes of an event: rawBytes when the input was not UTF-8, else the UTF-8 of raw. */
export function rawRecordBytes(rec: RawRecord): Buffer {
  return rec.rawBytes !== undefined ? Buffer.from(rec.rawBytes, "base64") : Buffer.from(rec.raw, "utf8");
}

/** The number of events in an encoded raw batch, read from its header without decoding it. */
export function rawBatchEventCount(value: Buffer): number {
  if (value.length < 10 || value[0] !== MAGIC[0] || value[1] !== MAGIC[1] || value[2] !== MAGIC[2]) return 0;
  const tenantLen = value.readUInt16BE(4);
  const collectorLen = value.readUInt16BE(6 + tenantLen);
  const at = 8 + tenantLen + collectorLen;
  return at + 4 <= value.length ? value.readUInt32BE(at) : 0;
}

/** The tenant an encoded raw batch belongs to, read from its header ("" when the value is not a raw batch). */
export function rawBatchTenant(value: Buffer | Uint8Array): string {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < 10 || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1] || buf[2] !== MAGIC[2]) return "";
  const tenantLen = buf.readUInt16BE(4);
  return 6 + tenantLen <= buf.length ? buf.toString("utf8", 6, 6 + tenantLen) : "";
}
