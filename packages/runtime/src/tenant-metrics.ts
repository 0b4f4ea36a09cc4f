import type client from "prom-client";
import { addUsageSums, UsageSummer, type UsageSums } from "@unmeltable/core";

/** Tenants that get their own `tenant` label value by default; the rest are summed as tenant="_other". */
export const DEFAULT_TENANT_LABELS = 50;
/** The label value of every tenant outside the labelled set: no tenant can be named so (names start with a letter or digit). */
export const OTHER_TENANT = "_other";
/** Upper bounds (seconds) of the ingest → searchable lag histogram's buckets. */
export const LAG_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600];
/**
 * A tenant outside the labelled set takes the place of the smallest labelled one only once its volume is
 * this many times the other's: ranks that differ by little do not swap labels at every scrape.
 */
const SWAP_MARGIN = 1.25;

interface Totals extends UsageSums {
  /** Counts per LAG_BUCKETS_S bucket (not cumulative), the last one past the largest bound (+Inf). */
  lag: number[];
  lagSum: number;
  lagCount: number;
}

const newTotals = (): Totals => ({ events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0, lag: new Array<number>(LAG_BUCKETS_S.length + 1).fill(0), lagSum: 0, lagCount: 0 });

function add(into: Totals, t: Totals): void {
  addUsageSums(into, t);
  for (let i = 0; i < into.lag.length; i++) into.lag[i]! += t.lag[i]!;
  into.lagSum += t.lagSum;
  into.lagCount += t.lagCount;
}

const volume = (t: Totals) => t.bytes + t.indexedBytes;

/**
 * Per-tenant metrics on one machine, as Prometheus labels whose number is bounded: thousands of tenants
 * must not make thousands of series per metric (each series costs the Prometheus server memory, and
 * the exposition grows with them).
 *
 * Counts are kept exactly per tenant in memory (a few numbers per tenant seen since the start); at each
 * scrape the `maxTenants` tenants with the most volume (bytes received + bytes indexed since the start)
 * are exposed with their own `tenant` label, and all the others summed as tenant="_other". The set is
 * sticky: an outside tenant displaces the smallest labelled one only once it has SWAP_MARGIN times its
 * volume. A tenant's own series count everything since the start whenever it is shown; when a tenant
 * moves into the set its counts leave "_other", which Prometheus reads as a counter reset of "_other" (rare
 * by the margin, and `sum without (tenant)` stays exact).
 *
 * So each metric has at most maxTenants + 1 series (the lag histogram (maxTenants + 1) × 15: 13 buckets, sum, count).
 */
export class TenantMetrics extends UsageSummer<Totals> {
  private readonly totals = new Map<string, Totals>();
  private readonly labelled = new Set<string>();
  private readonly maxTenants: number;

  constructor(registry: client.Registry, options: { maxTenants?: number } = {}) {
    super();
    this.maxTenants = Math.max(0, options.maxTenants ?? DEFAULT_TENANT_LABELS);
    const counters: [string, string, (t: Totals) => number][] = [
      ["unmeltable_tenant_ingested_events_total", "Events accepted by the collector, per tenant (top tenants by volume, the rest as tenant=\"_other\")", (t) => t.events],
      ["unmeltable_tenant_ingested_bytes_total", "Raw bytes of the events accepted by the collector, per tenant", (t) => t.bytes],
      ["unmeltable_tenant_indexed_events_total", "Events stored in the index for the first time, per tenant", (t) => t.indexed],
      ["unmeltable_tenant_indexed_bytes_total", "Bytes of the event documents stored in the index, per tenant", (t) => t.indexedBytes],
      ["unmeltable_tenant_dead_letters_total", "A tenant's events that went to the dead letters (any stage)", (t) => t.deadLettered],
      ["unmeltable_tenant_dead_letter_bytes_total", "Bytes (as received) of a tenant's events that went to the dead letters", (t) => t.deadLetteredBytes],
    ];
    for (const [name, help, value] of counters) {
      registry.registerMetric(
        this.metric(name, help, "counter", (groups) => groups.map(([tenant, t]) => ({ labels: { tenant }, value: value(t) }))),
      );
    }
    registry.registerMetric(
      this.metric("unmeltable_tenant_searchable_lag_seconds", "Ingest → searchable lag per tenant: from the collector's receive time to the event stored in the index (first writes only)", "histogram", (groups) =>
        groups.flatMap(([tenant, t]) => {
          const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
          let cumulative = 0;
          LAG_BUCKETS_S.forEach((le, i) => {
            cumulative += t.lag[i]!;
            values.push({ metricName: "unmeltable_tenant_searchable_lag_seconds_bucket", labels: { tenant, le }, value: cumulative });
          });
          values.push({ metricName: "unmeltable_tenant_searchable_lag_seconds_bucket", labels: { tenant, le: "+Inf" }, value: t.lagCount });
          values.push({ metricName: "unmeltable_tenant_searchable_lag_seconds_sum", labels: { tenant }, value: t.lagSum });
          values.push({ metricName: "unmeltable_tenant_searchable_lag_seconds_count", labels: { tenant }, value: t.lagCount });
          return values;
        }),
      ),
    );
    registry.registerMetric(this.metric("unmeltable_tenants_seen", "Tenants counted since the start (those beyond the labelled ones are summed as tenant=\"_other\")", "gauge", () => [{ labels: {}, value: this.totals.size }]));
  }

