/**
 * The OpenSearch layout (README.md, "The layout"): small tenants share pooled day indices per tier and
 * retention class, routed by tenant; big tenants get dedicated indices with a computed number of
 * primaries. A tenant's history of placements says which applies when, so the index of an event follows
 * from the event alone (its time) and the tenant's config — a replay writes it where it went the first
 * time, with the same `_id`, and `create` answers "exists".
 *
 * Pure functions: the adapter (opensearch-index.ts) writes and reads with them, the lifecycle
 * (lifecycle.ts) plans with them, and the README's table is computed by `workloadTable`.
 */
import { MAX_FUTURE_DRIFT_MS, SLICE_MS, sliceStart, type LogEvent, type Placement, type SliceLength } from "@unmeltable/core";
import { sliceName, type IndexNames } from "./slices";

export type { Placement };

const DAY = 86_400_000;

/**
 * Retention classes of pooled indices (days): a tenant's pooled events go to the smallest class that is
 * at least its retention, and a pooled index is deleted once its day is older than its class. A tenant
 * keeps its own retention through the query-time clamp (`readPlan`). A short ladder keeps the number of
 * pooled indices per day small (one per class in use); 3650 is the tenants config's maximum.
 */
export const RETENTION_CLASSES: readonly number[] = [7, 14, 30, 60, 90, 180, 365, 730, 3650];

export function retentionClass(retentionDays: number): number {
  return RETENTION_CLASSES.find((c) => c >= retentionDays) ?? RETENTION_CLASSES[RETENTION_CLASSES.length - 1]!;
}

/**
 * AWS's advice for log shards is 30–50 GiB (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/bp-sharding.html):
 * primaries are sized for 40 GB each.
 */
export const SHARD_TARGET_BYTES = 40e9;

/** What the layout needs of a tenant (core's Tenant has it). */
export interface TenantLayout {
  placements?: readonly Placement[];
  retentionDays: number;
  /** The tenant's current tier (placements without a tier are on it). */
  tier?: string;
}

/** No placements: pooled from the beginning. */
export const POOLED_FROM_THE_START: Placement = { from: -8.64e15, layout: "pooled", slice: "day" };

function history(layout: TenantLayout): readonly Placement[] {
  const ps = layout.placements ?? [];
  return ps.length > 0 && ps[0]!.from <= POOLED_FROM_THE_START.from ? ps : [POOLED_FROM_THE_START, ...ps];
}

/**
 * The retention a placement was made under (recorded by the lifecycle), else the tenant's current one.
 * The pooled class and the backfill rule (misplacedTimestamp) follow it, so that an event goes where it
 * went the first time even after the tenant's retention changed: the change takes effect through a new
 * placement at the next day boundary (planPlacement), never on events already written.
 */
export function placementRetention(layout: TenantLayout, p: Placement): number {
  return p.retentionDays ?? layout.retentionDays;
}

/** The retention that decides where an event received at `receivedAt` goes (misplacedTimestamp's). */
export function retentionAt(layout: TenantLayout, receivedAt: number): number {
  return placementRetention(layout, placementAt(layout, receivedAt));
}

/** The placement in force at `ts`. */
export function placementAt(layout: TenantLayout, ts: number): Placement {
  const ps = history(layout);
  let at = ps[0]!;
  for (const p of ps) if (p.from <= ts) at = p;
  return at;
}

/** The placements overlapping [from, until], each with the part of the range it holds. */
export function placementsOver(layout: TenantLayout, from: number, until: number): { placement: Placement; from: number; until: number }[] {
  const ps = history(layout);
  const out = [];
  for (let k = 0; k < ps.length; k++) {
    const start = Math.max(from, ps[k]!.from);
    const end = Math.min(until, (ps[k + 1]?.from ?? Infinity) - 1);
    if (start <= end) out.push({ placement: ps[k]!, from: start, until: end });
  }
  return out;
}

