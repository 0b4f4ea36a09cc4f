import { dayOf, manifestKey, parseDay, type ArchiveManifest, type Queue } from "@unmeltable/core";
import { archivePiece, type PieceOptions, type PieceRequest, type PieceResult } from "./piece";
import { runArchive, type PlannerOptions, type RunReport } from "./planner";
import type { ArchiveStore } from "./stores";

/**
 * The archive on one machine and from the command line: the planner and the worker in this process (on
 * AWS the planner invokes the worker as a Lambda function, functions/archive.ts). Same code, same
 * objects, same checkpoints: `unmeltable archive` beside a running server, or after the scheduled job,
 * only goes on from where the last run stopped.
 */
export type LocalWorkerOptions = Pick<PieceOptions, "maxOpen" | "partBytes" | "level" | "logger">;

/** The worker as a function call: what `invoke` is when planner and worker share a process. */
export function inProcessWorker(queue: Queue, store: ArchiveStore, options: LocalWorkerOptions & { pieceTimeMs?: number } = {}): (request: PieceRequest) => Promise<PieceResult> {
  return (request) => archivePiece({ queue, store, ...options, ...request, deadline: request.deadline ?? (options.pieceTimeMs !== undefined ? Date.now() + options.pieceTimeMs : undefined) });
}

export interface ArchiveProgress {
  pieces: number;
  events: number;
  bytes: number;
}

export interface ArchiveOptions extends Omit<PlannerOptions, "invoke" | "days" | "bootstrapFrom"> {
  queue: Queue;
  store: ArchiveStore;
  /** YYYY-MM-DD (UTC): the day whose manifest is rebuilt and returned. */
  day: string;
  /**
   * Where partitions without a checkpoint start, before the day's start (default 6 h): batches written
   * shortly before midnight can hold events of the day (a collector's clock, a batch sealed late).
   */
  marginMs?: number;
  worker?: LocalWorkerOptions;
  onProgress?: (p: ArchiveProgress) => void;
}

/**
 * Archives everything the raw topic holds beyond the checkpoints (a first run starts `marginMs` before
 * the day) and rebuilds the day's manifest: a re-run of a day, and the way to archive late events of it.
 * Resolves with the day's manifest; rejects when a piece failed (after the others were done).
 */
export async function archiveDay(options: ArchiveOptions): Promise<ArchiveManifest & { run: RunReport }> {
  const start = parseDay(options.day);
  const progress: ArchiveProgress = { pieces: 0, events: 0, bytes: 0 };
  const worker = inProcessWorker(options.queue, options.store, { logger: options.logger, ...options.worker });
  const run = await runArchive({
    ...options,
    concurrency: options.concurrency ?? 2,
    bootstrapFrom: start - (options.marginMs ?? 6 * 3_600_000),
    days: [options.day],
    invoke: async (request) => {
      const result = await worker(request);
      progress.pieces++;
      progress.events += result.events;
      progress.bytes += result.bytes;
      options.onProgress?.({ ...progress });
      return result;
    },
  });
  if (run.failed.length > 0) throw new Error(`archive of ${options.day}: ${run.failed.length} piece(s) failed and are redone by the next run: ${run.failed.map((f) => `partition ${f.partition} from ${f.from}: ${f.error}`).join("; ")}`);
  const manifest = run.manifests.find((m) => m.day === options.day);
  if (!manifest) throw new Error(`archive of ${options.day}: no manifest was written (${manifestKey(options.day)})`);
  return { ...manifest, run };
}

/** The day an archive run at `now` covers: yesterday (UTC). */
export function previousDay(now = Date.now()): string {
  return dayOf(now - 86_400_000);
}
