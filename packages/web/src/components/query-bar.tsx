import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { recentQueries, rememberQuery } from "../query";
import { describeRange, fromLocalInput, presetOf, PRESETS, relativeRange, resolveTime, toLocalInput } from "../time";

export interface QueryBarProps {
  q: string;
  from: string;
  until: string;
  /** A query syntax error from the API (400 with a position). */
  error?: ApiError | null;
  busy?: boolean;
  /** Without a time range (live tail). */
  noRange?: boolean;
  submitLabel?: string;
  onSubmit(next: { q: string; from: string; until: string }): void;
}

/**
 * The query box and the time range: presets, a custom range, and the query error shown where it is.
 * `/` anywhere on the page focuses the query box.
 */
/** Field names seen in the last day, fetched once per page load for completion. */
let knownFields: Promise<string[]> | undefined;
function fieldNames(): Promise<string[]> {
  knownFields ??= api<{ fields: string[] }>("/apiv2/fields?from=-24h").then(
    (b) => b.fields,
    () => ((knownFields = undefined), []),
  );
  return knownFields;
}

export function QueryBar(props: QueryBarProps) {
  const [text, setText] = useState(props.q);
  const [suggestions, setSuggestions] = useState<string[]>([]);
  // Completion (the browser's own, from a datalist): recent queries first, then `field:` for each field.
  const loadSuggestions = () => {
    void fieldNames().then((fields) => setSuggestions([...recentQueries(), ...fields.slice(0, 300).map((f) => `${f}:`)]));
  };
  const [custom, setCustom] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  // A new query from outside (a link, a field value clicked) replaces the text; but not on mount: the
  // effect runs after paint, and what was typed by then (a fast typist, a busy machine) would be lost.
  const shownQ = useRef(props.q);
  useEffect(() => {
    if (shownQ.current === props.q) return;
    shownQ.current = props.q;
    setText(props.q);
  }, [props.q]);

  // Put the caret where the syntax error is.
  const position = props.error?.position;
  useEffect(() => {
    if (position === undefined || !input.current) return;
    input.current.focus();
    input.current.setSelectionRange(position, Math.min(position + 1, input.current.value.length));
  }, [props.error, position]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
      e.preventDefault();
      input.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const submit = (e: Event) => {
    e.preventDefault();
    rememberQuery(text);
    loadSuggestions();
    props.onSubmit({ q: text.trim(), from: props.from, until: props.until });
  };
  const preset = presetOf(props.from, props.until);
  const errorId = "query-error";
  return (
    <div class="query-bar">
      <form class="query-form" role="search" onSubmit={submit}>
        <label class="sr-only" for="query">
          Search query
        </label>
        <input
          ref={input}
          id="query"
          name="q"
          type="search"
          class={`query-input${props.error ? " invalid" : ""}`}
          placeholder='e.g. json.level:error AND "timeout"   (press / to focus)'
          autocomplete="off"
          spellcheck={false}
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          aria-invalid={props.error ? "true" : undefined}
          aria-describedby={props.error ? errorId : undefined}
          list="query-suggestions"
          onFocus={loadSuggestions}
        />
        <datalist id="query-suggestions">
          {suggestions.map((v) => (
            <option key={v} value={v} />
          ))}
        </datalist>
        <button type="submit" class="btn btn-primary" aria-busy={props.busy ? "true" : undefined}>
          {props.submitLabel ?? "Search"}
        </button>
      </form>
      {props.error && (
        <div id={errorId} class="query-error" role="alert">
          <p>{props.error.message}</p>
          {position !== undefined && (
            <pre aria-hidden="true" class="query-caret">
              {props.q}
              {"\n"}
              {" ".repeat(Math.max(0, position))}^
            </pre>
          )}
        </div>
      )}
      {!props.noRange && (
        <div class="range-bar">
          <div class="segmented" role="group" aria-label="Time range">
            {PRESETS.map((p) => (
              <button
                key={p.from}
                type="button"
                class="seg"
                aria-pressed={preset?.from === p.from ? "true" : "false"}
                title={p.title}
                onClick={() => {
                  setCustom(false);
                  props.onSubmit({ q: text.trim(), from: p.from, until: "now" });
                }}
              >
                {p.label}
              </button>
            ))}
            <button type="button" class="seg" aria-pressed={!preset ? "true" : "false"} aria-expanded={custom ? "true" : "false"} aria-controls="custom-range" onClick={() => setCustom(!custom)}>
              Custom
            </button>
          </div>
          <span class="range-text" aria-live="polite">
            {describeRange(props.from, props.until, Date.now())}
          </span>
        </div>
      )}
      {!props.noRange && custom && (
        <CustomRange
          from={props.from}
          until={props.until}
          onApply={(from, until) => {
            setCustom(false);
            props.onSubmit({ q: text.trim(), from, until });
          }}
        />
      )}
    </div>
  );
}

function CustomRange(props: { from: string; until: string; onApply(from: string, until: string): void }) {
  const now = Date.now();
  const [relative, setRelative] = useState(props.until === "now" && relativeRange(props.from) ? props.from : "");
  const [relProblem, setRelProblem] = useState("");
  const applyRelative = (e: Event) => {
    e.preventDefault();
    const from = relativeRange(relative);
    if (!from) return setRelProblem("Type a span back from now: a number and s, m, h, d or w, e.g. -15m, -2h, -3d.");
    setRelProblem("");
    props.onApply(from, "now");
  };
  const [from, setFrom] = useState(toLocalInput(resolveTime(props.from, now) ?? now - 3_600_000));
  const [until, setUntil] = useState(toLocalInput(resolveTime(props.until, now) ?? now));
  const [problem, setProblem] = useState("");
  const apply = (e: Event) => {
    e.preventDefault();
    const f = fromLocalInput(from);
    const u = fromLocalInput(until);
    if (f === undefined || u === undefined) return setProblem("Enter both dates and times.");
    if (f >= u) return setProblem("The start must be before the end.");
    setProblem("");
    // Whole minutes, as the inputs show them; the end includes its whole minute.
    props.onApply(new Date(f).toISOString(), new Date(u + 59_999).toISOString());
  };
  return (
    <div id="custom-range">
      <form class="custom-range" onSubmit={applyRelative} aria-label="Relative time range">
        <label>
          Last
          <input type="text" inputMode="text" size={8} placeholder="-15m" value={relative} onInput={(e) => setRelative((e.target as HTMLInputElement).value)} aria-describedby="relative-hint" />
        </label>
        <span id="relative-hint" class="muted small">
          back from now: -15m, -2h, -3d, -1w
        </span>
        <button type="submit" class="btn">
          Apply
        </button>
        {relProblem && (
          <p class="field-error" role="alert">
            {relProblem}
          </p>
        )}
      </form>
      <form class="custom-range" onSubmit={apply} aria-label="Custom time range">
        <label>
          From
          <input type="datetime-local" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          Until
          <input type="datetime-local" value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} required />
        </label>
        <button type="submit" class="btn">
          Apply range
        </button>
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </form>
    </div>
  );
}
