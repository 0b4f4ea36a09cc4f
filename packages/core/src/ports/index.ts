import type { LogEvent } from "../event";
import type { Query } from "../query/ast";
import type { NumericStats } from "../query/numeric-stats";
import { CodedError, ERROR_CODES } from "../http/coded-error";

/**
 * The index port: where processed events are stored and searched. The embedded adapter keeps one SQLite
 * file per tenant per time slice; the OpenSearch adapter one index per tenant per slice per tier.
 * Every adapter passes test/contract/index.contract.ts and the query corpus.
 *
 * Writes are idempotent by event id: writing an event that is already stored changes nothing and
 * reports "exists", which is how retries and replays stay exactly-once in the index.
 */
export type IndexWriteStatus = "created" | "exists" | "rejected" | "retry";

export interface IndexWriteResult {
  status: IndexWriteStatus;
  error?: string;
}

/** A tenant's query over a time range; `from` and `until` are epoch ms, both inclusive. */
export interface SearchQuery {
  tenant: string;
  query: Query;
  from: number;
  until: number;
}

export interface SearchPage {
  order: "asc" | "desc";
  size: number;
  /** Skip this many events first (Loggly's page * size). */
  offset?: number;
  /** Continue after the last event of a previous page (its `cursor`); opaque to callers. */
  cursor?: string;
  /**
   * Stop the page early once its events' documents add up to this many characters (at least one event is
   * always returned). A page cut short still has a `cursor` to continue from.
   */
  maxBytes?: number;
}

export interface SearchResult {
  events: LogEvent[];
  /** Present when more events may follow. */
  cursor?: string;
}

export interface FacetTerm {
  term: string | number | boolean;
  count: number;
}

/**
 * Facet terms agree with term queries (`field:value` is case-insensitive): values that differ only in
 * case are one term, counted together, shown in their most frequent spelling.
 */
export interface FacetResult {
  terms: FacetTerm[];
  /** True when the counts come from a sample of the matching events (the embedded index: the newest ones), not all of them. */
  sampled: boolean;
  /** How many distinct values (case folded) the field has among the matching events, all of them, not only `terms`. */
  distinct: number;
  /** False when `distinct` is a lower bound (too many distinct values to count them all, or a sample). */
  distinctExact: boolean;
}

export interface HistogramBucket {
  /** Bucket start, epoch ms. */
  time: number;
  count: number;
}

/**
 * Field names a `fields` answer lists at most: adapters return up to one more, so that a caller can tell
 * that the list was cut.
 */
export const MAX_FIELD_NAMES = 10_000;

/** Buckets a `histogram` call may ask for at most ((until - from) / interval + 1); adapters refuse more. */
export const MAX_HISTOGRAM_BUCKETS = 10_000;

/** The documents of one tenant in a cross-tenant write (IndexPort.writeMany). */
export interface IndexWriteBatch {
  tenant: string;
  docs: string[];
}

export interface IndexPort {
  /** Stores events (their JSON documents) of one tenant; one result per document, in order. */
  write(tenant: string, docs: string[]): Promise<IndexWriteResult[]>;
  /**
   * Stores the events of several tenants at once (one result list per batch, in order): an index with
   * a round trip per request (OpenSearch) sends them together; others need not have it (the index stage
   * then writes tenant by tenant).
   */
  writeMany?(batches: IndexWriteBatch[]): Promise<IndexWriteResult[][]>;
  search(q: SearchQuery, page: SearchPage): Promise<SearchResult>;
  count(q: SearchQuery): Promise<number>;
  /** Top values of a field among the matching events. */
  facet(q: SearchQuery, field: string, size: number): Promise<FacetResult>;
  /** Counts per time bucket of `intervalMs`, buckets aligned to multiples of the interval (at most MAX_HISTOGRAM_BUCKETS). */
  histogram(q: SearchQuery, intervalMs: number): Promise<HistogramBucket[]>;
  /**
   * Numeric aggregates of a field over the matching events (core's query/numeric-stats.ts computes them
   * from the values the adapter collects). Optional: without it the API answers 404.
   */
  stats?(q: SearchQuery, field: string): Promise<NumericStats>;
  /** Names of the fields present in the matching events (Loggly's /apiv2/fields), sorted, at most MAX_FIELD_NAMES + 1. */
  fields(q: SearchQuery): Promise<string[]>;
  close(): Promise<void>;
}

/** A cursor (`SearchPage.cursor`) the adapter did not make or cannot continue from: the caller's mistake (400). */
export class InvalidCursorError extends CodedError {
  override name = "InvalidCursorError";
  constructor(detail?: string) {
    super(ERROR_CODES.INVALID_CURSOR, 400, detail ? `invalid cursor: ${detail}` : "invalid cursor");
  }
}

/**
 * How deep an offset page may reach: offset + size at most this many events (OpenSearch's default
 * `index.max_result_window`). Every index adapter refuses deeper pages alike; a cursor goes further.
 */
export const MAX_RESULT_WINDOW = 10_000;

/** A page reaching past the result window (offset + size over `window`): the caller's request (400), page with a cursor instead. */
export class ResultWindowError extends CodedError {
  override name = "ResultWindowError";
  constructor(
    readonly window: number,
    readonly requested: number,
  ) {
    super(ERROR_CODES.RESULT_WINDOW, 400, `a page ends at most ${window} events into a result set (offset + size), not ${requested}: continue with a cursor`);
  }
}

/**
 * The index could not answer in full (shards failed, the cluster unreachable or answering only part of
 * the query): a transient failure, never a silent partial answer. Trying again later helps (503).
 */
export class IndexUnavailableError extends CodedError {
  override name = "IndexUnavailableError";
  constructor(message: string) {
    super(ERROR_CODES.INDEX_UNAVAILABLE, 503, message, { headers: { "Retry-After": "5" } });
  }
}

/** A read stopped because it went over its budget (of time or of memory): narrowing the range or the query helps (504). */
export class QueryBudgetError extends CodedError {
  override name = "QueryBudgetError";
  constructor(
    readonly budget: "time" | "memory",
    message: string,
  ) {
    super(ERROR_CODES.QUERY_BUDGET, 504, message);
  }
}

/** The index rejected the read: every reader busy and the queue of waiting reads full (503): try again shortly. */
export class IndexBusyError extends CodedError {
  override name = "IndexBusyError";
  constructor(message: string) {
    super(ERROR_CODES.INDEX_BUSY, 503, message, { headers: { "Retry-After": "1" } });
  }
}
