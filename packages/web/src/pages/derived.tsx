import { useEffect, useState } from "preact/hooks";
import { api, FormFailed } from "../api";
import { ConfirmDelete } from "../components/confirm-delete";
import { FormActions, FormErrors, useFormSave } from "../components/form-actions";
import { Empty, ErrorBox, Loading } from "../components/states";
import { draftOf, EMPTY_RULE, listRules, PREVIEW_RANGE, previewRule, RULE_TYPES, saveRule, type Preview, type RuleDraft, type RuleErrors, type RuleView } from "../derived-fields";
import { formatAgo, formatTimestamp } from "../time";
import { useLoaded } from "../use-loaded";
import type { PageProps } from "./page";

/**
 * Derived fields: the tenant's own extraction rules, applied to each new event as it is processed and
 * searchable as `derived.<field>`. The editor previews a rule on recent events as it is typed.
 */
export function DerivedPage({ navigate, route }: PageProps) {
  const { value: rules, error, reload } = useLoaded(listRules);
  // From an event's "Extract fields": a new rule, previewed on that event.
  const fromEvent = route.saved;
  const [editing, setEditing] = useState<string | null>(fromEvent ? "new" : null);
  const done = () => (setEditing(null), reload());

  return (
    <div class="page page-derived">
      <h1 class="page-title" tabIndex={-1}>
        Derived fields
      </h1>
      <p class="lead">
        Rules of your own that pull fields out of your messages: a regular expression with named groups, the text between two anchors, a key and its value, or a tag for
        what matches. Their fields are searched and charted like any other, as <code>derived.name</code>. A rule applies to events received from the moment it is saved
        (on AWS within a minute); events stored before keep what they had.
      </p>
      {editing !== "new" && (
        <p>
          <button type="button" class="btn btn-primary" onClick={() => setEditing("new")} data-write>
            New rule
          </button>
        </p>
      )}
      {editing === "new" && (
        <RuleForm
          initial={EMPTY_RULE}
          sampleQuery={fromEvent ? `id:${fromEvent}` : undefined}
          range={fromEvent ? { from: route.from, until: route.until } : undefined}
          onCancel={() => setEditing(null)}
          onSaved={done}
        />
      )}
      {error && !rules ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !rules ? (
        <Loading label="Loading rules…" />
      ) : rules.length === 0 ? (
        editing !== "new" && (
          <Empty title="No derived fields yet" icon="⚙">
            <p>
              Say your app writes <code>took 231 ms for user=alice</code>: a rule <code>{"took (?<ms>\\d+) ms"}</code> makes <code>derived.ms</code> a number you can search (
              <code>derived.ms:&gt;200</code>) and chart.
            </p>
          </Empty>
        )
      ) : (
        <ul class="alert-list derived-list">
          {rules.map((r) =>
            editing === r.id ? (
              <li key={r.id} class="alert-item">
                <RuleForm id={r.id} initial={draftOf(r)} onCancel={() => setEditing(null)} onSaved={done} />
              </li>
            ) : (
              <RuleItem key={r.id} rule={r} onEdit={() => setEditing(r.id)} onDeleted={reload} onSearch={(q) => navigate({ page: "search", q })} />
            ),
          )}
        </ul>
      )}
    </div>
  );
}

/** What a rule does, in a line. */
function describe(r: RuleView): string {
  if (r.type === "regex") return r.pattern ?? "";
  if (r.type === "tag") return `${r.pattern ?? ""} → tag ${r.addTag ?? ""}`;
  if (r.type === "anchor") return `${r.before ?? ""} … ${r.after || "(end)"} → derived.${r.field ?? ""}`;
  return `${r.key ?? ""}${r.delimiter ?? "="}… → derived.${r.field ?? ""}`;
}

