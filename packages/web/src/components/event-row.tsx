import { useEffect, useRef, useState } from "preact/hooks";
import { eventFields, levelOf, rowMessage, rowSource, type ApiEvent, type Scalar } from "../fields";
import { excludeClause, fieldClause, markTerms } from "../query";
import { formatHash } from "../route";
import { formatTimestamp } from "../time";
import { copyText } from "./copy-block";
import { Surrounding } from "./surrounding";

export interface EventRowProps {
  event: ApiEvent;
  /** Adds `field:value` to the query; without it, values are not clickable. */
  onFilter?: (clause: string) => void;
  fresh?: boolean;
  /** Words of the query, highlighted in the row (query.ts highlightTerms). */
  terms?: readonly string[];
}

/** One event: a summary line that expands to its parsed fields, tags, log types and raw text. */
export function EventRow({ event, onFilter, fresh, terms = [] }: EventRowProps) {
  const [open, setOpen] = useState(false);
  const detailId = `ev-${event.id}`;
  const level = levelOf(event);
  const source = rowSource(event);
  return (
    <li class={`event${open ? " open" : ""}${fresh ? " fresh" : ""}${level ? ` level-${level}` : ""}`} data-event-id={event.id} data-level={level}>
      <button type="button" class="event-summary" aria-expanded={open ? "true" : "false"} aria-controls={detailId} onClick={() => setOpen(!open)}>
        <span class="chevron" aria-hidden="true">
          {open ? "▼" : "▶"}
        </span>
        <time class="event-time" dateTime={new Date(event.timestamp).toISOString()}>
          {formatTimestamp(event.timestamp)}
        </time>
        <span class="event-msg">
          {level && <span class="sr-only">{level} </span>}
          {source && <span class="event-source">{source}</span>}
          {markTerms(rowMessage(event), terms).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : p.text))}
        </span>
        <span class="event-types">
          {event.logtypes.map((l) => (
            <span key={l} class="badge">
              {l}
            </span>
          ))}
        </span>
      </button>
      {open && <EventDetail id={detailId} event={event} onFilter={onFilter} />}
    </li>
  );
}

function EventDetail({ id, event, onFilter }: { id: string; event: ApiEvent; onFilter?: (clause: string) => void }) {
  const fields = eventFields(event);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.scrollIntoView?.({ block: "nearest" }), []);
  return (
    <div class="event-detail" id={id} ref={ref}>
      <EventActions event={event} />
      <div class="detail-meta">
        <Chips label="Tags" field="tag" values={event.tags} onFilter={onFilter} />
        <Chips label="Log types" field="logtype" values={event.logtypes} onFilter={onFilter} />
      </div>
      {fields.length > 0 ? (
        <table class="fields-table">
          <caption class="sr-only">Parsed fields{onFilter ? " (activate a value to add it to the query)" : ""}</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {fields.map(([path, value], i) => (
              <tr key={`${path}-${i}`}>
                <th scope="row" class="field-name">
                  {path}
                </th>
                <td>
                  <FieldValue field={path} value={value} onFilter={onFilter} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No fields were parsed from this event; its text is searchable.</p>
      )}
      <RawText raw={event.raw} />
      <Surrounding event={event} />
      <p class="muted small">id {event.id}</p>
    </div>
  );
}

/** The hash that opens this one event: its id, at its own millisecond (a link to share or bookmark). */
export function eventLink(event: ApiEvent): string {
  const at = new Date(event.timestamp).toISOString();
  return formatHash({ page: "search", q: `id:${event.id}`, from: at, until: at });
}

/** The derived fields page with a new rule previewed on this event (Loggly's "Create Derived Fields" from an event). */
function extractLink(event: ApiEvent): string {
  const at = new Date(event.timestamp).toISOString();
  return formatHash({ page: "derived", q: "", from: at, until: at, saved: event.id });
}

/** Copy the event (its JSON, pretty-printed) or a link to it; each says whether it worked. */
function EventActions({ event }: { event: ApiEvent }) {
  const [status, setStatus] = useState("");
  const copy = async (what: string, text: string) => setStatus((await copyText(text)) ? `${what} copied to the clipboard` : `Copying failed: select the text and copy it by hand`);
  const link = eventLink(event);
  return (
    <div class="event-actions" role="group" aria-label="Event actions">
      <button type="button" class="btn btn-small" onClick={() => void copy("Event", JSON.stringify(event, null, 2))}>
        Copy event
      </button>
      <button type="button" class="btn btn-small" onClick={() => void copy("Link", new URL(link, location.href).href)}>
        Copy link
      </button>
      <a class="btn btn-small" href={link}>
        Open this event alone
      </a>
      <a class="btn btn-small" href={extractLink(event)} data-write>
        Extract fields
      </a>
      <span class="muted small" role="status" aria-live="polite">
        {status}
      </span>
    </div>
  );
}

/** The event as sent; a JSON body is pretty-printed, with the text as sent one click away. */
function RawText({ raw }: { raw: string }) {
  const pretty = prettyJson(raw);
  const [asSent, setAsSent] = useState(false);
  return (
    <>
      <h3 class="detail-h">
        Raw{pretty && !asSent ? " (JSON, pretty-printed)" : ""}
        {pretty && (
          <button type="button" class="link-button" aria-pressed={asSent ? "true" : "false"} onClick={() => setAsSent(!asSent)}>
            {asSent ? "show pretty-printed" : "show as sent"}
          </button>
        )}
      </h3>
      <pre class="code raw" tabIndex={0} aria-label="Raw event text">
        {pretty && !asSent ? pretty : raw}
      </pre>
    </>
  );
}

/** A JSON object or array, indented; undefined for anything else. */
export function prettyJson(text: string): string | undefined {
  const t = text.trim();
  if (!(t.startsWith("{") && t.endsWith("}")) && !(t.startsWith("[") && t.endsWith("]"))) return undefined;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return undefined;
  }
}

function FieldValue({ field, value, onFilter }: { field: string; value: Scalar; onFilter?: (clause: string) => void }) {
  const clause = onFilter ? fieldClause(field, value) : undefined;
  const text = String(value);
  if (!clause) return <span class={`value value-${typeof value}`}>{text}</span>;
  const without = excludeClause(clause);
  return (
    <span class="value-actions">
      <button type="button" class={`value value-${typeof value} value-link`} title={`Add ${clause} to the query`} aria-label={`Filter by ${field} ${text}`} onClick={() => onFilter!(clause)}>
        {text}
      </button>
      <button type="button" class="exclude" title={`Add ${without} to the query`} aria-label={`not (exclude ${field} ${text})`} onClick={() => onFilter!(without)}>
        not
      </button>
    </span>
  );
}

function Chips({ label, field, values, onFilter }: { label: string; field: string; values: string[]; onFilter?: (clause: string) => void }) {
  if (values.length === 0) return null;
  return (
    <div class="chips">
      <span class="chips-label">{label}</span>
      {values.map((v) =>
        onFilter ? (
          <button key={v} type="button" class="chip" aria-label={`Filter by ${field} ${v}`} onClick={() => onFilter(fieldClause(field, v)!)}>
            {v}
          </button>
        ) : (
          <span key={v} class="chip">
            {v}
          </span>
        ),
      )}
    </div>
  );
}
