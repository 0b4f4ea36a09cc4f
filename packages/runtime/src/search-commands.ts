import path from "node:path";
import { TenantStore } from "./tenant-store";
import type { ApiEvent } from "@unmeltable/core";

/**
 * `unmeltable search` and `unmeltable tail`: clients of the HTTP API, so they work against any running
 * server. The API token comes from --token, UNMELTABLE_API_TOKEN, or the local tenant table (--tenant).
 */
export interface ClientFlags {
  url: string;
  token?: string;
  tenant: string;
  dataDir: string;
  json?: boolean;
}

function apiToken(flags: ClientFlags): string {
  if (flags.token) return flags.token;
  const store = new TenantStore(path.resolve(flags.dataDir));
  try {
    const t = store.get(flags.tenant);
    if (!t) throw new Error(`no tenant ${flags.tenant} in ${flags.dataDir}; pass --token or --tenant`);
    return t.apiToken;
  } finally {
    store.close();
  }
}

/** One line per event for people: time, host, app, message. */
export function formatEvent(e: ApiEvent): string {
  const host = e.event.syslog?.host ?? "-";
  const app = e.event.syslog?.appName ?? "-";
  const tags = e.tags.length > 0 ? ` [${e.tags.join(",")}]` : "";
  return `${new Date(e.timestamp).toISOString()} ${host} ${app}${tags}: ${e.logmsg.replace(/\n/g, "\\n")}`;
}

async function getJson(url: string, token: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Authorization: `bearer ${token}` } });
  } catch (err) {
    throw new Error(`cannot reach ${new URL(url).origin}: ${(err as Error).message} (is the server running? set --url)`);
  }
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) {
    const pos = typeof body.position === "number" ? ` (at position ${body.position})` : "";
    throw new Error(`${res.status}: ${String(body.message ?? res.statusText)}${pos}`);
  }
  return body;
}

export async function searchCommand(query: string | undefined, flags: ClientFlags & { from: string; until: string; limit: number; order: string }): Promise<void> {
  const token = apiToken(flags);
  const params = new URLSearchParams({ q: query ?? "*", from: flags.from, until: flags.until, order: flags.order, size: String(Math.min(1000, flags.limit)) });
  const base = flags.url.replace(/\/+$/, "");
  const { count } = (await getJson(`${base}/apiv2/events/count?${params}`, token)) as { count: number };
  if (!flags.json) process.stderr.write(`${count} events match; showing ${Math.min(count, flags.limit)}, ${flags.order === "asc" ? "oldest" : "newest"} first\n`);
  let url: string | undefined = `${base}/apiv2/events/iterate?${params}`;
  let printed = 0;
  while (url && printed < flags.limit) {
    const page = (await getJson(url, token)) as { events: ApiEvent[]; next?: string };
    for (const e of page.events) {
      if (printed++ >= flags.limit) break;
      process.stdout.write((flags.json ? JSON.stringify(e) : formatEvent(e)) + "\n");
    }
    url = page.next;
  }
}

/**
 * Follows `GET /apiv2/tail` (the token in the Authorization header). Output waits for stdout (piped into
 * a slow reader, this reader falls behind, and the server cuts it off past its buffer: then it says so
 * and reconnects; what it missed is in search).
 */
export async function tailCommand(query: string | undefined, flags: ClientFlags): Promise<void> {
  const token = apiToken(flags);
  const url = `${flags.url.replace(/\/+$/, "")}/apiv2/tail?${new URLSearchParams({ q: query ?? "*" })}`;
  if (!flags.json) process.stderr.write(`tailing ${query ?? "*"} (Ctrl-C to stop)\n`);
  for (;;) {
    const ended = await followTail(url, token, (e) => (flags.json ? JSON.stringify(e) : formatEvent(e)) + "\n");
    if (ended === "closed") {
      process.stderr.write("the server ended the stream\n");
      return;
    }
    process.stderr.write("fell behind the stream and was cut off by the server; reconnecting (search has the events missed)\n");
  }
}

async function followTail(url: string, token: string, format: (e: ApiEvent) => string): Promise<"overflow" | "closed"> {
  const res = await fetch(url, { headers: { Authorization: `bearer ${token}`, Accept: "text/event-stream" } }).catch((err: Error) => {
    throw new Error(`cannot reach ${new URL(url).origin}: ${err.message} (is the server running? set --url)`);
  });
  if (res.status !== 200 || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new Error(`${res.status}: ${body.message ?? res.statusText}`);
  }
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffered.indexOf("\n\n")) >= 0) {
      const message = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      const lines = message.split("\n");
      const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim() ?? "message";
      if (event === "overflow") return "overflow";
      if (event !== "message") continue;
      for (const line of lines) {
        if (!line.startsWith("data: ")) continue;
        if (!process.stdout.write(format(JSON.parse(line.slice(6)) as ApiEvent))) await new Promise((r) => process.stdout.once("drain", r));
      }
    }
  }
  return "closed";
}
