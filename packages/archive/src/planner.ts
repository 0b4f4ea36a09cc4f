import { dayOf, errorFields, noLogger, parseDay, RAW_TOPIC, type ArchiveManifest, type Logger, type Queue } from "@unmeltable/core";
import { rebuildDayManifest } from "./day-manifest";
import type { PieceRequest, PieceResult } from "./piece";
import { Lease, readCheckpoint, readStatus, writeCheckpoint, writeStatus } from "./state";
import type { ArchiveStore } from "./stores";

/**
 * The archive planner, run every hour (and by `unmeltable archive`): per raw partition, from its
 * checkpoint up to the partition's end as the run starts, pieces of at most `maxBytesPerPiece` raw bytes
 * are handed to the worker (`invoke`: a Lambda invocation on AWS, a call in this process on one machine),
 * `concurrency` partitions at a time; each finished piece moves the partition's checkpoint. Then the
 * manifests of the days the pieces wrote to are rebuilt — late events land in their own day, and that
 * day's manifest is rebuilt when they do — and the status records how far the archive got.
 *
 * Safe to run twice at once (one holds the lease, the other stops) and to retry (the checkpoints say
 * what is done; a piece that failed is redone from the same offset). A partition whose piece failed stops
 * for this run; the others go on. Failures are in the report (the caller fails the invocation on them).
 */
export interface PlannerOptions {
  queue: Queue;
  store: ArchiveStore;
  invoke: (request: PieceRequest) => Promise<PieceResult>;
  /** Partitions worked on at once (default 8). */
  concurrency?: number;
  /** Raw bytes of one piece at most (default 1 GiB). */
  maxBytesPerPiece?: number;
  /** No piece is started after this (epoch ms): the next run goes on from the checkpoints. */
  deadline?: number;
  /**
   * Where a partition without a checkpoint starts: the first record at or after this time (epoch ms;
   * default the start of the current UTC day), or "earliest", the oldest record the topic holds.
   */
  bootstrapFrom?: number | "earliest";
  /** Days whose manifests are rebuilt even if no piece wrote to them (a re-run of a day). */
  days?: string[];
  /** How long the lease holds without renewal (default 20 min: longer than a planner invocation). */
  leaseMs?: number;
  now?: () => number;
  /** Each partition's start, records lost to retention (error), a failed piece (warn), each piece done (debug). */
  logger?: Logger;
}

export interface RunReport {
  pieces: PieceResult[];
  failed: { partition: number; from: number; error: string }[];
  /** Records that left the raw topic (retention) before they were archived. */
  lost: { partition: number; from: number; to: number }[];
  /** Day manifests rebuilt. */
  manifests: ArchiveManifest[];
  /** Epoch ms up to which every record of the raw topic is archived. */
  through: number;
  events: number;
  bytes: number;
  /** Partitions left short of their end by the deadline. */
  unfinished: number[];
}

interface PartitionState {
  partition: number;
  next: number;
  end: number;
  etag: string | undefined;
  lastTimestamp: number | undefined;
}

