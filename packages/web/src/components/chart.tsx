import { useEffect, useState } from "preact/hooks";
import type { ChartSpec, ChartStat, ChartType } from "@unmeltable/core/event";
import { api, qs } from "../api";
import { formatStat, STAT_NAMES, type FieldStats } from "../fields";
import { fieldClause } from "../query";
import { fillBuckets, formatShort, type Bucket } from "../time";

export type { ChartSpec, ChartStat, ChartType };

interface Term {
  term: string | number | boolean;
  count: number;
}
interface HistogramBody {
  interval: number;
  from: number;
  until: number;
  buckets: Bucket[];
}

/** Series colours, distinguishable in light and dark (each at least 3:1 on the panel as a graphic). */
const COLOURS = ["#1a5fd0", "#c2410c", "#15803d", "#9333ea", "#b45309", "#0e7490", "#be123c", "#4d7c0f"];

type Data =
  | { kind: "count"; count: number }
  | { kind: "stat"; stat: Exclude<ChartStat, "count">; field: string; value: number | null; exact: boolean }
  | { kind: "terms"; terms: Term[]; total: number }
  | { kind: "timeline"; series: { label: string; buckets: Bucket[] }[]; interval: number };

/** One chart of a dashboard: loads what its type shows through the retrieval API, over the dashboard's range. */
export function Chart({ spec, from, until, nonce }: { spec: ChartSpec; from: string; until: string; nonce: number }) {
  const [data, setData] = useState<Data | undefined>();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    load(spec, from, until, ctl.signal).then(setData, (err: unknown) => (err as Error).name !== "AbortError" && setError((err as Error).message));
    return () => ctl.abort();
  }, [spec.type, spec.stat, spec.query, spec.field, spec.size, from, until, nonce]);
  return (
    <figure class="chart" data-chart={spec.title} aria-busy={!data && !error ? "true" : undefined}>
      <figcaption>
        <strong>{spec.title}</strong> <code class="muted small">{spec.query || "*"}</code>
      </figcaption>
      {error ? <p class="field-error">{error}</p> : !data ? <p class="muted">Loading…</p> : <Body spec={spec} data={data} />}
    </figure>
  );
}

async function load(spec: ChartSpec, from: string, until: string, signal: AbortSignal): Promise<Data> {
  const q = spec.query || "*";
  if (spec.type === "count" && spec.stat && spec.stat !== "count" && spec.field) {
    const { stat, field } = spec;
    const s = await api<FieldStats>(`/apiv2/fields/${encodeURIComponent(field)}/stats${qs({ q, from, until })}`, { signal });
    return { kind: "stat", stat, field, value: s[stat], exact: s.exact };
  }
  if (spec.type === "count") return { kind: "count", count: (await api<{ count: number }>(`/apiv2/events/count${qs({ q, from, until })}`, { signal })).count };
  const facet = async () => {
    const field = spec.field!;
    const body = await api<Record<string, unknown>>(`/apiv2/fields/${encodeURIComponent(field)}/${qs({ q, from, until, facet_size: spec.size ?? 5 })}`, { signal });
    return (body[field] as Term[] | undefined) ?? [];
  };
  if (spec.type !== "timeline") {
    const [terms, total] = await Promise.all([facet(), api<{ count: number }>(`/apiv2/events/count${qs({ q, from, until })}`, { signal }).then((c) => c.count)]);
    return { kind: "terms", terms, total };
  }
  const histogram = (query: string) => api<HistogramBody>(`/apiv2/events/histogram${qs({ q: query, from, until })}`, { signal });
  if (!spec.field) {
    const h = await histogram(q);
    return { kind: "timeline", interval: h.interval, series: [{ label: "events", buckets: fillBuckets(h.buckets, h.from, h.until, h.interval) }] };
  }
  // Split by the field's top values: one histogram per value, over the same buckets.
  const terms = await facet();
  const series = await Promise.all(
    terms.map(async (t) => {
      const clause = fieldClause(spec.field!, t.term) ?? "";
      const h = await histogram(q === "*" ? clause : `(${q}) AND ${clause}`);
      return { label: String(t.term), buckets: fillBuckets(h.buckets, h.from, h.until, h.interval), interval: h.interval };
    }),
  );
  return { kind: "timeline", interval: series[0]?.interval ?? 60_000, series };
}

