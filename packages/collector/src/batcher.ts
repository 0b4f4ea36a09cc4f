import { EventEmitter } from "node:events";
import { RawBatchBuilder, tenantPartition, type OutgoingRecord, type RawEventInput } from "@unmeltable/core";

/**
 * Where sealed raw batches go: the raw topic of the queue (with a disk spool in front when the queue is
 * Kafka). `send` resolves once the records are durable. With `signal`, records still waiting to be
 * written may be withdrawn: the send then rejects with an error named "AbortError" and stored none of
 * them; otherwise a rejection means the write failed.
 */
export interface RawSink {
  send(records: OutgoingRecord[], signal?: AbortSignal): Promise<void>;
}

/** The events of a request were not stored (and never will be): the client may send them again. */
export class NotStoredError extends Error {
  override name = "NotStoredError";
}

export interface WriteFailure {
  /** When writes started failing (epoch ms). */
  since: number;
  /** The last write's error. */
  message: string;
}

/** A raw batch is sealed at this many bytes (by default): under Kafka's 1 MB record limit, MSK's too. */
export const RAW_BATCH_BYTES = 900 * 1024;

export interface BatcherOptions {
  sink: RawSink;
  collector: string;
  /** Partitions of the raw topic, to spread a busy tenant's batches over its partition spread. */
  rawPartitions: number;
  /** Seal a tenant's batch at this many events or bytes, or after lingerMs, whichever comes first. */
  maxEvents?: number;
  maxBytes?: number;
  lingerMs?: number;
  /** Above this many bytes accepted but not yet durable, stream senders are paused (see `overloaded`). */
  highWaterBytes?: number;
}

/**
 * How the events of a batch are acknowledged. A request (HTTP) waits for its answer: a failed write
 * fails its batch at once, so the client hears 503 and its events are never stored later. A stream
 * (syslog) was acknowledged by reading it: its batch is retried until it is stored, and while writes
 * fail the streams are not read (see `overloaded`).
 */
type Mode = "request" | "stream";

/** One queue write: a tenant's batch (or, for a request too big for one batch, all of its batches). */
interface Shipment {
  mode: Mode;
  tenant: string;
  spread: number;
  builders: RawBatchBuilder[];
  /** Bytes this shipment added to the in-flight count: exactly what is taken off when it settles. */
  bytes: number;
  events: number;
  /** Requests waiting on this shipment, and how many of them stopped waiting (their ack timeout). */
  waiters: number;
  gaveUp: number;
  abort: AbortController;
  /** Set once shipped: no more events join it. */
  shipped: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Fixed bytes of an encoded event besides its remote, tags, content type and payload (raw-record.ts). */
const EVENT_OVERHEAD = 36 + 8 + 1 + 1 + 1 + 1 + 4;
/** Key of the empty raw batch written to find out whether writes work again (see probe). */
const PROBE_KEY = "_probe";

/**
 * Collects accepted events into raw batches per tenant and writes them to the queue. Requests and
 * streams get batches of their own (see Mode). A request's events always travel in one queue write to
 * one partition — one group commit in the embedded queue — so they are stored all together or not at
 * all, and an answer never describes half a request.
 *
 * Every byte added to `inflightBytes` belongs to one shipment and is taken off exactly once, when that
 * shipment is stored, fails or is withdrawn.
 */
export class RawBatcher extends EventEmitter {
  private readonly open = new Map<string, Shipment>();
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly turns = new Map<string, number>();
  /** The stream shipment the last `add` joined: consecutive events of one tenant skip the map lookup. */
  private lastStream: Shipment | undefined;
  /**
   * Per tenant, the size its last stream batch reached: its next batch buffer starts that large, rather
   * than growing from 64 KiB by doubling (four copies of a batch on the way to 900 KiB, measured in the
   * collector's profile, issue 16), while a tenant that sends little keeps small buffers.
   */
  private readonly sizeHints = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly lingerMs: number;
  private readonly highWater: number;
  private closed = false;
  /** Consecutive failed writes; drives the retry backoff. */
  private failures = 0;
  private failure: { since: number; error: Error } | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private wasOverloaded = false;

