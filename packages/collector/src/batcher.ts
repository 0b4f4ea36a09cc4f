import { EventEmitter } from "node:events";
import { RawBatchBuilder, tenantPartition, type OutgoingRecord, type RawEventInput } from "@unmeltable/core";

/**
 * Where sealed raw batches go: the raw topic of the queue (later: with a disk spool in front when the
 * queue is unreachable). `send` resolves once the records are durable and may reject; the batcher retries.
 */
export interface RawSink {
  send(records: OutgoingRecord[]): Promise<void>;
}

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

interface Pending {
  tenant: string;
  spread: number;
  batch: RawBatchBuilder;
  durable: Promise<void>;
  resolve: () => void;
}

/**
 * Collects accepted events into one raw batch per tenant and writes the batches to the queue.
 * Every event handed in is held until the queue confirms it durable: a failed write is retried with
 * backoff for as long as it takes (never dropped), while the memory it holds pushes back on senders
 * through `overloaded` / the "drain" event.
 */
export class RawBatcher extends EventEmitter {
  private readonly pending = new Map<string, Pending>();
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly turns = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly lingerMs: number;
  private readonly highWater: number;
  private closed = false;
  /** Consecutive failed writes; drives the retry backoff. */
  private failures = 0;

  constructor(private readonly options: BatcherOptions) {
    super();
    this.maxEvents = options.maxEvents ?? 5000;
    // Under Kafka's default 1 MB record limit (MSK's too), so a batch never needs bigger records.
    this.maxBytes = options.maxBytes ?? 900 * 1024;
    this.lingerMs = options.lingerMs ?? 5;
    this.highWater = options.highWaterBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes accepted and not yet durable. */
  get inflightBytes(): number {
    return this.inflight;
  }

  get overloaded(): boolean {
    return this.inflight > this.highWater;
  }

  /** Queues one event; the promise resolves when the batch holding it is durable. */
  add(tenant: string, spread: number, event: RawEventInput): Promise<void> {
    if (this.closed) return Promise.reject(new Error("collector is shutting down"));
    let p = this.pending.get(tenant);
    if (!p) {
      p = newPending(tenant, spread, this.options.collector);
      this.pending.set(tenant, p);
    }
    const before = p.batch.size;
    p.batch.add(event);
    this.inflight += p.batch.size - before;
    const durable = p.durable;
    if (p.batch.count >= this.maxEvents || p.batch.size >= this.maxBytes) {
      this.pending.delete(tenant);
      this.ship([p]);
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flushPending(), this.lingerMs);
    }
    return durable;
  }

  /** Seals every open batch now and resolves when everything accepted so far is durable. */
  async flush(): Promise<void> {
    this.flushPending();
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private flushPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batches = [...this.pending.values()];
    this.pending.clear();
    this.ship(batches);
  }

  private ship(batches: Pending[]): void {
    const records: OutgoingRecord[] = batches.map((b) => {
      const turn = this.turns.get(b.tenant) ?? 0;
      if (b.spread > 1) this.turns.set(b.tenant, turn + 1);
      return {
        key: b.tenant,
        partition: tenantPartition(b.tenant, this.options.rawPartitions, b.spread, turn),
        value: b.batch.finish(),
      };
    });
    const task = this.sendWithRetry(records).then(() => {
      let bytes = 0;
      let events = 0;
      for (const b of batches) {
        bytes += b.batch.size;
        events += b.batch.count;
        b.resolve();
      }
      const wasOver = this.overloaded;
      this.inflight -= bytes;
      this.emit("durable", events);
      if (wasOver && !this.overloaded) this.emit("drain");
    });
    this.sending.add(task);
    void task.finally(() => this.sending.delete(task));
  }

  private async sendWithRetry(records: OutgoingRecord[]): Promise<void> {
    for (;;) {
      try {
        await this.options.sink.send(records);
        this.failures = 0;
        return;
      } catch (err) {
        this.failures++;
        this.emit("sendError", err);
        await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** Math.min(this.failures, 7))));
      }
    }
  }
}

function newPending(tenant: string, spread: number, collector: string): Pending {
  let resolve!: () => void;
  const durable = new Promise<void>((r) => (resolve = r));
  return { tenant, spread, batch: new RawBatchBuilder(tenant, collector), durable, resolve };
}
