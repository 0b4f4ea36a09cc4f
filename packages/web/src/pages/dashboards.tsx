import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { Chart, type ChartSpec, type ChartType } from "../components/chart";
import { FormActions } from "../components/form-actions";
import { Empty, ErrorBox, Loading } from "../components/states";
import { describeRange, PRESETS } from "../time";
import type { PageProps } from "./page";

interface DashboardView {
  id: string;
  name: string;
  from: string;
  until: string;
  refreshSeconds: number;
  charts: ChartSpec[];
  updatedAt: number;
}

const REFRESH = [0, 30, 60, 300];
const TYPES: { type: ChartType; label: string }[] = [
  { type: "timeline", label: "Timeline (events over time)" },
  { type: "bar", label: "Bar (top values of a field)" },
  { type: "pie", label: "Pie (top values of a field)" },
  { type: "count", label: "Single value (count)" },
  { type: "table", label: "Table (values of a field)" },
];

/** Dashboards: a named grid of charts over one range, refreshed on their own (`#/dashboards`, one: `#/dashboards?saved=ID`). */
export function DashboardsPage({ route, navigate }: PageProps) {
  return route.saved ? <DashboardView id={route.saved} navigate={navigate} /> : <DashboardList navigate={navigate} />;
}

function DashboardList({ navigate }: { navigate: PageProps["navigate"] }) {
  const [list, setList] = useState<DashboardView[] | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [problem, setProblem] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api<{ dashboards: DashboardView[] }>("/apiv2/dashboards").then(
      (b) => (setList(b.dashboards), setError(null)),
      (err: unknown) => setError(err),
    );
  }, [tick]);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const b = await api<{ dashboard: DashboardView }>("/apiv2/dashboards", { method: "POST", json: { name, from: "-24h", until: "now", refreshSeconds: 60, charts: [] } });
      navigate({ page: "dashboards", saved: b.dashboard.id });
    } catch (err) {
      setProblem(err instanceof ApiError && Array.isArray(err.body.errors) ? (err.body.errors as { message: string }[]).map((x) => x.message).join("; ") : (err as Error).message);
    }
  };
  return (
    <div class="page page-dashboards">
      <h1 class="page-title" tabIndex={-1}>
        Dashboards
      </h1>
      <p class="lead">A dashboard shows charts of your searches side by side over one time range, and refreshes itself. Everyone signed in to this account sees the same ones.</p>
      <form class="card inline-form" onSubmit={(e) => void create(e)} aria-label="Create a dashboard">
        <label class="field">
          <span>New dashboard</span>
          <input name="name" value={name} placeholder="Checkout health" maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} aria-invalid={problem ? "true" : undefined} aria-describedby={problem ? "dash-err" : undefined} />
        </label>
        <button type="submit" class="btn btn-primary">
          Create
        </button>
        {problem && (
          <p id="dash-err" class="field-error" role="alert">
            {problem}
          </p>
        )}
      </form>
      {error && !list ? (
        <ErrorBox error={error} onRetry={() => setTick((t) => t + 1)} />
      ) : !list ? (
        <Loading label="Loading dashboards…" />
      ) : list.length === 0 ? (
        <Empty title="No dashboards yet" icon="▦">
          <p>Name one above, then add charts: errors over time split by service, the top hosts, a count of 5xx answers.</p>
        </Empty>
      ) : (
        <ul class="alert-list">
          {list.map((d) => (
            <li key={d.id} class="alert-item" data-dashboard={d.name}>
              <div class="alert-main">
                <h2 class="item-title">
                  <a href={`#/dashboards?saved=${encodeURIComponent(d.id)}`}>{d.name}</a>
                </h2>
                <p class="muted small">
                  {d.charts.length} chart{d.charts.length === 1 ? "" : "s"} · {describeRange(d.from, d.until, Date.now())}
                  {d.refreshSeconds ? ` · refreshes every ${d.refreshSeconds} s` : ""}
                </p>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function DashboardView({ id, navigate }: { id: string; navigate: PageProps["navigate"] }) {
  const [d, setD] = useState<DashboardView | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);
  const [adding, setAdding] = useState(false);
  const [problem, setProblem] = useState("");
  useEffect(() => {
    api<{ dashboard: DashboardView }>(`/apiv2/dashboards/${encodeURIComponent(id)}`).then((b) => setD(b.dashboard), setError);
  }, [id]);
  // Auto-refresh: every chart loads again on the dashboard's interval.
  useEffect(() => {
    if (!d?.refreshSeconds) return;
    const t = setInterval(() => setNonce((n) => n + 1), d.refreshSeconds * 1000);
    return () => clearInterval(t);
  }, [d?.refreshSeconds]);
  const save = async (change: Partial<DashboardView>) => {
    try {
      const b = await api<{ dashboard: DashboardView }>(`/apiv2/dashboards/${encodeURIComponent(id)}`, { method: "PATCH", json: change });
      setD(b.dashboard);
      setProblem("");
      return true;
    } catch (err) {
      setProblem(err instanceof ApiError && Array.isArray(err.body.errors) ? (err.body.errors as { message: string }[]).map((x) => x.message).join("; ") : (err as Error).message);
      return false;
    }
  };
  if (error) return <ErrorBox error={error} onRetry={() => navigate({ page: "dashboards" })} />;
  if (!d) return <Loading label="Loading the dashboard…" />;
  return (
    <div class="page page-dashboard">
      <p class="muted small">
        <a href="#/dashboards" onClick={(e) => (e.preventDefault(), navigate({ page: "dashboards" }))}>
          Dashboards
        </a>
      </p>
      <div class="page-head">
        <h1 class="page-title" tabIndex={-1}>
          {d.name}
        </h1>
        <div class="result-actions">
          <label class="inline-label">
            <span>Range</span>
            <select value={PRESETS.some((p) => p.from === d.from && d.until === "now") ? d.from : ""} onChange={(e) => void save({ from: (e.target as HTMLSelectElement).value, until: "now" })}>
              {!PRESETS.some((p) => p.from === d.from && d.until === "now") && <option value="">{describeRange(d.from, d.until, Date.now())}</option>}
              {PRESETS.map((p) => (
                <option key={p.from} value={p.from}>
                  {p.title}
                </option>
              ))}
            </select>
          </label>
          <label class="inline-label">
            <span>Refresh</span>
            <select value={String(d.refreshSeconds)} onChange={(e) => void save({ refreshSeconds: Number((e.target as HTMLSelectElement).value) })}>
              {REFRESH.map((r) => (
                <option key={r} value={String(r)}>
                  {r === 0 ? "off" : r < 60 ? `every ${r} s` : `every ${r / 60} min`}
                </option>
              ))}
            </select>
          </label>
          <button type="button" class="btn btn-small" onClick={() => setNonce((n) => n + 1)}>
            Refresh now
          </button>
          {!adding && (
            <button type="button" class="btn btn-primary btn-small" onClick={() => setAdding(true)}>
              Add chart
            </button>
          )}
        </div>
      </div>
      {problem && (
        <p class="field-error" role="alert">
          {problem}
        </p>
      )}
      {adding && <ChartForm onCancel={() => setAdding(false)} onAdd={async (c) => (await save({ charts: [...d.charts, c] })) && setAdding(false)} />}
      {d.charts.length === 0 && !adding ? (
        <Empty title="No charts yet" icon="▦">
          <p>Add a chart: a timeline of a search, the top values of a field as bars, a pie or a table, or a single count.</p>
        </Empty>
      ) : (
        <div class="chart-grid">
          {d.charts.map((c, i) => (
            <div key={`${i}-${c.title}`} class="chart-cell">
              <Chart spec={c} from={d.from} until={d.until} nonce={nonce} />
              <button type="button" class="btn btn-small" aria-label={`Remove ${c.title}`} onClick={() => void save({ charts: d.charts.filter((_, k) => k !== i) })}>
                Remove
              </button>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function ChartForm({ onCancel, onAdd }: { onCancel(): void; onAdd(c: ChartSpec): Promise<unknown> }) {
  const [c, setC] = useState<ChartSpec>({ title: "", type: "timeline", query: "", field: "", size: 5 });
  const needsField = c.type === "bar" || c.type === "pie" || c.type === "table";
  const submit = (e: Event) => {
    e.preventDefault();
    const { field, size, ...rest } = c;
    void onAdd({ ...rest, ...(field && c.type !== "count" ? { field, size } : {}) });
  };
  return (
    <form class="card alert-form" onSubmit={submit} aria-label="Add chart">
      <div class="field-row">
        <label class="field">
          <span>Title</span>
          <input name="title" value={c.title} maxLength={100} onInput={(e) => setC({ ...c, title: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span>Chart</span>
          <select name="type" value={c.type} onChange={(e) => setC({ ...c, type: (e.target as HTMLSelectElement).value as ChartType })}>
            {TYPES.map((t) => (
              <option key={t.type} value={t.type}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label class="field">
        <span>Search query</span>
        <input name="query" class="mono" value={c.query} placeholder="* (every event)" spellcheck={false} onInput={(e) => setC({ ...c, query: (e.target as HTMLInputElement).value })} />
      </label>
      {c.type !== "count" && (
        <div class="field-row">
          <label class="field">
            <span>{needsField ? "Field" : "Split by field (optional)"}</span>
            <input name="field" class="mono" value={c.field} placeholder="json.level" spellcheck={false} onInput={(e) => setC({ ...c, field: (e.target as HTMLInputElement).value })} />
          </label>
          <label class="field">
            <span>Top values</span>
            <input name="size" type="number" min={1} max={20} value={c.size} onInput={(e) => setC({ ...c, size: Number((e.target as HTMLInputElement).value) })} />
          </label>
        </div>
      )}
      <FormActions submit="Add" onCancel={onCancel} />
    </form>
  );
}
