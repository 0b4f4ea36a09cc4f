import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import type { Tenant, TenantDirectory, Transport } from "@unmeltable/core";
import type { Ingestor } from "./ingestor";

/**
 * Loggly's HTTP ingestion endpoints, as a function of a request that returns the answer (the HTTP server
 * sends it):
 *
 *   POST /inputs/TOKEN[/tag/TAGS][/]          the whole body is one event (a stack trace stays one event)
 *   POST /bulk/TOKEN[/tag/TAGS][/]            one event per line
 *   GET  /inputs/TOKEN.gif?key=value&…        the tracking pixel: the query parameters are one JSON event,
 *   GET  /inputs/TOKEN/tag/TAGS/[NAME].gif?…  answered with a 1×1 GIF (`?PLAINTEXT=…` alone: its value is the event)
 *
 * Tags are the union of the URL's comma-separated list and the X-LOGGLY-TAG header. The body's format is
 * never taken from Content-Type (clients send JSON as text/plain, or with no type at all); the process
 * stage detects it. The answer is {"response":"ok"} once every event is durable.
 *
 * Status codes are chosen for Loggly's clients: an unknown token is 401 and never 403, because
 * node-loggly-bulk stops sending for good on a 403; a full queue is 503 with Retry-After, which they retry.
 */
export interface HttpIngestOptions {
  ingestor: Ingestor;
  tenants: TenantDirectory;
  maxEventBytes: number;
  maxRequestBytes: number;
  /** How long a request may wait for its events to become durable before it is told to retry. */
  ackTimeoutMs?: number;
  /** Admission control: when true, requests are answered 503 before their body is read. */
  overloaded?: () => boolean;
}

export interface IngestRequest {
  method: string;
  /** The request target as received (path and query, still percent-encoded). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body, unread: it is read only once the request is accepted. */
  body: Readable;
  transport: Transport;
  remote: string;
}

export interface IngestAnswer {
  status: number;
  headers: Record<string, string>;
  /** JSON, or the pixel's bytes. */
  body: Record<string, unknown> | Buffer;
  /** The rest of the request body is not wanted: close the connection once answered instead of reading it. */
  closeConnection?: boolean;
}

export type IngestHandler = (req: IngestRequest) => Promise<IngestAnswer>;

/** The 1×1 transparent GIF the pixel endpoint answers with. */
export const PIXEL_GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

/** Where an ingest URL points; `error` when the path is not one of Loggly's (404) or cannot be decoded (400). */
export type IngestTarget =
  | { kind: "inputs" | "bulk"; token: string; urlTags?: string; pixel: boolean }
  | { error: { status: 400 | 404; message: string } };

/**
 * Reads `/inputs|bulk/TOKEN[.gif][/tag/TAGS][/][NAME.gif]`, decoding each segment on its own (so that an
 * encoded `/` stays inside its segment). A `.gif` ending marks a pixel request.
 */
export function parseIngestPath(url: string): IngestTarget {
  const q = url.indexOf("?");
  const segments = (q < 0 ? url : url.slice(0, q)).split("/").slice(1);
  if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
  const decoded: string[] = [];
  for (const s of segments) {
    try {
      decoded.push(decodeURIComponent(s));
    } catch {
      return { error: { status: 400, message: "malformed URL: a path segment has an invalid percent-escape" } };
    }
  }
  const [kind, token, ...rest] = decoded;
  if ((kind !== "inputs" && kind !== "bulk") || !token) return { error: { status: 404, message: "no such endpoint: use /inputs/TOKEN or /bulk/TOKEN" } };
  let pixel = false;
  const gif = (s: string) => s.length > 4 && s.endsWith(".gif");
  let tok = token;
  if (gif(tok) && rest.length === 0) {
    tok = tok.slice(0, -4);
    pixel = true;
  }
  let urlTags: string | undefined;
  if (rest[0] === "tag") {
    urlTags = rest[1] ?? "";
    if (rest.length === 3 && rest[2]!.endsWith(".gif")) pixel = true;
    else if (rest.length === 2 && gif(urlTags)) {
      urlTags = urlTags.slice(0, -4);
      pixel = true;
    } else if (rest.length > 2) return { error: { status: 404, message: "no such endpoint: use /inputs/TOKEN/tag/TAGS" } };
  } else if (rest.length === 1 && rest[0]!.endsWith(".gif")) {
    pixel = true;
  } else if (rest.length > 0) {
    return { error: { status: 404, message: "no such endpoint: use /inputs/TOKEN or /bulk/TOKEN" } };
  }
  return { kind, token: tok, urlTags, pixel };
}

