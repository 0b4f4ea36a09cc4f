import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, qs } from "../api";
import { QueryBar } from "../components/query-bar";
import { Empty, ErrorBox, Loading } from "../components/states";
import { formatStat, looksNumeric, type FieldStats } from "../fields";
import { addClause, fieldClause } from "../query";
import { describeRange } from "../time";
import type { PageProps } from "./page";

interface Term {
  term: string | number | boolean;
  count: number;
}

const FIRST = ["tag", "logtype"];
/** Distinct values from which a field whose top values each occur once is folded away as unique. */
const MIN_UNIQUE = 20;

/** The field browser: the fields present in the matching events, each with its top values. */
export function FieldsPage({ route, nonce, navigate }: PageProps) {
  const { q, from, until } = route;
  const [fields, setFields] = useState<string[] | undefined>();
  const [total, setTotal] = useState<number | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState("");
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    const ctl = new AbortController();
    setFields(undefined);
    setError(null);
    const params = { q: q || "*", from, until };
    api<{ fields: string[] }>(`/apiv2/fields/${qs(params)}`, { signal: ctl.signal }).then(
      (r) => setFields([...FIRST.filter((f) => r.fields.includes(f)), ...r.fields.filter((f) => !FIRST.includes(f)).sort()]),
      (err: Error) => err.name !== "AbortError" && setError(err),
    );
    api<{ count: number }>(`/apiv2/events/count${qs(params)}`, { signal: ctl.signal }).then(
      (r) => setTotal(r.count),
      () => undefined,
    );
    return () => ctl.abort();
  }, [q, from, until, nonce, retry]);

  const queryError = error instanceof ApiError && error.status === 400 ? error : null;
  const shown = fields?.filter((f) => f.toLowerCase().includes(filter.trim().toLowerCase())) ?? [];
  return (
    <div class="page page-fields">
      <h1 class="page-title" tabIndex={-1}>
        Fields
      </h1>
      <QueryBar q={q} from={from} until={until} error={queryError} busy={!fields && !error} onSubmit={(s) => navigate({ page: "fields", ...s })} />
      {error && !queryError ? (
        <ErrorBox error={error} onRetry={() => setRetry((r) => r + 1)} />
      ) : queryError ? null : !fields ? (
        <Loading label="Finding fields…" />
      ) : fields.length === 0 ? (
        <Empty title="No fields yet" icon="○">
          <p>No events match in the {describeRange(from, until, Date.now()).toLowerCase()}, so there are no fields to show. Try a longer range.</p>
        </Empty>
      ) : (
        <>
          <div class="fields-toolbar">
            <label>
              <span class="sr-only">Filter fields by name</span>
              <input type="search" placeholder="Filter fields" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} aria-label="Filter fields by name" />
            </label>
            <span class="muted" aria-live="polite">
              {shown.length} of {fields.length} fields{total !== undefined ? ` in ${total.toLocaleString()} events` : ""} · {describeRange(from, until, Date.now())}
            </span>
          </div>
          <ul class="field-grid">
            {shown.map((f) => (
              <FieldCard key={`${f}|${q}|${from}|${until}|${nonce}`} field={f} route={route} total={total} onPick={(clause) => navigate({ page: "search", q: addClause(q, clause) })} />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function FieldCard({ field, route, total, onPick }: { field: string; route: PageProps["route"]; total?: number; onPick(clause: string): void }) {
  const [terms, setTerms] = useState<Term[] | undefined>();
  const [sampled, setSampled] = useState(false);
  const [distinct, setDistinct] = useState<number | undefined>();
  const [unfolded, setUnfolded] = useState(false);
  const [error, setError] = useState<string>("");
  const [visible, setVisible] = useState(false);
  const [stats, setStats] = useState<FieldStats | undefined>();
  const [statsError, setStatsError] = useState("");
  const ref = useRef<HTMLLIElement>(null);

  // Top values are counted only for the cards that come into view.
  useEffect(() => {
    if (!ref.current || typeof IntersectionObserver === "undefined") return setVisible(true);
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setVisible(true);
        io.disconnect();
      }
    }, { rootMargin: "200px" });
    io.observe(ref.current);
    return () => io.disconnect();
  }, []);

  useEffect(() => {
    if (!visible) return;
    const ctl = new AbortController();
    api<Record<string, unknown>>(`/apiv2/fields/${encodeURIComponent(field)}/${qs({ q: route.q || "*", from: route.from, until: route.until, facet_size: 5 })}`, { signal: ctl.signal }).then(
      (r) => {
        setTerms((r[field] as Term[] | undefined) ?? []);
        setSampled(r.sampled === true);
        if (typeof r.unique_field_count === "number") setDistinct(r.unique_field_count);
      },
      (err: Error) => err.name !== "AbortError" && setError(err.message),
    );
    return () => ctl.abort();
  }, [visible]);

  // A field whose top values are mostly numbers gets its aggregates too, once those values are in (so
  // only for the cards in view, and only for numeric fields); the card is remade when the search changes.
  const numeric = terms !== undefined && looksNumeric(terms);
  useEffect(() => {
    if (!numeric) return;
    const ctl = new AbortController();
    api<FieldStats>(`/apiv2/fields/${encodeURIComponent(field)}/stats${qs({ q: route.q || "*", from: route.from, until: route.until })}`, { signal: ctl.signal }).then(
      setStats,
      // A deployment whose index computes no aggregates (404) shows the top values alone.
      (err: Error) => err.name !== "AbortError" && !(err instanceof ApiError && err.status === 404) && setStatsError(err.message),
    );
    return () => ctl.abort();
  }, [numeric]);

  const max = Math.max(1, ...(terms ?? []).map((t) => t.count));
  // A field whose every value is its event's own (an id, a time, a request's bytes) tells nothing by its
  // top values: it is folded to one line, and opens on demand.
  const unique = terms !== undefined && terms.length > 0 && max === 1 && (distinct ?? 0) >= MIN_UNIQUE;
  return (
    <li class="field-card" ref={ref} data-field={field}>
      <h2 class="field-card-title">{field}</h2>
      {numeric && <NumericSummary field={field} stats={stats} error={statsError} />}
      {error ? (
        <p class="field-error">{error}</p>
      ) : !terms ? (
        <p class="muted" aria-busy="true">
          Counting values…
        </p>
      ) : terms.length === 0 ? (
        <p class="muted">Present, but no values to count (long text or nested values).</p>
      ) : unique && !unfolded ? (
        <p class="muted small folded" data-testid="unique-field">
          {distinct!.toLocaleString()}
          {distinct! >= 100_000 ? "+" : ""} distinct values, each in about one event (an id or a time): folded.{" "}
          <button type="button" class="link-button" onClick={() => setUnfolded(true)} aria-label={`Show values of ${field}`}>
            Show values
          </button>
        </p>
      ) : (
        <ol class="terms" aria-label={`Top values of ${field}`}>
          {terms.map((t) => {
            const clause = fieldClause(field, t.term);
            const pct = total ? Math.round((t.count / total) * 1000) / 10 : undefined;
            const content = (
              <>
                <span class="term-bar" style={{ width: `${(t.count / max) * 100}%` }} aria-hidden="true" />
                {/* The accessible name is the visible text with what it does in front: "Search json.level: error 3 · 25%". */}
                {clause && <span class="sr-only">Search {field}: </span>}
                <span class="term-text">{String(t.term)}</span>{" "}
                <span class="term-count">
                  {t.count.toLocaleString()}
                  {pct !== undefined && <span class="muted"> · {pct}%</span>}
                </span>
              </>
            );
            return (
              <li key={String(t.term)}>
                {clause ? (
                  <button type="button" class="term" onClick={() => onPick(clause)}>
                    {content}
                  </button>
                ) : (
                  <span class="term">{content}</span>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {sampled && <p class="muted small">Counted over the newest 100,000 matching events.</p>}
    </li>
  );
}

/** The aggregates a numeric field's card shows, in this order. */
const SUMMARY = [
  { key: "min", label: "min" },
  { key: "avg", label: "avg" },
  { key: "max", label: "max" },
  { key: "p95", label: "p95" },
] as const;

/** A numeric field's min, average, max and 95th percentile over the search, and how many values they are of. */
function NumericSummary({ field, stats, error }: { field: string; stats?: FieldStats; error: string }) {
  if (error) return <p class="field-error small">Statistics of {field}: {error}</p>;
  if (!stats) {
    return (
      <p class="muted small" aria-busy="true">
        Computing min, average and max…
      </p>
    );
  }
  if (stats.count === 0) return <p class="muted small" data-testid="field-stats-none">No numeric values to summarize.</p>;
  return (
    <div class="field-stats" data-testid="field-stats">
      <dl>
        {SUMMARY.map(({ key, label }) => {
          const v = stats[key];
          return (
            <div key={key} data-stat={key}>
              <dt>{label}</dt>
              <dd data-value={v === null ? "" : String(v)} title={v === null ? undefined : String(v)}>
                {v === null ? "—" : formatStat(v)}
              </dd>
            </div>
          );
        })}
      </dl>
      <p class="muted small" data-testid="field-stats-note">
        Over {stats.count.toLocaleString()} numeric value{stats.count === 1 ? "" : "s"}
        {stats.exact ? "" : ", from the newest matching events only"}.
      </p>
    </div>
  );
}
