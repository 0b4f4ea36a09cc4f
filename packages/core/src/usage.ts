import type { DeadLetter } from "./dead-letter";
import type { UsageDay } from "./event";
import type { Plan } from "./ports/tenants";

/**
 * Per-tenant usage: what each tenant sent, what was indexed and what went to the dead letters, per UTC
 * day — the numbers behind Loggly's "account usage" page (GET /apiv2/usage) and the per-tenant metrics.
 *
 * The pipeline reports to a `UsageObserver` as it works (the collector what it accepted, the drivers of
 * the index stage what the index took and how long after its receipt, every driver the dead letters it
 * wrote); a deployment decides where the numbers go: on one machine into Prometheus (bounded labels) and
 * a daily table in the data dir, on AWS into EMF log lines with the tenant as a property.
 */
export interface UsageObserver {
  /** Events accepted by a collector for `tenant` (their raw bytes). */
  ingested(tenant: string, events: number, bytes: number): void;
  /** Events the index stored for the first time (not repeats), and each one's receive → searchable lag. */
  indexed(usage: IndexedUsage): void;
  /** Events of `tenant` that went to the dead letters (their bytes as received). */
  deadLettered(tenant: string, events: number, bytes: number): void;
  /** Drivers call it at the end of an invocation (Lambda): an observer that buffers writes out what it holds. */
  flush?(): void;
}

/** A tenant's counts as every usage observer keeps them. */
export interface UsageSums {
  events: number;
  bytes: number;
  indexed: number;
  indexedBytes: number;
  deadLettered: number;
  deadLetteredBytes: number;
}

/** Adds the counts of `from` into `into` (two observers' sums, a restored row and a new one). */
export function addUsageSums(into: UsageSums, from: UsageSums): void {
  into.events += from.events;
  into.bytes += from.bytes;
  into.indexed += from.indexed;
  into.indexedBytes += from.indexedBytes;
  into.deadLettered += from.deadLettered;
  into.deadLetteredBytes += from.deadLetteredBytes;
}

/**
 * The adding every usage observer does (the daily ledger, the Prometheus series, the EMF lines): each
 * keeps its own per-tenant sums (`sumsOf`) and may do more with the lags (`lags`).
 */
export abstract class UsageSummer<T extends UsageSums> implements UsageObserver {
  protected abstract sumsOf(tenant: string): T;

  /** The receive → stored lags of one indexed batch, for an observer that keeps them. */
  protected lags(_sums: T, _lagsMs: readonly number[]): void {}

  ingested(tenant: string, events: number, bytes: number): void {
    const t = this.sumsOf(tenant);
    t.events += events;
    t.bytes += bytes;
  }

  indexed(u: IndexedUsage): void {
    const t = this.sumsOf(u.tenant);
    t.indexed += u.events;
    t.indexedBytes += u.bytes;
    this.lags(t, u.lagsMs);
  }

  deadLettered(tenant: string, events: number, bytes: number): void {
    const t = this.sumsOf(tenant);
    t.deadLettered += events;
    t.deadLetteredBytes += bytes;
  }
}

/** What one index batch stored for one tenant. */
export interface IndexedUsage {
  tenant: string;
  events: number;
  /** Bytes of the events' documents as stored. */
  bytes: number;
  /** Receive (at the collector) → stored in the index, ms, one per event (searchable at the index's next refresh). */
  lagsMs: number[];
}

export const noUsage: UsageObserver = { ingested: () => undefined, indexed: () => undefined, deadLettered: () => undefined };

/** Several observers as one (e.g. the metrics and the daily ledger). */
export function usageObservers(...observers: UsageObserver[]): UsageObserver {
  return {
    ingested: (t, e, b) => observers.forEach((o) => o.ingested(t, e, b)),
    indexed: (u) => observers.forEach((o) => o.indexed(u)),
    deadLettered: (t, e, b) => observers.forEach((o) => o.deadLettered(t, e, b)),
  };
}

/** Reports a batch's dead letters that belong to a tenant (those without one — an unknown token — are nobody's usage). */
export function observeDeadLetters(usage: UsageObserver, letters: readonly DeadLetter[]): void {
  for (const l of letters) if (l.tenant) usage.deadLettered(l.tenant, 1, deadLetterBytes(l));
}

