/**
 * The index lifecycle for the OpenSearch layout, batched (README.md, "Lifecycle"): the per-tenant job of
 * core's runLifecycle made ≥ 4 sequential round trips per tenant (10,000 tenants: 800–2,000 s against a
 * 300 s timeout). Here a run costs, per tier, the templates (3 PUTs), ONE `_cat/indices`, ONE terms
 * aggregation over yesterday's pooled indices and the deletes in batches of names; then ONE conditional
 * update of the tenants config for every placement change, and a PUT for each index to create ahead
 * (dedicated tenants' next slices, tomorrow's pooled indices), with bounded concurrency. Errors are caught
 * per tenant (and per tier); a deadline stops the run, which reports where the next one continues.
 *
 * Measuring pooled tenants: doc counts per tenant from one `terms` aggregation on `tenant` over
 * yesterday's pooled indices (of every class), times the average primary bytes per document of those
 * indices (pri.store.size / docs.count from the same `_cat/indices`). Dedicated tenants: the growth of
 * their slices over the last day (core's observedBytesPerDay) from pri.store.size.
 */
import { observedBytesPerDay, SLICE_MS, sliceStart, type Placement, type SliceInfo, type SliceLength, type Tenant } from "@unmeltable/core";
import {
  applyPlacementChange,
  DEFAULT_THRESHOLDS,
  needsRetentionRecord,
  placementAt,
  placementRetention,
  planPlacement,
  primariesFor,
  retentionClass,
  type LayoutThresholds,
  type PlacementChange,
  type TenantLayout,
} from "./layout";
import { nameBatches, parseSliceName, type OpenSearchIndex } from "./opensearch-index";
import { POOL } from "./slices";

const DAY = 86_400_000;

export type { PlacementChange };

export interface LayoutLifecycleOptions {
  /** Every tier's index (with the layout on), by tier. */
  indices: Record<string, OpenSearchIndex>;
  tenants: Tenant[];
  now?: number;
  /**
   * Milliseconds the run may still start work in (a Lambda's remaining time minus a margin); asked
   * before each tenant's requests. At ≤ 0 the run stops and reports `next`.
   */
  timeLeft?: () => number;
  /** Position in `tenants` to start at (a cut run's `next`); default rotates with the hour. */
  start?: number;
  /**
   * Writes the run's placement changes: ONE conditional update of the tenants config, each change applied
   * with applyPlacementChange to the entry as it is then.
   */
  savePlacements: (changes: PlacementChange[]) => Promise<void>;
  thresholds?: LayoutThresholds;
  /** Index creations in flight at once (default 8). */
  concurrency?: number;
}

export interface LayoutLifecycleReport {
  dropped: string[];
  /** Placements appended (from a future boundary): by volume, or by a change of the tenant's retention. */
  placed: PlacementChange[];
  /** Tenants whose placements got the retention they are read with recorded (once per tenant). */
  recorded: string[];
  prepared: string[];
  /** Tenants (or "tier <name>", "pool <index>") whose part failed, the others done all the same. */
  failed: { tenant: string; error: string }[];
  tenants: number;
  /** Tenants whose next indices were seen to; the rest are `remaining`, from `next` on. */
  done: number;
  remaining: number;
  next?: number;
}

interface Row {
  tier: string;
  index: string;
  bytes: number;
  docs: number;
}

