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
 * events than that: the per-record cost is paid once per batch. Encoded compactly (positional arrays, the
 * tenant and collector written once) as JSON, which V8 encodes and decodes faster than any JS binary codec.
 *
 *   {"v":1,"tenant":"acme","collector":"c1","events":[[id,receivedAt,transport,remote,tags,raw,extra?],...]}
 */
export interface RawBatch {
  tenant: string;
  collector: string;
  events: RawRecord[];
}

const VERSION = 1;

type Extra = { rawBytes?: string; contentType?: string; flags?: string[] };
type WireEvent = [string, number, Transport, string, string[], string] | [string, number, Transport, string, string[], string, Extra];

export class RawBatchDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RawBatchDecodeError";
  }
}

/** Encodes events of one tenant (all from one collector) as a queue record value. */
export function encodeRawBatch(tenant: string, collector: string, events: readonly RawRecord[]): Buffer {
  const wire: WireEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.rawBytes !== undefined || e.contentType !== undefined || e.flags !== undefined) {
      const extra: Extra = {};
      if (e.rawBytes !== undefined) extra.rawBytes = e.rawBytes;
      if (e.contentType !== undefined) extra.contentType = e.contentType;
      if (e.flags !== undefined && e.flags.length > 0) extra.flags = e.flags;
      wire[i] = [e.id, e.receivedAt, e.transport, e.remote, e.tags, e.raw, extra];
    } else {
      wire[i] = [e.id, e.receivedAt, e.transport, e.remote, e.tags, e.raw];
    }
  }
  return Buffer.from(JSON.stringify({ v: VERSION, tenant, collector, events: wire }));
}

/** Decodes a queue record value; throws RawBatchDecodeError on anything that is not a valid raw batch. */
export function decodeRawBatch(value: Buffer | Uint8Array | string): RawBatch {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8"));
  } catch (err) {
    throw new RawBatchDecodeError("raw batch is not JSON", { cause: err });
  }
  if (typeof doc !== "object" || doc === null) throw new RawBatchDecodeError("raw batch is not an object");
  const { v, tenant, collector, events } = doc as Record<string, unknown>;
  if (v !== VERSION) throw new RawBatchDecodeError(`unsupported raw batch version ${String(v)}`);
  if (typeof tenant !== "string" || typeof collector !== "string" || !Array.isArray(events)) {
    throw new RawBatchDecodeError("raw batch lacks tenant, collector or events");
  }
  const out: RawRecord[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const w = events[i] as unknown;
    if (!Array.isArray(w) || w.length < 6 || typeof w[0] !== "string" || typeof w[1] !== "number" || typeof w[5] !== "string") {
      throw new RawBatchDecodeError(`raw batch event ${i} is malformed`);
    }
    const rec: RawRecord = {
      id: w[0],
      tenant,
      receivedAt: w[1],
      transport: w[2] as Transport,
      remote: String(w[3]),
      collector,
      tags: Array.isArray(w[4]) ? (w[4] as unknown[]).map(String) : [],
      raw: w[5],
    };
    const extra = w[6] as Extra | undefined;
    if (extra && typeof extra === "object") {
      if (typeof extra.rawBytes === "string") rec.rawBytes = extra.rawBytes;
      if (typeof extra.contentType === "string") rec.contentType = extra.contentType;
      if (Array.isArray(extra.flags)) rec.flags = extra.flags.map(String);
    }
    out[i] = rec;
  }
  return { tenant, collector, events: out };
}

/** The exact bytes of an event: rawBytes when the input was not UTF-8, else the UTF-8 of raw. */
export function rawRecordBytes(rec: RawRecord): Buffer {
  return rec.rawBytes !== undefined ? Buffer.from(rec.rawBytes, "base64") : Buffer.from(rec.raw, "utf8");
}
