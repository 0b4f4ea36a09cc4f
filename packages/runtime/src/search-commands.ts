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

export async function tailCommand(query: string | undefined, flags: ClientFlags): Promise<void> {
  const token = apiToken(flags);
  const url = `${flags.url.replace(/\/+$/, "")}/apiv2/tail?${new URLSearchParams({ q: query ?? "*" })}`;
  const res = await fetch(url, { headers: { Authorization: `bearer ${token}`, Accept: "text/event-stream" } }).catch((err: Error) => {
    throw new Error(`cannot reach ${flags.url}: ${err.message} (is the server running? set --url)`);
  });
  if (res.status !== 200 || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new Error(`${res.status}: ${body.message ?? res.statusText}`);
  }
  if (!flags.json) process.stderr.write(`tailing ${query ?? "*"} (Ctrl-C to stop)\n`);
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffered.indexOf("\n\n")) >= 0) {
      const message = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      for (const line of message.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const e = JSON.parse(line.slice(6)) as ApiEvent;
        process.stdout.write((flags.json ? JSON.stringify(e) : formatEvent(e)) + "\n");
      }
    }
  }
}
