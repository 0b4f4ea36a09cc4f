/**
 * The browser's side of the API: every request carries `Authorization: bearer <token>`. A user's session
 * (from signing in with a password) is kept in localStorage, so that new tabs, shared links and alert
 * links open signed in until it ends (30 days, or signing out); the tenant's API token, the operator's
 * master key, lives in sessionStorage only (gone when the tab closes).
 */
const TOKEN_KEY = "unmeltable.apiToken";
const SESSION_KEY = "unmeltable.session";
/** Where the API is: this origin, unless the UI is hosted elsewhere (a static bucket) and built with VITE_API_BASE. */
export const API_BASE: string = (import.meta.env.VITE_API_BASE as string | undefined)?.replace(/\/+$/, "") ?? "";

/** The API answered with an error (4xx/5xx). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
  /** For a query syntax error: where in the query it is. */
  get position(): number | undefined {
    return typeof this.body.position === "number" ? this.body.position : undefined;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(SESSION_KEY);
  } catch {
    return null;
  }
}

/** Whether the token in use is a user's session (signing out ends it on the server too). */
export function isSession(): boolean {
  try {
    return sessionStorage.getItem(TOKEN_KEY) === null && localStorage.getItem(SESSION_KEY) !== null;
  } catch {
    return false;
  }
}

/** Keeps `token` for later requests: a session across tabs (`session`), an API token in this tab only; null forgets both. */
export function setToken(token: string | null, kind: "api" | "session" = "api"): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(SESSION_KEY);
    if (token) (kind === "session" ? localStorage : sessionStorage).setItem(kind === "session" ? SESSION_KEY : TOKEN_KEY, token);
  } catch {
    // storage disabled: the token lasts as long as the page
  }
  memoryToken = token;
}

/** Signs out: a session is ended on the server (best effort), and the token forgotten here. */
export async function signOut(): Promise<void> {
  if (isSession() && memoryToken) await api("/auth/logout", { method: "POST" }).catch(() => undefined);
  setToken(null);
}

let memoryToken: string | null = getToken();
const listeners = new Set<(e: { kind: "unauthorized" | "down" | "up" }) => void>();

/** Hears about a refused token (sign the user out) and about the server going away and coming back. */
export function onApiStatus(fn: (e: { kind: "unauthorized" | "down" | "up" }) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(kind: "unauthorized" | "down" | "up") {
  for (const fn of listeners) fn({ kind });
}

export function apiUrl(path: string): string {
  return `${API_BASE}${path}`;
}

/**
 * Why a form's request failed, by field: the server's `errors: [{field, message}]` (a field name's
 * `prefix` dropped, e.g. a preview's `rule.`), else the whole message under `body`.
 */
export class FormFailed extends Error {
  readonly errors: Record<string, string> = {};
  constructor(cause: unknown, prefix = "") {
    super((cause as Error).message);
    this.name = "FormFailed";
    if (cause instanceof ApiError && Array.isArray(cause.body.errors)) {
      for (const e of cause.body.errors as { field: string; message: string }[]) this.errors[e.field.startsWith(prefix) ? e.field.slice(prefix.length) : e.field] = e.message;
    } else {
      this.errors.body = (cause as Error).message;
    }
  }
}

/** A JSON request to the API; throws ApiError or NetworkError. `token` overrides the session's (sign-in). */
export async function api<T>(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<T> {
  const token = init.token ?? memoryToken ?? "";
  const headers = new Headers(init.headers);
  headers.set("Authorization", `bearer ${token}`);
  headers.set("Accept", "application/json");
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { ...init, headers, body });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    emit("down");
    throw new NetworkError("The server cannot be reached. It may be restarting, or your network is down.");
  }
  emit("up");
  let data: unknown = undefined;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 300) };
    }
  }
  if (!res.ok) {
    const b = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
    if (res.status === 401 && init.token === undefined) emit("unauthorized");
    const message = typeof b.message === "string" ? b.message : `The server answered ${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message, b);
  }
  return data as T;
}

/**
 * Saves what a GET answers as a file (an export): fetched with the session's token, which a plain link
 * cannot carry, then handed to the browser's download. Resolves with the file's name and whether the
 * server cut it short (`X-Unmeltable-Truncated`, on deployments that cannot stream).
 */
export async function download(path: string, fallbackName: string): Promise<{ filename: string; matched: number | undefined; truncated: boolean }> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { headers: { Authorization: `bearer ${memoryToken ?? ""}` }, cache: "no-store" });
  } catch {
    emit("down");
    throw new NetworkError("The server cannot be reached.");
  }
  if (!res.ok) throw await failureOf(res);
  const blob = await res.blob();
  const filename = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  const matched = Number(res.headers.get("x-unmeltable-matched"));
  return { filename, matched: Number.isFinite(matched) ? matched : undefined, truncated: res.headers.get("x-unmeltable-truncated") === "true" };
}

/** The error of a response that is not a success (a refused token signs the user out). */
async function failureOf(res: Response): Promise<ApiError> {
  let b: Record<string, unknown> = {};
  try {
    b = (await res.json()) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  if (res.status === 401) emit("unauthorized");
  return new ApiError(res.status, typeof b.message === "string" ? b.message : `The server answered ${res.status}`, b);
}

/** `?a=1&b=2` from the defined entries. */
export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

export interface UiConfig {
  tenant: string;
  /** null where the deployment keeps only the token's hash. */
  ingestToken: string | null;
  host: string | null;
  syslog: { port: number; tlsPort: number | null } | null;
  http: { port: number | null; httpsPort: number | null };
  alerts: boolean;
  /** Where alerts can notify on this deployment (email only where a mail server is configured). */
  alertChannels?: string[];
  /** What the credentials may do (none: a server from before roles, the tenant's token: admin). */
  role?: "admin" | "member" | "readonly";
  /** The signed-in user; null with the tenant's API token. */
  user?: { email: string } | null;
  /** The server keeps users: the Users and Account pages. */
  accounts?: boolean;
  /** The server manages the ingest tokens (one machine; a deployment keeps them in tenants.json). */
  ingestTokens?: boolean;
}

/**
 * Follows a server-sent event stream with fetch (so the token travels in the Authorization header, not
 * the URL), calling `onData` with each event's `data:` payload, until the stream ends or `signal` aborts.
 * Says how it ended: "overflow" when the server cut this reader off for falling behind (`event: overflow`).
 */
export async function streamEvents(path: string, onOpen: () => void, onData: (data: string) => void, signal: AbortSignal): Promise<"overflow" | "closed"> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { headers: { Authorization: `bearer ${memoryToken ?? ""}`, Accept: "text/event-stream" }, signal, cache: "no-store" });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new NetworkError("The server cannot be reached.");
  }
  if (!res.ok || !res.body) throw await failureOf(res);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data: string[] = [];
  let event = "message";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "closed";
    buffer += value;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, "");
      buffer = buffer.slice(nl + 1);
      if (line === "") {
        if (event === "overflow") return "overflow";
        if (data.length > 0 && event === "message") onData(data.join("\n"));
        data = [];
        event = "message";
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      } else if (line.startsWith("event:")) {
        event = line.slice(6).trim();
      }
      // comments (": heartbeat") and other fields are ignored
    }
  }
}