export async function runArchive(options: PlannerOptions): Promise<RunReport> {
  const { queue, store } = options;
  const now = options.now ?? Date.now;
  const log = options.logger ?? noLogger;
  const lease = await Lease.acquire(store, options.leaseMs ?? 20 * 60_000, now);
  try {
    const planned = now();
    const report: RunReport = { pieces: [], failed: [], lost: [], manifests: [], through: planned, events: 0, bytes: 0, unfinished: [] };
    const previous = await readStatus(store);
    const earliest = options.bootstrapFrom === "earliest";
    const bootstrapFrom = options.bootstrapFrom === "earliest" ? 0 : (options.bootstrapFrom ?? parseDay(dayOf(planned)));
    const bounds = await queue.admin.offsets(RAW_TOPIC);
    let bootstrap: Map<number, number> | undefined;
    const states: PartitionState[] = [];
    for (const b of bounds) {
      const cp = await readCheckpoint(store, b.partition);
      let state: PartitionState;
      if (cp) state = { partition: b.partition, next: cp.checkpoint.next, end: b.end, etag: cp.etag, lastTimestamp: cp.checkpoint.lastTimestamp };
      else {
        bootstrap ??= earliest ? new Map() : await queue.admin.offsetsForTime(RAW_TOPIC, bootstrapFrom);
        const at = earliest ? b.start : Math.min(Math.max(bootstrap.get(b.partition) ?? b.end, b.start), b.end);
        // Kept at once: a later run must start where this one decided to, not from its own "today".
        state = { partition: b.partition, next: at, end: b.end, etag: undefined, lastTimestamp: undefined };
        state.etag = await writeCheckpoint(store, { partition: b.partition, next: at, updatedAt: planned }, undefined);
        log.info("archive: partition starts", { partition: b.partition, offset: at, from: earliest ? "earliest" : new Date(bootstrapFrom).toISOString() });
      }
      if (state.next < b.start) {
        report.lost.push({ partition: b.partition, from: state.next, to: b.start });
        log.error("archive: records expired from the raw topic before they were archived", { partition: b.partition, from: state.next, to: b.start });
        state.next = b.start;
      }
      states.push(state);
    }

    // One lease renewal at a time (conditional writes on one object).
    let renewing = Promise.resolve(true);
    let leaseLost = false;
    const renew = () => {
      renewing = renewing.then(async (ok) => ok && (await lease.renew(now())));
      return renewing;
    };
    const days = new Set<string>(options.days ?? []);
    const work = async (s: PartitionState) => {
      while (s.next < s.end && !leaseLost) {
        if (options.deadline !== undefined && now() >= options.deadline) return;
        const request: PieceRequest = { partition: s.partition, from: s.next, to: s.end, maxBytes: options.maxBytesPerPiece ?? 1024 ** 3 };
        let result: PieceResult;
        try {
          result = await options.invoke(request);
        } catch (err) {
          const error = (err as Error).message;
          report.failed.push({ partition: s.partition, from: s.next, error });
          log.warn("archive: piece failed (the next run redoes it)", { partition: s.partition, from: s.next, error });
          return;
        }
        if (result.next <= s.next) {
          report.failed.push({ partition: s.partition, from: s.next, error: "the piece ended without reading a record" });
          return;
        }
        if (!(await renew())) {
          leaseLost = true;
          report.failed.push({ partition: s.partition, from: s.next, error: "the lease expired and another run took it" });
          return;
        }
        s.etag = await writeCheckpoint(store, { partition: s.partition, next: result.next, lastTimestamp: result.lastTimestamp, updatedAt: now() }, s.etag);
        s.next = result.next;
        s.lastTimestamp = result.lastTimestamp ?? s.lastTimestamp;
        report.pieces.push(result);
        report.events += result.events;
        report.bytes += result.bytes;
        for (const d of result.days) days.add(d);
        log.debug("archive: piece done", { piece: result.piece, partition: s.partition, next: result.next, end: s.end, records: result.records, events: result.events, bytes: result.bytes, days: result.days });
      }
    };
    const queued = states.filter((s) => s.next < s.end);
    let taken = 0;
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency ?? 8, queued.length) }, async () => {
        while (taken < queued.length) await work(queued[taken++]!);
      }),
    );

    for (const s of states) {
      if (s.next >= s.end) continue;
      report.unfinished.push(s.partition);
      // Behind: archived up to the last record it wrote (or, never having written one, where it began).
      report.through = Math.min(report.through, s.lastTimestamp ?? bootstrapFrom);
    }
    // Every day up to where the archive now is gets a manifest, also a day without events.
    const lastDay = dayOf(report.through);
    for (let d = parseDay(dayOf(Math.max(previous?.through ?? bootstrapFrom, report.through - 7 * 86_400_000))); d <= parseDay(lastDay); d += 86_400_000) days.add(dayOf(d));
    for (const day of [...days].sort()) report.manifests.push(await rebuildDayManifest(store, day));
    await writeStatus(store, { through: report.through, updatedAt: now(), failed: report.failed });
    return report;
  } finally {
    await lease.release().catch((err: unknown) => log.warn("archive: could not release the lease (it expires by itself)", errorFields(err)));
  }
}
