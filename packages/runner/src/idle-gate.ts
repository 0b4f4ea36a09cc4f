import type { Queue, QueueRecord, Stage, StageResult } from "@unmeltable/core";

/**
 * Lets a low-priority stage run only when the regular path has nothing to do (one machine): a batch of
 * the deferred topic is indexed only while every watched consumer group has read and committed all of
 * its topic (no record waiting, none in flight) or keeps up with it (`keepingUpMs`), and one such batch
 * at a time. A regular batch that
 * arrives meanwhile waits for at most that one small batch (the deferred records are cut small,
 * DEFERRED_RECORD_BYTES), so no tenant within its plan waits behind an over-plan tenant's excess.
 */
export interface IdleGateOptions {
  queue: Queue;
  /** The regular path: [consumer group, topic] pairs whose lag must be zero. Read on every check (tiers come and go). */
  watch: () => [string, string][];
  /** How often to look while waiting (default 25 ms). */
  pollMs?: number;
  /**
   * Count the regular path as idle also while its oldest waiting record is younger than this (it keeps
   * up). Default 0: idle only with nothing waiting. The regular consumers hold records uncommitted while
   * their batching window fills (the index stage's: 100 ms), so a tenant sending steadily keeps a few
   * records waiting nearly all the time: with 0, the deferred path would wait for as long as any tenant
   * sends steadily, and a tenant's backlog passed there by the fairness diversion (backlog-diverter.ts)
   * would wait for all the others to stop.
   */
  keepingUpMs?: number;
}

export class IdleGate {
  private busy = false;
  private closed = false;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly options: IdleGateOptions) {}

  /** The stage, run only through the gate; while closing, every record is handed back (retried later). */
  wrap(stage: Stage): Stage {
    return async (records: QueueRecord[]): Promise<StageResult> => {
      if (!(await this.acquire())) return handBack(records);
      try {
        return await stage(records);
      } finally {
        this.busy = false;
      }
    };
  }

  /** Resolves true once the regular path is idle and no other gated batch runs; false when closed. */
  private async acquire(): Promise<boolean> {
    for (;;) {
      if (this.closed) return false;
      if (!this.busy && (await this.idle())) {
        // Checked again after the await: another partition's batch may have taken the turn.
        if (this.closed) return false;
        if (!this.busy) {
          this.busy = true;
          return true;
        }
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, this.options.pollMs ?? 25);
        this.wakers.add(done);
      });
    }
  }

  /** Whether every watched group has committed everything of its topic. */
  async idle(): Promise<boolean> {
    for (const [group, topic] of this.options.watch()) {
      try {
        const [ends, committed] = await Promise.all([this.options.queue.admin.offsets(topic), this.options.queue.admin.committed(group, topic)]);
        for (const { partition, start, end } of ends) {
          const next = committed.get(partition) ?? start;
          if (end <= next) continue;
          const keepingUpMs = this.options.keepingUpMs ?? 0;
          if (keepingUpMs <= 0) return false;
          const [oldest] = await this.options.queue.reader.read(topic, partition, next, 1);
          if (oldest && Date.now() - oldest.timestamp > keepingUpMs) return false;
        }
      } catch {
        return false; // not knowable now (a topic being set up): not idle
      }
    }
    return true;
  }

  /** Releases the waiting batches (they hand their records back) so that the runner can stop. */
  close(): void {
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
  }
}

function handBack(records: QueueRecord[]): StageResult {
  return { outcomes: records.map(() => ({ status: "retry", error: "stopping before the regular path went idle" })), output: [], deadLetters: [], eventsIn: 0, eventsOut: 0 };
}