/** The size of a dead letter's event as received: `bytesLength` when only a prefix was kept, else its bytes. */
export function deadLetterBytes(l: Pick<DeadLetter, "bytes" | "bytesLength">): number {
  if (l.bytesLength !== undefined) return l.bytesLength;
  const b64 = l.bytes ?? "";
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((b64.length * 3) / 4) - pad);
}

const RECEIVED_AT = '"receivedAt":';

/**
 * An event document's receive time without parsing it: the process stage writes `receivedAt` as the
 * third top-level key (after `id` and `tenant`, whose string values cannot hold an unescaped quote), so
 * its first occurrence is the top-level one. NaN when absent.
 */
export function receivedAtOf(doc: string): number {
  const at = doc.indexOf(RECEIVED_AT);
  if (at < 0) return NaN;
  let n = 0;
  let i = at + RECEIVED_AT.length;
  const start = i;
  for (; i < doc.length; i++) {
    const c = doc.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return i === start ? NaN : n;
}

/** A UTC day as the usage keeps it: "YYYY-MM-DD". */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/** The `days` UTC days ending with the day of `now`, oldest first. */
export function lastDays(now: number, days: number): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: days }, (_, i) => utcDay(today - (days - 1 - i) * DAY_MS));
}

/** Where a deployment reads a tenant's daily usage from. */
export interface UsageSource {
  /** The tenant's usage on each of `days` (UTC, "YYYY-MM-DD", oldest first); a day without any is zeros. */
  days(tenant: string, days: readonly string[]): Promise<UsageDay[]>;
}

/** One row of counts to add to a tenant's day. */
export interface UsageDelta extends UsageSums {
  tenant: string;
  day: string;
}

/**
 * Sums what the observer is told per tenant and UTC day in memory, for a ledger to write in batches
 * (`drain`): the hot path adds to a map entry, never writes. The map holds one entry per tenant and day
 * seen since the last drain, so it stays as small as the set of active tenants.
 */
export class UsageTally extends UsageSummer<UsageDelta> {
  private rows = new Map<string, UsageDelta>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  /** The current day and when it ends: the day's string is made once a day, not per event. */
  private day = "";
  private dayEnds = 0;
  /** Per-day map of rows by tenant (syslog counts per message: one lookup, no key building). */
  private today = new Map<string, UsageDelta>();

  protected sumsOf(tenant: string): UsageDelta {
    const now = this.now();
    if (now >= this.dayEnds || now < this.dayEnds - DAY_MS) {
      this.day = utcDay(now);
      this.dayEnds = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
      this.today = new Map();
    }
    let r = this.today.get(tenant);
    if (!r) {
      const key = `${this.day}\u0000${tenant}`;
      r = this.rows.get(key);
      if (!r) this.rows.set(key, (r = { tenant, day: this.day, events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0 }));
      this.today.set(tenant, r);
    }
    return r;
  }

  get size(): number {
    return this.rows.size;
  }

  /** The rows summed since the last drain; the tally starts empty again. */
  drain(): UsageDelta[] {
    const out = [...this.rows.values()];
    this.rows = new Map();
    this.today = new Map();
    return out;
  }

  /** Puts rows back (a write that failed), added to what came since. */
  restore(rows: readonly UsageDelta[]): void {
    for (const d of rows) {
      const key = `${d.day}\u0000${d.tenant}`;
      const r = this.rows.get(key);
      if (!r) {
        this.rows.set(key, { ...d });
        continue;
      }
      addUsageSums(r, d);
    }
  }
}

/** At most this many days of usage are kept and answered (Loggly's account usage shows 30). */
export const USAGE_DAYS = 30;

/** Today's use of a plan, percent: the larger of the day's bytes against `bytesPerDay` and its average rate against `eventsPerSecond`. */
export function percentOfPlan(plan: Plan | undefined, today: Pick<UsageDay, "events" | "bytes">, now: number): { bytes: number | null; events: number | null } | null {
  if (!plan) return null;
  const secondsToday = Math.max(1, (now % DAY_MS) / 1000);
  const pct = (used: number | null, allowed: number) => (used === null || !(allowed > 0) ? null : Math.round((used / allowed) * 1000) / 10);
  return {
    bytes: pct(today.bytes, plan.bytesPerDay),
    events: pct(today.events === null ? null : today.events / secondsToday, plan.eventsPerSecond),
  };
}
