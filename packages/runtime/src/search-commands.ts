import { existsSync } from "node:fs";
import path from "node:path";
import { TenantStore } from "./tenant-store";
import type { ApiEvent } from "@unmeltable/core";

/**
 * `unmeltable search` and `unmeltable tail`: clients of the HTTP API, so they work against any running
 * server. The API token comes from --token or UNMELTABLE_API_TOKEN; without one, the command uses its
 * access to the data dir (which only the service user has) to mint a token of its own for --tenant,
 * valid while it runs — so on the server's machine nothing needs to be copied around, and no token is
 * kept in clear anywhere.
 */
export interface ClientFlags {
  url: string;
  token?: string;
  tenant: string;
  dataDir: string;
  json?: boolean;
}

/** A token minted by a command lives at most this long, should the command die without revoking it. */
export const CLI_TOKEN_TTL_MS = 24 * 3600_000;

interface Credential {
  token: string;
  /** Revokes a minted token (synchronous, so that it can run on a signal); nothing for a given one. */
  release(): void;
}

function credential(flags: ClientFlags): Credential {
  if (flags.token) return { token: flags.token, release: () => undefined };
  const dir = path.resolve(flags.dataDir);
  if (!existsSync(path.join(dir, "tenants.db"))) throw new Error(`no tenants in ${flags.dataDir} (is it the server's --data-dir?); pass --data-dir or --token`);
  const open = () => {
    try {
      return new TenantStore(dir);
    } catch (err) {
      throw new Error(`cannot open ${path.join(flags.dataDir, "tenants.db")} (${(err as Error).message}): run this as the user the server runs as, or pass --token`);
    }
  };
  const store = open();
  let token: string;
  try {
    if (!store.get(flags.tenant)) throw new Error(`no tenant ${flags.tenant} in ${flags.dataDir}; pass --tenant or --token`);
    token = store.issueApiToken(flags.tenant, { purpose: "cli", ttlMs: CLI_TOKEN_TTL_MS });
  } finally {
    store.close();
  }
  let released = false;
  return {
    token,
    release: () => {
      if (released) return;
      released = true;
      const s = open();
      try {
        s.revokeApiToken(token);
      } finally {
        s.close();
      }
    },
  };
}

/** One line per event for people: time, host, app, message. */
export function formatEvent(e: ApiEvent): string {
  const text = (v: unknown) => (v === undefined || v === null ? "-" : typeof v === "string" ? v : JSON.stringify(v));
  const host = text(e.event.syslog?.host);
  const app = text(e.event.syslog?.appName);
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
    throw new Error(`${res.status}: ${typeof body.message === "string" ? body.message : res.statusText}${pos}`);
  }
  return body;
}

export async function searchCommand(query: string | undefined, flags: ClientFlags & { from: string; until: string; limit: number; order: string }): Promise<void> {
  const cred = credential(flags);
  try {
    await search(query, flags, cred.token);
  } finally {
    cred.release();
  }
}

async function search(query: string | undefined, flags: ClientFlags & { from: string; until: string; limit: number; order: string }, token: string): Promise<void> {
  const params = new URLSearchParams({ q: query ?? "*", from: flags.from, until: flags.until, order: flags.order, size: String(Math.min(1000, flags.limit)) });
  const base = flags.url.replace(/\/+$/, "");
  const { count } = (await getJson(`${base}/apiv2/events/count?${params.toString()}`, token)) as { count: number };
  if (!flags.json) process.stderr.write(`${count} events match; showing ${Math.min(count, flags.limit)}, ${flags.order === "asc" ? "oldest" : "newest"} first\n`);
  let url: string | undefined = `${base}/apiv2/events/iterate?${params.toString()}`;
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
  const cred = credential(flags);
  // Ctrl-C is how a tail ends: revoke the minted token on the way out.
  const onSignal = (signal: NodeJS.Signals) => {
    try {
      cred.release();
    } finally {
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await tail(query, flags, cred.token);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cred.release();
  }
}

async function tail(query: string | undefined, flags: ClientFlags, token: string): Promise<void> {
  const url = `${flags.url.replace(/\/+$/, "")}/apiv2/tail?${new URLSearchParams({ q: query ?? "*" }).toString()}`;
  // Said once the stream is open, also with --json (stdout stays JSON lines): a script can wait for it.
  const onLive = () => process.stderr.write(`tailing ${query ?? "*"} (Ctrl-C to stop)\n`);
  for (;;) {
    const ended = await followTail(url, token, (e) => (flags.json ? JSON.stringify(e) : formatEvent(e)) + "\n", onLive);
    if (ended === "closed") {
      process.stderr.write("the server ended the stream\n");
      return;
    }
    process.stderr.write("fell behind the stream and was cut off by the server; reconnecting (search has the events missed)\n");
  }
}

async function followTail(url: string, token: string, format: (e: ApiEvent) => string, onLive: () => void): Promise<"overflow" | "closed"> {
  const res = await fetch(url, { headers: { Authorization: `bearer ${token}`, Accept: "text/event-stream" } }).catch((err: Error) => {
    throw new Error(`cannot reach ${new URL(url).origin}: ${err.message} (is the server running? set --url)`);
  });
  if (res.status !== 200 || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new Error(`${res.status}: ${body.message ?? res.statusText}`);
  }
  onLive();
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