  private metric(name: string, help: string, type: "counter" | "gauge" | "histogram", values: (groups: [string, Totals][]) => { labels: Record<string, string | number>; value: number; metricName?: string }[]) {
    // prom-client takes any object with this shape (registerMetric); values are computed at each scrape.
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get: () => Promise.resolve({ name, help, type, aggregator: "sum", values: values(this.groups()) }),
      reset: () => undefined,
    } as unknown as client.Metric;
  }

  protected sumsOf(tenant: string): Totals {
    let t = this.totals.get(tenant);
    if (!t) this.totals.set(tenant, (t = newTotals()));
    return t;
  }

  protected override lags(t: Totals, lagsMs: readonly number[]): void {
    for (const ms of lagsMs) {
      const s = ms / 1000;
      let i = 0;
      while (i < LAG_BUCKETS_S.length && s > LAG_BUCKETS_S[i]!) i++;
      t.lag[i]!++;
      t.lagSum += s;
      t.lagCount++;
    }
  }


  /** The tenants labelled now (after this scrape's ranking). */
  labelledTenants(): string[] {
    this.rank();
    return [...this.labelled];
  }

  /** Updates the labelled set: fills it with the largest tenants, then swaps in outsiders past the margin. */
  private rank(): void {
    for (const name of this.labelled) if (!this.totals.has(name)) this.labelled.delete(name);
    const outside = [...this.totals].filter(([name]) => !this.labelled.has(name)).sort((a, b) => volume(b[1]) - volume(a[1]));
    let next = 0;
    while (this.labelled.size < this.maxTenants && next < outside.length) this.labelled.add(outside[next++]![0]);
    if (next >= outside.length || this.labelled.size === 0) return;
    const inside = [...this.labelled].map((name) => [name, this.totals.get(name)!] as [string, Totals]).sort((a, b) => volume(a[1]) - volume(b[1]));
    // Largest outsider against the smallest insider, while the outsider is clearly bigger.
    for (let k = 0; k < inside.length && next < outside.length; k++, next++) {
      const [inName, inTotals] = inside[k]!;
      const [outName, outTotals] = outside[next]!;
      if (volume(outTotals) <= volume(inTotals) * SWAP_MARGIN || volume(outTotals) === 0) break;
      this.labelled.delete(inName);
      this.labelled.add(outName);
    }
  }

  /** The series of a scrape: each labelled tenant, then "_other" (all the rest) when there is any. */
  private groups(): [string, Totals][] {
    this.rank();
    const out: [string, Totals][] = [];
    const other = newTotals();
    let others = 0;
    for (const [name, t] of this.totals) {
      if (this.labelled.has(name)) out.push([name, t]);
      else {
        add(other, t);
        others++;
      }
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    if (others > 0) out.push([OTHER_TENANT, other]);
    return out;
  }
}
