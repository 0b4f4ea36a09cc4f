import type { QueueRecord } from "@unmeltable/core";
import { TenantShares } from "./tenant-shares";

/**
 * Fairness between tenants without a plan (issue 16 §3): a tenant whose backlog the stage is behind on,
 * and who sends clearly more than its share, has its records passed on unchanged to a lower-priority
 * topic (the tier's deferred topic, or the raw backlog topic) instead of going through the stage, so
 * that the other tenants' records behind them in the same partition do not wait for its backlog.
 *
 * Why this and not a round robin over partitions: a tenant's records are keyed to one partition
 * (`tenantPartition`), and with a handful of partitions two tenants often share one (4 partitions: one
 * chance in four). There a round robin cannot help: the steady tenant's records sit behind the bursting
 * tenant's backlog in the log itself. Passing a record on costs a copy and an append, not the parse or
 * the index write, so the stage gets through a million-event backlog in seconds and reaches the other
 * tenants' records; the lower-priority path indexes the backlog when the regular path is idle
 * (runner/src/idle-gate.ts), exactly as plans do with a tenant's excess (docs/plans.md) — the same
 * machinery, decided by load instead of by a plan. Nothing is dropped or reordered within the regular
 * path; a tenant's events may be indexed out of order, which nothing downstream needs (ids make the
 * index idempotent).
 *
 * When: a record of a tenant over its share (TenantShares) that is older than `lagMs` or past the
 * tenant's `turnBytes` in the batch (the stage is behind on it, or would be after this batch).
 * A tenant alone is never over its share, so a single tenant's burst keeps the fast path. Once a
 * tenant's records are diverted they all are, young ones too, for at least `holdMs` and then for as long
 * as it stays over its share (until it slows down or stops sending for a minute): the records skimmed
 * are young again at once, and letting its young records back in whenever the stage caught up put a
 * batch of its burst in front of the others' every time (measured: bench/RESULTS.md, "Fair between
 * tenants"). The price: a tenant that sends far more than the others all the time, once the stage fell
 * behind on it, is indexed through the lower-priority path for as long as it does, which keeps up with
 * it while the regular path has room (idle-gate.ts, `keepingUpMs`).
 */
export interface BacklogDiverterOptions {
  /** The topic diverted records go to. */
  topic: string;
  /**
   * The tenants' shares of the ingest (TenantShares fed by the collectors). Absent: the diverter counts
   * the records it sees itself (a process with no collector; see TenantShares for what that misses).
   */
  shares?: TenantShares;
  /** A record older than this means the stage is behind (default 500 ms). */
  lagMs?: number;
  /** How long a tenant stays diverted at least (default 30 s). */
  holdMs?: number;
  /**
   * The most bytes of records of a tenant over its share that one batch takes through the stage before
   * the stage counts as behind on it (default 1 MiB): a burst's first batch (the index stage's are up to
   * 16 MiB, seconds of writing) is not handled whole in front of the others' while its records are
   * still young.
   */
  turnBytes?: number;
  /** Told when a tenant starts and stops being diverted (for the log). */
  onChange?: (tenant: string, diverted: boolean) => void;
}

export interface DivertedSplit {
  /** Indexes (into the batch) of the records the stage handles. */
  keep: number[];
  /** Indexes of the records passed on. */
  divert: number[];
}

export class BacklogDiverter {
  readonly topic: string;
  private readonly shares: TenantShares;
  private readonly ownShares: boolean;
  private readonly lagMs: number;
  private readonly holdMs: number;
  private readonly turnBytes: number;
  /** Tenants being diverted, since when. */
  private readonly diverted = new Map<string, number>();

  constructor(private readonly options: BacklogDiverterOptions) {
    this.topic = options.topic;
    this.ownShares = options.shares === undefined;
    this.shares = options.shares ?? new TenantShares();
    this.lagMs = options.lagMs ?? 500;
    this.holdMs = options.holdMs ?? 30_000;
    this.turnBytes = options.turnBytes ?? 1024 * 1024;
  }

  split(records: QueueRecord[], now = Date.now()): DivertedSplit {
    const keep: number[] = [];
    const divert: number[] = [];
    // Keys starting with "_" are the collectors' own records (probes), not a tenant's.
    const tenantOf = (r: QueueRecord) => (r.key === null || r.key.startsWith("_") ? null : r.key);
    // Counting its own shares: the whole batch first, so that every decision below sees the same shares.
    if (this.ownShares) for (const r of records) if (tenantOf(r) !== null) this.shares.observe(r.key!, r.value.length, now);
    // Whether a tenant is over its share, once per tenant and batch: TenantShares.over walks every
    // active tenant, and a batch holds hundreds of records.
    const overs = new Map<string, boolean>();
    const over = (tenant: string) => {
      let o = overs.get(tenant);
      if (o === undefined) overs.set(tenant, (o = this.shares.over(tenant, now)));
      return o;
    };
    // Bytes of each tenant's records this batch so far.
    const turn = new Map<string, number>();
    records.forEach((r, i) => {
      const tenant = tenantOf(r);
      if (tenant === null) {
        keep.push(i);
        return;
      }
      const taken = (turn.get(tenant) ?? 0) + r.value.length;
      turn.set(tenant, taken);
      (this.divertNow(tenant, now - r.timestamp > this.lagMs || taken > this.turnBytes, now, over) ? divert : keep).push(i);
    });
    return { keep, divert };
  }

  /** Tenants diverted now. */
  tenants(): string[] {
    return [...this.diverted.keys()];
  }

  private divertNow(tenant: string, behind: boolean, now: number, over: (tenant: string) => boolean): boolean {
    const since = this.diverted.get(tenant);
    if (since !== undefined) {
      if (now - since < this.holdMs) return true;
      if (over(tenant)) return true;
      this.diverted.delete(tenant);
      this.options.onChange?.(tenant, false);
      return false;
    }
    if (!behind || !over(tenant)) return false;
    this.diverted.set(tenant, now);
    this.options.onChange?.(tenant, true);
    return true;
  }
}
