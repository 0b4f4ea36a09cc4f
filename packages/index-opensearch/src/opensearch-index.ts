import { Client, errors } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws-v3";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { currentDeadline, FacetTally, NumericTally, IndexBusyError, IndexUnavailableError, InvalidCursorError, MAX_FIELD_NAMES, MAX_HISTOGRAM_BUCKETS, MAX_RESULT_WINDOW, QueryBudgetError, ResultWindowError, validateTenantName, type FacetResult, type HistogramBucket, type IndexPort, type IndexWriteResult, type LogEvent, type NumericStats, type SearchPage, type SearchQuery, type SearchResult, type SliceInfo } from "@unmeltable/core";
import { compileDsl, facetAggregation, numericAggregation, type TextAnalysis } from "./dsl";
import { excerpt, OpenSearchConfigError, OpenSearchRequestError, OpenSearchUnavailableError } from "./errors";
import { atReceiveTime, locate, misplacedTimestamp, readPlan, receivedOrOwnTime, retentionAt, retentionFloor, type TenantLayout } from "./layout";
import { componentTemplate, componentTemplateName, indexTemplate, indexTemplateName, poolIndexSettings, poolTemplate, poolTemplateName, type TemplateOptions } from "./mapping";
import { project } from "./projection";
import { IndexNames, SLICE_MS, type SliceLength } from "./slices";

export interface OpenSearchIndexOptions {
  /** The cluster or domain endpoint, e.g. https://search-logs-xyz.eu-west-1.es.amazonaws.com; basic auth may be in it. */
  node: string;
  /** Sign requests with SigV4 for Amazon OpenSearch Service (credentials from the default AWS chain). */
  region?: string;
  /** SigV4 service name: "es" (managed domains, the default) or "aoss" (Serverless). */
  service?: "es" | "aoss";
  auth?: { username: string; password: string };
  /** Accept a self-signed certificate (a local cluster); never in production. */
  insecure?: boolean;
  /** The tier this domain serves; part of every index name (default "default"). */
  tier?: string;
  /** First part of every index name (default "logs"). */
  prefix?: string;
  /** A tenant's slice length (a tenant setting; default day), when there is no `layoutOf`. */
  sliceOf?: (tenant: string) => SliceLength;
  /**
   * The pooled/dedicated layout (layout.ts): a tenant's placements and retention (undefined: an unknown
   * tenant, pooled with `defaultRetentionDays`). Without it, every tenant has dedicated indices of its
   * `sliceOf` length, and reads look at every slice length (the layout before placements).
   */
  layoutOf?: (tenant: string) => TenantLayout | undefined;
  defaultRetentionDays?: number;
  /** Primaries of a pooled index the lifecycle did not create ahead (it sizes them from the day before; default 1). */
  poolShards?: number;
  /** `_delete_by_query` throttle when a tenant leaves (documents per second; default 1000). */
  deleteRequestsPerSecond?: number;
  /** Index settings of the tier's template. */
  refreshInterval?: string;
  shards?: number;
  replicas?: number;
  templatePriority?: number;
  /** How free text is analyzed: "icu" needs the analysis-icu plugin and is exact (see dsl.ts). */
  analysis?: TextAnalysis;
  /** Put the templates before the first write (default true; false when they are managed elsewhere). */
  manageTemplates?: boolean;
  /** Bulk request limits: bytes of the body (5–15 MB is OpenSearch's advice; some AWS instance types cap requests at 10 MiB) and operations. */
  maxBulkBytes?: number;
  maxBulkOps?: number;
  /**
   * Sending a bulk again after 429s, 5xx and unreachable clusters: capped exponential backoff with jitter
   * from retryBaseMs (default 200 ms) up to retryCapMs (default 30 s) per wait, for at most retryBudgetMs
   * (default 5 min) and never past the invocation's deadline (core's withDeadline), and at most
   * maxAttempts sends (default: as many as the time allows). What is still failing then is handed back
   * as "retry" — transient failures never become "rejected" (dead letters).
   */
  maxAttempts?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  retryBudgetMs?: number;
  /** Time and waiting, replaceable in tests (the retry budget is minutes). */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
  requestTimeoutMs?: number;
  /**
   * How long a search, count or aggregation may take (default 20 s), less when the caller's deadline
   * (core's withDeadline: the search function's remaining time) is nearer: the cluster is told to stop
   * (a body `timeout`, `cancel_after_time_interval`) and the client gives up and closes the connection
   * at that time, whichever comes first.
   */
  searchTimeoutMs?: number;
  /** The indices' index.max_result_window (OpenSearch's default and core's MAX_RESULT_WINDOW: 10,000). */
  maxResultWindow?: number;
  /** Matching documents per shard a facet counts at most (a sampler; default 100,000, the embedded index's sample). */
  facetSampleSize?: number;
  /** Top field names fields() returns at most (and never more than MAX_FIELD_NAMES + 1). */
  maxFields?: number;
}

interface Op {
  i: number;
  /** The bulk action line and the document line, each ending in "\n". */
  lines: string;
  bytes: number;
  error?: string;
}

interface Hit {
  _source: LogEvent & { f?: unknown };
  sort: [number, string];
}

type BulkItem = Record<string, { status: number; error?: { type?: string; reason?: string } }>;

