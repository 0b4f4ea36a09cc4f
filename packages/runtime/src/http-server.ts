import http from "node:http";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpMatchArray) => void | Promise<void>;

export interface Route {
  /** Methods answered; others get 405. */
  methods: readonly string[];
  path: RegExp;
  handler: RouteHandler;
}

/** A small router on node:http: the route handlers stay plain functions, free of any framework. */
export function createRequestListener(routes: Route[]): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? "/";
    for (const route of routes) {
      const match = url.match(route.path);
      if (!match) continue;
      if (!route.methods.includes(req.method ?? "GET")) {
        sendJson(res, 405, { response: "error", message: `${req.method} is not allowed here; use ${route.methods.join(", ")}` }, { Allow: route.methods.join(", ") });
        req.resume();
        return;
      }
      Promise.resolve(route.handler(req, res, match)).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { response: "error", message: `internal error: ${(err as Error).message}` });
        else res.destroy();
      });
      return;
    }
    sendJson(res, 404, { response: "error", message: `no such endpoint: ${req.method} ${url.split("?")[0]}` });
    req.resume();
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export interface HttpServers {
  httpPort: number;
  httpsPort?: number;
  close(): Promise<void>;
}

export async function startHttpServers(options: {
  host: string;
  port: number;
  https?: { port: number; cert: Buffer; key: Buffer };
  listener: http.RequestListener;
}): Promise<HttpServers> {
  const servers: http.Server[] = [];
  const plain = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 120_000 }, options.listener);
  servers.push(plain);
  await listen(plain, options.port, options.host);
  let httpsPort: number | undefined;
  if (options.https) {
    const secure = https.createServer({ cert: options.https.cert, key: options.https.key, keepAliveTimeout: 65_000 }, options.listener);
    servers.push(secure);
    await listen(secure, options.https.port, options.host);
    httpsPort = (secure.address() as AddressInfo).port;
  }
  return {
    httpPort: (plain.address() as AddressInfo).port,
    httpsPort,
    close: async () => {
      // Stop accepting, let requests in flight finish (their events become durable), drop idle sockets.
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
              // Long-lived streams (live tail) never become idle: end them after a grace period.
              setTimeout(() => s.closeAllConnections(), 2000).unref();
            }),
        ),
      );
    },
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
