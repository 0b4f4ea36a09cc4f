import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { badRequest, CodedError, credentialOrElse, ERROR_CODES, errorAnswer, errorFields, internalError, methodNotAllowed, notFound, type Credential, type Logger, type Tenant, type TenantDirectory } from "@unmeltable/core";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

export interface HttpRoute {
  /** A find-my-way path: static (`/healthz`) or ending in a wildcard (`/apiv2/*`). A trailing slash is ignored. */
  url: string;
  /** Methods answered; any other gets 405 with `Allow`, before its body is read. */
  methods: readonly HttpMethod[];
  /**
   * The request body: not read (the default); handed over unread (`"stream"`: the handler reads
   * `req.raw` itself, whatever the Content-Type); or read as text up to a limit (413 beyond it).
   */
  body?: "stream" | { text: number };
  /**
   * Callers must be tenants of this directory: core's `authenticate` reads their credentials once,
   * before the body is read and the handler runs (a 401 otherwise); the handler gets the tenant from
   * `tenantOf(req)` and never reads credentials itself.
   */
  tenants?: TenantDirectory;
  /** May throw or reject: the error becomes a JSON answer (a CodedError its own; 500 unless it carries a 4xx statusCode). */
  handler: (req: FastifyRequest, reply: FastifyReply) => unknown;
}

export interface HttpServers {
  httpPort: number;
  httpsPort?: number;
  /**
   * Drains: stops accepting connections, lets every request in flight finish and get its answer
   * (responses from now on close their connection), ends the long-lived streams, then closes.
   * Connections still busy after `drainTimeoutMs` are cut.
   */
  close(): Promise<void>;
}

/** How long draining waits for requests in flight (ingest waits up to 30 s for durability) before cutting what is left. */
const DEFAULT_DRAIN_TIMEOUT_MS = 40_000;

/** The tenant each authenticated request's credentials named (set before its handler runs). */
const requestCredentials = new WeakMap<FastifyRequest, Credential>();

/** The credential of a request to a route with `tenants` (authenticated before the handler): tenant, role, user. */
export function requestCredential(req: FastifyRequest): Credential {
  const credential = requestCredentials.get(req);
  if (!credential) throw new Error(`${req.method} ${pathOf(req.raw.url)}: the route does not authenticate (give it \`tenants\`)`);
  return credential;
}

/** The tenant of a request to a route with `tenants` (authenticated before the handler). */
export function tenantOf(req: FastifyRequest): Tenant {
  return requestCredential(req).tenant;
}

/** The answer to a coded error (its status, headers and `{response, message, code}` body): the one error shape of every route. */
export function sendError(reply: FastifyReply, err: CodedError): FastifyReply {
  const answer = errorAnswer(err);
  return sendJson(reply, answer.status, answer.body, answer.headers);
}

/** A malformed percent-escape in the path (400). */
export function malformedUrl(url: string | undefined): CodedError {
  return badRequest(`malformed URL: ${pathOf(url)} has an invalid percent-escape`);
}

/** An answer in the API's JSON shape. */
export function sendJson(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}): FastifyReply {
  // A Buffer, so that fastify leaves the type as it is (JSON is UTF-8 by definition: no charset parameter).
  return reply.code(status).headers({ ...headers, "content-type": "application/json" }).send(Buffer.from(JSON.stringify(body)));
}

/**
 * The program's HTTP edge on fastify (its router, URL decoding and error handling): one route table served
 * on HTTP and, when configured, HTTPS. Every failure becomes an answer — a malformed URL 400, an unknown
 * path 404, a wrong method 405 with Allow, an exception in a handler (thrown or rejected) 500 — each in
 * the one error shape with its code (core's ERROR_CODES), and never takes the process down.
 */
