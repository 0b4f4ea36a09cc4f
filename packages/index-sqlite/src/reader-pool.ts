import { performance } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import { IndexBusyError, InvalidCursorError, QueryBudgetError, startWorker } from "@unmeltable/core";
import type { ReaderMessage, ReaderReply, ReadRequest } from "./reader-protocol";

export interface ReaderPoolOptions {
  /** The index directory (one sub-directory per tenant). */
  root: string;
  /** Reader threads (default 2): reads beyond these wait their turn, tenant by tenant. */
  threads?: number;
  /** A read's budget from the moment it is asked, waiting included (default 20 s). */
  timeoutMs?: number;
  /** Reads of one tenant waiting at most; one more is refused with IndexBusyError (default 16). */
  maxWaitingPerTenant?: number;
  /** Heap of a reader thread (default 256 MB): a read needing more fails alone, with QueryBudgetError. */
  heapMb?: number;
  /**
   * How busy ingest is, 0 to 1 (e.g. the event-loop utilization of the threads that receive and index
   * events), sampled every 100 ms while reads run: reader threads pause between chunks of work while it
   * is high. Default: this thread's event-loop utilization.
   */
  ingestLoad?: () => number;
  /** Slice connections each reader thread keeps open (handle-cache.ts; default 64). */
  openSlices?: number;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 20_000;
/**
 * A running read checks its deadline between chunks of work; one SQL statement cannot be interrupted, so
 * a thread that has not answered this long after the deadline is terminated (and replaced).
 */
const GRACE_MS = 1_000;

interface Job {
  id: number;
  tenant: string;
  request: ReadRequest;
  deadline: number;
  timer?: NodeJS.Timeout;
  slot?: Slot;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  worker?: Worker;
  /** Its thread's [open connections, evictions] (handle-cache.ts), written by the thread. */
  counters?: Int32Array;
  job?: Job;
  /** Replies awaited for control messages (closeSlice) sent to this thread. */
  controls: Map<number, () => void>;
}

/**
 * The embedded index's reads, off the thread that receives events: a few reader threads (reader-worker.ts)
 * with read-only connections. Each read has a time budget (waiting included) and runs in a thread with a
 * bounded heap; a read over budget is answered with QueryBudgetError and its thread stopped if it does not
 * stop by itself. Waiting reads are served tenant by tenant in turn (the tenant whose last read started
 * longest ago goes first), so one tenant's heavy queries delay another tenant's read by at most the reads
 * already running.
 */
export class ReaderPool {
  private readonly slots: Slot[];
  /** Waiting reads per tenant. */
  private readonly waiting = new Map<string, Job[]>();
  /** When each tenant last had a read started (a sequence number): the longest-waiting tenant goes next. */
  private readonly lastStarted = new Map<string, number>();
  private started = 0;
  private readonly timeoutMs: number;
  private readonly maxWaiting: number;
  private nextId = 1;
  private closed = false;
  /** [ingest load in permille, a slot that never changes (reader threads sleep on it)]. */
  private readonly pressure = new Int32Array(new SharedArrayBuffer(8));
  private sampler?: NodeJS.Timeout;
  /** Evictions of threads replaced or stopped (their connections closed with them). */
  private pastEvictions = 0;

  constructor(private readonly options: ReaderPoolOptions) {
    this.slots = Array.from({ length: Math.max(1, options.threads ?? 2) }, () => ({ controls: new Map() }));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.maxWaiting = options.maxWaitingPerTenant ?? 16;
  }

