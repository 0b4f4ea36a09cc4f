/**
 * A modelled OpenSearch cluster on the recorded server: just enough of _bulk (create, 409 on a known
 * _id), _search (filters through simulator.ts, sort, from/size, search_after, terms and date_histogram
 * aggregations), _count, templates (applied to the indices created), routing (shards modelled), the
 * shard cap, _delete_by_query, _refresh, _cat/indices, _settings and DELETE for the index contract to run
 * end to end through HTTP without a cluster. Documents are kept as the adapter sent them (with `f`).
 * Like the simulator, it is this package's model of OpenSearch, not OpenSearch.
 */
import type { LogEvent } from "@unmeltable/core";
import type { Projection, TextAnalysis } from "@unmeltable/index-opensearch";
import { RecordedServer, type RecordedRequest, type Reply } from "./recorded-server";
import { matches, simDoc, type SimDoc } from "./simulator";

type Source = LogEvent & { f: Projection };
type Doc = SimDoc & { source: Source; shard: number };

interface ModelIndex {
  /** Documents by `<shard>/<_id>`: an `_id` is unique within a shard (with custom routing, the same _id may be on two shards). */
  docs: Map<string, Doc>;
  shards: number;
  replicas: number;
  partition: number;
  routingRequired: boolean;
  settings: Record<string, unknown>;
}

export interface ModelClusterOptions {
  analysis?: TextAnalysis;
  /** Data nodes, for the shard cap (default 1). */
  nodes?: number;
  /** cluster.max_shards_per_node (OpenSearch's default 1,000; also settable by PUT /_cluster/settings). */
  maxShardsPerNode?: number;
  /**
   * The primaries' bytes on disk `_cat/indices` reports for an index (default: its documents' JSON
   * length): a test stands a document for many events with it (the 10,000-tenant lifecycle run).
   */
  storeBytes?: (index: string, docs: number, jsonBytes: number) => number;
}

/**
 * OpenSearch's shard of a document (https://docs.opensearch.org/latest/field-types/metadata-fields/routing/,
 * index.routing_partition_size in https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/index-settings/):
 * hash(_routing) % shards, and with a routing partition (hash(_routing) + hash(_id) % partition) % shards.
 * OpenSearch hashes with Murmur3; the model with FNV-1a: the same arithmetic, other shard numbers.
 */
export function modelShard(routing: string | undefined, id: string, shards: number, partition: number): number {
  if (routing === undefined) return hash(id) % shards;
  return (hash(routing) + (partition > 1 ? hash(id) % partition : 0)) % shards;
}

