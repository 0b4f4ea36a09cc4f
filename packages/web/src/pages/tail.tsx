import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, qs, streamEvents } from "../api";
import { EventRow } from "../components/event-row";
import { QueryBar } from "../components/query-bar";
import { Empty } from "../components/states";
import type { ApiEvent } from "../fields";
import { addClause, highlightTerms } from "../query";
import type { PageProps } from "./page";

/** The list never holds more than this many events: older ones drop off the bottom (Search has them all). */
export const TAIL_CAP = 500;

type Status = "connecting" | "live" | "reconnecting" | "stopped";

/** Live tail: newly indexed events matching the query stream in (server-sent events), pausable. */
export function TailPage({ route, nonce, navigate }: PageProps) {
  const q = route.q;
  const [events, setEvents] = useState<ApiEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [pending, setPending] = useState(0);
  const [dropped, setDropped] = useState(0);
  // The status belongs to the query whose stream set it: between a new query's first render and its
  // stream opening, the old stream's "live" must not show, or events sent then look tailed but are not.
  const [streamStatus, setStreamStatus] = useState<{ q: string; status: Status }>({ q, status: "connecting" });
  const status: Status = streamStatus.q === q ? streamStatus.status : "connecting";
  const [error, setError] = useState<ApiError | null>(null);
  const [problem, setProblem] = useState("");
  const incoming = useRef<ApiEvent[]>([]);
  /** Events that arrived while paused, all of them (the buffer keeps only the newest TAIL_CAP). */
  const waited = useRef(0);
  /** Arrivals per second (epoch second → count), for the rate readout. */
  const perSecond = useRef(new Map<number, number>());
  const [rate, setRate] = useState<number | undefined>();
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const freshIds = useRef(new Set<string>());

  // Events are added in small batches, so a burst costs one render, not one per event.
  const flush = () => {
    if (pausedRef.current || incoming.current.length === 0) return;
    const batch = incoming.current;
    incoming.current = [];
    waited.current = 0;
    freshIds.current = new Set(batch.map((e) => e.id));
    setPending(0);
    setEvents((prev) => {
      // In time order, newest first: events are indexed in the order they arrive, which a late or
      // back-dated event does not follow (sort is stable: one millisecond keeps its arrival order).
      const all = [...batch.reverse(), ...prev].sort((a, b) => b.timestamp - a.timestamp);
      if (all.length > TAIL_CAP) setDropped((d) => d + all.length - TAIL_CAP);
      return all.slice(0, TAIL_CAP);
    });
  };
  useEffect(() => {
    const t = setInterval(flush, 200);
    // The rate over the last 5 whole seconds, read out once a second.
    const r = setInterval(() => {
      const now = Math.floor(Date.now() / 1000);
      let n = 0;
      for (const [sec, count] of perSecond.current) {
        if (sec < now - 5) perSecond.current.delete(sec);
        else if (sec < now) n += count;
      }
      setRate(n / 5);
    }, 1000);
    return () => (clearInterval(t), clearInterval(r));
  }, []);
  useEffect(() => {
    if (!paused) flush();
  }, [paused]);

  useEffect(() => {
    const ctl = new AbortController();
    const setStatus = (next: Status | ((s: Status) => Status)) =>
      setStreamStatus((prev) => {
        const current = prev.q === q ? prev.status : "connecting";
        return { q, status: typeof next === "function" ? next(current) : next };
      });
    setError(null);
    setProblem("");
    setEvents([]);
    setDropped(0);
    incoming.current = [];
    waited.current = 0;
    perSecond.current.clear();
    setRate(undefined);
    setPending(0);
    let delay = 1000;
    const run = async () => {
      while (!ctl.signal.aborted) {
        setStatus((s) => (s === "live" ? "reconnecting" : s));
        try {
          const ended = await streamEvents(
            `/apiv2/tail${qs({ q: q || "*" })}`,
            () => {
              delay = 1000;
              setStatus("live");
              setProblem("");
            },
            (data) => {
              try {
                incoming.current.push(JSON.parse(data) as ApiEvent);
              } catch {
                return;
              }
              const sec = Math.floor(Date.now() / 1000);
              perSecond.current.set(sec, (perSecond.current.get(sec) ?? 0) + 1);
              // While paused, keep only the newest TAIL_CAP in the buffer as well, but count every one.
              if (incoming.current.length > TAIL_CAP) incoming.current.splice(0, incoming.current.length - TAIL_CAP);
              if (pausedRef.current) setPending(++waited.current);
            },
            ctl.signal,
          );
          if (ended === "overflow") setProblem("This page fell behind the stream and the server cut it off; reconnecting. Search has every event.");
        } catch (err) {
          if (ctl.signal.aborted) return;
          if (err instanceof ApiError && (err.status === 400 || err.status === 401)) {
            setStatus("stopped");
            if (err.status === 400) setError(err);
            return;
          }
          setProblem("The connection to the server was lost; reconnecting…");
        }
        if (ctl.signal.aborted) return;
        setStatus("reconnecting");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    };
    setStatus("connecting");
    void run();
    return () => ctl.abort();
  }, [q, nonce]);

  const terms = highlightTerms(q);
  const label = paused ? "Paused" : status === "live" ? "Live" : status === "connecting" ? "Connecting…" : status === "reconnecting" ? "Reconnecting…" : "Stopped";
  return (
    <div class="page page-tail">
      <h1 class="page-title" tabIndex={-1}>
        Live tail
      </h1>
      <QueryBar q={q} from={route.from} until={route.until} noRange error={error} submitLabel="Tail" onSubmit={(s) => navigate({ page: "tail", q: s.q })} />
      <div class="tail-toolbar">
        <span class={`status-dot status-${paused ? "paused" : status}`} role="status" aria-live="polite" data-testid="tail-status">
          {label}
        </span>
        <button type="button" class="btn" aria-pressed={paused ? "true" : "false"} onClick={() => setPaused(!paused)}>
          {paused ? "Resume" : "Pause"}
        </button>
        <button type="button" class="btn" onClick={() => (setEvents([]), setDropped(0))} disabled={events.length === 0}>
          Clear
        </button>
        {paused && pending > 0 && (
          <span class="pending" aria-live="polite">
            {pending.toLocaleString()} new event{pending === 1 ? "" : "s"} waiting — resume to show{pending > TAIL_CAP ? ` the newest ${TAIL_CAP}` : ""}
          </span>
        )}
        <span class="muted small" data-testid="tail-rate">
          {rate === undefined ? "" : `${rate.toLocaleString(undefined, { maximumFractionDigits: 1 })} events/s`}
        </span>
        <span class="muted small">
          Newest first, by event time · keeps the last {TAIL_CAP}
          {dropped > 0 ? ` (${dropped.toLocaleString()} older dropped; search has them)` : ""}
        </span>
      </div>
      {problem && (
        <p class="banner banner-warn" role="alert">
          {problem}
        </p>
      )}
      {events.length === 0 ? (
        <Empty title={status === "live" ? "Waiting for new events…" : "Not connected yet"} icon="◌">
          <p>
            New events {q ? (
              <>
                matching <code>{q}</code>{" "}
              </>
            ) : (
              ""
            )}
            appear here as soon as they are indexed. Only events that arrive from now on are shown.
          </p>
        </Empty>
      ) : (
        <ol class="events" aria-label="Tailed events, newest first">
          {events.map((e) => (
            <EventRow key={e.id} event={e} fresh={freshIds.current.has(e.id)} terms={terms} onFilter={(clause) => navigate({ page: "tail", q: addClause(q, clause) })} />
          ))}
        </ol>
      )}
    </div>
  );
}