  run(tenant: string, request: ReadRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("the index is closed"));
    const queue = this.waiting.get(tenant) ?? [];
    if (queue.length >= this.maxWaiting) {
      return Promise.reject(new IndexBusyError(`too many searches of this account are waiting (${this.maxWaiting}): try again shortly`));
    }
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, tenant, request, deadline: Date.now() + this.timeoutMs, resolve, reject };
      job.timer = setTimeout(() => this.expire(job), this.timeoutMs);
      queue.push(job);
      this.waiting.set(tenant, queue);
      this.dispatch();
    });
  }

  /** Slice connections the reader threads hold now, and the evictions they made. */
  openSliceStats(): { open: number; evictions: number } {
    let open = 0;
    let evictions = this.pastEvictions;
    for (const slot of this.slots) {
      if (!slot.worker || !slot.counters) continue;
      open += Atomics.load(slot.counters, 0);
      evictions += Atomics.load(slot.counters, 1);
    }
    return { open, evictions };
  }

  /** Makes every reader thread close its connection to a slice (before its file is deleted). */
  async closeSlice(tenant: string, sliceName: string): Promise<void> {
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (!slot.worker) return resolve();
            const id = this.nextId++;
            slot.controls.set(id, resolve);
            slot.worker.postMessage({ id, op: "closeSlice", tenant, sliceName } satisfies ReaderMessage);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sampler);
    for (const queue of this.waiting.values()) for (const job of queue) this.settle(job, new Error("the index is closed"));
    this.waiting.clear();
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.job) this.settle(slot.job, new Error("the index is closed"));
        const w = slot.worker;
        this.retire(slot);
        if (w) await w.terminate();
      }),
    );
  }

  /** Samples the ingest load for the reader threads while any read runs. */
  private sample(): void {
    const running = this.slots.some((s) => s.job);
    if (running && !this.sampler) {
      const load = this.options.ingestLoad ?? eventLoopLoad();
      this.sampler = setInterval(() => Atomics.store(this.pressure, 0, Math.round(Math.min(1, Math.max(0, load())) * 1000)), 100);
      this.sampler.unref();
    } else if (!running && this.sampler) {
      clearInterval(this.sampler);
      this.sampler = undefined;
      Atomics.store(this.pressure, 0, 0);
    }
  }

  /** Hands waiting reads to idle threads, one tenant after the other. */
  private dispatch(): void {
    this.sample();
    for (const slot of this.slots) {
      if (this.closed || slot.job) continue;
      const job = this.nextJob();
      if (!job) break;
      const worker = slot.worker ?? this.spawn(slot);
      slot.job = job;
      job.slot = slot;
      worker.ref();
      worker.postMessage({ ...job.request, id: job.id, deadline: job.deadline });
    }
    this.sample();
  }

  /** The first waiting read of the tenant whose last read started longest ago (or never). */
  private nextJob(): Job | undefined {
    let pick: string | undefined;
    for (const tenant of this.waiting.keys()) {
      if (pick === undefined || (this.lastStarted.get(tenant) ?? -1) < (this.lastStarted.get(pick) ?? -1)) pick = tenant;
    }
    if (pick === undefined) return undefined;
    const queue = this.waiting.get(pick)!;
    const job = queue.shift()!;
    if (queue.length === 0) this.waiting.delete(pick);
    this.lastStarted.set(pick, ++this.started);
    return job;
  }

  private spawn(slot: Slot): Worker {
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const worker = startWorker(import.meta.url, "index-reader-worker.mjs", "reader-worker.ts", { root: this.options.root, pressure: this.pressure.buffer, openSlices: this.options.openSlices, counters: counters.buffer }, { maxOldGenerationSizeMb: this.options.heapMb ?? 256 });
    slot.worker = worker;
    slot.counters = counters;
    worker.unref();
    worker.on("message", (reply: ReaderReply) => {
      if (slot.worker !== worker) return;
      const control = slot.controls.get(reply.id);
      if (control) {
        slot.controls.delete(reply.id);
        control();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      slot.job = undefined;
      worker.unref();
      this.settle(job, reply.error ? replyError(reply.error) : undefined, reply.result);
      this.dispatch();
    });
    const lost = (err: Error) => {
      if (slot.worker !== worker) return;
      const job = slot.job;
      this.retire(slot);
      if (job) {
        const oom = (err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
        this.settle(job, oom ? new QueryBudgetError("memory", "the query needed more memory than a query may use: narrow the time range or the query") : new Error(`a reader thread failed: ${err.message}`));
      }
      this.dispatch();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`it exited with code ${code}`)));
    return worker;
  }

  /** Forgets a slot's thread (it is gone or being stopped); its pending control replies are moot. */
  private retire(slot: Slot): void {
    // Its connections close with the thread (better-sqlite3 closes them when the thread ends).
    if (slot.worker && slot.counters) this.pastEvictions += Atomics.load(slot.counters, 1);
    slot.counters = undefined;
    slot.worker = undefined;
    slot.job = undefined;
    for (const done of slot.controls.values()) done();
    slot.controls.clear();
  }

  private expire(job: Job): void {
    const slot = job.slot;
    if (!slot) {
      // Still waiting: it never started.
      const queue = this.waiting.get(job.tenant);
      const at = queue?.indexOf(job) ?? -1;
      if (at >= 0) queue!.splice(at, 1);
      if (queue?.length === 0) this.waiting.delete(job.tenant);
      this.settle(job, budgetError());
      return;
    }
    // Running: it stops itself at its next check; if it is stuck in one statement, stop its thread.
    job.timer = setTimeout(() => {
      if (slot.job !== job) return;
      const worker = slot.worker;
      this.retire(slot);
      this.settle(job, budgetError());
      void worker?.terminate();
      this.dispatch();
    }, GRACE_MS);
  }

  private settle(job: Job, error: Error | undefined, result?: unknown): void {
    clearTimeout(job.timer);
    if (error) job.reject(error);
    else job.resolve(result);
  }
}

function budgetError(): QueryBudgetError {
  return new QueryBudgetError("time", "the query took longer than a query may: narrow the time range or the query");
}

/** The error a reader thread reported, as the class callers check for. */
function replyError(e: NonNullable<ReaderReply["error"]>): Error {
  let err: Error;
  if (e.name === "QueryBudgetError") err = new QueryBudgetError(e.budget ?? "time", e.message);
  else if (e.name === "InvalidCursorError") err = new InvalidCursorError();
  else if (e.name === "RangeError") err = new RangeError(e.message);
  else err = new Error(e.message);
  err.message = e.message;
  if (!(err instanceof QueryBudgetError || err instanceof InvalidCursorError || err instanceof RangeError)) err.name = e.name;
  return err;
}

/** This thread's event-loop utilization since the previous call. */
export function eventLoopLoad(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const load = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return load;
  };
}
