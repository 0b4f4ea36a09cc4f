import type { LogEvent } from "../event";

/** Called with a tenant's events the moment they are stored for the first time (not on a retry or replay). */
export type IndexedListener = (tenant: string, events: LogEvent[]) => void;

/**
 * The indexed-feed port: newly stored events as they land, for live tail. An index that can tell which
 * of its writes were first writes offers it (the embedded index); live tail needs nothing else of it.
 */
export interface IndexedFeed {
  /** Starts calling `listener`; the returned function stops it. */
  onIndexed(listener: IndexedListener): () => void;
}
