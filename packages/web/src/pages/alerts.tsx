import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ConfirmDelete } from "../components/confirm-delete";
import { FormActions, FormErrors, useFormSave } from "../components/form-actions";
import { Empty, ErrorBox, Loading } from "../components/states";
import { listSavedSearches, type SavedSearchView } from "../saved-searches";
import { formatAgo, formatTimestamp } from "../time";
import type { PageProps } from "./page";

interface AlertView {
  id: string;
  name: string;
  query: string;
  comparison: "above" | "below";
  threshold: number;
  windowMinutes: number;
  webhookUrl: string;
  enabled: boolean;
  channel: Channel;
  routingKey?: string;
  emailTo?: string[];
  notifyResolved: boolean;
  /** The saved search it counts; `savedSearch` is null when that search is gone. */
  savedSearchId: string | null;
  savedSearch?: { id: string; name: string } | null;
  condition: string;
  state: { lastCheckedAt?: number; lastCount?: number; lastError?: string; triggered: boolean; lastFiredAt?: number };
}

type Channel = "webhook" | "slack" | "pagerduty" | "email";
const CHANNEL_NAMES: Record<Channel, string> = { webhook: "Webhook", slack: "Slack", pagerduty: "PagerDuty", email: "Email" };

interface Firing {
  id: string;
  kind: "triggered" | "resolved";
  channel: Channel;
  alertId: string;
  alertName: string;
  firedAt: number;
  query: string;
  count: number;
  comparison: "above" | "below";
  threshold: number;
  windowMinutes: number;
  link: string;
  delivery: { ok: boolean; status?: number; error?: string; attempts: number; tries?: { at: number; ok: boolean; status?: number; error?: string }[] };
}

interface Draft {
  name: string;
  query: string;
  comparison: "above" | "below";
  threshold: string;
  windowMinutes: string;
  webhookUrl: string;
  enabled: boolean;
  channel: Channel;
  routingKey: string;
  /** Comma-separated addresses. */
  emailTo: string;
  notifyResolved: boolean;
  /** "" = the alert's own query. */
  savedSearchId: string;
}

const POLL_MS = 3000;

