import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, download, NetworkError, qs } from "../api";
import { EventRow } from "../components/event-row";
import { Histogram } from "../components/histogram";
import { QueryBar } from "../components/query-bar";
import { Empty, ErrorBox, Loading } from "../components/states";
import type { ApiEvent } from "../fields";
import { addClause, highlightTerms, suggestFields } from "../query";
import { describeRange, fillBuckets, type Bucket } from "../time";
import type { PageProps } from "./page";
import { SavedSearchForm } from "./saved";

interface Page {
  events: ApiEvent[];
  next?: string;
}
interface HistogramBody {
  interval: number;
  from: number;
  until: number;
  buckets: Bucket[];
}

const PAGE_SIZE = 50;
/** Events an export holds at most, unless asked for more (the API's default `limit`). */
const EXPORT_EVENTS = 10_000;

/** Search: the query, the histogram, and the events newest first with infinite scroll. */
export function SearchPage({ route, nonce, navigate }: PageProps) {
  const { q, from, until } = route;
  const [events, setEvents] = useState<ApiEvent[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [count, setCount] = useState<number | undefined>();
  const [hist, setHist] = useState<HistogramBody | undefined>();
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [retry, setRetry] = useState(0);
  const [saving, setSaving] = useState(false);
  const [savedAs, setSavedAs] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const [exported, setExported] = useState<{ text: string; problem: boolean } | null>(null);
  const generation = useRef(0);

  useEffect(() => {
    const gen = ++generation.current;
    const ctl = new AbortController();
    const params = { q: q || "*", from, until };
    setLoading(true);
    setError(null);
    setMoreError(null);
    setEvents([]);
    setNext(undefined);
    setCount(undefined);
    setHist(undefined);
    setSaving(false);
    setSavedAs(null);
    setExported(null);
    const current = () => gen === generation.current;
    const fail = (err: unknown) => {
      if ((err as Error).name === "AbortError" || !current()) return;
      setError((prev: unknown) => prev ?? err);
    };
    const first = api<Page>(`/apiv2/events/iterate${qs({ ...params, size: PAGE_SIZE })}`, { signal: ctl.signal }).then((p) => {
      if (!current()) return;
      setEvents(p.events);
      setNext(p.next);
    }, fail);
    api<{ count: number }>(`/apiv2/events/count${qs(params)}`, { signal: ctl.signal }).then((c) => current() && setCount(c.count), fail);
    api<HistogramBody>(`/apiv2/events/histogram${qs(params)}`, { signal: ctl.signal }).then((h) => current() && setHist(h), fail);
    void first.finally(() => current() && setLoading(false));
    return () => ctl.abort();
  }, [q, from, until, nonce, retry]);

  const loadMore = async () => {
    if (!next || loadingMore) return;
    const gen = generation.current;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const u = new URL(next, location.href);
      const p = await api<Page>(`${u.pathname}${u.search}`);
      if (gen !== generation.current) return;
      setEvents((prev) => {
        const seen = new Set(prev.map((e) => e.id));
        return [...prev, ...p.events.filter((e) => !seen.has(e.id))];
      });
      setNext(p.next);
    } catch (err) {
      if (gen === generation.current) setMoreError(err);
    } finally {
      if (gen === generation.current) setLoadingMore(false);
    }
  };

  // Infinite scroll: load the next page when the end of the list comes into view.
  const sentinel = useRef<HTMLDivElement>(null);
  const loadMoreRef = useRef(loadMore);
  loadMoreRef.current = loadMore;
  useEffect(() => {
    if (!sentinel.current || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void loadMoreRef.current(), { rootMargin: "400px" });
    io.observe(sentinel.current);
    return () => io.disconnect();
  }, [next, loading, moreError]);

  /** The results as a file: the newest EXPORT_EVENTS events of the search (the API's default limit). */
  const exportAs = async (format: "csv" | "ndjson") => {
    setExporting(format);
    setExported(null);
    try {
      const r = await download(`/apiv2/events/export${qs({ q: q || "*", from, until, format })}`, `events.${format}`);
      const all = r.matched ?? 0;
      const text = r.truncated
        ? `Saved ${r.filename}: cut at this deployment's 5 MB limit — narrow the range to export the rest.`
        : all > EXPORT_EVENTS
          ? `Saved ${r.filename}: the newest ${EXPORT_EVENTS.toLocaleString()} of ${all.toLocaleString()} events — narrow the range to export the rest.`
          : `Saved ${r.filename}: ${all.toLocaleString()} event${all === 1 ? "" : "s"}.`;
      setExported({ text, problem: r.truncated || all > EXPORT_EVENTS });
    } catch (err) {
      setExported({ text: `Export failed: ${(err as Error).message}`, problem: true });
    } finally {
      setExporting(null);
    }
  };

  const queryError = error instanceof ApiError && error.status === 400 ? error : null;
  const filter = (clause: string) => navigate({ page: "search", q: addClause(q, clause) });
  const terms = highlightTerms(q);
  const buckets = hist ? fillBuckets(hist.buckets, hist.from, hist.until, hist.interval) : [];
  const range = describeRange(from, until, Date.now());
  const zoomOut =
    hist && !(until === "now" && /^-\d+[smhdw]$/.test(from))
      ? () => {
          const span = hist.until - hist.from;
          const f = Math.max(0, hist.from - span / 2);
          const u = hist.until + span / 2;
          navigate({ from: new Date(f).toISOString(), until: u >= Date.now() ? "now" : new Date(u).toISOString() });
        }
      : undefined;

  return (
    <div class="page page-search">
      <h1 class="page-title" tabIndex={-1}>
        Search
      </h1>
      <QueryBar q={q} from={from} until={until} error={queryError} busy={loading} onSubmit={(s) => navigate({ page: "search", ...s })} />
      <div class="result-head">
        <p class="result-summary" aria-live="polite">
          {queryError ? "" : loading ? "Searching…" : count !== undefined ? `${count.toLocaleString()} event${count === 1 ? "" : "s"} · ${range}` : ""}
        </p>
        {!queryError && (
          <span class="result-actions">
            {savedAs !== null ? (
              <span class="muted small" role="status">
                Saved as “{savedAs}” ·{" "}
                <a href="#/saved" onClick={(e) => (e.preventDefault(), navigate({ page: "saved" }))}>
                  Saved searches
                </a>
              </span>
            ) : (
              <button type="button" class="btn btn-small" onClick={() => setSaving(true)} aria-expanded={saving ? "true" : "false"} disabled={saving} data-write>
                Save search
              </button>
            )}
            <a class="btn btn-small" href={`#/alerts${q ? `?q=${encodeURIComponent(q)}` : ""}`} title="Create an alert on this search" data-write>
              Alert on this search
            </a>
            <span class="btn-group" role="group" aria-label="Export the results">
              {(["csv", "ndjson"] as const).map((f) => (
                <button key={f} type="button" class="btn btn-small" disabled={exporting !== null} aria-busy={exporting === f ? "true" : undefined} onClick={() => void exportAs(f)}>
                  {exporting === f ? "Exporting…" : `Export ${f.toUpperCase()}`}
                </button>
              ))}
            </span>
          </span>
        )}
      </div>
      {exported && (
        <p class={exported.problem ? "banner banner-warn" : "muted small"} role="status" data-testid="export-status">
          {exported.text}
        </p>
      )}
      {saving && (
        <div class="card">
          <SavedSearchForm initial={{ name: "", query: q, from, until }} onCancel={() => setSaving(false)} onSaved={(s) => (setSaving(false), setSavedAs(s.name))} />
        </div>
      )}
      {error && !queryError ? (
        <ErrorBox error={error} onRetry={() => setRetry((r) => r + 1)} />
      ) : queryError ? (
        <Empty title="Fix the query to see results" icon="?">
          <p>
            The query language is Loggly's: words, <code>"phrases"</code>, <code>field:value</code>, <code>AND</code> / <code>OR</code> / <code>NOT</code>, ranges like{" "}
            <code>json.status:[500 TO 599]</code>.
          </p>
        </Empty>
      ) : (
        <>
          {hist && buckets.length > 0 && (count ?? 0) > 0 && (
            <Histogram
              buckets={buckets}
              interval={hist.interval}
              total={count}
              onZoom={(f, u) => navigate({ from: new Date(f).toISOString(), until: new Date(u).toISOString() })}
              onZoomOut={zoomOut}
            />
          )}
          {loading ? (
            <Loading label="Searching…" />
          ) : events.length === 0 ? (
            <NoEvents q={q} from={from} until={until} range={range} navigate={navigate} />
          ) : (
            <section aria-label="Events, newest first">
              <ol class="events">
                {events.map((e) => (
                  <EventRow key={e.id} event={e} onFilter={filter} terms={terms} />
                ))}
              </ol>
              <div ref={sentinel} class="list-end">
                {moreError ? (
                  <p role="alert">
                    {moreError instanceof NetworkError ? "The server cannot be reached." : (moreError as Error).message}{" "}
                    <button type="button" class="btn btn-small" onClick={() => void loadMore()}>
                      Try again
                    </button>
                  </p>
                ) : next ? (
                  <button type="button" class="btn" onClick={() => void loadMore()} aria-busy={loadingMore ? "true" : undefined}>
                    {loadingMore ? "Loading more…" : "Load more"}
                  </button>
                ) : (
                  <p class="muted">
                    {events.length.toLocaleString()} of {(count ?? events.length).toLocaleString()} shown · end of results
                  </p>
                )}
              </div>
            </section>
          )}
        </>
      )}
    </div>
  );
}

