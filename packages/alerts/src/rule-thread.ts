import type { Worker } from "node:worker_threads";
import { CodedError, ERROR_CODES, startWorker, type DerivedRuleSpec, type PreviewOutcome, type RuleWork } from "@unmeltable/core";

export type RuleRequest = { id: number } & ({ op: "check"; pattern: string; needsGroups: boolean } | { op: "preview"; spec: DerivedRuleSpec; messages: { text: string; inScope: boolean }[] });
export type RuleReply = { id: number; result?: unknown; error?: string };

export interface RuleThreadOptions {
  /** Requests waiting or running at most; past it a request is refused (503, try again). Default 8. */
  maxPending?: number;
  /** A request not answered by then (counted from when the thread runs) ends the thread; it starts again for the next one. Default 5 s. */
  timeoutMs?: number;
  /** Starts the thread (tests give their own); default rule-worker.ts, from its bundle in dist/ when built. */
  spawn?: () => Worker;
}

/**
 * The derived-field rules API's CPU work on a thread of its own, on one machine: compiling a pattern near
 * the limits takes 100-150 ms and a preview up to its 200 ms budget, time the main thread — which accepts
 * syslog and HTTP for every tenant — must not spend on one tenant's editor. One request runs at a time; at
 * most `maxPending` wait (others get a 503 to try again), and one that runs past `timeoutMs` ends the
 * thread, so no pattern can hold the API either.
 */
export class RuleThread implements RuleWork {
  private worker: Worker | undefined;
  /** Whether the thread runs yet: a request's time counts from then (a thread's start is not the pattern's fault). */
  private online: Promise<void> | undefined;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> }>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: RuleThreadOptions = {}) {}

  check(pattern: string, needsGroups: boolean): Promise<string | undefined> {
    return this.call({ op: "check", pattern, needsGroups }) as Promise<string | undefined>;
  }

  preview(spec: DerivedRuleSpec, messages: { text: string; inScope: boolean }[]): Promise<PreviewOutcome[]> {
    return this.call({ op: "preview", spec, messages }) as Promise<PreviewOutcome[]>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error("the rules thread is closed"));
    if (worker) await worker.terminate();
  }

  private call(request: RuleRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("the rules thread is closed"));
    if (this.pending.size >= (this.options.maxPending ?? 8)) {
      return Promise.reject(new CodedError(ERROR_CODES.INDEX_BUSY, 503, "the rule editor's work is busy: try again in a moment"));
    }
    const worker = this.running();
    const online = this.online!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const call: { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> } = { resolve, reject };
      this.pending.set(id, call);
      void online.then(() => {
        if (!this.pending.has(id)) return;
        call.timer = setTimeout(() => {
          // The thread is stuck on this request: end it, and with it whatever else it held.
          this.pending.delete(id);
          reject(new CodedError(ERROR_CODES.BAD_REQUEST, 400, "the rule took too long to check: make the pattern smaller"));
          this.restart();
        }, this.options.timeoutMs ?? 5_000);
      });
      worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    const worker = this.options.spawn?.() ?? startWorker(import.meta.url, "derived-rules-worker.mjs", "rule-worker.ts", undefined);
    worker.unref();
    this.online = new Promise((resolve) => worker.once("online", () => resolve()));
    worker.on("message", (m: RuleReply) => {
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      clearTimeout(call.timer);
      if (this.pending.size === 0) worker.unref();
      if (m.error !== undefined) call.reject(new Error(m.error));
      else call.resolve(m.result);
    });
    const died = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(new Error(`the rules thread ${reason}`));
    };
    worker.on("error", (err) => died(`failed: ${err.message}`));
    worker.on("exit", (code) => died(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private restart(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error("the rules thread was restarted: try again"));
    void worker?.terminate();
  }

  private failAll(err: Error): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const c of calls) {
      clearTimeout(c.timer);
      c.reject(err);
    }
  }
}
