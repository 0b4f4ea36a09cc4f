import { useEffect, useRef, useState } from "preact/hooks";
import { eventFields, summary, type ApiEvent, type Scalar } from "../fields";
import { fieldClause } from "../query";
import { formatTimestamp } from "../time";
import { Surrounding } from "./surrounding";

export interface EventRowProps {
  event: ApiEvent;
  /** Adds `field:value` to the query; without it, values are not clickable. */
  onFilter?: (clause: string) => void;
  fresh?: boolean;
}

/** One event: a summary line that expands to its parsed fields, tags, log types and raw text. */
export function EventRow({ event, onFilter, fresh }: EventRowProps) {
  const [open, setOpen] = useState(false);
  const detailId = `ev-${event.id}`;
  return (
    <li class={`event${open ? " open" : ""}${fresh ? " fresh" : ""}`} data-event-id={event.id}>
      <button type="button" class="event-summary" aria-expanded={open ? "true" : "false"} aria-controls={detailId} onClick={() => setOpen(!open)}>
        <span class="chevron" aria-hidden="true">
          {open ? "▼" : "▶"}
        </span>
        <time class="event-time" dateTime={new Date(event.timestamp).toISOString()}>
          {formatTimestamp(event.timestamp)}
        </time>
        <span class="event-msg">{summary(event)}</span>
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
      <h3 class="detail-h">Raw</h3>
      <pre class="code raw" tabIndex={0} aria-label="Raw event text">
        {event.raw}
      </pre>
      <Surrounding event={event} />
      <p class="muted small">id {event.id}</p>
    </div>
  );
}

function FieldValue({ field, value, onFilter }: { field: string; value: Scalar; onFilter?: (clause: string) => void }) {
  const clause = onFilter ? fieldClause(field, value) : undefined;
  const text = String(value);
  if (!clause) return <span class={`value value-${typeof value}`}>{text}</span>;
  return (
    <button type="button" class={`value value-${typeof value} value-link`} title={`Add ${clause} to the query`} aria-label={`Filter by ${field} ${text}`} onClick={() => onFilter!(clause)}>
      {text}
    </button>
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