function RuleItem({ rule: r, onEdit, onDeleted, onSearch }: { rule: RuleView; onEdit(): void; onDeleted(): void; onSearch(q: string): void }) {
  const [problem, setProblem] = useState("");
  const remove = async () => {
    try {
      await api(`/apiv2/derivedfields/${encodeURIComponent(r.id)}`, { method: "DELETE" });
      onDeleted();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  const scope = Object.entries(r.scope).filter(([, v]) => v);
  const query = r.type === "tag" ? `tag:${r.addTag ?? ""}` : r.type === "regex" ? "derived.*" : `derived.${r.field ?? ""}:*`;
  return (
    <li class="alert-item" data-rule={r.name}>
      <div class="alert-main">
        <h2 class="item-title">
          {r.name} {!r.enabled && <span class="badge badge-off">off</span>}
        </h2>
        <p>
          {RULE_TYPES.find((t) => t.type === r.type)?.label}: <code>{describe(r)}</code>
        </p>
        <p class="muted small">
          {scope.length > 0 ? `Only events with ${scope.map(([k, v]) => `${k === "app" ? "app" : k} ${v}`).join(" and ")}. ` : "Every event. "}
          Changed {formatAgo(r.updatedAt, Date.now())}.
        </p>
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </div>
      <div class="alert-actions">
        {r.type !== "regex" && (
          <button type="button" class="btn btn-small" onClick={() => onSearch(query)} aria-label={`Search ${r.name}`}>
            Search
          </button>
        )}
        <button type="button" class="btn btn-small" onClick={onEdit} aria-label={`Edit ${r.name}`} data-write>
          Edit
        </button>
        <span data-write>
          <ConfirmDelete name={r.name} onDelete={remove} />
        </span>
      </div>
    </li>
  );
}

const PREVIEW_DELAY_MS = 400;

function RuleForm({
  id,
  initial,
  sampleQuery = "*",
  range,
  onCancel,
  onSaved,
}: {
  id?: string;
  initial: RuleDraft;
  /** The preview's search, and its range (default the last 24 hours). */
  sampleQuery?: string;
  range?: { from: string; until: string };
  onCancel(): void;
  onSaved(r: RuleView): void;
}) {
  const [d, setD] = useState<RuleDraft>(initial);
  const [sample, setSample] = useState(sampleQuery);
  const [preview, setPreview] = useState<Preview | undefined>();
  const [previewError, setPreviewError] = useState<RuleErrors>({});

  // The preview follows the draft, a moment after the typing stops.
  useEffect(() => {
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      previewRule(d, sample, range ?? PREVIEW_RANGE, ctl.signal).then(
        (p) => (setPreview(p), setPreviewError({})),
        (err: unknown) => {
          if ((err as Error).name === "AbortError") return;
          setPreview(undefined);
          setPreviewError(err instanceof FormFailed ? err.errors : { body: (err as Error).message });
        },
      );
    }, PREVIEW_DELAY_MS);
    return () => (clearTimeout(timer), ctl.abort());
  }, [d, sample]);

  const set = (k: keyof RuleDraft, v: string | boolean) => setD({ ...d, [k]: v });
  const setScope = (k: keyof RuleDraft["scope"], v: string) => setD({ ...d, scope: { ...d.scope, [k]: v } });
  const { busy, errors, submit } = useFormSave(async () => onSaved(await saveRule(d, id)));
  const fieldId = (k: string) => `rule-err-${k.replace(/\W/g, "-")}`;
  const attrs = (k: string) => ({ "aria-invalid": errors[k] ? ("true" as const) : undefined, "aria-describedby": errors[k] ? fieldId(k) : undefined });
  const err = (k: string) =>
    errors[k] ? (
      <span id={fieldId(k)} class="field-error">
        {errors[k]}
      </span>
    ) : null;
  const text = (k: "pattern" | "field" | "before" | "after" | "key" | "delimiter" | "addTag", label: string, props: Record<string, unknown> = {}) => (
    <label class="field">
      <span>{label}</span>
      <input name={k} class="mono" value={d[k]} onInput={(e) => set(k, (e.target as HTMLInputElement).value)} {...attrs(k)} spellcheck={false} {...props} />
      {err(k)}
    </label>
  );
  const hint = RULE_TYPES.find((t) => t.type === d.type)?.hint;
  // While typing, the preview's complaints about the rule are shown there, not under the fields.
  const previewProblem = Object.entries(previewError)
    .filter(([k]) => k !== "name")
    .map(([, v]) => v)
    .join("; ");

  return (
    <form class="alert-form rule-form" onSubmit={(e) => void submit(e)} aria-label={id ? `Edit ${initial.name}` : "New derived field rule"} noValidate>
      <div class="field-row">
        <label class="field">
          <span>Name</span>
          <input name="name" value={d.name} onInput={(e) => set("name", (e.target as HTMLInputElement).value)} {...attrs("name")} required maxLength={100} />
          {err("name")}
        </label>
        <label class="field">
          <span>Kind of rule</span>
          <select name="type" value={d.type} onChange={(e) => set("type", (e.target as HTMLSelectElement).value)}>
            {RULE_TYPES.map((t) => (
              <option key={t.type} value={t.type}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="muted small">{hint}</p>
      {(d.type === "regex" || d.type === "tag") && text("pattern", "Regular expression (RE2)", { placeholder: d.type === "regex" ? "took (?<ms>\\d+) ms" : "(?i)timeout" })}
      {d.type === "tag" && text("addTag", "Tag to add", { placeholder: "slow" })}
      {d.type === "anchor" && (
        <div class="field-row">
          {text("before", "Text before the value", { placeholder: "[" })}
          {text("after", "Text after it (empty: the end)", { placeholder: "]" })}
          {text("field", "Field name", { placeholder: "thread" })}
        </div>
      )}
      {d.type === "keyvalue" && (
        <div class="field-row">
          {text("key", "Key", { placeholder: "status_code" })}
          {text("delimiter", "Delimiter", { maxLength: 1 })}
          {text("field", "Field name (default: the key)", { placeholder: "status_code" })}
        </div>
      )}
      <fieldset class="field-row rule-scope">
        <legend>Only for events with (optional)</legend>
        {(["logtype", "tag", "app"] as const).map((k) => (
          <label class="field" key={k}>
            <span>{k === "logtype" ? "Log type" : k === "tag" ? "Tag" : "Syslog app"}</span>
            <input name={`scope.${k}`} class="mono" value={d.scope[k]} onInput={(e) => setScope(k, (e.target as HTMLInputElement).value)} {...attrs(`scope.${k}`)} spellcheck={false} />
            {err(`scope.${k}`)}
          </label>
        ))}
      </fieldset>
      <label class="check">
        <input type="checkbox" name="enabled" checked={d.enabled} onChange={(e) => set("enabled", (e.target as HTMLInputElement).checked)} /> Apply this rule
      </label>
      <FormErrors errors={errors} />
      <FormActions submit="Save rule" busy={busy} onCancel={onCancel} />

      <section class="rule-preview" aria-label="Preview">
        <h2 class="item-title">Preview on recent events</h2>
        <label class="field">
          <span>Events matching</span>
          <input name="sample" class="mono" value={sample} onInput={(e) => setSample((e.target as HTMLInputElement).value)} spellcheck={false} />
        </label>
        {previewProblem ? (
          <p class="muted" role="status">
            {previewProblem}
          </p>
        ) : !preview ? (
          <Loading label="Trying the rule…" />
        ) : (
          <>
            <p role="status" class="preview-count">
              Matches {preview.matched} of the {preview.searched} newest events {range ? "in the range" : "of the last 24 hours"}.
            </p>
            <ul class="preview-list">
              {preview.events.map((e) => (
                <li key={e.id} class={e.fields || e.tag ? "preview-hit" : "preview-miss"}>
                  <span class="muted small">{formatTimestamp(e.timestamp)}</span> <code class="preview-msg">{e.logmsg}</code>
                  <span class="preview-out">
                    {e.fields || e.tag ? (
                      <>
                        {Object.entries(e.fields ?? {}).map(([k, v]) => (
                          <code key={k}>
                            derived.{k} = {JSON.stringify(v)}
                          </code>
                        ))}
                        {e.tag && <code>tag {e.tag}</code>}
                      </>
                    ) : (
                      <span class="muted small">{e.skipped ? "not tried: the rule took too long on the events above" : e.inScope ? "no match" : "not in the rule's scope"}</span>
                    )}
                  </span>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </form>
  );
}