export function createIngestHandler(options: HttpIngestOptions): IngestHandler {
  const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  return async (req) => {
    const target = parseIngestPath(req.url);
    if ("error" in target) return unread(req, reply(target.error.status, target.error.message));
    const method = req.method;
    if (method === "OPTIONS") {
      return {
        status: 204,
        headers: {
          ...CORS,
          "Access-Control-Allow-Methods": target.kind === "inputs" ? "GET, POST, OPTIONS" : "POST, OPTIONS",
          "Access-Control-Allow-Headers": "Content-Type, Content-Encoding, X-LOGGLY-TAG",
          "Access-Control-Max-Age": "86400",
        },
        body: Buffer.alloc(0),
      };
    }
    if (method === "GET") {
      if (target.kind === "inputs" && target.pixel) return pixel(req, target.token, target.urlTags);
      const hint = target.kind === "inputs" ? "use POST to send events, or GET /inputs/TOKEN.gif?key=value for the tracking pixel" : "use POST to send events";
      return reply(405, hint, { Allow: "POST, PUT, OPTIONS" });
    }
    if (method !== "POST" && method !== "PUT") return unread(req, reply(405, "use POST to send events", { Allow: "POST, PUT, OPTIONS" }));

    const tenant = options.tenants.byIngestToken(target.token);
    if (!tenant) return unread(req, reply(401, "unknown token: check the customer token in the URL"));
    if (options.overloaded?.()) return unread(req, reply(503, "the collector is overloaded, retry later", { "Retry-After": "5" }));
    const tags = tagsOf(options.ingestor, target.urlTags, req.headers);
    const encoding = String(req.headers["content-encoding"] ?? "identity").toLowerCase();
    const kind = target.kind;
    const limit = kind === "bulk" ? options.maxRequestBytes : Math.max(options.maxEventBytes, 1);
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (encoding === "identity" && declared > limit) return tooLarge(kind, declared, limit);
    if (encoding !== "identity" && encoding !== "gzip" && encoding !== "deflate") {
      return unread(req, reply(415, `unsupported Content-Encoding ${encoding}; use gzip, deflate or none`));
    }

    let body: Buffer | "too-large";
    try {
      body = await readBody(req.body, encoding === "identity" ? limit : options.maxRequestBytes);
    } catch {
      return reply(400, "the request body could not be read", {}, true);
    }
    if (body === "too-large") return tooLarge(kind, undefined, limit);
    let data = body;
    if (encoding !== "identity") {
      try {
        const opts = { maxOutputLength: limit + 1 };
        data = encoding === "gzip" ? zlib.gunzipSync(body, opts) : zlib.inflateSync(body, opts);
      } catch (err) {
        if (err instanceof RangeError) return tooLarge(kind, undefined, limit);
        return reply(400, `the body is not valid ${encoding} data`);
      }
      if (data.length > limit) return tooLarge(kind, data.length, limit);
    }
    const { events, rejected } = kind === "bulk" ? splitBulk(data, options.maxEventBytes) : { events: [trimEnd(data)], rejected: [] };
    for (const r of rejected) {
      // The whole line: the dead letter keeps a bounded prefix of it and its full size (the tenant's usage).
      options.ingestor.drop("event_too_large", `bulk line ${r.line} of ${r.bytes.length} bytes exceeds the ${options.maxEventBytes}-byte event limit`, req.transport, req.remote, r.bytes, tenant.name);
    }
    const nonEmpty = events.filter((e) => e.length > 0);
    if (nonEmpty.length === 0 && rejected.length === 0) return reply(400, "the request has no event: the body is empty");
    const ok: Record<string, unknown> = { response: "ok" };
    if (rejected.length > 0) {
      ok.rejected = rejected.map((r) => ({ line: r.line, reason: "event_too_large", message: `event of ${r.bytes.length} bytes exceeds the ${options.maxEventBytes}-byte limit` }));
    }
    const answer = await answerWhenDurable(options.ingestor.http(tenant, nonEmpty, req.transport, req.remote, tags, req.headers["content-type"], AbortSignal.timeout(ackTimeoutMs)), ok);
    return withCors(answer);
  };

  async function pixel(req: IngestRequest, token: string, urlTags: string | undefined): Promise<IngestAnswer> {
    const tenant: Tenant | undefined = options.tenants.byIngestToken(token);
    if (!tenant) return reply(401, "unknown token: check the customer token in the URL");
    if (options.overloaded?.()) return reply(503, "the collector is overloaded, retry later", { "Retry-After": "5" });
    const event = pixelEvent(req.url);
    if (event === undefined) return reply(400, "the pixel request has no event: add query parameters, e.g. ?key=value");
    if (event.length > options.maxEventBytes) return tooLarge("inputs", event.length, options.maxEventBytes);
    const tags = tagsOf(options.ingestor, urlTags, req.headers);
    const answer = await answerWhenDurable(options.ingestor.http(tenant, [event], req.transport, req.remote, tags, undefined, AbortSignal.timeout(ackTimeoutMs)), {});
    if (answer.status !== 200) return withCors(answer);
    // A pixel must be fetched every time: never cached.
    return { status: 200, headers: { ...CORS, "Content-Type": "image/gif", "Cache-Control": "no-cache, no-store, must-revalidate" }, body: PIXEL_GIF };
  }
}

