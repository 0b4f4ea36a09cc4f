import type { IncomingMessage, ServerResponse } from "node:http";
import zlib from "node:zlib";
import type { TenantDirectory, Transport } from "@unmeltable/core";
import type { Ingestor } from "./ingestor";
import { normalizeAddress } from "./syslog-listeners";

/**
 * Loggly's HTTP ingestion endpoints:
 *
 *   POST /inputs/TOKEN[/tag/TAGS][/]   the whole body is one event (a stack trace stays one event)
 *   POST /bulk/TOKEN[/tag/TAGS][/]     one event per line
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

export const INGEST_PATH = /^\/(inputs|bulk)\/([^/?]+)(?:\/tag\/([^/?]*))?\/?(?:\?.*)?$/;

export type IngestHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpMatchArray) => void;

export function createIngestHandler(options: HttpIngestOptions): IngestHandler {
  const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  return (req, res, match) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Content-Encoding, X-LOGGLY-TAG",
        "Access-Control-Max-Age": "86400",
      });
      res.end();
      return;
    }
    if (req.method !== "POST" && req.method !== "PUT") {
      reply(res, 405, "use POST to send events", { Allow: "POST, OPTIONS" });
      return;
    }
    const kind = match[1] as "inputs" | "bulk";
    const token = decodeURIComponent(match[2]!);
    const tenant = options.tenants.byIngestToken(token);
    if (!tenant) {
      reply(res, 401, "unknown token: check the customer token in the URL");
      req.resume();
      return;
    }
    if (options.overloaded?.()) {
      reply(res, 503, "the collector is overloaded, retry later", { "Retry-After": "5" });
      req.resume();
      return;
    }
    const urlTags = match[3] === undefined ? undefined : safeDecode(match[3]);
    const headerTags = req.headers["x-loggly-tag"];
    const tags = options.ingestor.tags(urlTags, Array.isArray(headerTags) ? headerTags.join(",") : headerTags);
    const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
    const limit = kind === "bulk" ? options.maxRequestBytes : Math.max(options.maxEventBytes, 1);
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (encoding === "identity" && declared > limit) {
      tooLarge(res, req, kind, declared, limit);
      return;
    }
    const transport: Transport = (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
    const remote = normalizeAddress(req.socket.remoteAddress);
    const contentType = req.headers["content-type"];

    readBody(req, encoding === "identity" ? limit : options.maxRequestBytes)
      .then(async (body) => {
        if (body === "too-large") {
          tooLarge(res, req, kind, undefined, limit);
          return;
        }
        let data = body;
        if (encoding === "gzip" || encoding === "deflate") {
          try {
            const opts = { maxOutputLength: limit + 1 };
            data = encoding === "gzip" ? zlib.gunzipSync(body, opts) : zlib.inflateSync(body, opts);
          } catch (err) {
            if (err instanceof RangeError) tooLarge(res, req, kind, undefined, limit);
            else reply(res, 400, `the body is not valid ${encoding} data`);
            return;
          }
          if (data.length > limit) {
            tooLarge(res, req, kind, data.length, limit);
            return;
          }
        } else if (encoding !== "identity") {
          reply(res, 415, `unsupported Content-Encoding ${encoding}; use gzip, deflate or none`);
          return;
        }
        const { events, rejected } = kind === "bulk" ? splitBulk(data, options.maxEventBytes) : { events: [trimEnd(data)], rejected: [] };
        for (const r of rejected) {
          options.ingestor.drop("event_too_large", `bulk line ${r.line} of ${r.bytes.length} bytes exceeds the ${options.maxEventBytes}-byte event limit`, transport, remote, r.bytes.subarray(0, options.maxEventBytes), tenant.name);
        }
        const nonEmpty = events.filter((e) => e.length > 0);
        if (nonEmpty.length === 0 && rejected.length === 0) {
          reply(res, 400, "the request has no event: the body is empty");
          return;
        }
        // 503 only for events that were not stored and never will be (see Ingestor.http): past the ack
        // timeout a write not begun is withdrawn, one under way is waited for.
        const notStored = await options.ingestor.http(tenant, nonEmpty, transport, remote, tags, contentType, AbortSignal.timeout(ackTimeoutMs)).then(
          () => undefined,
          (err: Error) => err,
        );
        if (notStored) {
          reply(res, 503, `the events were not stored, retry later (${notStored.message})`, { "Retry-After": "5" });
          return;
        }
        const body2: Record<string, unknown> = { response: "ok" };
        if (rejected.length > 0) {
          body2.rejected = rejected.map((r) => ({ line: r.line, reason: "event_too_large", message: `event of ${r.bytes.length} bytes exceeds the ${options.maxEventBytes}-byte limit` }));
        }
        send(res, 200, body2);
      })
      .catch(() => {
        if (!res.headersSent) reply(res, 400, "the request body could not be read");
      });
  };
}

function tooLarge(res: ServerResponse, req: IncomingMessage, kind: string, size: number | undefined, limit: number): void {
  const what = kind === "bulk" ? "bulk request" : "event";
  const sizeText = size === undefined ? "" : ` of ${size} bytes`;
  reply(res, 413, `the ${what}${sizeText} exceeds the ${limit}-byte limit (1 MB per event, 5 MB per bulk request)`, { Connection: "close" });
  // Do not read megabytes we are going to refuse.
  req.unpipe();
  setImmediate(() => req.destroy());
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { response: "error", message }, headers);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
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

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