/**
 * Whether an event is placed by its receive time instead of the time it states: older than the tenant's
 * retention before it was received (a backfill, a clock at 1970) or more than a day after it. Placed by
 * its own time, it would create an index for a slice long gone (which retention would delete again,
 * event included). The rule reads only the event and the tenant's retention, never the clock, so a
 * replay places it the same way (as packages/index-sqlite/src/placement.ts does).
 */
export function misplacedTimestamp(ev: LogEvent, retentionDays: number): boolean {
  const received = ev.receivedAt;
  if (typeof received !== "number" || !Number.isFinite(received) || Math.abs(received) > 8.64e15) return false;
  return ev.timestamp > received + MAX_FUTURE_DRIFT_MS || ev.timestamp < received - retentionDays * DAY;
}

/** When an event was received (its own time for one that does not say): the time its placement rule is read at. */
export function receivedOrOwnTime(ev: LogEvent): number {
  const r = ev.receivedAt;
  return typeof r === "number" && Number.isFinite(r) && Math.abs(r) <= 8.64e15 ? r : ev.timestamp;
}

/** The event at its receive time, the time it stated kept in `unmeltable.statedTimestamp` (searchable, shown). */
export function atReceiveTime(ev: LogEvent): LogEvent {
  const own = ev.event?.unmeltable;
  const unmeltable = own !== null && typeof own === "object" && !Array.isArray(own) ? own : {};
  return { ...ev, timestamp: ev.receivedAt, event: { ...ev.event, unmeltable: { ...unmeltable, statedTimestamp: ev.timestamp } } };
}

/** Where one event of a tenant goes: the index, the document `_id` and the routing. */
export interface Location {
  index: string;
  id: string;
  /** Pooled indices only (they require it: `_routing.required`). */
  routing?: string;
  layout: Placement["layout"];
}

/**
 * Pooled documents carry the tenant in their `_id` (`<tenant>/<id>`): ids are unique per tenant, not
 * across tenants, and a shared index must not answer one tenant's event with "exists" because another
 * tenant's has the same id.
 */
export function locate(names: IndexNames, tenant: string, id: string, ts: number, layout: TenantLayout): Location {
  const p = placementAt(layout, ts);
  if (p.layout === "pooled") return { index: names.poolIndex(retentionClass(placementRetention(layout, p)), ts), id: `${tenant}/${id}`, routing: tenant, layout: "pooled" };
  return { index: names.indexFor(tenant, ts, p.slice), id, layout: "dedicated" };
}

/** Primaries for an index expected to hold `bytes` (at least one). */
export function primariesFor(bytes: number, targetBytes = SHARD_TARGET_BYTES): number {
  return Math.max(1, Math.ceil(bytes / targetBytes));
}

/** When a tenant moves between the layouts (hysteresis: a tenant near one threshold does not flap). */
export interface LayoutThresholds {
  /** Above this, a pooled tenant gets dedicated indices (default 40 GB/day: a primary's worth a day). */
  promoteBytesPerDay: number;
  /** Below this, a dedicated tenant goes back to the pool (default 10 GB/day). */
  demoteBytesPerDay: number;
  /** A dedicated day slice that would need more primaries than this is sliced by hour instead (default 4). */
  maxDayPrimaries: number;
  shardTargetBytes: number;
}

export const DEFAULT_THRESHOLDS: LayoutThresholds = { promoteBytesPerDay: 40e9, demoteBytesPerDay: 10e9, maxDayPrimaries: 4, shardTargetBytes: SHARD_TARGET_BYTES };

/** The dedicated placement (slice and primaries) for a volume. */
export function dedicatedFor(bytesPerDay: number, t: LayoutThresholds = DEFAULT_THRESHOLDS): { slice: SliceLength; shards: number } {
  const perDay = primariesFor(bytesPerDay, t.shardTargetBytes);
  return perDay <= t.maxDayPrimaries ? { slice: "day", shards: perDay } : { slice: "hour", shards: primariesFor(bytesPerDay / 24, t.shardTargetBytes) };
}

