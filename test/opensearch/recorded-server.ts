/**
 * A stand-in for OpenSearch in tests: an HTTP server that records every request it gets (method, path,
 * query, headers, body — JSON parsed, NDJSON parsed line by line) and answers with scripted responses,
 * usually the recorded or documented ones in test/fixtures/opensearch/. Tests then assert the exact
 * requests the adapter sent.
 *
 * Three ways to answer:
 *  - routes (`on`, `once`): the first route whose method and path match, in the order they were added;
 *  - replay (`RecordedServer.replay`): a recorded exchange list, answered in order, each request checked
 *    against the recorded one (a different request gets a 418 naming the difference);
 *  - forward (`RecordedServer.forward`): a recording proxy to a real cluster; `save` writes the exchanges.
 * A request nothing answers gets a 418 too: the adapter treats it as a client error and throws, so a
 * test cannot pass by accident.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";

export interface RecordedRequest {
  method: string;
  /** The path without the query string, percent-decoded. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** JSON bodies parsed; NDJSON (bulk) bodies as an array of parsed lines; undefined when empty. */
  body: unknown;
  /** The body as sent. */
  raw: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Drop the connection instead of answering (a network failure). */
  hangUp?: boolean;
  /** Answer only after this long (a slow cluster); a client that gives up first is recorded in `abandoned`. */
  delayMs?: number;
}

/** A response fixture: a reply plus where its shape comes from. */
export interface Fixture extends Reply {
  comment: string;
}

export interface Exchange {
  request: Pick<RecordedRequest, "method" | "path" | "query" | "body">;
  response: Reply;
}

type Responder = Reply | ((req: RecordedRequest) => Reply);

interface Route {
  method: string;
  path: RegExp;
  respond: Responder;
  times: number;
}

const FIXTURES = path.join(import.meta.dirname, "../fixtures/opensearch");

export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as Fixture;
}

export class RecordedServer {
  readonly requests: RecordedRequest[] = [];
  readonly exchanges: Exchange[] = [];
  /** Requests no route, replay step or target answered, with the reason. */
  readonly problems: string[] = [];
  /** Requests whose client closed the connection while a delayed answer was pending (it gave up: cancelled). */
  readonly abandoned: RecordedRequest[] = [];
  private readonly routes: Route[] = [];
  private replayAt = 0;
  /** Consulted before anything else: a reply overrides the routes (a fault: throttling, an outage). */
  fault: ((req: RecordedRequest) => Reply | undefined) | undefined;

  private constructor(
    private readonly server: http.Server,
    private readonly mode: { replay?: Exchange[]; forward?: { url: URL; insecure: boolean } },
  ) {}

  static start(): Promise<RecordedServer> {
    return RecordedServer.listen({});
  }

  static replay(exchanges: Exchange[]): Promise<RecordedServer> {
    return RecordedServer.listen({ replay: exchanges });
  }

  static forward(url: string, insecure = false): Promise<RecordedServer> {
    return RecordedServer.listen({ forward: { url: new URL(url), insecure } });
  }

  private static async listen(mode: RecordedServer["mode"]): Promise<RecordedServer> {
    const server = http.createServer();
    const rs = new RecordedServer(server, mode);
    server.on("request", (req, res) => void rs.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return rs;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers requests with this method whose path matches (a string must match whole), `times` times. */
  on(method: string, pathPattern: string | RegExp, respond: Responder, times = Number.POSITIVE_INFINITY): this {
    const re = typeof pathPattern === "string" ? new RegExp(`^${pathPattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : pathPattern;
    this.routes.push({ method, path: re, respond, times });
    return this;
  }

  once(method: string, pathPattern: string | RegExp, respond: Responder): this {
    return this.on(method, pathPattern, respond, 1);
  }

  /** The recorded requests with this method whose path matches. */
  requestsTo(method: string, pathPattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pathPattern.test(r.path));
  }

  /** Writes the forwarded exchanges (no headers: they may hold credentials) for a later replay. */
  save(file: string, meta: Record<string, unknown>): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...meta, exchanges: this.exchanges }, null, 1)}\n`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://x");
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: parseBody(raw, req.headers["content-type"]),
      raw,
    };
    this.requests.push(recorded);
    let reply: Reply;
    const faulty = this.fault?.(recorded);
    if (faulty) reply = faulty;
    else if (this.mode.forward) reply = await this.forwardTo(this.mode.forward, req, raw);
    else if (this.mode.replay) reply = this.nextReplay(recorded);
    else reply = this.route(recorded);
    if (this.mode.forward) this.exchanges.push({ request: pick(recorded), response: reply });
    if (reply.hangUp) {
      req.socket.destroy();
      return;
    }
    if (reply.delayMs !== undefined && (await closedWithin(res, reply.delayMs))) {
      this.abandoned.push(recorded);
      return;
    }
    const body = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { "content-type": "application/json; charset=UTF-8", ...reply.headers });
    res.end(body);
  }

  private route(r: RecordedRequest): Reply {
    const route = this.routes.find((x) => x.times > 0 && x.method === r.method && x.path.test(r.path));
    if (!route) return this.problem(`no route for ${r.method} ${r.path}`);
    route.times--;
    return typeof route.respond === "function" ? route.respond(r) : route.respond;
  }

  private nextReplay(r: RecordedRequest): Reply {
    const next = this.mode.replay![this.replayAt];
    if (!next) return this.problem(`replay: unexpected extra request ${r.method} ${r.path}`);
    const got = pick(r);
    for (const key of ["method", "path", "query", "body"] as const) {
      if (!isDeepStrictEqual(got[key], next.request[key])) {
        return this.problem(`replay step ${this.replayAt}: ${key} differs: expected ${JSON.stringify(next.request[key]).slice(0, 300)} got ${JSON.stringify(got[key]).slice(0, 300)}`);
      }
    }
    this.replayAt++;
    return next.response;
  }

  private problem(message: string): Reply {
    this.problems.push(message);
    return { status: 418, body: { error: { type: "recorded_server_problem", reason: message } } };
  }

  private forwardTo(target: { url: URL; insecure: boolean }, req: http.IncomingMessage, raw: string): Promise<Reply> {
    const headers = { ...req.headers, host: target.url.host };
    if (target.url.username && !headers.authorization) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.url.username)}:${decodeURIComponent(target.url.password)}`).toString("base64")}`;
    }
    const lib = target.url.protocol === "https:" ? https : http;
    return new Promise((resolve) => {
      const out = lib.request(
        { protocol: target.url.protocol, hostname: target.url.hostname, port: target.url.port, method: req.method, path: req.url, headers, rejectUnauthorized: !target.insecure },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => resolve({ status: 502, body: { error: { type: "proxy_error", reason: err.message } } }));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({ status: res.statusCode ?? 502, body: parseBody(text, res.headers["content-type"]) ?? "" });
          });
        },
      );
      out.on("error", (err) => resolve({ status: 502, body: { error: { type: "proxy_error", reason: err.message } } }));
      out.end(raw);
    });
  }
}

/** Waits ms, or less when the connection closes first (the client gave up): true then. */
function closedWithin(res: http.ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(false);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    res.once("close", onClose);
  });
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === "") return undefined;
  try {
    if (contentType?.includes("ndjson")) return raw.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as unknown);
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function pick(r: RecordedRequest): Exchange["request"] {
  return { method: r.method, path: r.path, query: r.query, body: r.body };
}
