import { parseQuery } from "@unmeltable/core";
import type { EmbeddedIndex } from "@unmeltable/index-sqlite";

/**
 * The query targets of issue 16 (rare term, common term newest 100, field filter in 1 h, top-10 facet over
 * 24 h, per-minute histogram over 24 h, histogram of a search), over a corpus of `tenant` ending at `end`.
 * Shared by bench/query.ts and bench/index-writer.ts.
 */
export function queryCases(tenant: string, start: number, end: number): { name: string; query: string; run: (ix: EmbeddedIndex) => Promise<string> }[] {
  const hour = 3_600_000;
  const day = 24 * hour;
  const q = (text: string, from: number, until: number) => ({ tenant, query: parseQuery(text), from, until });
  const oneHour = end - 30 * hour;
  return [
    { name: "rare term, newest 100", query: "segfault", run: async (ix) => `${(await ix.search(q("segfault", start, end), { order: "desc", size: 100 })).events.length} events` },
    { name: "common term, newest 100", query: "POST", run: async (ix) => `${(await ix.search(q("POST", start, end), { order: "desc", size: 100 })).events.length} events` },
    { name: "common term, total count", query: "POST", run: async (ix) => `${await ix.count(q("POST", start, end))} events` },
    { name: "field filter in a 1-hour window, newest 100", query: "syslog.host:web-03 AND syslog.severity:Error", run: async (ix) => `${(await ix.search(q("syslog.host:web-03 AND syslog.severity:Error", oneHour, oneHour + hour - 1), { order: "desc", size: 100 })).events.length} events` },
    { name: "field filter + numeric range in a 1-hour window", query: "syslog.host:web-03 AND json.status:>=500", run: async (ix) => `${(await ix.search(q("syslog.host:web-03 AND json.status:>=500", oneHour, oneHour + hour - 1), { order: "desc", size: 100 })).events.length} events` },
    { name: "top-10 facet over 24 h", query: "* | syslog.appName", run: async (ix) => (await ix.facet(q("*", end - day, end - 1), "syslog.appName", 10)).terms.slice(0, 2).map((t) => `${t.term}=${t.count}`).join(" ") },
    { name: "per-minute histogram over 24 h", query: "*", run: async (ix) => `${(await ix.histogram(q("*", end - day, end - 1), 60_000)).length} buckets` },
    // Several words in sequence: a phrase, answered from FTS5's positions (without them, by checking every candidate that has each word).
    { name: "phrase, newest 100", query: '"Pause Young"', run: async (ix) => `${(await ix.search(q('"Pause Young"', start, end), { order: "desc", size: 100 })).events.length} events` },
    { name: "phrase, per-minute histogram over 24 h", query: '"Pause Young"', run: async (ix) => `${(await ix.histogram(q('"Pause Young"', end - day, end - 1), 60_000)).reduce((n, b) => n + b.count, 0)} events` },
    { name: "an IP address (words 10, 1, 2, 3), newest 100", query: "10.1.2.3", run: async (ix) => `${(await ix.search(q("10.1.2.3", start, end), { order: "desc", size: 100 })).events.length} events` },
    // A field's existence: in "keyed" slices an FTS5 prefix query over the path's value tokens (one term per
    // distinct value), in the layouts before one exists token. gc.gcId has a new value in almost every event.
    { name: "field exists, count over 24 h", query: "json.status:*", run: async (ix) => `${await ix.count(q("json.status:*", end - day, end - 1))} events` },
    { name: "high-cardinality field exists, count over 24 h", query: "gc.gcId:*", run: async (ix) => `${await ix.count(q("gc.gcId:*", end - day, end - 1))} events` },
    { name: "per-minute histogram over 24 h of a search", query: "POST", run: async (ix) => `${(await ix.histogram(q("POST", end - day, end - 1), 60_000)).reduce((n, b) => n + b.count, 0)} events` },
  ];
}
