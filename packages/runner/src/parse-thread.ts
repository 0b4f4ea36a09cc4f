import type { Worker } from "node:worker_threads";
import { Backoff, noLogger, startWorker, type Logger, type ParsedRaw, type ParseRawOptions, type RawParser } from "@unmeltable/core";

export interface ParseRequest {
  id: number;
  /** The batch's record values, one after another; `ends` marks where each ends. */
  values: Uint8Array;
  ends: number[];
  options: ParseRawOptions;
}
export type ParseReply = { id: number; parsed: ParsedRaw } | { id: number; error: string };

export interface ParseThreadOptions {
  logger?: Logger;
  /** Starts the thread (tests give their own); default: parse-worker.ts, from its bundle in dist/ when built. */
  spawn?: () => Worker;
}

/** Backoff before the thread is started again after it died: 100 ms, doubling, at most 5 s. */
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;

/**
 * The process stage's parsing in a worker thread of its own (issue 16): in `start` the main thread accepts
 * syslog and HTTP, and the parsing — the costliest step per event before the index — took its turns from
 * the sockets. A batch goes over as one
 * copied buffer and comes back as transferred buffers (core's ParsedRaw): no per-event object crosses.
 *
 * If the thread dies, the batches it held fail (their stage runner delivers them again, as for any
 * failed stage) and the thread is started again after a backoff.
 */
export class ParseThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (p: ParsedRaw) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;
  private readonly restarts = new Backoff(RESTART_FIRST_MS, RESTART_MAX_MS);
  private restartAt = 0;
  private readonly logger: Logger;

  constructor(private readonly options: ParseThreadOptions = {}) {
    this.logger = (options.logger ?? noLogger).child({ component: "parse-thread" });
  }

  /** The process stage's parser (core's RawParser) running on this thread. */
  readonly parse: RawParser = (values, options) => {
    if (this.closed) return Promise.reject(new Error("the parse thread is closed"));
    const waitMs = this.restartAt - Date.now();
    if (waitMs > 0) return Promise.reject(new Error(`the parse thread died; it starts again in ${waitMs} ms`));
    const worker = this.running();
    // One copy into a buffer of its own: the values are often views of larger buffers (a segment read),
    // which structured cloning would copy whole.
    let total = 0;
    for (const v of values) total += v.byteLength;
    const joined = new Uint8Array(total);
    const ends: number[] = [];
    let at = 0;
    for (const v of values) {
      joined.set(v, at);
      at += v.byteLength;
      ends.push(at);
    }
    const id = this.nextId++;
    return new Promise<ParsedRaw>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      const request: ParseRequest = { id, values: joined, ends, options };
      worker.postMessage(request, [joined.buffer]);
    });
  };

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error("the parse thread is closed"));
    if (worker) await worker.terminate();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    const worker = this.options.spawn?.() ?? startWorker(import.meta.url, "process-parse-worker.mjs", "parse-worker.ts", undefined);
    worker.unref();
    worker.on("message", (m: ParseReply) => {
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      // A batch answered: the thread works, the next death starts from the first backoff again.
      this.restarts.reset();
      if ("error" in m) call.reject(new Error(`parsing failed: ${m.error}`));
      else call.resolve(m.parsed);
    });
    const died = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(new Error(`the parse thread ${reason}; the batch is delivered again`));
      if (this.closed) return;
      const waitMs = this.restarts.next();
      this.restartAt = Date.now() + waitMs;
      this.logger.error(`the parse thread ${reason}; starting it again`, { restartInMs: waitMs });
    };
    worker.on("error", (err) => died(`failed: ${err.message}`));
    worker.on("exit", (code) => died(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const c of calls) c.reject(err);
  }
}
