/**
 * What a deployment is sized from: the workload an operator declares per stage (stacks/config.ts) or
 * types into `unmeltable aws estimate`. Everything else (partitions, brokers, pollers, domains,
 * collectors, the bill) is derived from it by ./size.ts and ./cost.ts.
 */

/** A group of tenants alike in volume, tier and retention (the tier mix of the workloads). */
export interface TenantGroup {
  tenants: number;
  /** Average events/s of each tenant of the group. */
  eventsPerSecond: number;
  /** The tier they are on (tenants.json `tier`): one processed topic, index function and domain each. */
  tier: string;
  /** Days their events stay searchable in OpenSearch (the hot tier). */
  retentionDays: number;
}

export interface Workload {
  /** Average events/s over all tenants. */
  eventsPerSecond: number;
  /** The rate the pipeline must keep up with without growing a backlog (bursts, a region failing over). */
  peakEventsPerSecond: number;
  /** Average raw event size in bytes, as received (a syslog line, one JSON body of a bulk request). */
  eventBytes: number;
  /** The tenants: their groups must add up to `eventsPerSecond`. */
  groups: TenantGroup[];
  /** Days the hourly archive keeps raw events in S3 (0: no archive kept). */
  archiveDays: number;
}

/** What `unmeltable aws estimate` takes, before it becomes a Workload. */
export interface SimpleWorkload {
  eventsPerSecond: number;
  peakEventsPerSecond?: number;
  eventBytes?: number;
  retentionDays: number;
  tenants?: number;
  archiveDays?: number;
}

/**
 * Defaults, each an assumption an operator should replace with a measurement:
 * - peak = 2 × average: a daily cycle's busy hour is commonly about twice its average.
 * - 500 bytes per event: what this repository's own figures use (docs/deploy.md: 10k events/s ≈ 400 GB
 *   a day; the 30–40 TB for 30 days at 10k events/s).
 * - 400 days of archive: production's archive lifecycle (stacks/config.ts `archive.expireAfterDays`).
 */
export const WORKLOAD_DEFAULTS = { peakFactor: 2, eventBytes: 500, tenants: 1, archiveDays: 400 };

/** The largest rate the model accepts: far beyond any one deployment (Loggly's range tops at 100,000+ per tenant). */
export const MAX_EVENTS_PER_SECOND = 10_000_000;
export const MAX_EVENT_BYTES = 1024 * 1024; // the collectors' --max-event-bytes
export const MAX_RETENTION_DAYS = 3650;
export const MAX_TENANTS = 1_000_000;

export class WorkloadError extends Error {}

/** Spreads a total rate evenly over `tenants` on the default tier: the CLI's workload. */
export function simpleWorkload(w: SimpleWorkload): Workload {
  const tenants = w.tenants ?? WORKLOAD_DEFAULTS.tenants;
  const out: Workload = {
    eventsPerSecond: w.eventsPerSecond,
    peakEventsPerSecond: w.peakEventsPerSecond ?? w.eventsPerSecond * WORKLOAD_DEFAULTS.peakFactor,
    eventBytes: w.eventBytes ?? WORKLOAD_DEFAULTS.eventBytes,
    groups: [{ tenants, eventsPerSecond: tenants > 0 ? w.eventsPerSecond / tenants : 0, tier: "default", retentionDays: w.retentionDays }],
    archiveDays: w.archiveDays ?? WORKLOAD_DEFAULTS.archiveDays,
  };
  checkWorkload(out);
  return out;
}

/** A tier's tenants, alike in volume, for `tieredWorkload`. */
export interface TierTenants {
  tenants: number;
  /** Average events/s of each. */
  eventsPerSecond: number;
}

/** A workload as a stage declares it: its tenants by tier, all searchable the same days. */
export interface TieredWorkload {
  /** By tier name (tenants.json `tier`). */
  tiers: Record<string, TierTenants>;
  peakEventsPerSecond: number;
  retentionDays: number;
  archiveDays: number;
  /** Default: WORKLOAD_DEFAULTS.eventBytes. */
  eventBytes?: number;
}

/** One group a tier; the average is what the groups send together. */
export function tieredWorkload(w: TieredWorkload): Workload {
  const groups = Object.entries(w.tiers).map(([tier, t]) => ({ tenants: t.tenants, eventsPerSecond: t.eventsPerSecond, tier, retentionDays: w.retentionDays }));
  return {
    eventsPerSecond: groups.reduce((sum, g) => sum + g.tenants * g.eventsPerSecond, 0),
    peakEventsPerSecond: w.peakEventsPerSecond,
    eventBytes: w.eventBytes ?? WORKLOAD_DEFAULTS.eventBytes,
    groups,
    archiveDays: w.archiveDays,
  };
}

/** Refuses what cannot be sized: every problem named, with the accepted range. */
export function checkWorkload(w: Workload): void {
  const problems: string[] = [];
  const num = (name: string, v: number, min: number, max: number, integer = false) => {
    if (typeof v !== "number" || !Number.isFinite(v)) problems.push(`${name} must be a number, got ${String(v)}`);
    else if (v < min || v > max) problems.push(`${name} must be ${min.toLocaleString("en-US")}–${max.toLocaleString("en-US")}, got ${v.toLocaleString("en-US")}`);
    else if (integer && !Number.isInteger(v)) problems.push(`${name} must be a whole number, got ${v}`);
  };
  num("events per second", w.eventsPerSecond, 0, MAX_EVENTS_PER_SECOND);
  num("peak events per second", w.peakEventsPerSecond, 0, MAX_EVENTS_PER_SECOND);
  if (Number.isFinite(w.peakEventsPerSecond) && Number.isFinite(w.eventsPerSecond) && w.peakEventsPerSecond < w.eventsPerSecond) {
    problems.push(`peak events per second (${w.peakEventsPerSecond}) must be at least the average (${w.eventsPerSecond})`);
  }
  num("event bytes", w.eventBytes, 1, MAX_EVENT_BYTES, true);
  num("archive days", w.archiveDays, 0, MAX_RETENTION_DAYS, true);
  if (w.groups.length === 0) problems.push("at least one tenant group is needed");
  let total = 0;
  for (const [i, g] of w.groups.entries()) {
    num(`group ${i + 1}: tenants`, g.tenants, 1, MAX_TENANTS, true);
    num(`group ${i + 1}: events per second per tenant`, g.eventsPerSecond, 0, MAX_EVENTS_PER_SECOND);
    num(`group ${i + 1}: retention days`, g.retentionDays, 1, MAX_RETENTION_DAYS, true);
    if (!/^[a-z][a-z0-9-]*$/.test(g.tier)) problems.push(`group ${i + 1}: tier "${g.tier}" is not a tier name`);
    total += g.tenants * g.eventsPerSecond;
  }
  if (Number.isFinite(total) && Number.isFinite(w.eventsPerSecond) && Math.abs(total - w.eventsPerSecond) > Math.max(1e-6, w.eventsPerSecond * 1e-6)) {
    problems.push(`the groups send ${total} events/s in all, the workload says ${w.eventsPerSecond}`);
  }
  if (problems.length > 0) throw new WorkloadError(`workload: ${problems.join("; ")}`);
}