export async function startHttpServers(options: {
  host: string;
  port: number;
  https?: { port: number; cert: Buffer; key: Buffer };
  routes: readonly HttpRoute[];
  /** Called when draining starts, to end long-lived streams (live tail) that would otherwise hold it up. */
  onDrain?: readonly (() => void)[];
  drainTimeoutMs?: number;
  /**
   * Credentials a token does not name, tried before the 401: a user's email and password in HTTP basic
   * (basic-login.ts), as Loggly's older clients send them. Undefined: not one either.
   */
  passwordLogin?: (headers: FastifyRequest["headers"], ip: string) => Promise<Credential | undefined>;
  logger: Logger;
}): Promise<HttpServers> {
  const logger = options.logger;
  const servers: http.Server[] = [];
  let draining = false;
  const serverOptions: http.ServerOptions = { keepAliveTimeout: 65_000, requestTimeout: 120_000 };
  const app = Fastify({
    logger: false,
    routerOptions: { ignoreTrailingSlash: true },
    exposeHeadRoutes: false,
    // Draining is ours: requests on open connections are served (with Connection: close), not refused.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    serverFactory: (handler) => {
      const plain = http.createServer(serverOptions, handler);
      servers.push(plain);
      if (options.https) {
        const secure = https.createServer({ ...serverOptions, cert: options.https.cert, key: options.https.key }, handler);
        secure.on("clientError", answerClientError);
        servers.push(secure);
      }
      return plain;
    },
    frameworkErrors: (err, req, reply) => {
      // FST_ERR_BAD_URL: a malformed percent-escape in the path (find-my-way will not decode it).
      sendError(reply, err.code === "FST_ERR_BAD_URL" ? malformedUrl(req.raw.url) : clientError(err.statusCode ?? 400, err.message));
    },
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof CodedError && !reply.raw.headersSent) return sendError(reply, err);
    let status = typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    // decodeURIComponent in a handler: the request's fault, not ours.
    if (err instanceof URIError) status = 400;
    if (status >= 500) logger.error("HTTP request failed", { method: req.method, path: pathOf(req.raw.url), ...errorFields(err), stack: err.stack });
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    return sendError(
      reply,
      status >= 500
        ? internalError()
        : err instanceof URIError
          ? malformedUrl(req.raw.url)
          : err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
            ? clientError(413, "the request body is larger than this endpoint takes")
            : clientError(status, err.message),
    );
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, notFound(`no such endpoint: ${req.method} ${pathOf(req.raw.url)}`)));
  app.addHook("onSend", async (_req, reply) => {
    if (draining) reply.header("connection", "close");
  });

  /** The request's credential: a token (core's credentialOf), else a password (`passwordLogin`); its role checked either way. */
  const authenticated = (req: FastifyRequest, tenants: TenantDirectory): Promise<Credential> => {
    const { passwordLogin } = options;
    return credentialOrElse(req.headers, tenants, { method: req.method, path: pathOf(req.raw.url) }, passwordLogin && ((headers) => passwordLogin(headers, req.ip)));
  };

  for (const route of options.routes) {
    await app.register(async (scope: FastifyInstance) => {
      scope.removeAllContentTypeParsers();
      if (route.body === undefined || route.body === "stream") {
        // Unread: the handler reads it, or node discards it after the answer.
        scope.addContentTypeParser("*", (_req, payload, done) => done(null, route.body === "stream" ? payload : undefined));
      } else {
        scope.addContentTypeParser("*", { parseAs: "string", bodyLimit: route.body.text }, (_req, body, done) => done(null, body));
      }
      const allow = route.methods.join(", ");
      scope.route({
        method: [...ALL_METHODS],
        url: route.url,
        onRequest: async (req, reply) => {
          if (!route.methods.includes(req.method as HttpMethod)) return sendError(reply, methodNotAllowed(`${req.method} is not allowed here; use ${allow}`, allow));
          // Once, before the body and the handler (a 401 is a CodedError: the error handler answers it).
          if (route.tenants) requestCredentials.set(req, await authenticated(req, route.tenants));
        },
        handler: async (req, reply) => {
          try {
            return await route.handler(req, reply);
          } catch (err) {
            // Fastify's error handler answers, unless the answer has begun (or the handler took the
            // response over): then the only honest end is to cut the connection.
            if (!reply.raw.headersSent && !reply.sent) throw err;
            logger.error("HTTP request failed after answering began", { method: req.method, path: pathOf(req.raw.url), ...errorFields(err), stack: (err as Error).stack });
            if (!reply.raw.writableEnded) reply.raw.destroy();
          }
        },
      });
    });
  }
  await app.ready();

  const [plain, secure] = servers as [http.Server, http.Server | undefined];
  for (const s of servers) s.on("error", (err) => logger.error("HTTP server error", errorFields(err)));
  try {
    await listen(plain, options.port, options.host);
    if (secure && options.https) await listen(secure, options.https.port, options.host);
  } catch (err) {
    // The HTTPS port is taken, say: the HTTP server must not stay up on its own.
    await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r(undefined)))));
    await app.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = async () => {
    draining = true;
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const end of options.onDrain ?? []) end();
    // Runs fastify's own close (its onClose hooks); it sees our servers as not its to close.
    await app.close();
    // A response that began before draining leaves its connection idle (keep-alive) once it ends.
    const reaper = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 100);
    const cut = setTimeout(() => {
      logger.warn("HTTP drain timed out: closing the connections still open");
      servers.forEach((s) => s.closeAllConnections());
    }, options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    try {
      await Promise.all(closed);
    } finally {
      clearInterval(reaper);
      clearTimeout(cut);
    }
  };
  return {
    httpPort: (plain.address() as AddressInfo).port,
    httpsPort: secure ? (secure.address() as AddressInfo).port : undefined,
    close: () => (closing ??= close()),
  };
}

/** Every method fastify routes: a route takes them all, so that a wrong one gets 405 rather than 404. */
const ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"] as const;

/** A 4xx that fastify (not a handler) raised, with the code of its status. */
function clientError(status: number, message: string): CodedError {
  const code = status === 404 ? ERROR_CODES.NOT_FOUND : status === 405 ? ERROR_CODES.METHOD_NOT_ALLOWED : status === 413 ? ERROR_CODES.PAYLOAD_TOO_LARGE : ERROR_CODES.BAD_REQUEST;
  return new CodedError(code, status, message);
}

/** The path of a request target, for messages (without the query, which may hold secrets). */
export function pathOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q < 0 ? u : u.slice(0, q);
}

/** What node's HTTP parser refused (bad request line or header, oversized headers, timeouts): a JSON 4xx, then close. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === "ECONNRESET" || socket.destroyed || !socket.writable || answering) {
    socket.destroy();
    return;
  }
  const status = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  // UNM_BAD_REQUEST for all three: the request itself (its line, headers or pace) is what the server cannot take.
  const body = JSON.stringify(errorAnswer(badRequest(status === 408 ? "the request took too long to arrive" : status === 431 ? "the request headers are too large" : "malformed HTTP request")).body);
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
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