/**
 * The answer once the ingestor's promise settles: 200 once every event is durable; 503 with Retry-After
 * only when none of them was stored (the promise rejects, see Ingestor.http): past the ack timeout the
 * ingestor withdraws a write not yet begun and waits for one under way, so a 503 never hides events
 * that are stored later and a client's retry never duplicates them.
 */
export async function answerWhenDurable(durable: Promise<void>, ok: Record<string, unknown>): Promise<IngestAnswer> {
  try {
    await durable;
    return { status: 200, headers: {}, body: ok };
  } catch (err) {
    return reply(503, `the events were not stored, retry later (${(err as Error).message})`, { "Retry-After": "5" });
  }
}

/** The pixel's event: `?PLAINTEXT=…` alone is the event itself (as Loggly's older JS trackers send it); otherwise the parameters as one JSON object (a repeated key gives an array). */
export function pixelEvent(url: string): Buffer | undefined {
  const q = url.indexOf("?");
  if (q < 0 || q === url.length - 1) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  const keys = [...new Set(params.keys())].filter((k) => k !== "");
  if (keys.length === 0) return undefined;
  if (keys.length === 1 && keys[0] === "PLAINTEXT") return Buffer.from(params.get("PLAINTEXT")!);
  const fields: Record<string, string | string[]> = {};
  for (const k of keys) {
    const all = params.getAll(k);
    fields[k] = all.length === 1 ? all[0]! : all;
  }
  return Buffer.from(JSON.stringify(fields));
}

const CORS = { "Access-Control-Allow-Origin": "*" };

function withCors(answer: IngestAnswer): IngestAnswer {
  return { ...answer, headers: { ...CORS, ...answer.headers } };
}

function tagsOf(ingestor: Ingestor, urlTags: string | undefined, headers: IncomingHttpHeaders): string[] {
  const headerTags = headers["x-loggly-tag"];
  return ingestor.tags(urlTags, Array.isArray(headerTags) ? headerTags.join(",") : headerTags);
}

function tooLarge(kind: string, size: number | undefined, limit: number): IngestAnswer {
  const what = kind === "bulk" ? "bulk request" : "event";
  const sizeText = size === undefined ? "" : ` of ${size} bytes`;
  // Do not read megabytes we are going to refuse.
  return reply(413, `the ${what}${sizeText} exceeds the ${limit}-byte limit (1 MB per event, 5 MB per bulk request)`, {}, true);
}

function reply(status: number, message: string, headers: Record<string, string> = {}, closeConnection = false): IngestAnswer {
  return { status, headers: { ...CORS, ...headers }, body: { response: "error", message }, closeConnection };
}

/** An answer given before the body is read: a small body is read and dropped (the connection stays open), a large or unknown one is not read at all. */
function unread(req: IngestRequest, answer: IngestAnswer): IngestAnswer {
  const declared = Number(req.headers["content-length"] ?? (req.headers["transfer-encoding"] === undefined ? 0 : Number.NaN));
  return declared <= 64 * 1024 ? answer : { ...answer, closeConnection: true };
}

function readBody(req: Readable, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        resolve("too-large");
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on("error", reject);
    req.on("close", () => {
      if (!req.readableEnded && !over) reject(new Error("the client went away"));
    });
  });
}

/** Splits a bulk body on LF (dropping CR and blank lines), refusing only the lines over the limit. */
export function splitBulk(body: Buffer, maxEventBytes: number): { events: Buffer[]; rejected: { line: number; bytes: Buffer }[] } {
  const events: Buffer[] = [];
  const rejected: { line: number; bytes: Buffer }[] = [];
  let start = 0;
  let line = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    line++;
    const text = trimEnd(body.subarray(start, end));
    if (text.length > 0 && !isBlank(text)) {
      if (text.length > maxEventBytes) rejected.push({ line, bytes: text });
      else events.push(text);
    }
    start = end + 1;
  }
  return { events, rejected };
}

function trimEnd(buf: Buffer): Buffer {
  let e = buf.length;
  while (e > 0 && (buf[e - 1] === 0x0d || buf[e - 1] === 0x0a)) e--;
  return buf.subarray(0, e);
}

function isBlank(buf: Buffer): boolean {
  for (const b of buf) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}
