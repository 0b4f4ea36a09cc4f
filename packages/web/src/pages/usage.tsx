import type { UsageAnswer, UsageDay } from "@unmeltable/core/event";
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { Empty, ErrorBox, Loading } from "../components/states";
import type { PageProps } from "./page";

/** Bytes as Loggly's usage page shows volume: decimal units (GB = 10⁹ bytes, as plans are sold). */
export function formatBytes(n: number | null): string {
  if (n === null) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

const REFRESH_MS = 30_000;

const count = (n: number | null) => (n === null ? "—" : n.toLocaleString("en-US"));

/**
 * Account usage, like Loggly's: volume per UTC day over the last 30 days as bars against the plan's
 * daily volume (a line), today's share of the plan, and the numbers in a table. Where the deployment
 * does not measure received bytes (AWS: the index's counts only), the bars are indexed events.
 */
export function UsagePage({ nonce }: PageProps) {
  const [usage, setUsage] = useState<UsageAnswer | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    api<UsageAnswer>("/apiv2/usage?days=30", { signal: ctl.signal }).then(setUsage, (err: Error) => err.name !== "AbortError" && setError(err));
    // Today's counts move while the page is open: read them again every half minute (the server
    // writes its counts every 5 s; one small request per tab).
    const t = setTimeout(() => setRetry((r) => r + 1), REFRESH_MS);
    return () => (ctl.abort(), clearTimeout(t));
  }, [nonce, retry]);

  return (
    <div class="page page-usage">
      <h1 class="page-title" tabIndex={-1}>
        Usage
      </h1>
      {error ? (
        <ErrorBox error={error} onRetry={() => setRetry((r) => r + 1)} />
      ) : !usage ? (
        <Loading label="Reading usage…" />
      ) : (
        <UsageView usage={usage} onRefresh={() => setRetry((r) => r + 1)} />
      )}
    </div>
  );
}

function UsageView({ usage, onRefresh }: { usage: UsageAnswer; onRefresh(): void }) {
  const byBytes = usage.days.some((d) => d.bytes !== null);
  const value = (d: UsageDay) => (byBytes ? (d.bytes ?? 0) : d.indexed);
  const planValue = usage.plan ? (byBytes ? usage.plan.bytesPerDay : usage.plan.eventsPerSecond * 86_400) : null;
  const total = usage.days.reduce((s, d) => s + value(d), 0);
  const max = Math.max(1, planValue ?? 0, ...usage.days.map(value));
  const n = usage.days.length;
  const scale = (v: number) => (v / max) * 96;
  const what = byBytes ? "Volume received" : "Events indexed";
  const fmt = (v: number) => (byBytes ? formatBytes(v) : count(v));
  const planText = usage.plan ? `${formatBytes(usage.plan.bytesPerDay)} a day, ${usage.plan.eventsPerSecond.toLocaleString("en-US")} events/s` : "no plan (unlimited)";
  const pct = usage.today.percentOfPlan;
  return (
    <>
      <div class="usage-summary">
        <p>
          Plan: <strong data-testid="usage-plan">{planText}</strong>
        </p>
        <p>
          Today ({usage.today.day}, UTC):{" "}
          <strong data-testid="usage-today">
            {count(usage.days[n - 1]!.events ?? usage.days[n - 1]!.indexed)} events, {formatBytes(usage.days[n - 1]!.bytes)}
          </strong>
          {pct !== null && (
            <>
              {" "}
              · <strong class={pct > 100 ? "over-plan" : undefined} data-testid="usage-percent">{pct}% of plan</strong>
            </>
          )}
        </p>
        <button type="button" class="btn btn-small" onClick={onRefresh}>
          Refresh
        </button>
      </div>
      {total === 0 ? (
        <Empty title="Nothing counted yet" icon="○">
          <p>No events were received in the last {n} days. Send some from "Send logs"; they are counted here within seconds.</p>
        </Empty>
      ) : (
        <figure class="histogram usage-chart">
          <figcaption class="hist-caption">
            <span>
              {what} per UTC day, last {n} days <span class="muted">· max {fmt(Math.max(...usage.days.map(value)))}</span>
            </span>
            {planValue !== null && <span class="muted">dashed line: the plan ({fmt(planValue)} a day)</span>}
          </figcaption>
          <div class="hist-plot usage-plot">
            <svg viewBox={`0 0 ${n * 10} 100`} preserveAspectRatio="none" role="img" aria-label={`${what} per day over the last ${n} days${planValue !== null ? `, against the plan of ${fmt(planValue)} a day` : ""}`} data-testid="usage-chart">
              {usage.days.map((d, i) => {
                const v = value(d);
                const h = v === 0 ? 0 : Math.max(2, scale(v));
                const over = planValue !== null && v > planValue;
                return (
                  <rect key={d.day} class={over ? "bar bar-over" : "bar"} x={i * 10 + 1} width={8} y={100 - h} height={h} data-day={d.day} data-value={v}>
                    <title>{`${d.day}: ${fmt(v)}`}</title>
                  </rect>
                );
              })}
              {planValue !== null && <line class="plan-line" x1={0} x2={n * 10} y1={100 - scale(planValue)} y2={100 - scale(planValue)} data-testid="plan-line" vector-effect="non-scaling-stroke" />}
            </svg>
          </div>
          <div class="hist-axis" aria-hidden="true">
            <span style={{ left: "0%" }}>{usage.days[0]!.day}</span>
            <span style={{ left: "100%" }}>{usage.days[n - 1]!.day}</span>
          </div>
        </figure>
      )}
      <div class="table-wrap">
        <table class="history usage-table" data-testid="usage-table">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">Events received</th>
              <th scope="col">Volume</th>
              <th scope="col">Indexed</th>
              <th scope="col">Dead-lettered</th>
            </tr>
          </thead>
          <tbody>
            {[...usage.days].reverse().map((d) => (
              <tr key={d.day} data-day={d.day}>
                <th scope="row">{d.day}</th>
                <td data-col="events">{count(d.events)}</td>
                <td data-col="bytes" title={d.bytes === null ? undefined : `${d.bytes.toLocaleString("en-US")} bytes`}>
                  {formatBytes(d.bytes)}
                </td>
                <td data-col="indexed">{count(d.indexed)}</td>
                <td data-col="deadLettered">{count(d.deadLettered)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!byBytes && <p class="muted">This deployment counts indexed events per day from the index; received volume and dead letters are in its CloudWatch logs (docs/deploy.md, "Per-tenant usage").</p>}
    </>
  );
}
