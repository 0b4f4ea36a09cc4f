import { decodeRawBatch, type RawRecord } from "../raw-record";
import { toEvent, type ToEventOptions } from "../process/to-event";
import { isSampled } from "../sampling";
import { applyDerivedRules, compiledRules, RuleBudget, type CompiledRule } from "../derived-fields/apply";
import type { DerivedRule } from "../derived-fields/derived-rule";

export interface ParseRawOptions {
  toEvent?: ToEventOptions;
  /** Staging: keep only this fraction of events, chosen by a hash of the id (deterministic). */
  sampleRate?: number;
  /** The derived-field rules of the batch's tenants (plain data: it crosses to the parse thread each batch). */
  derived?: Record<string, DerivedRule[]>;
}

/**
 * The process stage's CPU work on a batch of raw records — decode, parse into the Loggly event, serialise —
 * in a form that crosses threads cheaply: the events' JSON documents as UTF-8 bytes in one buffer, with
 * per-event columns in typed arrays (all transferable, no per-event objects to clone). In `start` a worker
 * thread does this, so that the collector on the main thread is not starved by parsing (issue 16); on
 * Lambda the same function runs inline.
 */
export interface ParsedRaw {
  /** Per input record: null when it was read, else why it could not be (the record goes to the dead letters). */
  recordErrors: (string | null)[];
  /** The distinct tenants of the events; `tenantOf` holds indexes into this. */
  tenants: string[];
  /** Per event with a document: its tenant, its raw size in bytes, its receive time, its document's end in `docs`. */
  tenantOf: Uint32Array;
  size: Float64Array;
  receivedAt: Float64Array;
  docEnds: Uint32Array;
  /** The documents, one after another (event k is docs[docEnds[k-1] .. docEnds[k]), from 0 for the first). */
  docs: Uint8Array;
  /** Raw events read, sampled out ones included. */
  eventsIn: number;
  /** Per tenant: the raw events read and their bytes (the tenants' ingest where no collector counts it). */
  received: { tenant: string; events: number; bytes: number }[];
  /** Events that could not be made into a document, with the input record they came from. */
  failures: { record: number; error: string; raw: RawRecord }[];
}

/** Parses raw records (their values) into documents. Never throws: what cannot be read is reported. */
export function parseRawRecords(values: readonly Uint8Array[], options: ParseRawOptions = {}): ParsedRaw {
  const recordErrors: (string | null)[] = [];
  const tenants: string[] = [];
  const tenantIndex = new Map<string, number>();
  const received: ParsedRaw["received"] = [];
  const failures: ParsedRaw["failures"] = [];
  const tenantOf: number[] = [];
  const size: number[] = [];
  const receivedAt: number[] = [];
  const docEnds: number[] = [];
  const docs = new GrowableBytes(values.reduce((n, v) => n + v.byteLength, 0) * 2 + 1024);
  let eventsIn = 0;
  // Per tenant of the batch: its compiled rules and the time they may take (RuleBudget).
  const rulesOf = new Map<string, { rules: CompiledRule[]; budget: RuleBudget }>();
  const rulesFor = (tenant: string) => {
    let r = rulesOf.get(tenant);
    if (!r) rulesOf.set(tenant, (r = { rules: compiledRules(options.derived?.[tenant] ?? []), budget: new RuleBudget() }));
    return r;
  };
  for (let r = 0; r < values.length; r++) {
    let events: RawRecord[];
    try {
      events = decodeRawBatch(values[r]!).events;
    } catch (err) {
      recordErrors.push((err as Error).message);
      continue;
    }
    recordErrors.push(null);
    eventsIn += events.length;
    for (const raw of events) {
      let t = tenantIndex.get(raw.tenant);
      if (t === undefined) {
        t = tenants.length;
        tenantIndex.set(raw.tenant, t);
        tenants.push(raw.tenant);
        received.push({ tenant: raw.tenant, events: 0, bytes: 0 });
      }
      const bytes = rawSize(raw);
      received[t]!.events++;
      received[t]!.bytes += bytes;
      if (options.sampleRate !== undefined && !isSampled(raw.id, options.sampleRate)) continue;
      let doc: string;
      try {
        const event = toEvent(raw, options.toEvent);
        if (options.derived) {
          const { rules, budget } = rulesFor(raw.tenant);
          applyDerivedRules(event, rules, budget);
        }
        doc = JSON.stringify(event);
      } catch (err) {
        failures.push({ record: r, error: (err as Error).message, raw });
        continue;
      }
      docEnds.push(docs.writeString(doc));
      tenantOf.push(t);
      size.push(bytes);
      receivedAt.push(raw.receivedAt);
    }
  }
  return {
    recordErrors,
    tenants,
    tenantOf: Uint32Array.from(tenantOf),
    size: Float64Array.from(size),
    receivedAt: Float64Array.from(receivedAt),
    docEnds: Uint32Array.from(docEnds),
    docs: docs.bytes(),
    eventsIn,
    received,
    failures,
  };
}

/** The buffers of a ParsedRaw, for postMessage's transfer list (they are the parser's own, never pooled). */
export function parsedRawTransfers(p: ParsedRaw): ArrayBuffer[] {
  return [p.tenantOf.buffer, p.size.buffer, p.receivedAt.buffer, p.docEnds.buffer, p.docs.buffer] as ArrayBuffer[];
}

/** An event's size as received: its exact bytes when they were not UTF-8, else its text's UTF-8 length. */
function rawSize(raw: RawRecord): number {
  if (typeof raw.rawBytes === "string") return Math.floor((raw.rawBytes.length * 3) / 4) - (raw.rawBytes.endsWith("==") ? 2 : raw.rawBytes.endsWith("=") ? 1 : 0);
  return typeof raw.raw === "string" ? Buffer.byteLength(raw.raw) : 0;
}

/**
 * UTF-8 text appended into one buffer of its own (an ArrayBuffer not shared with Node's buffer pool, so
 * it can be transferred). Room is made for the worst case (3 bytes per UTF-16 unit) before each write,
 * so no string is measured twice.
 */
class GrowableBytes {
  private buf: Buffer;
  private used = 0;

  constructor(initial: number) {
    this.buf = Buffer.from(new ArrayBuffer(Math.max(1024, initial)));
  }

  /** Appends the string's UTF-8 bytes; returns the end offset. */
  writeString(s: string): number {
    const need = this.used + s.length * 3;
    if (need > this.buf.length) {
      const next = Buffer.from(new ArrayBuffer(Math.max(need, this.buf.length * 2)));
      this.buf.copy(next, 0, 0, this.used);
      this.buf = next;
    }
    this.used += this.buf.write(s, this.used, "utf8");
    return this.used;
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, 0, this.used);
  }
}
