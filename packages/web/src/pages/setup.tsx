import { useEffect, useState } from "preact/hooks";
import { api, qs, type UiConfig } from "../api";
import { CopyBlock } from "../components/copy-block";
import { ErrorBox, Loading } from "../components/states";
import { summary, type ApiEvent } from "../fields";
import { setupSnippets } from "../setup-snippets";
import { formatAgo, formatTimestamp } from "../time";
import type { PageProps } from "./page";

/** Source setup: copy-ready configs with the tenant's token, and a check that turns green on the first event. */
export function SetupPage({ config, navigate }: PageProps) {
  const [cfg, setCfg] = useState<UiConfig | null>(config);
  const [error, setError] = useState<unknown>(null);
  const [retry, setRetry] = useState(0);
  useEffect(() => {
    if (config) return setCfg(config);
    api<UiConfig>("/ui/config").then(setCfg, setError);
  }, [config, retry]);

  if (error) return <ErrorBox error={error} onRetry={() => (setError(null), setRetry((r) => r + 1))} />;
  if (!cfg) return <Loading label="Loading your tenant's settings…" />;
  const syslogHost = cfg.host ?? location.hostname;
  // A deployment that keeps only the token's hash cannot show it again: the snippets name a placeholder.
  const token = cfg.ingestToken ?? "YOUR-INGEST-TOKEN";
  const snippets = setupSnippets({ syslogHost, syslogPort: cfg.syslog?.port ?? 514, httpBase: location.origin, token });
  return (
    <div class="page page-setup">
      <h1 class="page-title" tabIndex={-1}>
        Send your logs
      </h1>
      <p class="lead">
        Tenant <strong>{cfg.tenant}</strong>.{" "}
        {cfg.ingestToken ? (
          <>
            Your ingest token is <code class="token" data-testid="ingest-token">{cfg.ingestToken}</code> — it goes into every configuration below, so the
            events land in this tenant.
          </>
        ) : (
          <>
            This deployment keeps only a hash of your ingest token, so it cannot be shown again: it was shown once when your tenant was created (your
            operator can issue a new one). Put it where the configurations below say <code class="token">YOUR-INGEST-TOKEN</code>.
          </>
        )}{" "}
        (It is not your API token: that one stays in this browser.)
      </p>
      <FirstEvent onSearch={() => navigate({ page: "search", q: "", from: "-24h", until: "now" })} />
      {!cfg.syslog && (
        <p class="banner banner-warn">This server runs no syslog collector; use HTTP below, or the address of your collectors.</p>
      )}
      <div class="snippets">
        {snippets.map((s) => (
          <CopyBlock key={s.id} id={s.id} title={s.title} hint={s.hint} text={s.text} />
        ))}
      </div>
      <p class="muted small">
        Syslog: {syslogHost} port {cfg.syslog?.port ?? "—"} (UDP and TCP{cfg.syslog?.tlsPort ? `; TLS on ${cfg.syslog.tlsPort}` : ""}) · HTTP: {location.origin}. Events are
        acknowledged only once they are on disk.
      </p>
    </div>
  );
}

/** Polls for the tenant's newest event until there is one. */
function FirstEvent({ onSearch }: { onSearch(): void }) {
  const [latest, setLatest] = useState<ApiEvent | null | undefined>(undefined);
  const [trouble, setTrouble] = useState(false);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const r = await api<{ events: ApiEvent[] }>(`/apiv2/events/iterate${qs({ q: "*", from: "-30d", until: "now", size: 1 })}`);
        if (stop) return;
        setTrouble(false);
        setLatest(r.events[0] ?? null);
        if (r.events[0]) return;
      } catch {
        if (stop) return;
        setTrouble(true);
      }
      timer = setTimeout(() => void poll(), 2000);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, []);
  const ok = !!latest;
  return (
    <section class={`first-event ${ok ? "ok" : "waiting"}`} aria-live="polite" data-testid="first-event" data-state={ok ? "received" : "waiting"}>
      <span class="first-event-dot" aria-hidden="true" />
      {ok ? (
        <div>
          <h2>Events are arriving</h2>
          <p>
            The newest: <code>{summary(latest).slice(0, 120)}</code> at {formatTimestamp(latest.timestamp)} ({formatAgo(latest.timestamp, Date.now())}).{" "}
            <button type="button" class="btn btn-small" onClick={onSearch}>
              Search them
            </button>
          </p>
        </div>
      ) : (
        <div>
          <h2>Waiting for your first event…</h2>
          <p>{trouble ? "The server cannot be reached right now; still trying." : latest === undefined ? "Checking…" : "Send one with any of the commands below; this turns green as soon as it is searchable."}</p>
        </div>
      )}
    </section>
  );
}