/** The shards a search routed by `routing` reads: the routing value's partition. */
export function routedShards(routing: string, shards: number, partition: number): Set<number> {
  const out = new Set<number>();
  for (let k = 0; k < Math.max(1, partition); k++) out.add((hash(routing) + k) % shards);
  return out;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(s)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

const error = (status: number, type: string, reason: string): Reply => ({ status, body: { error: { root_cause: [{ type, reason }], type, reason }, status } });

export async function startModelCluster(analysisOrOptions: TextAnalysis | ModelClusterOptions = "asciifolding"): Promise<RecordedServer> {
  const o: ModelClusterOptions = typeof analysisOrOptions === "string" ? { analysis: analysisOrOptions } : analysisOrOptions;
  const analysis = o.analysis ?? "asciifolding";
  let maxShardsPerNode = o.maxShardsPerNode ?? 1000;
  const nodes = o.nodes ?? 1;
  const indices = new Map<string, ModelIndex>();
  const components = new Map<string, { template?: { settings?: Record<string, unknown>; mappings?: Record<string, unknown> } }>();
  const templates = new Map<string, { index_patterns: string[]; priority?: number; composed_of?: string[]; template?: { settings?: Record<string, unknown>; mappings?: Record<string, unknown> } }>();
  const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  const resolve = (target: string) => {
    const out = new Set<string>();
    for (const part of target.split(",")) {
      const re = glob(part);
      for (const name of indices.keys()) if (re.test(name)) out.add(name);
    }
    return [...out];
  };
  const docsOf = (target: string, routing?: string) =>
    resolve(target).flatMap((name) => {
      const index = indices.get(name)!;
      const shards = routing === undefined ? undefined : routedShards(routing, index.shards, index.partition);
      return [...index.docs.values()].filter((d) => !shards || shards.has(d.shard));
    });
  const openShards = () => [...indices.values()].reduce((n, i) => n + i.shards * (1 + i.replicas), 0);

  /**
   * Creates an index as OpenSearch does, by PUT or by a bulk into a missing index: the settings and
   * mappings of the highest-priority index template matching the name, over its components', under the
   * request's own (https://docs.opensearch.org/latest/im-plugin/index-templates/); refused past the shard
   * cap (ShardLimitValidator: max_shards_per_node × data nodes, replicas counted) with a 400
   * validation_exception.
   */
  const create = (name: string, body: { settings?: Record<string, unknown>; mappings?: Record<string, unknown> } = {}): Reply | undefined => {
    const matching = [...templates.values()].filter((t) => t.index_patterns.some((p) => glob(p).test(name))).sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
    const t = matching[0];
    const settings: Record<string, unknown> = {};
    const mappings: Record<string, unknown> = {};
    for (const c of t?.composed_of ?? []) {
      Object.assign(settings, flat(components.get(c)?.template?.settings));
      Object.assign(mappings, components.get(c)?.template?.mappings ?? {});
    }
    Object.assign(settings, flat(t?.template?.settings), flat(body.settings));
    Object.assign(mappings, t?.template?.mappings ?? {}, body.mappings ?? {});
    const shards = Number(settings.number_of_shards ?? 1);
    // index.number_of_shards is at most 1024 (https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/index-settings/).
    if (!(shards >= 1 && shards <= 1024)) return error(400, "illegal_argument_exception", `Failed to parse value [${shards}] for setting [index.number_of_shards] must be >= 1 and <= 1024`);
    const replicas = Number(settings.number_of_replicas ?? 1);
    const partition = Number(settings.routing_partition_size ?? 1);
    const routingRequired = (mappings._routing as { required?: boolean } | undefined)?.required === true;
    if (partition > 1 && partition >= shards) return error(400, "illegal_argument_exception", `partition size [${partition}] should be a positive number less than the number of shards [${shards}]`);
    if (partition > 1 && !routingRequired) return error(400, "illegal_argument_exception", "mapping type [_doc] must have routing required for partitioned index");
    const adding = shards * (1 + replicas);
    const max = maxShardsPerNode * nodes;
    if (openShards() + adding > max) {
      return error(400, "validation_exception", `Validation Failed: 1: this action would add [${adding}] total shards, but this cluster currently has [${openShards()}]/[${max}] maximum shards open;`);
    }
    indices.set(name, { docs: new Map(), shards, replicas, partition, routingRequired, settings: { ...settings, number_of_shards: shards, number_of_replicas: replicas } });
    return undefined;
  };

  const ok = (body: unknown): Reply => ({ status: 200, body });
  const server = await RecordedServer.start();
  server.on("PUT", /^\/_component_template\//, (req) => {
    components.set(req.path.slice("/_component_template/".length), req.body as never);
    return ok({ acknowledged: true });
  });
  server.on("PUT", /^\/_index_template\//, (req) => {
    templates.set(req.path.slice("/_index_template/".length), req.body as never);
    return ok({ acknowledged: true });
  });
  server.on("DELETE", /^\/_component_template\//, (req) => {
    components.delete(req.path.slice("/_component_template/".length));
    return ok({ acknowledged: true });
  });
  server.on("DELETE", /^\/_index_template\//, (req) => {
    templates.delete(req.path.slice("/_index_template/".length));
    return ok({ acknowledged: true });
  });
  server.on("PUT", "/_cluster/settings", (req) => {
    const body = req.body as { persistent?: Record<string, unknown> };
    const v = body.persistent?.["cluster.max_shards_per_node"];
    if (v !== undefined) maxShardsPerNode = Number(v);
    return ok({ acknowledged: true, persistent: body.persistent ?? {} });
  });
  server.on("POST", "/_bulk", (req) => {
    const lines = req.body as Record<string, unknown>[];
    const items = [];
    for (let k = 0; k < lines.length; k += 2) {
      const { _index, _id, routing } = (lines[k] as { create: { _index: string; _id: string; routing?: string } }).create;
      if (!indices.has(_index)) {
        const refused = create(_index);
        if (refused) {
          const e = (refused.body as { error: { type: string; reason: string } }).error;
          items.push({ create: { _index, _id, status: refused.status, error: { type: e.type, reason: e.reason } } });
          continue;
        }
      }
      const index = indices.get(_index)!;
      if (index.routingRequired && routing === undefined) {
        items.push({ create: { _index, _id, status: 400, error: { type: "routing_missing_exception", reason: `routing is required for [${_index}]/[${_id}]` } } });
        continue;
      }
      const shard = modelShard(routing, _id, index.shards, index.partition);
      const key = `${shard}/${_id}`;
      if (index.docs.has(key)) {
        items.push({ create: { _index, _id, status: 409, error: { type: "version_conflict_engine_exception", reason: `[${_id}]: version conflict, document already exists (current version [1])` } } });
        continue;
      }
      const source = lines[k + 1] as unknown as Source;
      index.docs.set(key, { ...simDoc(source, analysis), source, shard });
      items.push({ create: { _index, _id, result: "created", status: 201 } });
    }
    return ok({ took: 1, errors: items.some((i) => i.create.status !== 201), items });
  });
  server.on("POST", /\/_refresh$/, ok({ _shards: { total: 1, successful: 1, failed: 0 } }));
  // _cat/indices?format=json&bytes=b: pri.store.size modelled as the primaries' JSON bytes, store.size with the replicas.
  server.on("GET", /^\/_cat\/indices\//, (req) =>
    ok(
      resolve(req.path.slice("/_cat/indices/".length)).map((index) => {
        const i = indices.get(index)!;
        const json = [...i.docs.values()].reduce((n, d) => n + JSON.stringify(d.source).length, 0);
        const bytes = o.storeBytes ? o.storeBytes(index, i.docs.size, json) : json;
        return { index, "pri.store.size": String(bytes), "store.size": String(bytes * (1 + i.replicas)), "docs.count": String(i.docs.size) };
      }),
    ),
  );
  server.on("GET", /^\/[^_/][^/]*\/_settings$/, (req) => {
    const names = resolve(target(req));
    if (names.length === 0) return error(404, "index_not_found_exception", `no such index [${target(req)}]`);
    // OpenSearch answers settings as strings under "index".
    return ok(Object.fromEntries(names.map((n) => [n, { settings: { index: Object.fromEntries(Object.entries(indices.get(n)!.settings).map(([k, v]) => [k, String(v)])) } }])));
  });
  server.on("PUT", /^\/[^_/][^/]*$/, (req) => {
    const name = req.path.slice(1);
    if (indices.has(name)) return error(400, "resource_already_exists_exception", `index [${name}] already exists`);
    const refused = create(name, (req.body ?? {}) as never);
    return refused ?? ok({ acknowledged: true, shards_acknowledged: true, index: name });
  });
  server.on("DELETE", /^\/[^_]/, (req) => {
    for (const name of resolve(req.path.slice(1))) indices.delete(name);
    return ok({ acknowledged: true });
  });
  server.on("POST", /\/_count$/, (req) => {
    const { query } = req.body as { query: Record<string, unknown> };
    return ok({ count: docsOf(target(req), req.query.routing).filter((d) => matches(query, d, analysis)).length });
  });
  // Runs at once (the model has no tasks); answers as wait_for_completion=false does: a task id.
  server.on("POST", /\/_delete_by_query$/, (req) => {
    const { query } = req.body as { query: Record<string, unknown> };
    const routing = req.query.routing;
    let deleted = 0;
    for (const name of resolve(target(req))) {
      const index = indices.get(name)!;
      const shards = routing === undefined ? undefined : routedShards(routing, index.shards, index.partition);
      for (const [key, d] of index.docs) {
        if ((!shards || shards.has(d.shard)) && matches(query, d, analysis)) {
          index.docs.delete(key);
          deleted++;
        }
      }
    }
    return ok(req.query.wait_for_completion === "false" ? { task: `model:${deleted}` } : { deleted });
  });
  server.on("POST", /\/_search$/, (req) => ok(search(docsOf(target(req), req.query.routing), req.body as SearchBody, analysis)));
  return server;
}

