import type { IncomingMessage, ServerResponse } from "node:http";
import { handleApi, logglyEvent } from "@unmeltable/api";
import { matchesEvent, parseQuery, QuerySyntaxError, type IndexPort, type LogEvent, type TenantDirectory } from "@unmeltable/core";
import type { EventEmitter } from "node:events";
import { sendJson } from "./http-server";

/** Serves Loggly's apiv2 routes (packages/api) on node:http. */
export function apiHandler(deps: { index: IndexPort; tenants: TenantDirectory }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const response = await handleApi(
      {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers as Record<string, string | undefined>,
        origin: `${(req.socket as { encrypted?: boolean }).encrypted ? "https" : "http"}://${req.headers.host ?? "localhost"}`,
      },
      deps,
    );
    sendJson(res, response.status, response.body, response.headers);
  };
}

/**
 * Live tail (an extension of the API): `GET /apiv2/tail?q=QUERY` streams every newly indexed event of
 * the caller's tenant that matches QUERY as server-sent events (`data: <event JSON>`), until the client
 * disconnects. Heartbeat comments every 15 s keep proxies from closing an idle stream.
 */
export function tailHandler(deps: { indexed: EventEmitter; tenants: TenantDirectory }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const auth = req.headers.authorization ?? "";
    const token = /^bearer\s+(.+)$/i.exec(auth.trim())?.[1] ?? url.searchParams.get("token") ?? "";
    const tenant = deps.tenants.byApiToken(token);
    if (!tenant) {
      sendJson(res, 401, { response: "error", message: "invalid API token" }, { "WWW-Authenticate": 'Bearer realm="unmeltable"' });
      return;
    }
    let query;
    try {
      query = parseQuery(url.searchParams.get("q") ?? "*");
    } catch (err) {
      if (err instanceof QuerySyntaxError) {
        sendJson(res, 400, { response: "error", message: `query syntax error: ${err.message}`, position: err.position });
        return;
      }
      throw err;
    }
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" });
    res.write(": tailing\n\n");
    const onIndexed = (t: string, events: LogEvent[]) => {
      if (t !== tenant.name) return;
      for (const e of events) if (matchesEvent(query, e)) res.write(`data: ${JSON.stringify(logglyEvent(e))}\n\n`);
    };
    deps.indexed.on("indexed", onIndexed);
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), 15_000);
    const stop = () => {
      clearInterval(heartbeat);
      deps.indexed.off("indexed", onIndexed);
    };
    req.on("close", stop);
    res.on("close", stop);
  };
}