function NoEvents({ q, from, until, range, navigate }: { q: string; from: string; until: string; range: string; navigate: PageProps["navigate"] }) {
  const all = q.trim() === "" || q.trim() === "*";
  // A bare field name (`level:error`) that no event has, where a known field would match (`json.level`).
  const [suggestion, setSuggestion] = useState<string | undefined>();
  useEffect(() => {
    setSuggestion(undefined);
    if (all || !/[A-Za-z_@][\w@-]*:/.test(q)) return;
    const ctl = new AbortController();
    api<{ fields: string[] }>(`/apiv2/fields${qs({ from, until })}`, { signal: ctl.signal }).then(
      (b) => setSuggestion(suggestFields(q, b.fields)),
      () => undefined,
    );
    return () => ctl.abort();
  }, [q, from, until, all]);
  return (
    <Empty title={all ? `No events in the ${range.toLowerCase().startsWith("last") ? range.toLowerCase() : `range ${range}`}` : "No events match this search"} icon="○">
      {all ? (
        <p>
          Nothing has arrived in this range. Try a longer range, or{" "}
          <a href="#/setup" onClick={(e) => (e.preventDefault(), navigate({ page: "setup" }))}>
            send your first events
          </a>
          .
        </p>
      ) : (
        <p>
          Nothing matches <code>{q}</code> ({range}). Try a longer range, fewer clauses, or a wildcard like <code>err*</code>.
        </p>
      )}
      {suggestion && (
        <p class="suggestion" data-testid="field-suggestion">
          Fields have a namespace (<code>json.</code>, <code>syslog.</code>, …). Did you mean{" "}
          <button type="button" class="link-button" onClick={() => navigate({ page: "search", q: suggestion })}>
            {suggestion}
          </button>
          ?
        </p>
      )}
      <p>
        <button type="button" class="btn" onClick={() => navigate({ from: "-7d", until: "now" })}>
          Search the last 7 days
        </button>
      </p>
    </Empty>
  );
}