/** The next boundary of every slice length but week: the next UTC midnight (never in the past). */
export function nextBoundary(now: number): number {
  return sliceStart(now, "day") + DAY;
}

/**
 * The placement to append for a tenant measured at `bytesPerDay` (undefined: not measured), or undefined
 * when its layout fits: pooled above the promotion threshold → dedicated; dedicated below the demotion
 * threshold → pooled; dedicated whose primaries are too few (or more than twice too many) → dedicated
 * resized; a retention other than the one the last placement records → the same placement under the new
 * retention (for a pooled tenant: the next days in another class's indices). It takes effect at the next
 * day boundary and records the tenant's retention; a tenant that already has a placement from then on
 * is left alone.
 */
export function planPlacement(layout: TenantLayout, bytesPerDay: number | undefined, now: number, t: LayoutThresholds = DEFAULT_THRESHOLDS): Placement | undefined {
  const from = nextBoundary(now);
  const last = history(layout).at(-1)!;
  if (last.from >= from) return undefined;
  const keep = { ...(last.tier !== undefined ? { tier: last.tier } : {}), retentionDays: layout.retentionDays };
  const retained = placementRetention(layout, last) === layout.retentionDays;
  if (last.layout === "pooled") {
    if (bytesPerDay !== undefined && bytesPerDay > t.promoteBytesPerDay) return { from, layout: "dedicated", ...dedicatedFor(bytesPerDay, t), ...keep };
    return retained ? undefined : { from, layout: "pooled", slice: "day", ...keep };
  }
  if (bytesPerDay !== undefined && bytesPerDay < t.demoteBytesPerDay) return { from, layout: "pooled", slice: "day", ...keep };
  const have = { slice: last.slice, shards: last.shards ?? 1 };
  const want = bytesPerDay === undefined ? have : dedicatedFor(bytesPerDay, t);
  if (want.slice !== have.slice || want.shards > have.shards || want.shards * 2 < have.shards) return { from, layout: "dedicated", ...want, ...keep };
  // A placement starts at a boundary of its slice: a week slice's next start, not midnight.
  if (!retained) return { from: last.slice === "week" ? sliceStart(now, "week") + SLICE_MS.week : from, layout: "dedicated", slice: last.slice, ...(last.shards !== undefined ? { shards: last.shards } : {}), ...keep };
  return undefined;
}

/**
 * Whether a tenant has placements without the retention they were made under (written before placements
 * recorded it, or by hand, or none at all): `recordRetention` gives them the tenant's current retention
 * — the one they have been read with — so that a later change of retention does not move their events.
 */
export function needsRetentionRecord(layout: TenantLayout): boolean {
  const ps = layout.placements ?? [];
  return ps.length === 0 || ps.some((p) => p.retentionDays === undefined);
}

/** The placements with the retention recorded on each (none: pooled from the start, recorded). */
export function recordRetention(placements: readonly Placement[] | undefined, retentionDays: number): Placement[] {
  const ps = placements && placements.length > 0 ? placements : [POOLED_FROM_THE_START];
  return ps.map((p) => (p.retentionDays === undefined ? { ...p, retentionDays } : p));
}

/**
 * One change the lifecycle makes to a tenant's placements: append `placement` (taking effect at a future
 * boundary), or `record` the current retention on the placements without one. Applied by
 * `applyPlacementChange` to the tenants config as it is when written (after a conflict, to what is
 * there then), so it is derived from the entry, not from what the lifecycle read.
 */
export interface PlacementChange {
  tenant: string;
  placement?: Placement;
  record?: true;
  /** The volume that decided it (for the log); undefined for a retention change or a record. */
  bytesPerDay?: number;
}

/**
 * A tenants-config entry's placements after `change`, or undefined to leave them: a placement is appended
 * only after the entry's last one (an upload meanwhile that already has it, or a later one, wins); a
 * record uses the entry's retention as written now.
 */
