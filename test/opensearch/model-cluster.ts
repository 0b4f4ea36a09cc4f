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
type Doc = SimDoc & { source: Source; shard: number; visible: boolean };

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
  const controls = newControls(() => {
    for (const index of indices.values()) for (const d of index.docs.values()) d.visible = true;
  });
  const resolve = (target: string) => {
    const out = new Set<string>();
    for (const part of target.split(",")) {
      const re = glob(part);
      for (const name of indices.keys()) if (re.test(name)) out.add(name);
    }
    return [...out];
  };
  // Searches see refreshed documents only (refresh visibility, below).
  const docsOf = (target: string, routing?: string) =>
    resolve(target).flatMap((name) => {
      const index = indices.get(name)!;
      const shards = routing === undefined ? undefined : routedShards(routing, index.shards, index.partition);
      return [...index.docs.values()].filter((d) => d.visible && (!shards || shards.has(d.shard)));
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
    const rejected = bulkRejection(controls);
    if (rejected) return rejected;
    const lines = req.body as Record<string, unknown>[];
    const items: { create: { status: number } & Record<string, unknown> }[] = [];
    for (let k = 0; k < lines.length; k += 2) {
      const { _index, _id, routing } = (lines[k] as { create: { _index: string; _id: string; routing?: string } }).create;
      const itemRejected = itemRejection(controls, _index, _id);
      if (itemRejected) {
        items.push(itemRejected);
        continue;
      }
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
      index.docs.set(key, { ...simDoc(source, analysis), source, shard, visible: !controls.refreshVisibility });
      items.push({ create: { _index, _id, result: "created", status: 201 } });
    }
    return ok({ took: 1, errors: items.some((i) => i.create.status !== 201), items });
  });
  server.on("POST", /\/_refresh$/, (req) => {
    for (const name of resolve(target(req))) for (const d of indices.get(name)!.docs.values()) d.visible = true;
    return ok({ _shards: { total: 1, successful: 1, failed: 0 } });
  });
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
  server.on("POST", /\/_search$/, (req) => {
    const body = req.body as SearchBody;
    const refused = resultWindowRefusal(controls, target(req), body);
    if (refused) return refused;
    return searchFaults(controls, target(req), search(docsOf(target(req), req.query.routing), body, analysis));
  });
  CONTROLS.set(server, controls);
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
  track_total_hits?: boolean | number;
  aggs?: Aggs;
}

type Aggs = Record<
  string,
  {
    terms?: { field: string; size: number; include?: string };
    date_histogram?: { fixed_interval: string; extended_bounds: { min: number; max: number } };
    sampler?: { shard_size?: number };
    aggs?: Aggs;
  }
>;