export async function runLayoutLifecycle(o: LayoutLifecycleOptions): Promise<LayoutLifecycleReport> {
  const now = o.now ?? Date.now();
  const t = o.thresholds ?? DEFAULT_THRESHOLDS;
  const timeLeft = o.timeLeft ?? (() => Infinity);
  const n = o.tenants.length;
  const report: LayoutLifecycleReport = { dropped: [], placed: [], recorded: [], prepared: [], failed: [], tenants: n, done: 0, remaining: 0 };
  const today = sliceStart(now, "day");
  const yesterday = today - DAY;

  // 1. Per tier, once: the templates and the list of indices with their primary sizes.
  const rows: Row[] = [];
  const tiers = Object.keys(o.indices).filter((tier) => o.indices[tier]!.layered);
  const live = new Set<string>();
  await Promise.all(
    tiers.map(async (tier) => {
      const index = o.indices[tier]!;
      try {
        await index.ensureTemplates();
        for (const r of await index.catIndices()) rows.push({ tier, ...r });
        live.add(tier);
      } catch (err) {
        report.failed.push({ tenant: `tier ${tier}`, error: (err as Error).message });
      }
    }),
  );
  const existing = new Set(rows.map((r) => r.index));
  const pooled = new Map<string, { tier: string; cls: number; start: number; bytes: number; docs: number }>();
  const dedicated = new Map<string, (SliceInfo & { tier: string })[]>();
  for (const r of rows) {
    const names = o.indices[r.tier]!.names;
    const rest = r.index.slice(`${names.prefix}-${names.tier}.`.length);
    const slice = parseSliceName(r.index);
    if (!slice) continue;
    const pool = new RegExp(`^${POOL}-r(\\d+)\\.`).exec(rest);
    if (pool) pooled.set(r.index, { tier: r.tier, cls: Number(pool[1]), start: slice.start, bytes: r.bytes, docs: r.docs });
    else {
      const tenant = rest.slice(0, rest.indexOf("."));
      dedicated.set(tenant, [...(dedicated.get(tenant) ?? []), { tier: r.tier, name: r.index, start: slice.start, end: slice.end, bytes: r.bytes }]);
    }
  }

  // 2. Retention: pooled indices by the age of their class, dedicated ones by their tenant's retention.
  const drops = new Map<string, { name: string; tenant: string }[]>(); // by tier
  const drop = (tier: string, name: string, tenant: string) => drops.set(tier, [...(drops.get(tier) ?? []), { name, tenant }]);
  for (const [name, p] of pooled) if (p.start + DAY <= now - p.cls * DAY) drop(p.tier, name, `pool ${name}`);
  const byName = new Map(o.tenants.map((x) => [x.name, x]));
  for (const [tenant, slices] of dedicated) {
    const x = byName.get(tenant);
    if (!x) continue; // not a tenant (any more): deleteTenant's job
    for (const s of slices) if (s.end <= now - x.retentionDays * DAY) drop(s.tier, s.name, tenant);
  }
  for (const [tier, list] of drops) {
    for (const batch of nameBatches(list.map((d) => d.name), 3000)) {
      if (timeLeft() <= 0) break;
      try {
        await o.indices[tier]!.deleteIndices(batch);
        report.dropped.push(...batch);
      } catch (err) {
        const who = new Set(list.filter((d) => batch.includes(d.name)).map((d) => d.tenant));
        for (const tenant of who) report.failed.push({ tenant, error: `deleting expired indices: ${(err as Error).message}` });
      }
    }
  }
  const dropped = new Set(report.dropped);

  // 3. Pooled tenants' bytes per day: one aggregation per tier over yesterday's pooled indices.
  const pooledBytes = new Map<string, number>();
  let measured = false;
  await Promise.all(
    [...live].map(async (tier) => {
      const days = [...pooled.values()].filter((p) => p.tier === tier && p.start === yesterday);
      const docs = days.reduce((a, p) => a + p.docs, 0);
      if (docs === 0) return;
      const perDoc = days.reduce((a, p) => a + p.bytes, 0) / docs;
      try {
        const counts = await o.indices[tier]!.tenantDocCounts(o.indices[tier]!.names.poolDay(yesterday), n);
        for (const [tenant, c] of counts) pooledBytes.set(tenant, (pooledBytes.get(tenant) ?? 0) + c * perDoc);
        measured = true;
      } catch (err) {
        report.failed.push({ tenant: `tier ${tier}`, error: `measuring pooled tenants: ${(err as Error).message}` });
      }
    }),
  );

  // 4. Placements: planned for every tenant (no requests), written with ONE update. A tenant whose
  //    placements lack the retention they are read with gets it recorded first (the first run after an
  //    upgrade records every tenant: one write), so that a later change of its retention takes effect
  //    with a new placement at the next boundary instead of moving events already written.
  const layouts = new Map<string, TenantLayout>();
  const changes: PlacementChange[] = [];
  for (const x of o.tenants) {
    const layout: TenantLayout = { placements: x.placements, retentionDays: x.retentionDays, tier: x.tier };
    layouts.set(x.name, layout);
    try {
      const current = placementAt(layout, now);
      let bytes: number | undefined;
      if (current.layout === "pooled") bytes = measured ? (pooledBytes.get(x.name) ?? 0) : undefined;
      else {
        // The last 24 hours: the dedicated slices' share, and — the first day after a promotion —
        // yesterday's pooled share (placements change at midnight), else that day would be missing and
        // the new slices judged too big.
        const own = observedBytesPerDay((dedicated.get(x.name) ?? []).filter((s) => !dropped.has(s.name)), now);
        const pooledShare = ((pooledBytes.get(x.name) ?? 0) * (today - (now - DAY))) / DAY;
        bytes = own === undefined && pooledShare === 0 ? undefined : (own ?? 0) + pooledShare;
      }
      const record = needsRetentionRecord(layout);
      // Planned on the recorded history: an unrecorded placement is read with the current retention.
      const planned = planPlacement(record ? { ...layout, placements: applyPlacementChange(x, { tenant: x.name, record: true }) } : layout, bytes, now, t);
      if (record || planned) changes.push({ tenant: x.name, ...(record ? { record: true as const } : {}), ...(planned ? { placement: planned } : {}), ...(planned && bytes !== undefined ? { bytesPerDay: bytes } : {}) });
    } catch (err) {
      report.failed.push({ tenant: x.name, error: (err as Error).message });
    }
  }
  if (changes.length > 0) {
    try {
      await o.savePlacements(changes);
      for (const c of changes) {
        if (c.placement) report.placed.push(c);
        if (c.record) report.recorded.push(c.tenant);
        const l = layouts.get(c.tenant)!;
        layouts.set(c.tenant, { ...l, placements: applyPlacementChange({ placements: l.placements as Placement[] | undefined, retentionDays: l.retentionDays }, c) ?? l.placements });
      }
    } catch (err) {
      for (const c of changes) report.failed.push({ tenant: c.tenant, error: `placement not saved: ${(err as Error).message}` });
    }
  }

  // 5. Indices ahead of time: tomorrow's pooled index per tier and class in use, sized from the pooled
  //    bytes of the tenants pooled tomorrow; each dedicated tenant's next slice with its primaries.
  const tomorrow = today + DAY;
  const pools = new Map<string, { tier: string; name: string; bytes: number }>();
  for (const x of o.tenants) {
    const layout = layouts.get(x.name)!;
    const p = placementAt(layout, tomorrow);
    const tier = p.tier ?? x.tier;
    if (p.layout !== "pooled" || !live.has(tier)) continue;
    const name = o.indices[tier]!.names.poolIndex(retentionClass(placementRetention(layout, p)), tomorrow);
    const pool = pools.get(name) ?? { tier, name, bytes: 0 };
    pool.bytes += pooledBytes.get(x.name) ?? 0;
    pools.set(name, pool);
  }
  for (const pool of pools.values()) {
    if (existing.has(pool.name)) continue;
    try {
      if (await o.indices[pool.tier]!.createIndex(pool.name, primariesFor(pool.bytes, t.shardTargetBytes), true)) report.prepared.push(pool.name);
    } catch (err) {
      report.failed.push({ tenant: `pool ${pool.name}`, error: (err as Error).message });
    }
  }

  const start = n === 0 ? 0 : (((o.start ?? rotation(now, n)) % n) + n) % n;
  let taken = 0;
  const nextOf = async (): Promise<void> => {
    for (;;) {
      if (taken >= n || timeLeft() <= 0) return;
      const x = o.tenants[(start + taken++) % n]!;
      try {
        for (const { tier, name, shards } of nextSlices(x, layouts.get(x.name)!, now, o.indices)) {
          if (existing.has(name) || !live.has(tier)) continue;
          if (await o.indices[tier]!.createIndex(name, shards)) report.prepared.push(name);
        }
      } catch (err) {
        report.failed.push({ tenant: x.name, error: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, nextOf));
  report.done = taken;
  report.remaining = n - taken;
  if (report.remaining > 0) report.next = (start + taken) % n;
  return report;
}

/** Each hour of the day starts at another 24th of the tenants, so a run cut short never starves the same ones. */
function rotation(now: number, n: number): number {
  return ((Math.floor(now / 3_600_000) % 24) * Math.ceil(n / 24)) % n;
}

/** The dedicated slices a tenant needs next: the one after the current of each length its placements use then. */
function nextSlices(x: Tenant, layout: TenantLayout, now: number, indices: Record<string, OpenSearchIndex>): { tier: string; name: string; shards?: number }[] {
  const out = [];
  for (const length of ["hour", "day", "week"] as SliceLength[]) {
    const at = sliceStart(now, length) + SLICE_MS[length];
    const p = placementAt(layout, at);
    if (p.layout !== "dedicated" || p.slice !== length) continue;
    const tier = p.tier ?? x.tier;
    const index = indices[tier];
    if (index) out.push({ tier, name: index.names.indexFor(x.name, at, length), shards: p.shards });
  }
  return out;
}