/** Events of one tenant are written to and read from the indices of that tenant only (slices.ts). */
export class OpenSearchIndex implements IndexPort {
  readonly client: Client;
  readonly names: IndexNames;
  private readonly sliceOf: (tenant: string) => SliceLength;
  private readonly analysis: TextAnalysis;
  private templates: Promise<void> | undefined;
  /** Whether the layout (placements) is on; else the dedicated-only layout of before. */
  readonly layered: boolean;
  /** Reads only this layout's indices (a `scoped` view). */
  private scope: "pooled" | "dedicated" | undefined;

  constructor(private readonly options: OpenSearchIndexOptions) {
    this.names = new IndexNames(options.prefix ?? "logs", options.tier ?? "default");
    this.sliceOf = options.sliceOf ?? (() => "day");
    this.analysis = options.analysis ?? "asciifolding";
    this.layered = options.layoutOf !== undefined;
    const signer = options.region
      ? AwsSigv4Signer({ region: options.region, service: options.service ?? "es", getCredentials: () => defaultProvider()() })
      : {};
    this.client = new Client({
      node: options.node,
      ...signer,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.insecure ? { ssl: { rejectUnauthorized: false } } : {}),
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // One endpoint (a domain is one load-balanced name): marking it dead only adds HEAD pings.
      resurrectStrategy: "none",
    });
    if (options.manageTemplates === false) this.templates = Promise.resolve();
  }

  private templateOptions(): TemplateOptions {
    return {
      names: this.names,
      analysis: this.analysis,
      refreshInterval: this.options.refreshInterval ?? "30s",
      shards: this.options.shards ?? 1,
      poolShards: this.options.poolShards ?? 1,
      replicas: this.options.replicas,
      priority: this.options.templatePriority ?? 200,
    };
  }

  /** Puts the component template and this tier's index templates (idempotent: PUT replaces). */
  async ensureTemplates(): Promise<void> {
    const o = this.templateOptions();
    await this.request("PUT", `/_component_template/${componentTemplateName(this.names)}`, { body: componentTemplate(o) });
    await this.request("PUT", `/_index_template/${indexTemplateName(this.names)}`, { body: indexTemplate(o) });
    if (this.layered) await this.request("PUT", `/_index_template/${poolTemplateName(this.names)}`, { body: poolTemplate(o) });
  }

  /**
   * This index reading only the tenants' pooled or only their dedicated indices: a range over a change
   * is read as two searches, the pooled one routed (tiers.ts merges them as it merges tiers).
   */
  scoped(scope: "pooled" | "dedicated"): OpenSearchIndex {
    const view = Object.create(this) as OpenSearchIndex;
    view.scope = scope;
    return view;
  }

  /** The layout of a tenant (layoutOf, or pooled with the default retention for a tenant it does not know). */
  layoutFor(tenant: string): TenantLayout {
    return this.options.layoutOf?.(tenant) ?? { retentionDays: this.options.defaultRetentionDays ?? 30 };
  }

  private templatesOnce(): Promise<void> {
    this.templates ??= this.ensureTemplates().catch((err: unknown) => {
      this.templates = undefined; // try again with the next write
      throw err;
    });
    return this.templates;
  }

  async write(tenant: string, docs: string[]): Promise<IndexWriteResult[]> {
    checkTenant(tenant);
    return (await this.writeMany([{ tenant, docs }]))[0]!;
  }

  /**
   * The documents of several tenants in one stream of bulk requests (chunked by maxBulkBytes): the index
   * stage's batch holds hundreds of tenants, and a bulk per tenant in sequence costs a round trip each.
   * One result list per batch, in order. A tenant name that cannot be part of an index name has its
   * documents rejected (the other tenants' are written).
   */
  async writeMany(batches: { tenant: string; docs: string[] }[]): Promise<IndexWriteResult[][]> {
    const flat: IndexWriteResult[] = new Array<IndexWriteResult>(batches.reduce((n, b) => n + b.docs.length, 0));
    const ops: Op[] = [];
    // OpenSearch finds a repeated id only within one index and one request order: a repeat in the
    // batch is answered from its first occurrence instead.
    const firstOf = new Map<string, number>();
    const repeats: [number, number][] = [];
    let i = 0;
    for (const { tenant, docs } of batches) {
      const invalid = validateTenantName(tenant);
      if (invalid) {
        for (const _ of docs) flat[i++] = { status: "rejected", error: `invalid tenant "${tenant}": ${invalid}` };
        continue;
      }
      const layout = this.layered ? this.layoutFor(tenant) : undefined;
      const length = this.sliceOf(tenant);
      for (const doc of docs) {
        const at = i++;
        // With the layout, an id must fit in `_id` as "<tenant>/<id>" (pooled), whatever the placement now.
        let parsed = parseEvent(doc, tenant, layout ? Buffer.byteLength(tenant) + 1 : 0);
        if (typeof parsed === "string") {
          flat[at] = { status: "rejected", error: parsed };
          continue;
        }
        const key = `${tenant}/${parsed.id}`;
        const first = firstOf.get(key);
        if (first !== undefined) {
          repeats.push([at, first]);
          continue;
        }
        firstOf.set(key, at);
        let meta: { _index: string; _id: string; routing?: string };
        if (layout) {
          if (misplacedTimestamp(parsed, retentionAt(layout, receivedOrOwnTime(parsed)))) parsed = atReceiveTime(parsed);
          const loc = locate(this.names, tenant, parsed.id, parsed.timestamp, layout);
          meta = { _index: loc.index, _id: loc.id, ...(loc.routing !== undefined ? { routing: loc.routing } : {}) };
        } else {
          meta = { _index: this.names.indexFor(tenant, parsed.timestamp, length), _id: parsed.id };
        }
        const action = JSON.stringify({ create: meta });
        // The tenant is the caller's; f is the search projection (projection.ts), excluded from _source.
        const lines = `${action}\n${JSON.stringify({ ...parsed, tenant, f: project(parsed) })}\n`;
        ops.push({ i: at, lines, bytes: Buffer.byteLength(lines) });
      }
    }
    if (ops.length > 0) {
      await this.templatesOnce();
      await this.sendWithRetries(ops, flat);
    }
    for (const [k, first] of repeats) {
      const r = flat[first]!;
      flat[k] = r.status === "created" || r.status === "exists" ? { status: "exists" } : r;
    }
    const out: IndexWriteResult[][] = [];
    let k = 0;
    for (const { docs } of batches) {
      out.push(flat.slice(k, k + docs.length));
      k += docs.length;
    }
    return out;
  }

  /**
   * Rounds of bulk requests: each round re-sends only the operations that failed transiently, after a
   * capped exponential wait with jitter. A sustained 429 (the cluster shedding load) is waited out for
   * minutes, not seconds: the rounds go on while the next wait still ends within the retry budget and
   * the invocation's deadline. What still fails is handed back as "retry" (the stage delivers it again).
   */
  private async sendWithRetries(ops: Op[], results: IndexWriteResult[]): Promise<void> {
    const clock = this.options.clock ?? SYSTEM_CLOCK;
    const maxAttempts = this.options.maxAttempts ?? Number.POSITIVE_INFINITY;
    const started = clock.now();
    const deadline = currentDeadline();
    const end = Math.min(started + (this.options.retryBudgetMs ?? 300_000), deadline ?? Number.POSITIVE_INFINITY);
    let pending = ops;
    for (let attempt = 1; pending.length > 0 && attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        const wait = backoff(attempt - 1, this.options.retryBaseMs ?? 200, this.options.retryCapMs ?? 30_000);
        if (clock.now() + wait > end) break;
        await clock.sleep(wait);
      }
      const failed: Op[] = [];
      for (const chunk of this.chunks(pending)) await this.sendBulk(chunk, results, failed);
      pending = failed;
    }
    for (const op of pending) results[op.i] = { status: "retry", error: op.error };
  }

  /** Splits operations into bodies of at most maxBulkBytes and maxBulkOps (a bigger document goes alone). */
  private *chunks(ops: Op[]): Generator<Op[]> {
    const maxBytes = this.options.maxBulkBytes ?? 10_000_000;
    const maxOps = this.options.maxBulkOps ?? 5000;
    let chunk: Op[] = [];
    let bytes = 0;
    for (const op of ops) {
      if (chunk.length > 0 && (bytes + op.bytes > maxBytes || chunk.length >= maxOps)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(op);
      bytes += op.bytes;
    }
    if (chunk.length > 0) yield chunk;
  }

  private async sendBulk(chunk: Op[], results: IndexWriteResult[], failed: Op[]): Promise<void> {
    let items: BulkItem[];
    try {
      const res = await this.client.transport.request({ method: "POST", path: "/_bulk", bulkBody: chunk.map((o) => o.lines).join("") }, { maxRetries: 0 });
      items = (res.body as { items: BulkItem[] }).items;
    } catch (err) {
      const status = statusOf(err);
      if (status === 413 && chunk.length > 1) {
        // Too large for this cluster's http.max_content_length (or the instance type's limit): halve it.
        const half = Math.ceil(chunk.length / 2);
        await this.sendBulk(chunk.slice(0, half), results, failed);
        await this.sendBulk(chunk.slice(half), results, failed);
      } else if (status === 413) {
        results[chunk[0]!.i] = { status: "rejected", error: "the document is larger than the cluster accepts in a request (413)" };
      } else if (status === undefined || status === 429 || status >= 500) {
        const error = status === undefined ? `OpenSearch unavailable: ${(err as Error).message}` : `bulk request failed with ${status}`;
        for (const op of chunk) failed.push({ ...op, error });
      } else {
        throw requestError(err, "POST", "/_bulk");
      }
      return;
    }
    // Items come back in request order.
    chunk.forEach((op, k) => {
      const item = items[k] ? Object.values(items[k])[0] : undefined;
      const status = item?.status ?? 0;
      if (status >= 200 && status < 300) results[op.i] = { status: "created" };
      else if (status === 409) results[op.i] = { status: "exists" };
      else if (refusesDocument(status, item?.error)) results[op.i] = { status: "rejected", error: itemError(status, item?.error) };
      else failed.push({ ...op, error: itemError(status, item?.error) });
    });
  }

  async search(q: SearchQuery, page: SearchPage): Promise<SearchResult> {
    const after = page.cursor !== undefined ? decodeCursor(page.cursor) : undefined;
    const offset = page.offset ?? 0;
    // OpenSearch refuses from + size past index.max_result_window (also with search_after, where the
    // offset is part of size): refused here first, with the error every index adapter throws.
    const window = this.options.maxResultWindow ?? MAX_RESULT_WINDOW;
    if (offset + page.size > window) throw new ResultWindowError(window, offset + page.size);
    // One event more than the page tells whether more follow; on the window's last page there is no
    // room for it, and the page says that more may follow when it is full.
    const peek = offset + page.size < window ? 1 : 0;
    // search_after requires from = 0: with a cursor and an offset, the skipped events are fetched too.
    const body = {
      query: this.filtered(q),
      sort: [{ timestamp: { order: page.order } }, { id: { order: page.order } }],
      size: page.size + peek + (after ? offset : 0),
      ...(after ? { search_after: after } : { from: offset }),
      track_total_hits: false,
    };
    const res = await this.searchRequest<{ hits: { hits: Hit[] } }>(q, body);
    const hits = (res?.hits.hits ?? []).slice(after ? offset : 0);
    const full = peek === 0 && hits.length === page.size;
    // A page ends at page.size events, or earlier once their documents reach page.maxBytes.
    let take = Math.min(page.size, hits.length);
    if (page.maxBytes !== undefined) {
      let bytes = 0;
      for (let k = 0; k < take; k++) {
        bytes += JSON.stringify(hits[k]!._source).length;
        if (k > 0 && bytes > page.maxBytes) {
          take = k;
          break;
        }
      }
    }
    const events = hits.slice(0, take).map((h) => toEvent(h._source));
    const last = hits[take - 1];
    return (hits.length > take || full) && last ? { events, cursor: encodeCursor(last.sort) } : { events };
  }

  /**
   * A search for the number of hits (size 0, track_total_hits), not the _count API: a search takes the
   * body `timeout` and `cancel_after_time_interval` that bound it, and reports `_shards` and
   * `timed_out` like the other reads.
   */
  async count(q: SearchQuery): Promise<number> {
    const res = await this.searchRequest<{ hits?: { total?: { value: number } | number } }>(q, { size: 0, query: this.filtered(q), track_total_hits: true });
    const total = res?.hits?.total;
    return typeof total === "number" ? total : (total?.value ?? 0);
  }

  /**
   * Numeric aggregates of a field: its numeric keys counted under the same sampler as a facet (at most
   * STATS_VALUES distinct values), the statistics computed by core's NumericTally as on the embedded index.
   */
  async stats(q: SearchQuery, field: string): Promise<NumericStats> {
    const { tally, exact } = await this.numericValues(q, field);
    return tally.stats(exact);
  }

  /** The values behind `stats`, for the tiers to add up before computing. */
  async numericValues(q: SearchQuery, field: string): Promise<{ tally: NumericTally; exact: boolean }> {
    const { agg, value } = numericAggregation(field, STATS_VALUES);
    const { buckets, everyKey, sampled } = await this.sampledTerms(q, "values", agg);
    const tally = new NumericTally();
    for (const b of buckets) {
      const v = value(b.key);
      if (v !== undefined) tally.add(v, b.doc_count);
    }
    return { tally, exact: everyKey && !sampled };
  }

  /**
   * A terms aggregation over the matching events, under a `sampler`: each shard counts the terms of at
   * most facetSampleSize of its matching documents (in filter context every score is equal, so the
   * first ones in index order, roughly the oldest — not the newest as in the embedded index), and the
   * terms aggregation runs with `execution_hint: map` (dsl.ts), so no global ordinals are built over
   * every `path=value` key of the shard. The work per shard is bounded by the sample. `sampled` says
   * whether the sample left matching documents out (sampler doc_count below the total hits).
   *
   * With several shards (a range over several slices) the top terms and their counts are per-shard approximations:
   * each shard returns its own top `shard_size` terms, so a term just outside one shard's top list is
   * under-counted (OpenSearch's doc_count_error_upper_bound).
   *
   * The keys keep each value's spelling (f.str); spellings that a term query finds alike (FacetTally) are
   * added up here, so the aggregation asks for more keys than terms are wanted (facetCandidates). The
   * number of distinct values is exact when every key came back (sum_other_doc_count 0), else a lower bound.
   */
  async facet(q: SearchQuery, field: string, size: number): Promise<FacetResult> {
    if (size < 1) return { terms: [], sampled: false, distinct: 0, distinctExact: true };
    const { agg, term } = facetAggregation(field, facetCandidates(size));
    const { buckets, everyKey, sampled } = await this.sampledTerms(q, "facet", agg);
    const tally = new FacetTally();
    for (const b of buckets) {
      const t = term(b.key);
      if (t !== undefined) tally.add(t, b.doc_count);
    }
    return { terms: tally.top(size), sampled, distinct: tally.distinct, distinctExact: everyKey && tally.complete && !sampled };
  }

  /**
   * A terms aggregation (named `name` in the request, as recorded fixtures know it) over the matching
   * events under the facet's `sampler` (facetSampleSize documents per shard): its buckets, whether every key came back (sum_other_doc_count 0), and whether the sample
   * left matching documents out (its doc_count below the total hits).
   */
  private async sampledTerms(q: SearchQuery, name: "facet" | "values", agg: unknown): Promise<{ buckets: { key: string | number; doc_count: number }[]; everyKey: boolean; sampled: boolean }> {
    type Buckets = { buckets: { key: string | number; doc_count: number }[]; sum_other_doc_count?: number };
    const aggs = { sample: { sampler: { shard_size: this.options.facetSampleSize ?? 100_000 }, aggs: { [name]: agg } } };
    const res = await this.searchRequest<{ hits?: { total?: { value: number } }; aggregations?: { sample?: { doc_count: number } & Partial<Record<typeof name, Buckets>> } }>(q, { size: 0, query: this.filtered(q), track_total_hits: true, aggs });
    const sample = res?.aggregations?.sample;
    const terms = sample?.[name];
    return {
      buckets: terms?.buckets ?? [],
      everyKey: (terms?.sum_other_doc_count ?? 0) === 0,
      sampled: (sample?.doc_count ?? 0) < (res?.hits?.total?.value ?? 0),
    };
  }

  /** Buckets are multiples of the interval from the epoch (date_histogram's fixed_interval rounding), empty ones included. */
  async histogram(q: SearchQuery, intervalMs: number): Promise<HistogramBucket[]> {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new RangeError(`a histogram interval is a whole number of milliseconds, not ${intervalMs}`);
    const first = Math.floor(q.from / intervalMs) * intervalMs;
    if (q.until >= first && Math.floor((q.until - first) / intervalMs) + 1 > MAX_HISTOGRAM_BUCKETS) {
      throw new RangeError(`a histogram has at most ${MAX_HISTOGRAM_BUCKETS} buckets: an interval of ${intervalMs} ms over this range gives more`);
    }
    const aggs = { histogram: { date_histogram: { field: "timestamp", fixed_interval: `${intervalMs}ms`, min_doc_count: 0, extended_bounds: { min: first, max: q.until } } } };
    const res = await this.searchRequest<{ aggregations?: { histogram?: { buckets: { key: number; doc_count: number }[] } } }>(q, { size: 0, query: this.filtered(q), aggs });
    const counts = new Map<number, number>();
    for (const b of res?.aggregations?.histogram?.buckets ?? []) counts.set(b.key, b.doc_count);
    // Built here too, so that a range without any index still gets its empty buckets.
    const out: HistogramBucket[] = [];
    for (let t = first; t <= q.until; t += intervalMs) out.push({ time: t, count: counts.get(t) ?? 0 });
    return out;
  }

  /**
   * The field paths present in the matching events: a terms aggregation over f.paths (every leaf path of
   * each event, projection.ts). Unlike the index mapping it follows the query and the time range, and
   * unlike sampled documents it sees every matching event.
   */
  async fields(q: SearchQuery): Promise<string[]> {
    const aggs = { fields: { terms: { field: "f.paths", size: Math.min(this.options.maxFields ?? MAX_FIELD_NAMES + 1, MAX_FIELD_NAMES + 1) } } };
    const res = await this.searchRequest<{ aggregations?: { fields?: { buckets: { key: string }[] } } }>(q, { size: 0, query: this.filtered(q), aggs });
    return (res?.aggregations?.fields?.buckets ?? []).map((b) => b.key).sort();
  }

  /** Makes everything written so far searchable (tests; OpenSearch refreshes every refresh_interval). */
  async refresh(): Promise<void> {
    await this.request("POST", `/${this.names.tierPattern}/_refresh`, { querystring: { ignore_unavailable: true, allow_no_indices: true } });
  }

  /**
   * Deletes every index of a tenant (tenant removal, test cleanup); names are resolved first, as clusters
   * may refuse wildcard deletes, and deleted in batches whose request line stays within OpenSearch's 4 KB
   * http.max_initial_line_length (a month of hourly names is ~25 KB). With the layout, the tenant's
   * documents in pooled indices are deleted by a routed, throttled `_delete_by_query` left running as a
   * task (wait_for_completion=false: it outlives any request timeout); its task id is returned.
   */
  async deleteTenant(tenant: string): Promise<{ task?: string }> {
    checkTenant(tenant);
    const rows = await this.request<{ index: string }[]>("GET", `/_cat/indices/${this.names.tenantPattern(tenant)}`, { querystring: { format: "json", h: "index", expand_wildcards: "all" } });
    await this.deleteIndices(rows.map((r) => r.index));
    if (!this.layered) return {};
    const res = await this.request<{ task?: string }>("POST", `/${this.names.poolPattern}/_delete_by_query`, {
      querystring: { routing: tenant, requests_per_second: this.options.deleteRequestsPerSecond ?? 1000, wait_for_completion: false, conflicts: "proceed", ignore_unavailable: true, allow_no_indices: true },
      body: { query: { term: { tenant } } },
    });
    return res.task !== undefined ? { task: res.task } : {};
  }

  /** Deletes indices by name, as many per request as fit in a request line below 4 KB. */
  async deleteIndices(names: readonly string[], maxChars = 3000): Promise<number> {
    let requests = 0;
    for (const batch of nameBatches(names, maxChars)) {
      await this.request("DELETE", `/${batch.join(",")}`, { querystring: { ignore_unavailable: true } });
      requests++;
    }
    return requests;
  }

  /**
   * Every index of this tier with its primary size and document count: ONE `_cat/indices` request
   * (pri.store.size: the primaries only, what a slice holds; store.size counts the replicas too).
   */
  async catIndices(): Promise<{ index: string; bytes: number; docs: number }[]> {
    const rows = await this.request<{ index: string; "pri.store.size"?: string | null; "docs.count"?: string | null }[]>("GET", `/_cat/indices/${this.names.tierPattern}`, {
      querystring: { format: "json", h: "index,pri.store.size,docs.count", bytes: "b", expand_wildcards: "all" },
    });
    return rows.map((r) => ({ index: r.index, bytes: Number(r["pri.store.size"] ?? 0), docs: Number(r["docs.count"] ?? 0) }));
  }

  /**
   * Documents per tenant in the indices of `target` (the lifecycle's measure of pooled tenants): ONE
   * terms aggregation on `tenant` for all of them, not a request per tenant. `size` bounds the buckets
   * (search.max_buckets is 65,535 by default).
   */
  async tenantDocCounts(target: string, size: number): Promise<Map<string, number>> {
    type Agg = { aggregations?: { tenants?: { buckets: { key: string; doc_count: number }[] } } };
    const res = await this.request<Agg>("POST", `/${target}/_search`, {
      querystring: { ignore_unavailable: true, allow_no_indices: true },
      body: { size: 0, track_total_hits: false, aggs: { tenants: { terms: { field: "tenant", size: Math.max(1, Math.min(size, 65_535)) } } } },
    });
    return new Map((res.aggregations?.tenants?.buckets ?? []).map((b) => [b.key, b.doc_count]));
  }

  /** The tenant's slice indices in this tier with their sizes (the lifecycle job). */
  async slices(tenant: string): Promise<SliceInfo[]> {
    checkTenant(tenant);
    const rows = await this.request<{ index: string; "pri.store.size"?: string | null }[]>("GET", `/_cat/indices/${this.names.tenantPattern(tenant)}`, {
      querystring: { format: "json", h: "index,pri.store.size", bytes: "b", expand_wildcards: "all" },
    });
    const out: SliceInfo[] = [];
    for (const r of rows) {
      const slice = parseSliceName(r.index);
      if (slice) out.push({ name: r.index, start: slice.start, end: slice.end, bytes: Number(r["pri.store.size"] ?? 0) });
    }
    return out.sort((a, b) => a.start - b.start);
  }

  /** Deletes one slice index (retention), refusing any name that is not one of this tenant's. */
  async dropSlice(tenant: string, name: string): Promise<void> {
    checkTenant(tenant);
    if (!name.startsWith(this.names.tenantPattern(tenant).slice(0, -1)) || /[*,]/.test(name)) throw new OpenSearchConfigError(`${name} is not an index of tenant ${tenant} in tier ${this.options.tier ?? "default"}`);
    await this.request("DELETE", `/${name}`, { querystring: { ignore_unavailable: true } });
  }

  /** Creates the slice index holding `at` ahead of its first event, with the tier's template. */
  async prepareSlice(tenant: string, at: number, length: SliceLength): Promise<void> {
    checkTenant(tenant);
    await this.templatesOnce(); // once per process, not per slice
    await this.createIndex(this.names.indexFor(tenant, at, length));
  }

  /**
   * Creates an index (the templates give it the rest), with `shards` primaries when given (dedicated
   * slices are sized by the lifecycle; pooled ones partition a tenant's routing over a few shards).
   * False when it existed already (done all the same).
   */
  async createIndex(name: string, shards?: number, pooled = false): Promise<boolean> {
    const settings = shards === undefined ? undefined : pooled ? poolIndexSettings(shards) : { number_of_shards: shards };
    try {
      await this.request("PUT", `/${name}`, settings ? { body: { settings } } : {});
      return true;
    } catch (err) {
      if (err instanceof OpenSearchRequestError && err.status === 400 && /resource_already_exists/.test(err.message)) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /**
   * The user's query inside the tenant and time filters — the one place queries are built, so no read
   * of a pooled index can leave out the tenant. With the layout, the range starts no earlier than the
   * tenant's retention (pooled indices keep a class's days, which may be longer).
   */
  private filtered(q: SearchQuery): Record<string, unknown> {
    const from = this.readFrom(q);
    return {
      bool: {
        filter: [{ term: { tenant: q.tenant } }, { range: { timestamp: { gte: from, lte: q.until, format: "epoch_millis" } } }, compileDsl(q.query, { analysis: this.analysis })],
      },
    };
  }

  private readFrom(q: SearchQuery): number {
    const days = this.layered ? this.layoutFor(q.tenant).retentionDays : undefined;
    return days !== undefined && Number.isFinite(days) ? Math.max(q.from, retentionFloor(days, Date.now())) : q.from;
  }

  private target(q: SearchQuery): { target: string; pattern: boolean; routing?: string } | undefined {
    checkTenant(q.tenant);
    const from = this.readFrom(q);
    if (from > q.until) return undefined;
    return this.layered ? readPlan(this.names, q.tenant, this.layoutFor(q.tenant), from, q.until, 2000, this.scope) : this.names.searchTarget(q.tenant, from, q.until);
  }

  /**
   * Every read is a _search bounded in time (searchBudget): the body `timeout` stops each shard's
   * collection, `cancel_after_time_interval` cancels the whole search task on the coordinating node
   * (https://docs.opensearch.org/latest/api-reference/search-apis/search/ ; the cluster-wide default is
   * search.cancel_after_time_interval, -1 = never), and the client aborts the request at the budget
   * (closing the HTTP connection also cancels a running search: OpenSearch's RestCancellableNodeClient).
   * Partial answers are never returned: `timed_out` fails with QueryBudgetError (the API answers 504),
   * failed shards with IndexUnavailableError (503) — a silent partial count or page would be wrong.
   */
  private async searchRequest<T>(q: SearchQuery, body: Record<string, unknown>): Promise<T | undefined> {
    const target = this.target(q);
    if (!target) return undefined;
    const ms = this.searchBudget();
    // The cluster stops before the client gives up, so that its own answer (timed_out, cancelled) arrives first.
    const shardMs = Math.max(1, Math.floor(ms * 0.7));
    const cancelMs = Math.max(1, Math.floor(ms * 0.85));
    // With a pattern, pre-filter every shard on the time range (the can_match phase) before searching.
    // Pooled-only reads go to the tenant's shards (routing), as its documents were written.
    const querystring = { ignore_unavailable: true, allow_no_indices: true, ...(target.pattern ? { pre_filter_shard_size: 1 } : {}), cancel_after_time_interval: `${cancelMs}ms`, ...(target.routing !== undefined ? { routing: target.routing } : {}) };
    const path = `/${target.target}/_search`;
    let res: T & SearchEnvelope;
    try {
      const r = await this.client.transport.request({ method: "POST", path, querystring, body: { ...body, timeout: `${shardMs}ms` } }, { requestTimeout: ms, maxRetries: 0 });
      res = r.body as T & SearchEnvelope;
    } catch (err) {
      throw searchError(err, path, ms);
    }
    checkComplete(res, ms);
    return res;
  }

  /** Milliseconds a read may take: searchTimeoutMs, or less when the caller's deadline is nearer. */
  private searchBudget(): number {
    const ms = this.options.searchTimeoutMs ?? 20_000;
    const deadline = currentDeadline();
    const left = deadline === undefined ? ms : Math.min(ms, deadline - Date.now());
    if (left < MIN_SEARCH_MS) throw new QueryBudgetError("time", "no time is left for the search before the request's deadline");
    return left;
  }

  private async request<T>(method: string, path: string, params: { querystring?: Record<string, unknown>; body?: unknown }): Promise<T> {
    try {
      const res = await this.client.transport.request({ method, path, querystring: params.querystring, body: params.body as Record<string, unknown> | undefined });
      return res.body as T;
    } catch (err) {
      throw requestError(err, method, path);
    }
  }
}

/** Index names in groups whose comma-joined length stays within `maxChars`. */
export function nameBatches(names: readonly string[], maxChars: number): string[][] {
  const out: string[][] = [];
  let batch: string[] = [];
  let chars = 0;
  for (const name of names) {
    if (batch.length > 0 && chars + name.length + 1 > maxChars) {
      out.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(name);
    chars += name.length + 1;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** The length and time span of a slice index name (`…day-20260105`, `…hour-2026010512`, `…week-20260105`). */
export function parseSliceName(index: string): { start: number; end: number; length: SliceLength } | undefined {
  const m = /\.(hour|day|week)-(\d{4})(\d{2})(\d{2})(\d{2})?$/.exec(index);
  if (!m) return undefined;
  const length = m[1] as SliceLength;
  const start = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), m[5] ? Number(m[5]) : 0);
  return { start, end: start + SLICE_MS[length], length };
}

/** The event of a document line, or why it is rejected. */
function parseEvent(doc: string, tenant: string, idPrefixBytes = 0): LogEvent | string {
  let ev: LogEvent;
  try {
    ev = JSON.parse(doc) as LogEvent;
  } catch (err) {
    return `not a JSON document: ${(err as Error).message}`;
  }
  if (typeof ev !== "object" || ev === null || Array.isArray(ev)) return "not a JSON object";
  if (typeof ev.id !== "string" || ev.id === "" || Buffer.byteLength(ev.id) + idPrefixBytes > 512) {
    return idPrefixBytes > 0
      ? `an event needs a string id (at most ${512 - idPrefixBytes} bytes: "<tenant>/<id>" within OpenSearch's 512-byte _id limit)`
      : "an event needs a string id (at most 512 bytes, OpenSearch's _id limit)";
  }
  // Beyond ±8.64e15 ms there is no date (and no slice to name).
  if (typeof ev.timestamp !== "number" || !(Math.abs(ev.timestamp) <= 8.64e15) || typeof ev.raw !== "string") return "an event needs a numeric timestamp and a raw text";
  // The index is chosen from the caller's tenant; an event claiming another tenant is a routing bug upstream.
  if (ev.tenant !== undefined && ev.tenant !== tenant) return `event of tenant ${ev.tenant} written to tenant ${tenant}`;
  return { ...ev, tags: Array.isArray(ev.tags) ? ev.tags : [], logtypes: Array.isArray(ev.logtypes) ? ev.logtypes : [], event: ev.event ?? {} };
}

function checkTenant(tenant: string): void {
  // Tenant names go into index names and patterns: a "*" or "," here would read other tenants' indices.
  const problem = validateTenantName(tenant);
  if (problem) throw new OpenSearchConfigError(`invalid tenant "${tenant}": ${problem}`);
}

function toEvent(source: LogEvent & { f?: unknown }): LogEvent {
  const { f: _f, ...event } = source;
  return event;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof errors.ResponseError ? (err.meta.statusCode ?? undefined) : undefined;
}

function requestError(err: unknown, method: string, path: string): Error {
  if (err instanceof errors.ResponseError) return new OpenSearchRequestError(err.meta.statusCode ?? 0, method, path, excerpt(err.meta.body));
  return new OpenSearchUnavailableError(method, path, err);
}

/**
 * Failures of the cluster, not of the document: retrying (later, once the block is lifted, the index
 * reopened or created, shards freed) succeeds with the very same document. Their status is often 400
 * or 403, so the status alone does not tell.
 */
const CLUSTER_SIDE = new Set([
  "cluster_block_exception", // a write or read-only block (flood-stage watermark, maintenance)
  "index_closed_exception",
  "index_not_found_exception", // auto-creation off, or the index deleted meanwhile
  "validation_exception", // creating the index would exceed the cluster's shard limit
  "unavailable_shards_exception",
  "no_shard_available_action_exception",
  "process_cluster_event_timeout_exception",
  "circuit_breaking_exception",
  "es_rejected_execution_exception",
  "rejected_execution_exception",
  "security_exception",
]);

/**
 * An item refused because of the document itself (a mapping conflict, a value that does not parse, too
 * large): trying again cannot help, it goes to the dead letters. Anything else is retried until it works.
 */
export function refusesDocument(status: number, error: { type?: string } | undefined): boolean {
  if (status !== 400 && status !== 413) return false;
  return !CLUSTER_SIDE.has(error?.type ?? "");
}

function itemError(status: number, error: { type?: string; reason?: string } | undefined): string {
  return error ? `${status} ${error.type ?? "error"}: ${error.reason ?? ""}`.trim() : `status ${status}`;
}

/** Exponential with jitter over its upper half, capped at capMs. */
export function backoff(retry: number, baseMs: number, capMs: number): number {
  const ms = Math.min(capMs, baseMs * 2 ** Math.min(retry - 1, 40));
  return ms / 2 + Math.random() * (ms / 2);
}

/** Distinct values a field's numeric aggregates read at most (past them, `exact` is false). */
export const STATS_VALUES = 10_000;

const SYSTEM_CLOCK = {
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** Below this, a search is not worth sending: the caller's deadline has as good as passed. */
const MIN_SEARCH_MS = 50;

interface SearchEnvelope {
  timed_out?: boolean;
  _shards?: { total?: number; failed?: number; failures?: { index?: string; shard?: number; reason?: { type?: string; reason?: string } }[] };
}

/** A search answer is whole or an error: timed out → QueryBudgetError, failed shards → IndexUnavailableError. */
function checkComplete(res: SearchEnvelope, ms: number): void {
  if (res.timed_out === true) throw new QueryBudgetError("time", `the search did not finish within ${ms} ms on every shard: narrow the time range or the query`);
  const failed = res._shards?.failed ?? 0;
  if (failed > 0) {
    const first = res._shards?.failures?.[0]?.reason;
    const why = first ? `${first.type ?? "error"}: ${first.reason ?? ""}`.trim() : "no reason given";
    throw new IndexUnavailableError(`${failed} of ${res._shards?.total ?? "?"} shards failed (${excerpt(why, 300)}): the answer would be partial; try again`);
  }
}

/** How a failed read is reported: the caller's page, the time budget, the cluster's load or health, or a request error. */
function searchError(err: unknown, path: string, ms: number): Error {
  if (err instanceof errors.TimeoutError || err instanceof errors.RequestAbortedError) {
    return new QueryBudgetError("time", `OpenSearch did not answer within ${ms} ms (the request was cancelled): narrow the time range or the query`);
  }
  const status = statusOf(err);
  if (status === 400 || status === 500) {
    const text = JSON.stringify((err as errors.ResponseError).meta.body ?? "");
    const window = /Result window is too large, from \+ size must be less than or equal to: \[(\d+)\] but was \[(\d+)\]/.exec(text);
    if (window) return new ResultWindowError(Number(window[1]), Number(window[2]));
    if (/task_cancelled_exception|TaskCancelledException/.test(text)) return new QueryBudgetError("time", `OpenSearch cancelled the search after ${ms} ms: narrow the time range or the query`);
  }
  if (status === 429) return new IndexBusyError("OpenSearch is rejecting searches (429, its search queue is full): try again shortly");
  if (status === undefined || status === 502 || status === 503 || status === 504) return new IndexUnavailableError(requestError(err, "POST", path).message);
  return requestError(err, "POST", path);
}

/** The sort values of the last event of a page, opaque to callers (the same across tier domains). */
export function encodeCursor(sort: [number, string]): string {
  return Buffer.from(JSON.stringify(sort)).toString("base64url");
}

/** The sort values a cursor of encodeCursor holds, checked as OpenSearch would need them (else it answers 400). */
function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && Math.abs(v[0] as number) <= 8.64e15 && typeof v[1] === "string" && v[1] !== "" && Buffer.byteLength(v[1]) <= 512) {
      // Only the exact text encodeCursor makes (base64url decoding skips stray characters).
      if (encodeCursor([v[0] as number, v[1]]) === cursor) return [v[0] as number, v[1]];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError("not a cursor this index made");
}

/** Keys a facet's terms aggregation asks for: enough for spellings that add up to one term (bounded). */
export function facetCandidates(size: number): number {
  return Math.min(10_000, Math.max(1_000, 10 * size));
}
