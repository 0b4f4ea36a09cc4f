import { useEffect, useState } from "preact/hooks";
import { api, qs } from "../api";
import { rowMessage, rowSource, type ApiEvent } from "../fields";
import { sourcesOf } from "../sources";
import { formatTimestamp } from "../time";
import { ErrorBox, Loading } from "./states";

interface SurroundingBody {
  before: ApiEvent[];
  same: ApiEvent[];
  after: ApiEvent[];
}

/** Events on each side shown at first. */
const SIZE = 10;

/**
 * "Show surrounding events" of one event: the events just before and after it from the same source
 * (host, app or tag), whatever search found it (GET /apiv2/events/surrounding), in time order, the event
 * itself marked.
 */
export function Surrounding({ event }: { event: ApiEvent }) {
  const sources = sourcesOf(event);
  const [source, setSource] = useState<string | undefined>();
  const [body, setBody] = useState<SurroundingBody | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    if (source === undefined) return;
    const ctl = new AbortController();
    setBody(undefined);
    setError(null);
    api<SurroundingBody>(`/apiv2/events/surrounding${qs({ at: event.timestamp, id: event.id, q: source, size: SIZE })}`, { signal: ctl.signal }).then(setBody, (err: unknown) => {
      if ((err as Error).name !== "AbortError") setError(err);
    });
    return () => ctl.abort();
  }, [source, event.id, event.timestamp, retry]);

  if (sources.length === 0) return null;
  const chosen = sources.find((s) => s.clause === source);
  return (
    <section class="surrounding" aria-label="Surrounding events">
      <h3 class="detail-h">Surrounding events</h3>
      <div class="chips" role="group" aria-label="Show the events around this one from">
        {sources.map((s) => (
          <button key={s.clause} type="button" class="chip" aria-pressed={s.clause === source ? "true" : "false"} onClick={() => setSource(s.clause)}>
            {s.label}
          </button>
        ))}
      </div>
      {chosen && !body && !error && <Loading label={`Reading the events around this one from ${chosen.label}…`} />}
      {error !== null && <ErrorBox error={error} onRetry={() => setRetry((n) => n + 1)} />}
      {chosen && body && (
        <ol class="surrounding-list" aria-label={`Events around this one from ${chosen.label}, oldest first`}>
          {body.before.length === 0 && <li class="muted small">Nothing earlier from {chosen.label} within a day.</li>}
          {[...body.before].reverse().map((e) => (
            <Line key={e.id} event={e} />
          ))}
          <Line event={event} self />
          {body.same.map((e) => (
            <Line key={e.id} event={e} note="same millisecond" />
          ))}
          {body.after.map((e) => (
            <Line key={e.id} event={e} />
          ))}
          {body.after.length === 0 && <li class="muted small">Nothing later from {chosen.label} within a day.</li>}
        </ol>
      )}
    </section>
  );
}

function Line({ event, self, note }: { event: ApiEvent; self?: boolean; note?: string }) {
  const source = rowSource(event);
  return (
    <li class={`surrounding-line${self ? " self" : ""}`} aria-current={self ? "true" : undefined} data-event-id={event.id}>
      <time class="event-time" dateTime={new Date(event.timestamp).toISOString()}>
        {formatTimestamp(event.timestamp)}
      </time>
      <span class="event-msg">
        {source && <span class="event-source">{source}</span>}
        {rowMessage(event)}
      </span>
      {self && <span class="badge">this event</span>}
      {note && <span class="muted small">{note}</span>}
    </li>
  );
}