function search(all: (SimDoc & { source: Source })[], body: SearchBody, analysis: TextAnalysis): Record<string, unknown> {
  // No query: every document (OpenSearch's default match_all).
  const hits = all.filter((d) => matches(body.query ?? { match_all: {} }, d, analysis));
  const sign = body.sort?.[0]?.timestamp.order === "asc" ? 1 : -1;
  const key = (d: SimDoc): [number, string] => [d.event.timestamp, d.event.id];
  const compare = (a: [number, string], b: [number, string]) => sign * (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  hits.sort((a, b) => compare(key(a), key(b)));
  const after = body.search_after;
  const page = (after ? hits.filter((d) => compare(key(d), after) > 0) : hits).slice(body.from ?? 0, (body.from ?? 0) + (body.size ?? 10));
  return {
    took: 1,
    timed_out: false,
    _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    hits: {
      ...(body.track_total_hits === true ? { total: { value: hits.length, relation: "eq" } } : {}),
      hits: page.map((d) => ({ _index: "model", _id: d.event.id, _score: null, _source: withoutF(d.source), sort: key(d) })),
    },
    aggregations: aggregate(hits, body.aggs ?? {}),
  };
}

/** terms, date_histogram and sampler (the model is one shard: the sample is its first shard_size matching documents). */
function aggregate(hits: SimDoc[], aggs: Aggs): Record<string, unknown> {
  const aggregations: Record<string, unknown> = {};
  for (const [name, agg] of Object.entries(aggs)) {
    if (agg.sampler) {
      // https://docs.opensearch.org/latest/aggregations/bucket/sampler/ : shard_size documents per shard (default 100).
      const sample = hits.slice(0, agg.sampler.shard_size ?? 100);
      aggregations[name] = { doc_count: sample.length, ...aggregate(sample, agg.aggs ?? {}) };
    } else if (agg.terms) {
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
  return aggregations;
}

function withoutF(source: Source): LogEvent {
  const { f: _f, ...event } = source;
  return event;
}

// ---- What real OpenSearch does that the model above skips unless asked (issue 13): refresh visibility,
// ---- index.max_result_window, 429s, partial shard failures, timed-out and slow searches.

/** Switches and counters of a model cluster's real-cluster behaviour; modelControls(server) gives them. */
export interface ModelControls {
  /**
   * Refresh visibility: a written document is searchable only after a refresh — `POST <index>/_refresh`
   * or the index's refresh_interval elapsing (`tick()`) — while a repeated `_id` is refused at once (the
   * realtime get). https://docs.opensearch.org/latest/api-reference/index-apis/refresh/ . Off by default
   * (documents visible at once, as if a refresh ran before every search) for tests that do not refresh.
   */
  refreshVisibility: boolean;
  /** The refresh_interval elapsing: every written document becomes visible. */
  tick(): void;
  /** index.max_result_window (https://docs.opensearch.org/latest/search-plugins/searching-data/paginate/): from + size beyond it answers 400. */
  maxResultWindow: number;
  /** Whole bulk requests answered 429 rejected_execution_exception (indexing pressure) from now on, counted down; Infinity = sustained. */
  bulkRejections: number;
  /** Bulk items answered 429 es_rejected_execution_exception (the write queue full), counted down; Infinity = sustained. */
  itemRejections: number;
  /** Searches answered with a failed shard (`_shards.failed` 1 of 2, `failures`), counted down. */
  shardFailures: number;
  /** Searches answered `timed_out: true` (the body timeout hit: partial hits), counted down. */
  timeouts: number;
  /** Searches answered only after this long (a slow cluster); a client giving up first shows in the server's `abandoned`. */
  searchDelayMs: number;
  /** Requests refused by the injected faults above. */
  readonly refused: { bulk: number; items: number; shards: number; timeouts: number };
}

const CONTROLS = new WeakMap<RecordedServer, ModelControls>();

export function modelControls(server: RecordedServer): ModelControls {
  const c = CONTROLS.get(server);
  if (!c) throw new Error("not a model cluster");
  return c;
}

function newControls(tick: () => void): ModelControls {
  return { refreshVisibility: false, tick, maxResultWindow: 10_000, bulkRejections: 0, itemRejections: 0, shardFailures: 0, timeouts: 0, searchDelayMs: 0, refused: { bulk: 0, items: 0, shards: 0, timeouts: 0 } };
}

/** A whole bulk refused by indexing pressure: the body of test/fixtures/opensearch/bulk-request-429.json. */
function bulkRejection(c: ModelControls): Reply | undefined {
  if (c.bulkRejections <= 0) return undefined;
  c.bulkRejections--;
  c.refused.bulk++;
  const reason = "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=54215758, max_coordinating_and_primary_bytes=53687091]";
  return { status: 429, body: { error: { root_cause: [{ type: "rejected_execution_exception", reason }], type: "rejected_execution_exception", reason }, status: 429 } };
}

/** One item refused by a full write thread pool queue (the item shape of the bulk API's errors: https://docs.opensearch.org/latest/api-reference/document-apis/bulk/). */
function itemRejection(c: ModelControls, _index: string, _id: string): { create: { status: number } & Record<string, unknown> } | undefined {
  if (c.itemRejections <= 0) return undefined;
  c.itemRejections--;
  c.refused.items++;
  const reason = "rejected execution of processing of [1][indices:data/write/bulk[s][p]]: request: BulkShardRequest, target allocation id: x, primary term: 1 on EsThreadPoolExecutor[name = node-1/write, queue capacity = 10000, task = ...]";
  return { create: { _index, _id, status: 429, error: { type: "es_rejected_execution_exception", reason } } };
}

/** 400 past index.max_result_window: the body of test/fixtures/opensearch/search-result-window.json (from + size, search_after or not). */
function resultWindowRefusal(c: ModelControls, index: string, body: SearchBody): Reply | undefined {
  const reach = (body.from ?? 0) + (body.size ?? 10);
  if (reach <= c.maxResultWindow) return undefined;
  const reason = `Result window is too large, from + size must be less than or equal to: [${c.maxResultWindow}] but was [${reach}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`;
  return {
    status: 400,
    body: {
      error: { root_cause: [{ type: "illegal_argument_exception", reason }], type: "search_phase_execution_exception", reason: "all shards failed", phase: "query", grouped: true, failed_shards: [{ shard: 0, index, node: "model", reason: { type: "illegal_argument_exception", reason } }] },
      status: 400,
    },
  };
}

/**
 * A search answered in part: a shard that failed (`_shards.failed`, `failures`: the response body of
 * https://docs.opensearch.org/latest/api-reference/search-apis/search/ with allow_partial_search_results
 * true, the default) or `timed_out: true` (the body `timeout` reached: each shard returns what it had
 * collected); and a slow answer.
 */
function searchFaults(c: ModelControls, index: string, result: Record<string, unknown>): Reply {
  const delay = c.searchDelayMs > 0 ? { delayMs: c.searchDelayMs } : {};
  const hits = result.hits as { hits: unknown[] };
  if (c.shardFailures > 0) {
    c.shardFailures--;
    c.refused.shards++;
    const failures = [{ shard: 1, index, node: "model-2", reason: { type: "node_not_connected_exception", reason: "[model-2][127.0.0.1:9300] Node not connected" } }];
    return { status: 200, ...delay, body: { ...result, _shards: { total: 2, successful: 1, skipped: 0, failed: 1, failures }, hits: { ...hits, hits: hits.hits.slice(0, Math.ceil(hits.hits.length / 2)) } } };
  }
  if (c.timeouts > 0) {
    c.timeouts--;
    c.refused.timeouts++;
    return { status: 200, ...delay, body: { ...result, timed_out: true, hits: { ...hits, hits: hits.hits.slice(0, Math.ceil(hits.hits.length / 2)) } } };
  }
  return { status: 200, ...delay, body: result };
}
