import type { Metrics } from "../ports/metrics";
import type { IndexPort } from "../ports/index";

/** The query-time metric (one name on both runtimes, as the stage metrics: see STAGE_METRICS). */
export const QUERY_METRICS = {
  querySeconds: { name: "unmeltable_query_seconds", cloudwatch: "QuerySeconds", kind: "histogram", help: "Time the index took to answer a read (search, count, facet, stats, histogram, fields), by kind and outcome (ok, error) (seconds)", labels: ["kind", "outcome"] },
} as const;

type Read = "search" | "count" | "facet" | "stats" | "histogram" | "fields";

/**
 * The index with its reads timed: each read's time goes to `unmeltable_query_seconds` by kind and
 * outcome (a failed read counts as "error", with the time it took to fail). Writes pass through untimed
 * (the stages time their batches).
 */
export function timedReads(index: IndexPort, metrics: Metrics): IndexPort {
  const M = QUERY_METRICS.querySeconds;
  const h = metrics.histogram(M.name, M.help, M.labels);
  const bound = new Map<string, { observe(value: number): void }>();
  const observe = (kind: Read, outcome: "ok" | "error", seconds: number) => {
    const key = `${kind}/${outcome}`;
    let b = bound.get(key);
    if (!b) bound.set(key, (b = h.labels({ kind, outcome })));
    b.observe(seconds);
  };
  const time =
    <A extends unknown[], R>(kind: Read, read: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        const r = await read(...args);
        observe(kind, "ok", (performance.now() - started) / 1000);
        return r;
      } catch (err) {
        observe(kind, "error", (performance.now() - started) / 1000);
        throw err;
      }
    };
  return {
    write: (tenant, docs) => index.write(tenant, docs),
    ...(index.writeMany ? { writeMany: (batches: Parameters<NonNullable<IndexPort["writeMany"]>>[0]) => index.writeMany!(batches) } : {}),
    search: time("search", (q, page) => index.search(q, page)),
    count: time("count", (q) => index.count(q)),
    facet: time("facet", (q, field, size) => index.facet(q, field, size)),
    ...(index.stats ? { stats: time("stats", (q, field) => index.stats!(q, field)) } : {}),
    histogram: time("histogram", (q, intervalMs) => index.histogram(q, intervalMs)),
    fields: time("fields", (q) => index.fields(q)),
    close: () => index.close(),
  };
}
