import { FacetTally, NumericTally, type IndexWriteBatch, type NumericStats, type FacetResult, type HistogramBucket, type IndexPort, type IndexWriteResult, type LogEvent, type SearchPage, type SearchQuery, type SearchResult, type SliceAdmin, type SliceInfo, type TenantDirectory } from "@unmeltable/core";
import { OpenSearchConfigError } from "./errors";
import { encodeCursor, OpenSearchIndex, type OpenSearchIndexOptions } from "./opensearch-index";
import { layoutsOver, tiersOver, type TenantLayout } from "./layout";
import { runLayoutLifecycle, type LayoutLifecycleOptions, type LayoutLifecycleReport } from "./lifecycle";
import type { SliceLength } from "./slices";

export interface TieredOptions extends Omit<OpenSearchIndexOptions, "node" | "tier" | "sliceOf"> {
  /** One OpenSearch domain per tier: {"default": "https://...", "hot": "https://..."}. */
  endpoints: Record<string, string>;
  tenants: TenantDirectory;
  /** The index function's tier: its processed topic holds that tier's events, so writes go there. */
  tier?: string;
  /**
   * The pooled/dedicated layout from each tenant's placements (layout.ts; default true). False: the
   * layout before placements (a dedicated index per tenant and slice, every tier read).
   */
  layout?: boolean;
  /** Index settings of a tier's templates over the shared ones (replicas by the domain's nodes, analysis by its plugins). */
  tierSettings?: Record<string, Partial<Pick<OpenSearchIndexOptions, "replicas" | "shards" | "poolShards" | "analysis" | "refreshInterval">>>;
}

/**
 * The index port over one domain per tier (what the Lambda functions use). The merge of several
 * readers' results below serves both tiers and the two halves (pooled, dedicated) of a range over a
 * placement change. Writes go to the function's
 * tier (or the tenant's). Reads go to the tiers holding the range: the tiers of the tenant's placements
 * overlapping it (its current tier when they name none; every tier for a tenant the directory does not
 * know, or without the layout). A tenant moved to another tier gets its new slices there while its old
 * ones stay searchable until they expire, so a search merges the tiers' results by (timestamp, id) — the
 * same sort key every domain pages by — and counts, buckets and facets add up. A tier the range does not
 * touch is not asked, so its domain being down fails no search.
 */
export interface TieredIndex extends IndexPort, SliceAdmin {
  forTier(tier: string): OpenSearchIndex;
  readonly tiers: string[];
  /** The batched lifecycle over every tier (lifecycle.ts); undefined without the layout (core's runLifecycle then). */
  layoutLifecycle?: (options: Omit<LayoutLifecycleOptions, "indices">) => Promise<LayoutLifecycleReport>;
}

