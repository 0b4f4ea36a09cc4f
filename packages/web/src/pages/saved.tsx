import { useState } from "preact/hooks";
import { api } from "../api";
import { ConfirmDelete } from "../components/confirm-delete";
import { FormActions, FormErrors, useFormSave } from "../components/form-actions";
import { Empty, ErrorBox, Loading } from "../components/states";
import { listSavedSearches, saveSearch, type SavedSearchDraft, type SavedSearchView } from "../saved-searches";
import { describeRange, formatAgo } from "../time";
import { useLoaded } from "../use-loaded";
import type { PageProps } from "./page";

/** Saved searches: a query and a range under a name, shared by everyone signed in to the tenant; alerts are built on them. */
export function SavedPage({ navigate }: PageProps) {
  const { value: searches, error, reload } = useLoaded(listSavedSearches);
  const [editing, setEditing] = useState<string | null>(null);

  return (
    <div class="page page-saved">
      <h1 class="page-title" tabIndex={-1}>
        Saved searches
      </h1>
      <p class="lead">
        A saved search keeps a query and its time range under a name, for everyone who signs in to this account. Save one from the search page; open it again here, or build
        an alert on it: the alert then counts whatever the saved search says, even after you change it.
      </p>
      {error && !searches ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !searches ? (
        <Loading label="Loading saved searches…" />
      ) : searches.length === 0 ? (
        <Empty title="No saved searches yet" icon="☆">
          <p>
            Search for something you look at often — say <code>json.level:error</code> over the last hour — and choose <strong>Save search</strong> beside the results.
          </p>
          <p>
            <button type="button" class="btn btn-primary" onClick={() => navigate({ page: "search" })}>
              Go to search
            </button>
          </p>
        </Empty>
      ) : (
        <ul class="alert-list saved-list">
          {searches.map((s) =>
            editing === s.id ? (
              <li key={s.id} class="alert-item">
                <SavedSearchForm
                  id={s.id}
                  initial={{ name: s.name, query: s.query, from: s.from, until: s.until }}
                  onCancel={() => setEditing(null)}
                  onSaved={() => (setEditing(null), reload())}
                />
              </li>
            ) : (
              <SavedItem
                key={s.id}
                search={s}
                onOpen={() => navigate({ page: "search", q: s.query, from: s.from, until: s.until })}
                onAlert={() => navigate({ page: "alerts", saved: s.id })}
                onEdit={() => setEditing(s.id)}
                onDeleted={reload}
              />
            ),
          )}
        </ul>
      )}
    </div>
  );
}

function SavedItem({ search: s, onOpen, onAlert, onEdit, onDeleted }: { search: SavedSearchView; onOpen(): void; onAlert(): void; onEdit(): void; onDeleted(): void }) {
  const [problem, setProblem] = useState("");
  const remove = async () => {
    try {
      await api(`/apiv2/savedsearches/${encodeURIComponent(s.id)}`, { method: "DELETE" });
      onDeleted();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <li class="alert-item" data-saved={s.name}>
      <div class="alert-main">
        <h2 class="item-title">
          <a
            href={`#/search?${new URLSearchParams({ q: s.query, from: s.from, until: s.until }).toString()}`}
            onClick={(e) => (e.preventDefault(), onOpen())}
            aria-label={`Open ${s.name}`}
          >
            {s.name}
          </a>
        </h2>
        <p>
          <code>{s.query || "*"}</code> · {describeRange(s.from, s.until, Date.now())}
        </p>
        <p class="muted small">
          Changed {formatAgo(s.updatedAt, Date.now())}.{" "}
          {s.alerts.length > 0 ? `Alerts built on it: ${s.alerts.map((a) => a.name).join(", ")}.` : "No alert is built on it."}
        </p>
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </div>
      <div class="alert-actions">
        <button type="button" class="btn btn-small" onClick={onOpen} aria-label={`Search ${s.name}`}>
          Search
        </button>
        <button type="button" class="btn btn-small" onClick={onAlert} aria-label={`New alert on ${s.name}`} data-write>
          New alert
        </button>
        <button type="button" class="btn btn-small" onClick={onEdit} aria-label={`Edit ${s.name}`} data-write>
          Edit
        </button>
        <span data-write>
          <ConfirmDelete name={s.name} onDelete={remove} />
        </span>
      </div>
    </li>
  );
}

/** Edits a saved search's name, query and range (a new one is saved from the search page). */
export function SavedSearchForm({ id, initial, onCancel, onSaved }: { id?: string; initial: SavedSearchDraft; onCancel(): void; onSaved(s: SavedSearchView): void }) {
  const [d, setD] = useState<SavedSearchDraft>(initial);
  const { busy, errors, submit } = useFormSave(async () => onSaved(await saveSearch(d, id)));
  const set = <K extends keyof SavedSearchDraft>(k: K, v: string) => setD({ ...d, [k]: v });
  const field = (k: keyof SavedSearchDraft) => ({ "aria-invalid": errors[k] ? ("true" as const) : undefined, "aria-describedby": errors[k] ? `saved-err-${k}` : undefined });
  const err = (k: keyof SavedSearchDraft) =>
    errors[k] ? (
      <span id={`saved-err-${k}`} class="field-error">
        {errors[k]}
      </span>
    ) : null;
  return (
    <form class="alert-form saved-form" onSubmit={(e) => void submit(e)} aria-label={id ? `Edit ${initial.name}` : "Save search"} noValidate>
      <label class="field">
        <span>Name</span>
        <input name="name" value={d.name} onInput={(e) => set("name", (e.target as HTMLInputElement).value)} {...field("name")} required maxLength={100} />
        {err("name")}
      </label>
      <label class="field">
        <span>Search query</span>
        <input name="query" class="mono" value={d.query} placeholder="* (every event)" onInput={(e) => set("query", (e.target as HTMLInputElement).value)} {...field("query")} spellcheck={false} />
        {err("query")}
      </label>
      <div class="field-row">
        <label class="field">
          <span>From</span>
          <input name="from" class="mono" value={d.from} placeholder="-1h" onInput={(e) => set("from", (e.target as HTMLInputElement).value)} {...field("from")} spellcheck={false} />
          {err("from")}
        </label>
        <label class="field">
          <span>Until</span>
          <input name="until" class="mono" value={d.until} placeholder="now" onInput={(e) => set("until", (e.target as HTMLInputElement).value)} {...field("until")} spellcheck={false} />
          {err("until")}
        </label>
      </div>
      <p class="muted small">Times as in the API: -15m, -4h, -7d, now, or a date and time such as 2024-03-10T12:00:00Z. A range back from now stays back from now.</p>
      <FormErrors errors={errors} />
      <FormActions submit="Save" busy={busy} onCancel={onCancel} />
    </form>
  );
}