export function applyPlacementChange(entry: { placements?: Placement[]; retentionDays?: number }, change: PlacementChange): Placement[] | undefined {
  let placements = entry.placements;
  if (change.record && typeof entry.retentionDays === "number" && needsRetentionRecord({ placements, retentionDays: entry.retentionDays })) {
    placements = recordRetention(placements, entry.retentionDays);
  }
  const p = change.placement;
  if (p && !(placements && placements.length > 0 && placements[placements.length - 1]!.from >= p.from)) placements = [...(placements ?? []), p];
  return placements === entry.placements ? undefined : placements;
}

/** The layouts (pooled, dedicated) of the placements on `tier` overlapping [from, until]. */
export function layoutsOver(layout: TenantLayout, from: number, until: number, tier: string, currentTier: string): Set<Placement["layout"]> {
  return new Set(placementsOver(layout, from, until).filter((p) => (p.placement.tier ?? layout.tier ?? currentTier) === tier).map((p) => p.placement.layout));
}

/** The tiers a read of [from, until] needs: those of the placements overlapping it. */
export function tiersOver(layout: TenantLayout, from: number, until: number, currentTier: string): string[] {
  return [...new Set(placementsOver(layout, from, until).map((p) => p.placement.tier ?? layout.tier ?? currentTier))];
}

/** The earliest time a tenant's search may see: its retention, enforced at query time (pooled indices live as long as their class). */
export function retentionFloor(retentionDays: number, now: number): number {
  return now - retentionDays * DAY;
}

/**
 * What one tier's search of a tenant over [from, until] reads: the names of the indices of every
 * placement on this tier overlapping the range (pooled: that day's pooled index of every class,
 * dedicated: the tenant's slices), comma-separated; the tier's patterns when that would be longer than
 * `maxChars` (OpenSearch's http.max_initial_line_length is 4 KB). Pooled-only reads are routed by
 * tenant, so they go to the shards the tenant's documents are on. A read over both kinds (the days
 * around a change) is split by tiers.ts into a pooled and a dedicated one (`only`), merged like tiers;
 * unsplit (a bare OpenSearchIndex), it is not routed — dedicated documents are routed by `_id` — and the
 * tenant filter (filtered()) keeps it exact.
 */
export function readPlan(
  names: IndexNames,
  tenant: string,
  layout: TenantLayout,
  from: number,
  until: number,
  maxChars = 2000,
  only?: Placement["layout"],
): { target: string; pattern: boolean; routing?: string } | undefined {
  const onTier = (p: Placement) => {
    const tier = p.tier ?? layout.tier;
    return tier === undefined || tier === names.tier;
  };
  const parts = placementsOver(layout, from, until).filter((p) => onTier(p.placement) && (only === undefined || p.placement.layout === only));
  if (parts.length === 0) return undefined;
  const pooled = parts.some((p) => p.placement.layout === "pooled");
  const dedicated = parts.some((p) => p.placement.layout === "dedicated");
  const routing = pooled && !dedicated ? { routing: tenant } : {};
  const list: string[] = [];
  let chars = 0;
  const add = (name: string) => {
    if (list.includes(name)) return true;
    chars += name.length + 1;
    list.push(name);
    return chars <= maxChars;
  };
  let fits = true;
  for (const { placement, from: a, until: b } of parts) {
    const length: SliceLength = placement.layout === "pooled" ? "day" : placement.slice;
    for (let s = sliceStart(a, length); fits && s <= b; s += SLICE_MS[length]) {
      fits = add(placement.layout === "pooled" ? names.poolDay(s) : `${names.prefix}-${names.tier}.${tenant}.${sliceName(length, s)}`);
    }
    if (!fits) break;
  }
  if (fits) return { target: list.join(","), pattern: false, ...routing };
  const patterns = [...(pooled ? [names.poolPattern] : []), ...(dedicated ? [names.tenantPattern(tenant)] : [])];
  return { target: patterns.join(","), pattern: true, ...routing };
}