  constructor(private readonly options: BatcherOptions) {
    super();
    // Every paused stream waits for "drain".
    this.setMaxListeners(0);
    this.maxEvents = options.maxEvents ?? 5000;
    this.maxBytes = options.maxBytes ?? RAW_BATCH_BYTES;
    this.lingerMs = options.lingerMs ?? 5;
    this.highWater = options.highWaterBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes accepted and not yet durable (nor failed). */
  get inflightBytes(): number {
    return this.inflight;
  }

  /** More is waiting to become durable than memory should hold. */
  get overHighWater(): boolean {
    return this.inflight > this.highWater;
  }

  /** Stream senders must not be read now: too much is waiting, or writes fail. "drain" says when it ends. */
  get overloaded(): boolean {
    return this.inflight > this.highWater || this.failure !== undefined;
  }

  /** Set while queue writes fail (from the first failure to the next successful write). */
  get writeFailure(): WriteFailure | undefined {
    return this.failure && { since: this.failure.since, message: this.failure.error.message };
  }

  /**
   * An event read from a stream (syslog). It is held until stored, retried for as long as it takes.
   * False when the batcher is closed and the event was not taken.
   */
  add(tenant: string, spread: number, event: RawEventInput): boolean {
    if (this.closed) return false;
    let s = this.lastStream;
    if (s === undefined || s.shipped || s.tenant !== tenant) {
      s = this.openShipment("stream", tenant, spread);
      this.lastStream = s;
    }
    this.append(s, s.builders[0]!, event);
    this.sealOrWait(s);
    this.updateOverload();
    return true;
  }

  /**
   * The events of one request. Resolves once all of them are durable; rejects with NotStoredError when
   * none of them was stored: the write failed, or `signal` fired (the caller stopped waiting) before
   * the write began. Once the write has begun, the promise waits for its outcome whatever the signal.
   */
  addRequest(tenant: string, spread: number, events: readonly RawEventInput[], signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new NotStoredError("the collector is shutting down"));
    if (signal?.aborted) return Promise.reject(new NotStoredError("the request stopped waiting"));
    if (events.length === 0) return Promise.resolve();
    let estimate = 0;
    for (const e of events) estimate += encodedSize(e);
    const key = `request\u0000${tenant}`;
    const current = this.open.get(key);
    let s: Shipment;
    let alone = false;
    if (current && current.events + events.length <= this.maxEvents && current.builders[0]!.size + estimate <= this.maxBytes) {
      s = current;
    } else if (events.length <= this.maxEvents && estimate <= this.maxBytes) {
      if (current) this.ship(current);
      s = this.openShipment("request", tenant, spread);
    } else {
      // Larger than one batch: batches of its own, all in one write.
      s = this.newShipment("request", tenant, spread);
      alone = true;
    }
    for (const e of events) {
      let b = s.builders[s.builders.length - 1]!;
      if (alone && b.count > 0 && (b.count >= this.maxEvents || b.size + encodedSize(e) > this.maxBytes)) b = this.newBuilder(s);
      this.append(s, b, e);
    }
    s.waiters++;
    if (signal) {
      const onAbort = () => {
        s.gaveUp++;
        if (s.gaveUp < s.waiters) return;
        // Nobody waits for this shipment any more: withdraw it if it has not been written yet.
        s.abort.abort();
        if (this.open.get(`${s.mode}\u0000${s.tenant}`) === s) this.ship(s);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const forget = () => signal.removeEventListener("abort", onAbort);
      s.done.then(forget, forget);
    }
    if (alone) this.ship(s);
    else this.sealOrWait(s);
    this.updateOverload();
    return s.done;
  }

  /** Seals every open batch now and resolves when everything accepted so far is durable or failed. */
  async flush(): Promise<void> {
    this.flushPending();
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearTimeout(this.probeTimer);
  }

  private openShipment(mode: Mode, tenant: string, spread: number): Shipment {
    const key = `${mode}\u0000${tenant}`;
    let s = this.open.get(key);
    if (!s) {
      s = this.newShipment(mode, tenant, spread);
      this.open.set(key, s);
    }
    return s;
  }

  private newShipment(mode: Mode, tenant: string, spread: number): Shipment {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const s: Shipment = { mode, tenant, spread, builders: [], bytes: 0, events: 0, waiters: 0, gaveUp: 0, abort: new AbortController(), shipped: false, done, resolve, reject };
    this.newBuilder(s);
    return s;
  }

  private newBuilder(s: Shipment): RawBatchBuilder {
    const b = new RawBatchBuilder(s.tenant, this.options.collector, s.mode === "stream" ? this.sizeHints.get(s.tenant) : undefined);
    s.builders.push(b);
    // The batch header counts too: it is part of what `settle` takes off.
    s.bytes += b.size;
    this.inflight += b.size;
    return b;
  }

  private append(s: Shipment, b: RawBatchBuilder, event: RawEventInput): void {
    const before = b.size;
    b.add(event);
    s.bytes += b.size - before;
    this.inflight += b.size - before;
    s.events++;
  }

  private sealOrWait(s: Shipment): void {
    const b = s.builders[0]!;
    if (b.count >= this.maxEvents || b.size >= this.maxBytes) this.ship(s);
    else this.timer ??= setTimeout(() => this.flushPending(), this.lingerMs);
  }

  private flushPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of [...this.open.values()]) this.ship(s);
  }