/** Index settings as flat keys without "index." (number_of_shards), as OpenSearch normalises them. */
function flat(settings: Record<string, unknown> | undefined, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings ?? {})) {
    const key = `${prefix}${k}`.replace(/^index\./, "");
    if (key === "index" && typeof v === "object" && v !== null) Object.assign(out, flat(v as Record<string, unknown>));
    else if (key === "analysis") out[key] = v;
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) Object.assign(out, flat(v as Record<string, unknown>, `${key}.`));
    else out[key] = v;
  }
  return out;
}

function target(req: RecordedRequest): string {
  return req.path.slice(1, req.path.lastIndexOf("/"));
}

interface SearchBody {
  query?: Record<string, unknown>;
  sort?: { timestamp: { order: "asc" | "desc" } }[];
  size?: number;
  from?: number;
  search_after?: [number, string];
  aggs?: Record<string, { terms?: { field: string; size: number; include?: string }; date_histogram?: { fixed_interval: string; extended_bounds: { min: number; max: number } } }>;
}

function search(all: (SimDoc & { source: Source })[], body: SearchBody, analysis: TextAnalysis): unknown {
  // No query: every document (OpenSearch's default match_all).
  const hits = all.filter((d) => matches(body.query ?? { match_all: {} }, d, analysis));
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
