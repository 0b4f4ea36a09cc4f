import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { apiErrorOf, logglyEvent } from "@unmeltable/api";
import { authenticate, authorizationOf, matchesEvent, parseQuery, UnauthorizedError, type IndexedFeed, type LogEvent, type Metrics, type Query, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { sendJson, tenantOf, type HttpRoute } from "./http-server";

/** What one stream may have waiting to be sent before its reader counts as too slow and is cut off. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const TICKET_TTL_MS = 30_000;
/** Unused tickets a tenant may hold at once (each is a few dozen bytes; the oldest go first). */
const MAX_TICKETS_PER_TENANT = 100;
/** A reader cut off for being slow gets this long to take the closing notice before the socket is destroyed. */
const CUT_OFF_GRACE_MS = 5_000;
const HEARTBEAT_MS = 15_000;

interface Ticket {
  tenant: string;
  expiresAt: number;
}

/**
 * Single-use, short-lived tickets for `GET /apiv2/tail`, for clients that cannot set an Authorization
 * header (the browser's EventSource): the API token never appears in a URL, where proxies log it.
 */
export class TailTickets {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly ttlMs = TICKET_TTL_MS, private readonly now: () => number = Date.now) {}

  issue(tenant: string): { ticket: string; expiresAt: string } {
    this.prune();
    const own = [...this.tickets].filter(([, t]) => t.tenant === tenant);
    for (const [id] of own.slice(0, Math.max(0, own.length - MAX_TICKETS_PER_TENANT + 1))) this.tickets.delete(id);
    const ticket = randomBytes(24).toString("base64url");
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(ticket, { tenant, expiresAt });
    return { ticket, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The ticket's tenant, once: a redeemed or expired ticket is gone. */
  redeem(ticket: string): string | undefined {
    const t = this.tickets.get(ticket);
    if (!t) return undefined;
    this.tickets.delete(ticket);
    return t.expiresAt > this.now() ? t.tenant : undefined;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(id);
  }
}

/**
 * Live tail (an extension of the API): `GET /apiv2/tail?q=QUERY` streams every newly indexed event of the
 * caller's tenant that matches QUERY as server-sent events (`data: <event JSON>`), until the client
 * disconnects. The caller is known by `Authorization: bearer TOKEN`, or by `?ticket=` from
 * `POST /apiv2/tail/ticket` — never by a token in the URL.
 *
 * Each stream's unsent bytes are bounded: a reader that falls more than `maxBufferedBytes` behind gets a
 * closing `event: overflow` and is cut off (what it missed is in search), so a client that never reads
 * cannot grow the server's memory.
 */
export class LiveTail {
  /** Each open stream, with the function that ends it. */
  private readonly streams = new Map<ServerResponse, (last: string) => void>();
  private readonly tickets: TailTickets;
  private readonly maxBufferedBytes: number;
  private readonly open: ReturnType<Metrics["gauge"]>;
  private readonly cutOff: ReturnType<ReturnType<Metrics["counter"]>["labels"]>;

  constructor(private readonly deps: { indexed: IndexedFeed; tenants: TenantDirectory; metrics: Metrics; maxBufferedBytes?: number; tickets?: TailTickets }) {
    this.tickets = deps.tickets ?? new TailTickets();
    this.maxBufferedBytes = deps.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.open = deps.metrics.gauge("unmeltable_tail_streams", "Live tail streams open");
    this.open.set(0);
    this.cutOff = deps.metrics.counter("unmeltable_tail_slow_readers_total", "Live tail streams cut off because their reader fell too far behind").labels({});
  }

  routes(): HttpRoute[] {
    return [
      {
        url: "/apiv2/tail/ticket",
        methods: ["POST"],
        tenants: this.deps.tenants,
        body: { text: 4096 },
        handler: async (req, reply) => sendJson(reply, 200, this.tickets.issue(tenantOf(req).name), { "Cache-Control": "no-store" }),
      },
      {
        // Not authenticated by the route table: a ticket stands in for the credentials (see `caller`).
        url: "/apiv2/tail",
        methods: ["GET"],
        handler: async (req, reply) => {
          const params = new URL(req.raw.url ?? "/", "http://localhost").searchParams;
          const tenant = this.caller(req.headers, params);
          let query: Query;
          try {
            query = parseQuery(params.get("q") ?? "*");
          } catch (err) {
            throw apiErrorOf(err) ?? err;
          }
          reply.hijack();
          this.stream(reply.raw, tenant.name, query);
        },
      },
    ];
  }

  /**
   * Who follows the stream: the tenant of a `?ticket=` (once), else of the credentials, read by core's
   * `authenticate` as on every other route. Failures are 401s (UnauthorizedError) that say what to send.
   */
  private caller(headers: Parameters<typeof authenticate>[0], params: URLSearchParams): Tenant {
    if (params.has("ticket")) {
      const name = this.tickets.redeem(params.get("ticket")!);
      const tenant = name === undefined ? undefined : this.deps.tenants.byName(name);
      if (!tenant) throw new UnauthorizedError("invalid API token: the ticket is unknown, used or expired: get a new one with POST /apiv2/tail/ticket");
      return tenant;
    }
    if (!authorizationOf(headers)) {
      throw new UnauthorizedError(
        params.has("token")
          ? "missing credentials: the API token is not accepted in the URL (proxies log URLs): send Authorization: bearer <API token>, or use ?ticket= from POST /apiv2/tail/ticket"
          : "missing credentials: send Authorization: bearer <API token>, or ?ticket= from POST /apiv2/tail/ticket",
      );
    }
    return authenticate(headers, this.deps.tenants);
  }

  /** Ends every stream (the server is draining: these never finish on their own). */
  endAll(): void {
    for (const end of [...this.streams.values()]) end(": the server is shutting down\n\n");
  }

  private stream(res: ServerResponse, tenant: string, query: Query): void {
    // The connection ends with the stream: what a stream left unsent must not keep it open afterwards.
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "close", "X-Accel-Buffering": "no" });
    res.write(": tailing\n\n");
    let stopped = false;
    /** Stops following, sends a last message and ends; a reader that takes nothing never lets it out, so its buffer is released after a grace period. */
    const end = (last: string) => {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      unsubscribe();
      const socket = res.socket;
      res.end(last);
      if (!socket || socket.destroyed) return;
      const release = setTimeout(() => reset(socket), CUT_OFF_GRACE_MS).unref();
      socket.once("close", () => clearTimeout(release));
    };
    const send = (text: string) => {
      if (stopped) return;
      if (res.writableLength + Buffer.byteLength(text) > this.maxBufferedBytes) {
        this.cutOff.inc();
        const message = `this reader fell more than ${this.maxBufferedBytes} bytes behind and was cut off; reconnect, and search for what it missed`;
        end(`event: overflow\ndata: ${JSON.stringify({ message })}\n\n`);
        return;
      }
      res.write(text);
    };
    const onIndexed = (t: string, events: LogEvent[]) => {
      if (t !== tenant) return;
      // This runs inside the index's notification: a failure here ends this stream, never the indexing.
      try {
        for (const e of events) if (!stopped && matchesEvent(query, e)) send(`data: ${JSON.stringify(logglyEvent(e))}\n\n`);
      } catch (err) {
        end(`event: error\ndata: ${JSON.stringify({ message: `the stream failed: ${(err as Error).message}` })}\n\n`);
      }
    };
    const heartbeat = setInterval(() => send(": heartbeat\n\n"), HEARTBEAT_MS);
    const unsubscribe = this.deps.indexed.onIndexed(onIndexed);
    this.streams.set(res, end);
    this.open.set(this.streams.size);
    res.on("close", () => {
      stopped = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.streams.delete(res);
      this.open.set(this.streams.size);
    });
    res.on("error", () => res.destroy());
  }
}

/**
 * Drops a connection whose reader takes nothing: a reset (not a FIN) lets the kernel free the socket's
 * buffers at once, instead of keeping them for minutes to deliver to a peer that does not read.
 */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
