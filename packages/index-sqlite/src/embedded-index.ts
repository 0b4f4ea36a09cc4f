import { mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { EventLoopUtilization } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import { MAX_RESULT_WINDOW, ResultWindowError, startWorker, type FacetResult, type HistogramBucket, type IndexedFeed, type IndexedListener, type IndexPort, type IndexWriteResult, type LogEvent, type NumericStats, type SearchPage, type SearchQuery, type SearchResult, type SliceAdmin, type SliceInfo } from "@unmeltable/core";
import { EVICTIONS, OPEN } from "./handle-cache";
import { defaultOpenSlices, splitOpenSlices } from "./open-slices";
import { IndexReader } from "./reader";
import { DEFAULT_QUERY_TIMEOUT_MS, eventLoopLoad, ReaderPool } from "./reader-pool";
import type { ReadRequest } from "./reader-protocol";
import type { TokenScheme } from "./field-tokens";
import { IndexWriter, prepareWrite, SliceSchemes } from "./writer";
import type { SliceLength } from "./slices";

export interface EmbeddedIndexOptions {
  /** Directory holding one sub-directory per tenant. */
  dir: string;
  /** Slice length per tenant (a tenant setting); defaults to `defaultSlice`. */
  slices?: Record<string, SliceLength>;
  defaultSlice?: SliceLength;
  /**
   * "thread" (the server): writes run in a worker thread. "inline": in the calling thread (tools, tests).
   */
  writer?: "thread" | "inline";
  /**
   * "threads": reads (search, count, facet, histogram, fields) run in a pool of reader threads, off the
   * calling thread (reader-pool.ts). "inline": in the calling thread. Default: "threads" with the thread
   * writer, else "inline".
   */
  readers?: "threads" | "inline";
  /** Reader threads (default 2). */
  readerThreads?: number;
  /** A read's time budget, in ms (default 20 s); over it, the read fails with QueryBudgetError. */
  queryTimeoutMs?: number;
  /**
   * Slice files (connections) kept open by the writer and the readers together (`--index-open-slices`);
   * default: derived from the open-files limit (open-slices.ts). Beyond it the least recently used are
   * closed, never one in use.
   */
  openSlices?: number;
  /**
   * Retention per tenant, in days (a tenant setting): an event stating a time older than its tenant's
   * retention before it was received is indexed at its receive time (placement.ts). Without it, events
   * go by their stated time.
   */
  retentionDays?: Record<string, number>;
}

/** What the index's connection caches hold and have done, summed over its threads. */
export interface OpenSliceStats {
  /** Slice connections open now. */
  open: number;
  /** Connections closed to make room since the index opened. */
  evictions: number;
  /** The configured total (--index-open-slices). */
  limit: number;
}

/**
 * The index port on SQLite FTS5, one file per tenant per time slice (see schema.ts). As an IndexedFeed it
 * hands each write's newly stored events to its listeners (live tail).
 */
export class EmbeddedIndex implements IndexPort, SliceAdmin, IndexedFeed {
  /** Reads in this thread (inline readers; also lists slice files). */
  readonly reader: IndexReader;
  private readonly pool?: ReaderPool;
  private readonly queryTimeoutMs: number;
  private readonly inline?: IndexWriter;
  private readonly worker?: Worker;
  private readonly pending = new Map<number, { resolve: (r: IndexWriteResult[]) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private slicePolicy: Record<string, SliceLength>;
  private workerError: Error | undefined;
  private readonly defaultSlice: SliceLength;
  private readonly retention: Record<string, number>;
  /** [open connections, evictions] of the writer's and this thread's connection caches (handle-cache.ts). */
  private readonly counters = new Int32Array(new SharedArrayBuffer(8));
  private readonly openSlicesLimit: number;
  private readonly indexedListeners = new Set<IndexedListener>();
  /** Slices made before the "keyed" field tokens, as the writer thread's replies (`schemes`) say. */
  private readonly schemes = new SliceSchemes();

  constructor(private readonly options: EmbeddedIndexOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.slicePolicy = { ...(options.slices ?? {}) };
    this.retention = { ...(options.retentionDays ?? {}) };
    const defaultSlice = options.defaultSlice ?? "day";
    this.defaultSlice = defaultSlice;
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const writer = options.writer ?? "thread";
    const threads = (options.readers ?? (writer === "thread" ? "threads" : "inline")) === "threads";
    const readerThreads = Math.max(1, options.readerThreads ?? 2);
    this.openSlicesLimit = options.openSlices ?? defaultOpenSlices();
    if (!(Number.isSafeInteger(this.openSlicesLimit) && this.openSlicesLimit >= 1)) throw new RangeError(`openSlices is a whole number ≥ 1, not ${this.openSlicesLimit}`);
    // With reader threads, this thread's reader only lists slice files: one connection is plenty.
    const share = splitOpenSlices(this.openSlicesLimit, threads ? readerThreads : 1);
    const counters = this.counters;
    this.reader = new IndexReader(options.dir, { openSlices: threads ? 1 : share.reader, counters });
    if (threads) {
      // Ingest is busy when this thread (collectors, stages) or the writer thread is.
      const mainLoad = eventLoopLoad();
      let writerLast: EventLoopUtilization | undefined;
      const writerLoad = () => {
        if (!this.worker) return 0;
        const now = this.worker.performance.eventLoopUtilization();
        const load = writerLast ? this.worker.performance.eventLoopUtilization(now, writerLast).utilization : 0;
        writerLast = now;
        return load;
      };
      this.pool = new ReaderPool({
        root: options.dir,
        threads: readerThreads,
        timeoutMs: this.queryTimeoutMs,
        ingestLoad: () => Math.max(mainLoad(), writerLoad()),
        openSlices: share.reader,
      });
    }
    if (writer === "inline") {
      this.inline = new IndexWriter(options.dir, (t) => this.slicePolicy[t] ?? defaultSlice, { openSlices: share.writer, counters, retentionOf: (t) => this.retention[t] });
      return;
    }
    this.worker = startWorker(import.meta.url, "index-writer-worker.mjs", "writer-worker.ts", { root: options.dir, openSlices: share.writer, counters: counters.buffer });
    this.worker.on("message", (msg: { id: number; results?: IndexWriteResult[]; error?: string; schemes?: [string, TokenScheme][] }) => {
      for (const [key, scheme] of msg.schemes ?? []) this.schemes.learn(key, scheme);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.results!);
    });
    this.worker.on("error", (err) => {
      this.workerError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    this.worker.unref();
  }

  /** Changes a tenant's slice length for slices created from now on. */
  setSliceLength(tenant: string, length: SliceLength): void {
    this.slicePolicy[tenant] = length;
  }

  /** Changes a tenant's retention (days) for the placement of events written from now on. */
  setRetentionDays(tenant: string, days: number): void {
    this.retention[tenant] = days;
  }

  /** Open slice connections and evictions, over all of the index's threads (for /metrics). */
  openSliceStats(): OpenSliceStats {
    const readers = this.pool?.openSliceStats() ?? { open: 0, evictions: 0 };
    return { open: Atomics.load(this.counters, OPEN) + readers.open, evictions: Atomics.load(this.counters, EVICTIONS) + readers.evictions, limit: this.openSlicesLimit };
  }

  onIndexed(listener: IndexedListener): () => void {
    this.indexedListeners.add(listener);
    return () => this.indexedListeners.delete(listener);
  }

  async write(tenant: string, docs: string[]): Promise<IndexWriteResult[]> {
    const length = this.slicePolicy[tenant] ?? this.defaultSlice;
    const retentionDays = this.retention[tenant];
    // Live tail wants the created events as objects: keep the ones preparing parsed, not parse twice.
    const parsed: LogEvent[] | undefined = this.indexedListeners.size > 0 ? new Array<LogEvent>(docs.length) : undefined;
    const results = this.inline
      ? this.inline.apply(tenant, prepareWrite(tenant, docs, length, parsed && ((i, ev) => (parsed[i] = ev)), retentionDays, this.inline.schemeOf(tenant)))
      : await this.writeInChunks(tenant, docs, length, parsed, retentionDays);
    if (parsed) {
      const created = results.flatMap((r, i) => (r.status === "created" ? [parsed[i]!] : []));
      if (created.length > 0) for (const listener of [...this.indexedListeners]) listener(tenant, created);
    }
    return results;
  }

  /**
   * Stores events in place of those stored with the same ids (writer.ts `replace`): replay's
   * `--rederive`, a command of its own with the inline writer. Live tail is not told (nothing new arrived).
   */
  async replace(tenant: string, docs: string[]): Promise<(IndexWriteResult & { replaced?: boolean })[]> {
    if (!this.inline) throw new Error("replacing stored events needs the inline writer (writer: \"inline\")");
    return this.inline.replace(tenant, docs);
  }

  /**
   * Parsing, flattening and tokenising run on this thread, so the writer thread spends its time in
   * SQLite; the batch goes over in chunks, so this thread prepares the next chunk while the writer
   * stores the last one. Each chunk is its own transaction: a retry after a failure rewrites the
   * stored ones as "exists", never twice.
   */
  private async writeInChunks(tenant: string, docs: string[], length: SliceLength, parsed: LogEvent[] | undefined, retentionDays: number | undefined): Promise<IndexWriteResult[]> {
    const calls: Promise<IndexWriteResult[]>[] = [];
    const schemeOf = this.schemes.of(tenant);
    for (let i = 0; i < docs.length; i += WRITE_CHUNK) {
      const keep = parsed && ((k: number, ev: LogEvent) => (parsed[i + k] = ev));
      calls.push(this.call({ type: "apply", tenant, prepared: prepareWrite(tenant, docs.slice(i, i + WRITE_CHUNK), length, keep, retentionDays, schemeOf) }));
      // Let the chunk reach the writer before this thread starts on the next one.
      if (i + WRITE_CHUNK < docs.length) await new Promise<void>((r) => setImmediate(r));
    }
    return (await Promise.all(calls)).flat();
  }

  private call(msg: Record<string, unknown>): Promise<IndexWriteResult[]> {
    if (this.workerError) return Promise.reject(this.workerError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.ref();
      this.worker!.postMessage({ ...msg, id });
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    }) as Promise<IndexWriteResult[]>;
  }

  async search(q: SearchQuery, page: SearchPage): Promise<SearchResult> {
    // The same window as OpenSearch's index.max_result_window, so that both engines answer a page alike.
    const reach = (page.offset ?? 0) + page.size;
    if (reach > MAX_RESULT_WINDOW) throw new ResultWindowError(MAX_RESULT_WINDOW, reach);
    if (!this.pool) return this.reader.search(q, page, this.budget());
    const { json, cursor } = (await this.read(q.tenant, { op: "search", q, page })) as { json: string; cursor?: string };
    const events = JSON.parse(json) as LogEvent[];
    return cursor === undefined ? { events } : { events, cursor };
  }

  async count(q: SearchQuery): Promise<number> {
    return this.pool ? ((await this.read(q.tenant, { op: "count", q })) as number) : this.reader.count(q, this.budget());
  }

  async facet(q: SearchQuery, field: string, size: number): Promise<FacetResult> {
    return this.pool ? ((await this.read(q.tenant, { op: "facet", q, field, size })) as FacetResult) : this.reader.facet(q, field, size, this.budget());
  }

  async histogram(q: SearchQuery, intervalMs: number): Promise<HistogramBucket[]> {
    return this.pool ? ((await this.read(q.tenant, { op: "histogram", q, intervalMs })) as HistogramBucket[]) : this.reader.histogram(q, intervalMs, this.budget());
  }

  async stats(q: SearchQuery, field: string): Promise<NumericStats> {
    return this.pool ? ((await this.read(q.tenant, { op: "stats", q, field })) as NumericStats) : this.reader.stats(q, field, this.budget());
  }

  async fields(q: SearchQuery): Promise<string[]> {
    return this.pool ? ((await this.read(q.tenant, { op: "fields", q })) as string[]) : this.reader.fields(q, this.budget());
  }

  private read(tenant: string, request: ReadRequest): Promise<unknown> {
    return this.pool!.run(tenant, request);
  }

  private budget(): { deadline: number } {
    return { deadline: Date.now() + this.queryTimeoutMs };
  }

  /** The tenant's slice files with their sizes (for the lifecycle job). */
  async slices(tenant: string): Promise<SliceInfo[]> {
    return this.reader.slices(tenant, 0, Number.MAX_SAFE_INTEGER).map((s) => {
      const base = path.join(this.options.dir, tenant, `${s.name}.db`);
      let bytes = 0;
      for (const suffix of ["", "-wal"]) {
        try {
          bytes += statSync(base + suffix).size;
        } catch {
          // no WAL file: nothing to add
        }
      }
      return { name: s.name, start: s.start, end: s.end, bytes };
    });
  }

  /** Creates the slice file holding `at` ahead of its first event. */
  async prepareSlice(tenant: string, at: number, length: SliceLength): Promise<void> {
    if (this.inline) this.inline.prepare(tenant, at, length);
    else await this.call({ type: "prepare", tenant, at, length });
  }

  /** Deletes one slice file (retention): readers and the writer let go of it first. */
  async dropSlice(tenant: string, sliceName: string): Promise<void> {
    this.reader.closeSlice(tenant, sliceName);
    await this.pool?.closeSlice(tenant, sliceName);
    if (this.inline) this.inline.closeSlice(tenant, sliceName);
    else await this.call({ type: "closeSlice", tenant, sliceName });
    const base = path.join(this.options.dir, tenant, `${sliceName}.db`);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(base + suffix, { force: true });
  }

  async close(): Promise<void> {
    this.reader.close();
    await this.pool?.close();
    if (this.inline) this.inline.close();
    else if (this.worker && !this.workerError) {
      await this.call({ type: "close" });
      await this.worker.terminate();
    }
  }
}

/** Events per writer transaction when a batch is split to overlap preparing with storing. */
const WRITE_CHUNK = 2_000;
