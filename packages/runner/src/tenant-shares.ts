import type { UsageObserver } from "@unmeltable/core";

/**
 * What share of the recent ingest each tenant sent, in bytes: a per-tenant count that halves every
 * `halfLifeMs`, read lazily (no timer). A tenant counts as active while it sent anything in the last
 * `activeMs`, however little: a tenant sending 100 events/s next to one sending 100,000 is one of two,
 * not a rounding error.
 *
 * Fed by the collectors' ingest (`usageObserver()`), not by what a stage reads: a stage behind on one
 * tenant's backlog does not see the others' records until it is through it, so its own view would
 * show the bursting tenant alone.
 */
export interface TenantSharesOptions {
  /**
   * Default 30 s: a burst of a million events stays the biggest share for as long as its backlog takes
   * to go through the stages, and a steady tenant is not outweighed by one second's burst of another.
   */
  halfLifeMs?: number;
  /** Default 60 s. */
  activeMs?: number;
}

interface Entry {
  bytes: number;
  at: number;
}

export class TenantShares {
  private readonly entries = new Map<string, Entry>();
  private readonly halfLifeMs: number;
  private readonly activeMs: number;

  constructor(options: TenantSharesOptions = {}) {
    this.halfLifeMs = options.halfLifeMs ?? 30_000;
    this.activeMs = options.activeMs ?? 60_000;
  }

  /** Counts what the collectors accept (hand it to them among their usage observers). */
  usageObserver(): UsageObserver {
    return { ingested: (tenant, _events, bytes) => this.observe(tenant, bytes, Date.now()), indexed: () => undefined, deadLettered: () => undefined };
  }

  observe(tenant: string, bytes: number, now: number): void {
    const e = this.entries.get(tenant);
    if (!e) {
      this.entries.set(tenant, { bytes, at: now });
      return;
    }
    e.bytes = this.decayed(e, now) + bytes;
    e.at = Math.max(e.at, now);
  }

  /**
   * Whether the tenant takes clearly more than an equal share (a quarter over it) while others are
   * active. One tenant alone is never over: with nobody to be fair to, it keeps the fast path.
   */
  over(tenant: string, now: number): boolean {
    let total = 0;
    let active = 0;
    let mine = 0;
    for (const [name, e] of this.entries) {
      if (now - e.at > this.activeMs) {
        // Long gone: forget it (tenants that stopped sending do not pile up).
        if (now - e.at > 10 * this.activeMs) this.entries.delete(name);
        continue;
      }
      const b = this.decayed(e, now);
      active++;
      total += b;
      if (name === tenant) mine = b;
    }
    if (active < 2 || total <= 0) return false;
    return mine / total > 1.25 / active;
  }

  private decayed(e: Entry, now: number): number {
    return now <= e.at ? e.bytes : e.bytes * 0.5 ** ((now - e.at) / this.halfLifeMs);
  }
}