  private ship(s: Shipment): void {
    const key = `${s.mode}\u0000${s.tenant}`;
    if (this.open.get(key) === s) this.open.delete(key);
    s.shipped = true;
    if (s.mode === "stream") this.sizeHints.set(s.tenant, Math.min(this.maxBytes, s.builders[0]!.size) + 16 * 1024);
    const turn = this.turns.get(s.tenant) ?? 0;
    if (s.spread > 1) this.turns.set(s.tenant, turn + 1);
    // One partition for all of a shipment's records: one write, stored all together or not at all.
    const partition = tenantPartition(s.tenant, this.options.rawPartitions, s.spread, turn);
    const records = s.builders.map((b) => ({ key: s.tenant, partition, value: b.finish() }));
    const task = s.mode === "stream" ? this.deliverStream(s, records) : this.deliverRequest(s, records);
    this.sending.add(task);
    void task.then(() => this.sending.delete(task));
  }

  /** Never rejects: the outcome goes to the shipment's waiters. */
  private async deliverRequest(s: Shipment, records: OutgoingRecord[]): Promise<void> {
    try {
      if (s.abort.signal.aborted) throw Object.assign(new Error("withdrawn before it was written"), { name: "AbortError" });
      await this.options.sink.send(records, s.abort.signal);
    } catch (err) {
      const error = err as Error;
      const withdrawn = s.abort.signal.aborted && error.name === "AbortError";
      if (!withdrawn) this.noteFailure(error);
      this.settle(s, new NotStoredError(withdrawn ? "withdrawn before they were written (the request stopped waiting)" : `the queue write failed: ${error.message}`, { cause: err }));
      return;
    }
    this.noteSuccess();
    this.settle(s);
  }

  /** Read from a stream means acknowledged: retried with backoff until stored. */
  private async deliverStream(s: Shipment, records: OutgoingRecord[]): Promise<void> {
    for (;;) {
      try {
        await this.options.sink.send(records);
        break;
      } catch (err) {
        this.noteFailure(err as Error);
        await new Promise((r) => setTimeout(r, backoffMs(this.failures)));
      }
    }
    this.noteSuccess();
    this.settle(s);
  }

  private settle(s: Shipment, error?: Error): void {
    this.inflight -= s.bytes;
    if (error) s.reject(error);
    else {
      s.resolve();
      this.emit("durable", s.events);
    }
    this.updateOverload();
  }

  private noteFailure(error: Error): void {
    this.failures++;
    if (this.failure) this.failure.error = error;
    else {
      this.failure = { since: Date.now(), error };
      this.emit("writeFailing", error);
      this.scheduleProbe();
    }
    this.emit("sendError", error);
    this.updateOverload();
  }

  private noteSuccess(): void {
    this.failures = 0;
    if (this.failure) {
      this.failure = undefined;
      clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      this.emit("writeRecovered");
    }
    this.updateOverload();
  }

  /**
   * While writes fail and nothing else tries (streams paused, HTTP clients waiting out Retry-After, a
   * health check that took this collector out of rotation), an empty raw batch is written now and then
   * to learn when writes work again.
   */
  private scheduleProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.probe();
    }, backoffMs(this.failures));
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (!this.failure || this.closed) return;
    if (this.sending.size === 0) {
      const value = new RawBatchBuilder(PROBE_KEY, this.options.collector, 64).finish();
      try {
        await this.options.sink.send([{ key: PROBE_KEY, partition: tenantPartition(PROBE_KEY, this.options.rawPartitions, 1, 0), value }]);
        this.noteSuccess();
        return;
      } catch (err) {
        this.noteFailure(err as Error);
      }
    }
    this.scheduleProbe();
  }

  private updateOverload(): void {
    const now = this.overloaded;
    if (this.wasOverloaded && !now) this.emit("drain");
    this.wasOverloaded = now;
  }
}

function backoffMs(failures: number): number {
  return Math.min(5000, 50 * 2 ** Math.min(failures, 7));
}

/** The encoded size of an event in a raw batch (exact for Buffer payloads). */
function encodedSize(e: RawEventInput): number {
  let n = EVENT_OVERHEAD + Math.min(e.remote.length, 255) + (typeof e.bytes === "string" ? Buffer.byteLength(e.bytes) : e.bytes.length);
  for (const t of e.tags) n += 1 + t.length;
  if (e.contentType !== undefined) n += 2 + Buffer.byteLength(e.contentType);
  return n;
}