/** Alerts: saved searches with a threshold, checked every minute, firing a webhook; and their history. */
export function AlertsPage({ route, navigate, config }: PageProps) {
  const channels = (config?.alertChannels ?? ["webhook", "slack", "pagerduty"]) as Channel[];
  const [alerts, setAlerts] = useState<AlertView[] | undefined>();
  const [firings, setFirings] = useState<Firing[] | undefined>();
  const [searches, setSearches] = useState<SavedSearchView[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<{ id?: string; draft: Draft } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stop = false;
    const load = async () => {
      try {
        const [a, f, s] = await Promise.all([api<{ alerts: AlertView[] }>("/apiv2/alerts"), api<{ firings: Firing[] }>("/apiv2/alerts/firings?limit=50"), listSavedSearches()]);
        if (stop) return;
        setAlerts(a.alerts);
        setFirings(f.firings);
        setSearches(s);
        setError(null);
      } catch (err) {
        if (!stop) setError(err);
      }
    };
    void load();
    const t = setInterval(() => void load(), POLL_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [tick]);
  const reload = () => setTick((t) => t + 1);

  const startNew = (savedSearchId = "") =>
    setEditing({
      draft: { name: "", query: route.q, comparison: "above", threshold: "0", windowMinutes: "5", webhookUrl: "", enabled: true, channel: "webhook", routingKey: "", emailTo: "", notifyResolved: true, savedSearchId },
    });
  // Arrived from a saved search's "Alert on it": a new alert on that search.
  useEffect(() => {
    if (route.saved) startNew(route.saved);
  }, [route.saved]);

  return (
    <div class="page page-alerts">
      <div class="page-head">
        <h1 class="page-title" tabIndex={-1}>
          Alerts
        </h1>
        {!editing && (
          <button type="button" class="btn btn-primary" onClick={() => startNew()} data-write>
            New alert
          </button>
        )}
      </div>
      <p class="lead">
        An alert counts the events of a saved search over a window, every minute, and calls your webhook with the search, the count and a link when the count is above (or
        below) your threshold — at most once per window while it stays that way.
      </p>
      {editing && (
        <AlertForm
          id={editing.id}
          initial={editing.draft}
          searches={searches}
          channels={channels}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            reload();
          }}
        />
      )}
      {error && !alerts ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !alerts ? (
        <Loading label="Loading alerts…" />
      ) : (
        <>
          {error !== null && (
            <p class="banner banner-warn" role="alert">
              Could not refresh: {(error as Error).message}
            </p>
          )}
          <section aria-labelledby="alerts-list-h">
            <h2 id="alerts-list-h" class="section-title">
              Your alerts
            </h2>
            {alerts.length === 0 ? (
              <Empty title="No alerts yet" icon="🔔">
                <p>Create one from any search: for example more than 0 events of <code>json.level:error</code> in 5 minutes, or fewer than 1 event in 15 minutes for a source that went quiet.</p>
                {!editing && (
                  <button type="button" class="btn btn-primary" onClick={() => startNew()}>
                    Create an alert
                  </button>
                )}
              </Empty>
            ) : (
              <ul class="alert-list">
                {alerts.map((a) => (
                  <AlertItem
                    key={a.id}
                    alert={a}
                    onEdit={() =>
                      setEditing({
                        id: a.id,
                        draft: {
                          name: a.name,
                          query: a.query,
                          comparison: a.comparison,
                          threshold: String(a.threshold),
                          windowMinutes: String(a.windowMinutes),
                          webhookUrl: a.webhookUrl,
                          enabled: a.enabled,
                          channel: a.channel,
                          routingKey: a.routingKey ?? "",
                          emailTo: (a.emailTo ?? []).join(", "),
                          notifyResolved: a.notifyResolved,
                          savedSearchId: a.savedSearch ? a.savedSearch.id : "",
                        },
                      })
                    }
                    onChanged={reload}
                    onSearch={() => navigate({ page: "search", q: a.query, from: `-${a.windowMinutes}m`, until: "now" })}
                  />
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="history-h">
            <h2 id="history-h" class="section-title">
              History
            </h2>
            {!firings || firings.length === 0 ? (
              <p class="muted">No alert has fired yet. Firings appear here with the webhook's answer.</p>
            ) : (
              <div class="table-wrap">
                <table class="history">
                  <caption class="sr-only">Alert firings, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Fired</th>
                      <th scope="col">Alert</th>
                      <th scope="col">Count</th>
                      <th scope="col">Delivery</th>
                      <th scope="col">
                        <span class="sr-only">Search</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {firings.map((f) => (
                      <tr key={f.id} data-firing={f.alertName}>
                        <td>
                          <time dateTime={new Date(f.firedAt).toISOString()} title={formatTimestamp(f.firedAt)}>
                            {formatTimestamp(f.firedAt).slice(0, 19)}
                          </time>
                        </td>
                        <td>
                          {f.alertName}
                          {f.kind === "resolved" && <span class="badge badge-ok"> resolved</span>}
                          <span class="muted small"> · {CHANNEL_NAMES[f.channel] ?? f.channel}</span>
                        </td>
                        <td>
                          <strong>{f.count.toLocaleString()}</strong>
                          <span class="muted">
                            {" "}
                            ({f.comparison === "above" ? ">" : "<"} {f.threshold} in {f.windowMinutes} min)
                          </span>
                        </td>
                        <td>
                          {f.delivery.ok ? (
                            <span class="badge badge-ok">delivered · {f.delivery.status}</span>
                          ) : (
                            <span class="badge badge-bad" title={triesText(f)}>
                              failed{f.delivery.status ? ` · ${f.delivery.status}` : ""} · {f.delivery.attempts} attempt{f.delivery.attempts === 1 ? "" : "s"}
                            </span>
                          )}
                        </td>
                        <td>
                          <a href={localLink(f.link)} aria-label={`Open search: ${f.alertName} at ${formatTimestamp(f.firedAt)}`}>
                            Open search
                          </a>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </div>
  );
}

/** Each attempt of a delivery, one per line (the badge's title). */
function triesText(f: Firing): string {
  const tries = f.delivery.tries ?? [];
  if (tries.length === 0) return f.delivery.error ?? "";
  return tries.map((t, i) => `${i + 1}. ${formatTimestamp(t.at).slice(11, 19)} ${t.ok ? `delivered${t.status ? ` (${t.status})` : ""}` : (t.error ?? "failed")}`).join("\n");
}

/** Where an alert's notifications go, in words. */
function destinationOf(a: AlertView): string {
  switch (a.channel) {
    case "slack":
      return "Slack";
    case "pagerduty":
      return "PagerDuty";
    case "email":
      return `Email to ${(a.emailTo ?? []).join(", ")}`;
    default:
      return `Webhook ${a.webhookUrl}`;
  }
}

/** A firing's link opens here when it points at this UI. */
function localLink(link: string): string {
  const at = link.indexOf("#/");
  return at === -1 ? link : link.slice(at);
}

function AlertItem({ alert: a, onEdit, onChanged, onSearch }: { alert: AlertView; onEdit(): void; onChanged(): void; onSearch(): void }) {
  const [problem, setProblem] = useState("");
  const status = !a.enabled
    ? { cls: "off", text: "Disabled" }
    : a.state.lastError
      ? { cls: "bad", text: "Error" }
      : a.state.lastCheckedAt === undefined
        ? { cls: "idle", text: "Not checked yet" }
        : a.state.triggered
          ? { cls: "fire", text: "Triggered" }
          : { cls: "ok", text: "OK" };
  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setProblem("");
      onChanged();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <li class="alert-item" data-alert={a.name}>
      <div class="alert-main">
        <h3>
          {a.name} <span class={`badge badge-${status.cls}`}>{status.text}</span>
        </h3>
        <p>
          {a.savedSearch && <span class="saved-of">Saved search “{a.savedSearch.name}”: </span>}
          <code>{a.query || "*"}</code> · {a.condition}
        </p>
        {a.savedSearchId !== null && a.savedSearch === null && <p class="field-error">Its saved search was deleted: edit the alert to give it a query or another saved search.</p>}
        <p class="muted small">
          {a.state.lastCheckedAt !== undefined ? `Last check ${formatAgo(a.state.lastCheckedAt, Date.now())}: ${a.state.lastCount ?? "?"} event${a.state.lastCount === 1 ? "" : "s"}. ` : ""}
          {a.state.lastFiredAt !== undefined ? `Last fired ${formatAgo(a.state.lastFiredAt, Date.now())}. ` : ""}
          {a.state.lastError ? `Error: ${a.state.lastError}. ` : ""}
          {destinationOf(a)}
          {a.notifyResolved ? ", also when resolved" : ""}.
        </p>
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </div>
      <div class="alert-actions">
        <button type="button" class="btn btn-small" onClick={onSearch} aria-label={`Search ${a.name}`}>
          Search
        </button>
        <button type="button" class="btn btn-small" onClick={onEdit} aria-label={`Edit ${a.name}`} data-write>
          Edit
        </button>
        <button
          type="button"
          class="btn btn-small"
          aria-label={`${a.enabled ? "Disable" : "Enable"} ${a.name}`}
          data-write
          onClick={() => void act(() => api(`/apiv2/alerts/${encodeURIComponent(a.id)}`, { method: "PATCH", json: { enabled: !a.enabled } }))}
        >
          {a.enabled ? "Disable" : "Enable"}
        </button>
        <span data-write>
          <ConfirmDelete name={a.name} onDelete={() => act(() => api(`/apiv2/alerts/${encodeURIComponent(a.id)}`, { method: "DELETE" }))} />
        </span>
      </div>
    </li>
  );
}

function AlertForm({ id, initial, searches, channels, onCancel, onSaved }: { id?: string; initial: Draft; searches: SavedSearchView[]; channels: Channel[]; onCancel(): void; onSaved(): void }) {
  const [d, setD] = useState<Draft>(initial);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD({ ...d, [k]: v });
  const chosen = searches.find((s) => s.id === d.savedSearchId);
  const { busy, errors, submit } = useFormSave(async () => {
      const { savedSearchId, query, routingKey, emailTo, ...rest } = d;
      // Built on a saved search, the alert counts that search's query; otherwise its own (and it is detached).
      const body = {
        ...rest,
        threshold: Number(d.threshold),
        windowMinutes: Number(d.windowMinutes),
        ...(savedSearchId ? { savedSearchId } : { savedSearchId: null, query }),
        ...(d.channel === "pagerduty" ? { routingKey } : {}),
        ...(d.channel === "email" ? { emailTo } : {}),
      };
      if (id) await api(`/apiv2/alerts/${encodeURIComponent(id)}`, { method: "PUT", json: body });
      else await api("/apiv2/alerts", { method: "POST", json: body });
      onSaved();
  });
  const field = (k: keyof Draft) => ({ "aria-invalid": errors[k] ? ("true" as const) : undefined, "aria-describedby": errors[k] ? `err-${k}` : undefined });
  const err = (k: keyof Draft) =>
    errors[k] ? (
      <span id={`err-${k}`} class="field-error">
        {errors[k]}
      </span>
    ) : null;
  return (
    <form class="card alert-form" onSubmit={(e) => void submit(e)} aria-labelledby="alert-form-h" noValidate>
      <h2 id="alert-form-h">{id ? "Edit alert" : "New alert"}</h2>
      <label class="field">
        <span>Name</span>
        <input name="name" value={d.name} onInput={(e) => set("name", (e.target as HTMLInputElement).value)} {...field("name")} required maxLength={100} />
        {err("name")}
      </label>
      <label class="field">
        <span>Counts</span>
        <select name="savedSearchId" value={d.savedSearchId} onChange={(e) => set("savedSearchId", (e.target as HTMLSelectElement).value)} {...field("savedSearchId")}>
          <option value="">a query of its own</option>
          {searches.map((s) => (
            <option key={s.id} value={s.id}>
              the saved search “{s.name}”
            </option>
          ))}
        </select>
        {err("savedSearchId")}
      </label>
      {chosen ? (
        <p class="muted small" data-testid="saved-query">
          Counts the events of <code>{chosen.query || "*"}</code>, as the saved search says now and after it changes.
        </p>
      ) : (
        <label class="field">
          <span>Search query</span>
          <input name="query" class="mono" value={d.query} placeholder="* (every event)" onInput={(e) => set("query", (e.target as HTMLInputElement).value)} {...field("query")} spellcheck={false} />
          {err("query")}
        </label>
      )}
      <div class="field-row">
        <label class="field">
          <span>When the count is</span>
          <select name="comparison" value={d.comparison} onChange={(e) => set("comparison", (e.target as HTMLSelectElement).value as Draft["comparison"])} {...field("comparison")}>
            <option value="above">above</option>
            <option value="below">below</option>
          </select>
        </label>
        <label class="field">
          <span>Threshold (events)</span>
          <input name="threshold" type="number" min={0} step={1} inputMode="numeric" value={d.threshold} onInput={(e) => set("threshold", (e.target as HTMLInputElement).value)} {...field("threshold")} />
          {err("threshold")}
        </label>
        <label class="field">
          <span>Over the last (minutes)</span>
          <input name="windowMinutes" type="number" min={1} step={1} inputMode="numeric" value={d.windowMinutes} onInput={(e) => set("windowMinutes", (e.target as HTMLInputElement).value)} {...field("windowMinutes")} />
          {err("windowMinutes")}
        </label>
      </div>
      <label class="field">
        <span>Notify by</span>
        <select name="channel" value={d.channel} onChange={(e) => set("channel", (e.target as HTMLSelectElement).value as Channel)} {...field("channel")}>
          {channels.map((c) => (
            <option key={c} value={c}>
              {CHANNEL_NAMES[c]}
            </option>
          ))}
        </select>
        {err("channel")}
      </label>
      {(d.channel === "webhook" || d.channel === "slack") && (
        <label class="field">
          <span>{d.channel === "slack" ? "Slack incoming webhook URL" : "Webhook URL"}</span>
          <input
            name="webhookUrl"
            type="url"
            value={d.webhookUrl}
            placeholder={d.channel === "slack" ? "https://hooks.slack.com/services/…" : "https://hooks.example.com/unmeltable"}
            onInput={(e) => set("webhookUrl", (e.target as HTMLInputElement).value)}
            {...field("webhookUrl")}
          />
          {err("webhookUrl")}
          <span class="muted small">
            {d.channel === "slack" ? (
              "Posts a message with the count and a link to the search."
            ) : (
              <>
                Receives a POST with JSON <code>{"{state, alert, query, count, threshold, window, link}"}</code>.
              </>
            )}
          </span>
        </label>
      )}
      {d.channel === "pagerduty" && (
        <label class="field">
          <span>PagerDuty routing key</span>
          <input name="routingKey" class="mono" value={d.routingKey} onInput={(e) => set("routingKey", (e.target as HTMLInputElement).value)} {...field("routingKey")} spellcheck={false} autocomplete="off" />
          {err("routingKey")}
          <span class="muted small">The integration key of an Events API v2 integration on your PagerDuty service: an incident opens when the alert fires.</span>
        </label>
      )}
      {d.channel === "email" && (
        <label class="field">
          <span>Email to</span>
          <input name="emailTo" type="text" value={d.emailTo} placeholder="oncall@example.com, dev@example.com" onInput={(e) => set("emailTo", (e.target as HTMLInputElement).value)} {...field("emailTo")} />
          {err("emailTo")}
        </label>
      )}
      <label class="check">
        <input type="checkbox" name="notifyResolved" checked={d.notifyResolved} onChange={(e) => set("notifyResolved", (e.target as HTMLInputElement).checked)} />
        <span>Also notify when it is resolved (the count is back)</span>
      </label>
      <label class="check">
        <input type="checkbox" name="enabled" checked={d.enabled} onChange={(e) => set("enabled", (e.target as HTMLInputElement).checked)} />
        <span>Enabled</span>
      </label>
      <FormErrors errors={errors} summary="The alert was not saved" />
      <FormActions submit={id ? "Save alert" : "Create alert"} busy={busy} onCancel={onCancel} />
    </form>
  );
}
