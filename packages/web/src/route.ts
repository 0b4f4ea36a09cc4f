/**
 * The UI's location, kept in the URL hash so that a search can be bookmarked and shared, and so that
 * the UI works from any static host (the program's server, S3 + CloudFront) without server-side routes:
 *
 *   #/search?q=json.level:error&from=-1h&until=now
 *   #/search?q=...&from=2024-03-10T12:00:00.000Z&until=2024-03-10T12:30:00.000Z   (a zoomed or custom range)
 *   #/alerts?saved=ID   (a new alert on a saved search)
 *   #/dashboards?saved=ID   (one dashboard)
 *   #/derived?saved=EVENT_ID&from=T&until=T   (a new derived field rule, previewed on that event)
 *   #/invite/TOKEN   (an invitation to join a tenant, opened before signing in)
 */
export const PAGES = ["search", "fields", "tail", "setup", "saved", "dashboards", "alerts", "derived", "usage", "users", "account", "invite"] as const;
export type Page = (typeof PAGES)[number];

export interface RouteState {
  page: Page;
  /** The query as typed ("" = every event). */
  q: string;
  /** Loggly time values: `-1h`, `now`, ISO-8601, epoch ms. */
  from: string;
  until: string;
  /**
   * What the page starts from, only for the page it was given to: the alerts page's saved search (a new
   * alert on it), the dashboards page's dashboard, the derived fields page's event (a new rule on it).
   */
  saved?: string;
}

export const DEFAULT_ROUTE: RouteState = { page: "search", q: "", from: "-1h", until: "now" };

export function parseHash(hash: string): RouteState {
  const text = hash.replace(/^#/, "");
  const qAt = text.indexOf("?");
  const pathPart = (qAt === -1 ? text : text.slice(0, qAt)).replace(/^\/+|\/+$/g, "");
  const params = new URLSearchParams(qAt === -1 ? "" : text.slice(qAt + 1));
  const invite = /^invite\/([\w-]{1,200})$/.exec(pathPart);
  const page = invite ? "invite" : (PAGES as readonly string[]).includes(pathPart) ? (pathPart as Page) : DEFAULT_ROUTE.page;
  const saved = invite ? invite[1] : params.get("saved");
  return {
    page,
    q: params.get("q") ?? DEFAULT_ROUTE.q,
    from: params.get("from") || DEFAULT_ROUTE.from,
    until: params.get("until") || DEFAULT_ROUTE.until,
    ...(saved ? { saved } : {}),
  };
}

/** The hash for a state; defaults are left out so that URLs stay short. */
export function formatHash(state: RouteState): string {
  const params = new URLSearchParams();
  if (state.q !== "") params.set("q", state.q);
  if (state.from !== DEFAULT_ROUTE.from || state.until !== DEFAULT_ROUTE.until) {
    params.set("from", state.from);
    params.set("until", state.until);
  }
  if (state.page === "invite") return `#/invite/${state.saved ?? ""}`;
  if (state.saved) params.set("saved", state.saved);
  const query = params.toString();
  return `#/${state.page}${query ? `?${query}` : ""}`;
}
