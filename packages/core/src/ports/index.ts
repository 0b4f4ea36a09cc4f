import type { LogEvent } from "../event";
import type { Query } from "../query/ast";

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

export interface FacetResult {
  terms: FacetTerm[];
  /** True when the counts come from a sample of the newest matching events, not all of them. */
  sampled: boolean;
}

export interface HistogramBucket {
  /** Bucket start, epoch ms. */
  time: number;
  count: number;
}

export interface IndexPort {
  /** Stores events (their JSON documents) of one tenant; one result per document, in order. */
  write(tenant: string, docs: string[]): Promise<IndexWriteResult[]>;
  search(q: SearchQuery, page: SearchPage): Promise<SearchResult>;
  count(q: SearchQuery): Promise<number>;
  /** Top values of a field among the matching events. */
  facet(q: SearchQuery, field: string, size: number): Promise<FacetResult>;
  /** Counts per time bucket of `intervalMs`, buckets aligned to multiples of the interval. */
  histogram(q: SearchQuery, intervalMs: number): Promise<HistogramBucket[]>;
  /** Names of the fields present in the matching events (Loggly's /apiv2/fields). */
  fields(q: SearchQuery): Promise<string[]>;
  close(): Promise<void>;
}
