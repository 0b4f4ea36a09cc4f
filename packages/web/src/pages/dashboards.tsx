import { useEffect, useState } from "preact/hooks";
import { CHART_STATS } from "@unmeltable/core/event";
import { api, ApiError } from "../api";
import { Chart, type ChartSpec, type ChartStat, type ChartType } from "../components/chart";
import { FormActions, FormErrors } from "../components/form-actions";
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

/** A field error the server names (`charts[2].field`), or one about the dashboard itself. */
interface FieldError {
  field: string;
  message: string;
}

const REFRESH = [0, 30, 60, 300];
const TYPES: { type: ChartType; label: string }[] = [
  { type: "timeline", label: "Timeline (events over time)" },
  { type: "bar", label: "Bar (top values of a field)" },
  { type: "pie", label: "Pie (top values of a field)" },
  { type: "count", label: "Single value (a count, an average, a p95…)" },
  { type: "table", label: "Table (values of a field)" },
];

/** Dashboards: a named grid of charts over one range, refreshed on their own (`#/dashboards`, one: `#/dashboards?saved=ID`). */
export function DashboardsPage({ route, navigate, config }: PageProps) {
  return route.saved ? <DashboardView id={route.saved} navigate={navigate} readOnly={config?.role === "readonly"} /> : <DashboardList navigate={navigate} />;
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
      <form class="card inline-form" onSubmit={(e) => void create(e)} aria-label="Create a dashboard" data-write>
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

/** One dashboard; a read-only user's range and refresh apply to this view only (they cannot save the dashboard). */
function DashboardView({ id, navigate, readOnly }: { id: string; navigate: PageProps["navigate"]; readOnly: boolean }) {
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
  /** Saves a change; the server's complaints (field by field when it names them), or none when saved. */
  const patch = async (change: Partial<DashboardView>): Promise<FieldError[]> => {
    try {
      const b = await api<{ dashboard: DashboardView }>(`/apiv2/dashboards/${encodeURIComponent(id)}`, { method: "PATCH", json: change });
      setD(b.dashboard);
      return [];
    } catch (err) {
      return err instanceof ApiError && Array.isArray(err.body.errors) ? (err.body.errors as FieldError[]) : [{ field: "body", message: (err as Error).message }];
    }
  };
  const save = async (change: Partial<DashboardView>) => {
    if (readOnly) {
      setD((current) => current && { ...current, ...change });
      return true;
    }
    const errors = await patch(change);
    setProblem(errors.map((x) => x.message).join("; "));
    return errors.length === 0;
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
          {readOnly && <span class="muted small">for this view only</span>}
          <button type="button" class="btn btn-small" onClick={() => setNonce((n) => n + 1)}>
            Refresh now
          </button>
          {!adding && (
            <button type="button" class="btn btn-primary btn-small" onClick={() => setAdding(true)} data-write>
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
      {adding && (
        <ChartForm
          at={`charts[${d.charts.length}]`}
          onCancel={() => setAdding(false)}
          onAdd={async (c) => {
            const errors = await patch({ charts: [...d.charts, c] });
            if (errors.length === 0) setAdding(false);
            return errors;
          }}
        />
      )}
      {d.charts.length === 0 && !adding ? (
        <Empty title="No charts yet" icon="▦">
          <p>Add a chart: a timeline of a search, the top values of a field as bars, a pie or a table, or a single value (a count of events, or a numeric field's average, p95 and the like).</p>
        </Empty>
      ) : (
        <div class="chart-grid">
          {d.charts.map((c, i) => (
            <div key={`${i}-${c.title}`} class="chart-cell">
              <Chart spec={c} from={d.from} until={d.until} nonce={nonce} />
              <button type="button" class="btn btn-small" aria-label={`Remove ${c.title}`} onClick={() => void save({ charts: d.charts.filter((_, k) => k !== i) })} data-write>
                Remove
              </button>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

type ChartDraft = Required<Pick<ChartSpec, "title" | "type" | "query" | "field" | "size" | "stat">>;
/** The chart form's inputs, by the name the server gives their errors (`charts[N].field`). */
type ChartErrors = Partial<Record<keyof ChartDraft | "body", string>>;

/** What a single-value chart can show: the events' count, or an aggregate of a numeric field. */
const STAT_LABELS: Record<ChartStat, string> = {
  count: "Count of events",
  min: "Minimum of a field",
  max: "Maximum of a field",
  avg: "Average of a field",
  sum: "Sum of a field",
  p50: "Median (p50) of a field",
  p95: "95th percentile (p95) of a field",
  p99: "99th percentile (p99) of a field",
};

function ChartForm({ at, onCancel, onAdd }: { at: string; onCancel(): void; onAdd(c: ChartSpec): Promise<FieldError[]> }) {
  const [c, setC] = useState<ChartDraft>({ title: "", type: "timeline", query: "", field: "", size: 5, stat: "count" });
  const [errors, setErrors] = useState<ChartErrors>({});
  const [busy, setBusy] = useState(false);
  const single = c.type === "count";
  const aggregate = single && c.stat !== "count";
  const needsField = c.type === "bar" || c.type === "pie" || c.type === "table";
  const submit = async (e: Event) => {
    e.preventDefault();
    const { field, size, stat, ...rest } = c;
    // A single value sends a field only with an aggregate; the other charts send a number of top values only with a field.
    const spec: ChartSpec = single ? { ...rest, ...(aggregate ? { stat, ...(field ? { field } : {}) } : {}) } : { ...rest, ...(field ? { field, size } : {}) };
    setBusy(true);
    try {
      const problems = await onAdd(spec);
      // The server's errors for this chart go beside its inputs shown; anything else above the buttons.
      const shown: readonly string[] = ["title", "type", "query", ...(single ? ["stat", ...(aggregate ? ["field"] : [])] : ["field", "size"])];
      const found: ChartErrors = {};
      for (const p of problems) {
        const k = p.field.startsWith(`${at}.`) ? p.field.slice(at.length + 1) : "";
        if (shown.includes(k)) found[k as keyof ChartDraft] = p.message;
        else found.body = found.body ? `${found.body}; ${p.message}` : p.message;
      }
      setErrors(found);
    } finally {
      setBusy(false);
    }
  };
  const set = <K extends keyof ChartDraft>(k: K, v: ChartDraft[K]) => setC({ ...c, [k]: v });
  const errId = (k: keyof ChartDraft) => `chart-err-${k}`;
  const attrs = (k: keyof ChartDraft) => ({ "aria-invalid": errors[k] ? ("true" as const) : undefined, "aria-describedby": errors[k] ? errId(k) : undefined });
  const err = (k: keyof ChartDraft) =>
    errors[k] ? (
      <span id={errId(k)} class="field-error">
        {errors[k]}
      </span>
    ) : null;
  const fieldInput = (label: string, placeholder: string) => (
    <label class="field">
      <span>{label}</span>
      <input name="field" class="mono" value={c.field} placeholder={placeholder} spellcheck={false} onInput={(e) => set("field", (e.target as HTMLInputElement).value)} {...attrs("field")} />
      {err("field")}
    </label>
  );
  return (
    <form class="card alert-form" onSubmit={(e) => void submit(e)} aria-label="Add chart" noValidate>
      <div class="field-row">
        <label class="field">
          <span>Title</span>
          <input name="title" value={c.title} maxLength={100} onInput={(e) => set("title", (e.target as HTMLInputElement).value)} {...attrs("title")} />
          {err("title")}
        </label>
        <label class="field">
          <span>Chart</span>
          <select name="type" value={c.type} onChange={(e) => set("type", (e.target as HTMLSelectElement).value as ChartType)} {...attrs("type")}>
            {TYPES.map((t) => (
              <option key={t.type} value={t.type}>
                {t.label}
              </option>
            ))}
          </select>
          {err("type")}
        </label>
      </div>
      <label class="field">
        <span>Search query</span>
        <input name="query" class="mono" value={c.query} placeholder="* (every event)" spellcheck={false} onInput={(e) => set("query", (e.target as HTMLInputElement).value)} {...attrs("query")} />
        {err("query")}
      </label>
      {single ? (
        <div class="field-row">
          <label class="field">
            <span>Shows</span>
            <select name="stat" value={c.stat} onChange={(e) => set("stat", (e.target as HTMLSelectElement).value as ChartStat)} {...attrs("stat")}>
              {CHART_STATS.map((stat) => (
                <option key={stat} value={stat}>
                  {STAT_LABELS[stat]}
                </option>
              ))}
            </select>
            {err("stat")}
          </label>
          {aggregate && fieldInput("Numeric field", "json.ms")}
        </div>
      ) : (
        <div class="field-row">
          {fieldInput(needsField ? "Field" : "Split by field (optional)", "json.level")}
          <label class="field">
            <span>Top values</span>
            <input name="size" type="number" min={1} max={20} value={c.size} onInput={(e) => set("size", Number((e.target as HTMLInputElement).value))} {...attrs("size")} />
            {err("size")}
          </label>
        </div>
      )}
      <FormErrors errors={errors} summary="The chart was not added" />
      <FormActions submit="Add" busy={busy} onCancel={onCancel} />
    </form>
  );
}
