/**
 * A modelled OpenSearch cluster on the recorded server: just enough of _bulk (create, 409 on a known
 * _id), _search (filters through simulator.ts, sort, from/size, search_after, terms and date_histogram
 * aggregations), _count, templates, _refresh, _cat/indices and DELETE for the index contract to run
 * end to end through HTTP without a cluster. Documents are kept as the adapter sent them (with `f`).
 * Like the simulator, it is this package's model of OpenSearch, not OpenSearch.
 */
import type { LogEvent } from "@unmeltable/core";
import type { Projection, TextAnalysis } from "@unmeltable/index-opensearch";
import { RecordedServer, type RecordedRequest, type Reply } from "./recorded-server";
import { matches, simDoc, type SimDoc } from "./simulator";

type Source = LogEvent & { f: Projection };

export async function startModelCluster(analysis: TextAnalysis = "asciifolding"): Promise<RecordedServer> {
  const indices = new Map<string, Map<string, SimDoc & { source: Source }>>();
  const resolve = (target: string) => {
    const out = new Set<string>();
    for (const part of target.split(",")) {
      const re = new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
      for (const name of indices.keys()) if (re.test(name)) out.add(name);
    }
    return [...out];
  };
  const docsOf = (target: string) => resolve(target).flatMap((name) => [...indices.get(name)!.values()]);
  const ok = (body: unknown): Reply => ({ status: 200, body });
  const server = await RecordedServer.start();
  server.on("PUT", /^\/_(component|index)_template\//, ok({ acknowledged: true }));
  server.on("DELETE", /^\/_(component|index)_template\//, ok({ acknowledged: true }));
  server.on("POST", "/_bulk", (req) => {
    const lines = req.body as Record<string, unknown>[];
    const items = [];
    for (let k = 0; k < lines.length; k += 2) {
      const { _index, _id } = (lines[k] as { create: { _index: string; _id: string } }).create;
      let index = indices.get(_index);
      if (!index) indices.set(_index, (index = new Map()));
      if (index.has(_id)) {
        items.push({ create: { _index, _id, status: 409, error: { type: "version_conflict_engine_exception", reason: `[${_id}]: version conflict, document already exists (current version [1])` } } });
        continue;
      }
      const source = lines[k + 1] as unknown as Source;
      index.set(_id, { ...simDoc(source, analysis), source });
      items.push({ create: { _index, _id, result: "created", status: 201 } });
    }
    return ok({ took: 1, errors: items.some((i) => i.create.status !== 201), items });
  });
  server.on("POST", /\/_refresh$/, ok({ _shards: { total: 1, successful: 1, failed: 0 } }));
  server.on("GET", /^\/_cat\/indices\//, (req) => ok(resolve(req.path.slice("/_cat/indices/".length)).map((index) => ({ index }))));
  server.on("PUT", /^\/[^_/][^/]*$/, (req) => {
    const name = req.path.slice(1);
    if (indices.has(name)) return { status: 400, body: { error: { type: "resource_already_exists_exception", reason: `index [${name}] already exists` }, status: 400 } };
    indices.set(name, new Map());
    return ok({ acknowledged: true, shards_acknowledged: true, index: name });
  });
  server.on("DELETE", /^\/[^_]/, (req) => {
    for (const name of resolve(req.path.slice(1))) indices.delete(name);
    return ok({ acknowledged: true });
  });
  server.on("POST", /\/_count$/, (req) => {
    const { query } = req.body as { query: Record<string, unknown> };
    return ok({ count: docsOf(target(req)).filter((d) => matches(query, d, analysis)).length });
  });
  server.on("POST", /\/_search$/, (req) => ok(search(docsOf(target(req)), req.body as SearchBody, analysis)));
  return server;
}

function target(req: RecordedRequest): string {
  return req.path.slice(1, req.path.lastIndexOf("/"));
}

interface SearchBody {
  query: Record<string, unknown>;
  sort?: { timestamp: { order: "asc" | "desc" } }[];
  size?: number;
  from?: number;
  search_after?: [number, string];
  aggs?: Record<string, { terms?: { field: string; size: number; include?: string }; date_histogram?: { fixed_interval: string; extended_bounds: { min: number; max: number } } }>;
}

function search(all: (SimDoc & { source: Source })[], body: SearchBody, analysis: TextAnalysis): unknown {
  const hits = all.filter((d) => matches(body.query, d, analysis));
  const sign = body.sort?.[0]?.timestamp.order === "asc" ? 1 : -1;
  const key = (d: SimDoc): [number, string] => [d.event.timestamp, d.event.id];
  const compare = (a: [number, string], b: [number, string]) => sign * (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  hits.sort((a, b) => compare(key(a), key(b)));
  const after = body.search_after;
  const page = (after ? hits.filter((d) => compare(key(d), after) > 0) : hits).slice(body.from ?? 0, (body.from ?? 0) + (body.size ?? 10));
  const aggregations: Record<string, unknown> = {};
  for (const [name, agg] of Object.entries(body.aggs ?? {})) {
    if (agg.terms) {
      const counts = new Map<string | number, number>();
      const include = agg.terms.include ? new RegExp(`^(?:${agg.terms.include})$`) : undefined;
      for (const d of hits) {
        const values: (string | number)[] = agg.terms.field === "timestamp" ? [d.event.timestamp] : (d.keywords[agg.terms.field] ?? []);
        for (const v of new Set(values)) if (!include || include.test(String(v))) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      const buckets = [...counts].map(([k, doc_count]) => ({ key: k, doc_count })).sort((a, b) => b.doc_count - a.doc_count || (a.key < b.key ? -1 : 1));
      const kept = buckets.slice(0, agg.terms.size);
      // As OpenSearch: the documents of the keys left out (0 when every key is listed).
      const sumOther = buckets.slice(agg.terms.size).reduce((n, b) => n + b.doc_count, 0);
      aggregations[name] = { doc_count_error_upper_bound: 0, sum_other_doc_count: sumOther, buckets: kept };
    } else if (agg.date_histogram) {
      const interval = Number.parseInt(agg.date_histogram.fixed_interval, 10);
      const { min, max } = agg.date_histogram.extended_bounds;
      const buckets = [];
      for (let t = Math.floor(min / interval) * interval; t <= max; t += interval) buckets.push({ key: t, doc_count: hits.filter((d) => Math.floor(d.event.timestamp / interval) * interval === t).length });
      aggregations[name] = { buckets };
    }
  }
  return {
    took: 1,
    timed_out: false,
    hits: { hits: page.map((d) => ({ _index: "model", _id: d.event.id, _score: null, _source: withoutF(d.source), sort: key(d) })) },
    aggregations,
  };
}

function withoutF(source: Source): LogEvent {
  const { f: _f, ...event } = source;
  return event;
}