export function openSearchIndexForTiers(options: TieredOptions): TieredIndex {
  const { endpoints, tenants, tier: writeTier, layout: layered = true, tierSettings, ...rest } = options;
  const layoutOf = (t: string): TenantLayout | undefined => {
    const x = tenants.byName(t);
    return x ? { placements: x.placements, retentionDays: x.retentionDays, tier: x.tier } : undefined;
  };
  const byTier = new Map<string, OpenSearchIndex>();
  const forTier = (tier: string): OpenSearchIndex => {
    let index = byTier.get(tier);
    if (!index) {
      const node = endpoints[tier];
      if (!node) throw new OpenSearchConfigError(`no OpenSearch endpoint for tier "${tier}"`);
      index = new OpenSearchIndex({ ...rest, ...tierSettings?.[tier], node, tier, sliceOf: (t) => tenants.byName(t)?.slice ?? "day", ...(layered ? { layoutOf } : {}) });
      byTier.set(tier, index);
    }
    return index;
  };
  const tierOf = (tenant: string) => tenants.byName(tenant)?.tier ?? "default";
  const all = () => Object.keys(endpoints).map(forTier);
  /**
   * The readers a read of q needs: the tiers holding the range and, on a tier where the range covers
   * both a pooled and a dedicated placement, one reader for each (the pooled one routed); their results
   * are merged below as the tiers' are.
   */
  const readers = (q: SearchQuery): OpenSearchIndex[] => {
    const layout = layered ? layoutOf(q.tenant) : undefined;
    if (!layout) return all();
    const current = tierOf(q.tenant);
    const tiers = tiersOver(layout, q.from, q.until, current).filter((t) => endpoints[t] !== undefined);
    return (tiers.length > 0 ? tiers : [current]).flatMap((tier) => {
      const index = forTier(tier);
      return layoutsOver(layout, q.from, q.until, tier, current).size > 1 ? [index.scoped("pooled"), index.scoped("dedicated")] : [index];
    });
  };

  return {
    forTier,
    tiers: Object.keys(endpoints),
    ...(layered ? { layoutLifecycle: (o: Omit<LayoutLifecycleOptions, "indices">) => runLayoutLifecycle({ ...o, indices: Object.fromEntries(Object.keys(endpoints).map((t) => [t, forTier(t)])) }) } : {}),

    write: (tenant: string, docs: string[]): Promise<IndexWriteResult[]> => forTier(writeTier ?? tierOf(tenant)).write(tenant, docs),

    writeMany: async (batches: IndexWriteBatch[]): Promise<IndexWriteResult[][]> => {
      // One stream of bulk requests per tier (the index function has one tier: one stream).
      const out: IndexWriteResult[][] = new Array<IndexWriteResult[]>(batches.length);
      const byTier = new Map<string, number[]>();
      batches.forEach((b, k) => {
        const tier = writeTier ?? tierOf(b.tenant);
        byTier.set(tier, [...(byTier.get(tier) ?? []), k]);
      });
      await Promise.all(
        [...byTier].map(async ([tier, ks]) => {
          const results = await forTier(tier).writeMany(ks.map((k) => batches[k]!));
          ks.forEach((k, j) => (out[k] = results[j]!));
        }),
      );
      return out;
    },

    search: async (q: SearchQuery, page: SearchPage): Promise<SearchResult> => {
      const indices = readers(q);
      if (indices.length === 1) return indices[0]!.search(q, page);
      // Each tier returns its first offset+size events after the cursor; the merged order decides.
      const want = (page.offset ?? 0) + page.size;
      const parts = await Promise.all(indices.map((i) => i.search(q, { order: page.order, size: want, cursor: page.cursor })));
      const sign = page.order === "asc" ? 1 : -1;
      const merged = parts.flatMap((p) => p.events).sort((a, b) => sign * (a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
      let events = merged.slice(page.offset ?? 0, want);
      let cut = false;
      if (page.maxBytes !== undefined) {
        // As each tier does: the page ends once its documents reach maxBytes (at least one event).
        let bytes = 0;
        const fit = events.findIndex((e, k) => (bytes += JSON.stringify(e).length) > page.maxBytes! && k > 0);
        if (fit > 0) {
          events = events.slice(0, fit);
          cut = true;
        }
      }
      const more = cut || merged.length > want || parts.some((p) => p.cursor !== undefined);
      const last: LogEvent | undefined = events[events.length - 1];
      return more && last ? { events, cursor: encodeCursor([last.timestamp, last.id]) } : { events };
    },

    count: async (q: SearchQuery): Promise<number> => (await Promise.all(readers(q).map((i) => i.count(q)))).reduce((a, b) => a + b, 0),

    facet: async (q: SearchQuery, field: string, size: number): Promise<FacetResult> => {
      const parts = await Promise.all(readers(q).map((i) => i.facet(q, field, size)));
      const tally = new FacetTally();
      for (const r of parts) for (const t of r.terms) tally.add(t.term, t.count);
      // Distinct values of several tiers may overlap: the biggest is a lower bound, exact when one tier has any.
      const withValues = parts.filter((r) => r.distinct > 0);
      const distinct = Math.max(0, ...parts.map((r) => r.distinct));
      return { terms: tally.top(size), sampled: parts.some((r) => r.sampled), distinct, distinctExact: withValues.length <= 1 && parts.every((r) => r.distinctExact) };
    },

    // The tiers' values added up, then the statistics computed once (percentiles cannot be combined).
    stats: async (q: SearchQuery, field: string): Promise<NumericStats> => {
      const parts = await Promise.all(readers(q).map((i) => i.numericValues(q, field)));
      const tally = new NumericTally();
      for (const p of parts) tally.merge(p.tally);
      return tally.stats(parts.every((p) => p.exact));
    },

    histogram: async (q: SearchQuery, intervalMs: number): Promise<HistogramBucket[]> => {
      const parts = await Promise.all(readers(q).map((i) => i.histogram(q, intervalMs)));
      return parts[0]!.map((b, k) => ({ time: b.time, count: parts.reduce((n, p) => n + (p[k]?.count ?? 0), 0) }));
    },

    fields: async (q: SearchQuery): Promise<string[]> => [...new Set((await Promise.all(readers(q).map((i) => i.fields(q)))).flat())].sort(),

    slices: async (tenant: string): Promise<SliceInfo[]> => (await Promise.all(all().map((i) => i.slices(tenant)))).flat().sort((a, b) => a.start - b.start),

    dropSlice: async (tenant: string, name: string): Promise<void> => {
      // The index name says its tier: "<prefix>-<tier>.<tenant>.<slice>".
      const tier = Object.keys(endpoints).find((t) => name.startsWith(`${rest.prefix ?? "logs"}-${t}.${tenant}.`));
      if (!tier) throw new OpenSearchConfigError(`${name} is not an index of tenant ${tenant} in any tier`);
      await forTier(tier).dropSlice(tenant, name);
    },

    prepareSlice: (tenant: string, at: number, length: SliceLength): Promise<void> => forTier(tierOf(tenant)).prepareSlice(tenant, at, length),

    close: async () => {
      await Promise.all([...byTier.values()].map((i) => i.close()));
    },
  };
}