function Body({ spec, data }: { spec: ChartSpec; data: Data }) {
  if (data.kind === "count") return <p class="chart-value">{data.count.toLocaleString()}</p>;
  if (data.kind === "stat") {
    return (
      <>
        {data.value === null ? (
          <p class="chart-value chart-value-none">no numeric values</p>
        ) : (
          <p class="chart-value" title={String(data.value)}>
            {formatStat(data.value)}
          </p>
        )}
        <p class="chart-stat muted small">
          {STAT_NAMES[data.stat]} of <code>{data.field}</code>
          {data.exact ? "" : " · from the newest events only"}
        </p>
      </>
    );
  }
  if (data.kind === "terms") {
    if (data.terms.length === 0) return <p class="muted">No values of {spec.field} in this range.</p>;
    const max = Math.max(1, ...data.terms.map((t) => t.count));
    if (spec.type === "pie") return <Pie terms={data.terms} />;
    if (spec.type === "table") {
      return (
        <table class="chart-table">
          <thead>
            <tr>
              <th scope="col">{spec.field}</th>
              <th scope="col">Events</th>
              <th scope="col">Share</th>
            </tr>
          </thead>
          <tbody>
            {data.terms.map((t) => (
              <tr key={String(t.term)}>
                <td class="mono">{String(t.term)}</td>
                <td>{t.count.toLocaleString()}</td>
                <td>{data.total ? `${Math.round((t.count / data.total) * 1000) / 10}%` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
    return (
      <ol class="chart-bars">
        {data.terms.map((t) => (
          <li key={String(t.term)}>
            <span class="mono">{String(t.term)}</span>
            <span class="chart-bar" style={{ width: `${(t.count / max) * 100}%` }} aria-hidden="true" />
            <span>{t.count.toLocaleString()}</span>
          </li>
        ))}
      </ol>
    );
  }
  return <Timeline series={data.series} interval={data.interval} />;
}

function Pie({ terms }: { terms: Term[] }) {
  const total = terms.reduce((n, t) => n + t.count, 0) || 1;
  let angle = 0;
  const arcs = terms.map((t, i) => {
    const a0 = angle;
    angle += (t.count / total) * Math.PI * 2;
    const large = angle - a0 > Math.PI ? 1 : 0;
    const p = (a: number) => `${50 + 40 * Math.sin(a)} ${50 - 40 * Math.cos(a)}`;
    const d = terms.length === 1 ? "M 50 10 A 40 40 0 1 1 49.99 10 Z" : `M 50 50 L ${p(a0)} A 40 40 0 ${large} 1 ${p(angle)} Z`;
    return <path key={String(t.term)} d={d} fill={COLOURS[i % COLOURS.length]} />;
  });
  return (
    <div class="chart-pie">
      <svg viewBox="0 0 100 100" role="img" aria-label={terms.map((t) => `${String(t.term)}: ${t.count}`).join(", ")}>
        {arcs}
      </svg>
      <Legend labels={terms.map((t) => `${String(t.term)} · ${t.count.toLocaleString()}`)} />
    </div>
  );
}

function Timeline({ series, interval }: { series: { label: string; buckets: Bucket[] }[]; interval: number }) {
  const n = series[0]?.buckets.length ?? 0;
  if (n === 0) return <p class="muted">No events in this range.</p>;
  const totals = Array.from({ length: n }, (_, i) => series.reduce((s, x) => s + (x.buckets[i]?.count ?? 0), 0));
  const max = Math.max(1, ...totals);
  const w = 100 / n;
  const first = series[0]!.buckets[0]!.time;
  const last = series[0]!.buckets[n - 1]!.time + interval;
  const sum = totals.reduce((a, b) => a + b, 0);
  return (
    <div class="chart-timeline">
      <svg viewBox="0 0 100 40" preserveAspectRatio="none" role="img" aria-label={`${sum.toLocaleString()} events over time${series.length > 1 ? `, by ${series.map((s) => s.label).join(", ")}` : ""}`}>
        {totals.map((_, i) => {
          let y = 40;
          return series.map((s, k) => {
            const h = ((s.buckets[i]?.count ?? 0) / max) * 38;
            y -= h;
            return h > 0 ? <rect key={`${i}-${k}`} x={i * w} y={y} width={Math.max(w - 0.15, 0.1)} height={h} fill={COLOURS[k % COLOURS.length]} /> : null;
          });
        })}
      </svg>
      <p class="chart-axis muted small">
        <span>{formatShort(first)}</span>
        <span>{formatShort(last)}</span>
      </p>
      {series.length > 1 && <Legend labels={series.map((s) => s.label)} />}
    </div>
  );
}

function Legend({ labels }: { labels: string[] }) {
  return (
    <ul class="chart-legend">
      {labels.map((l, i) => (
        <li key={l}>
          <span class="swatch" style={{ background: COLOURS[i % COLOURS.length] }} aria-hidden="true" />
          {l}
        </li>
      ))}
    </ul>
  );
}
