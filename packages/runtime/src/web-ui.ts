import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { badRequest, notFound, type TenantDirectory } from "@unmeltable/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { pathOf, requestCredential, sendError, sendJson, type HttpMethod, type HttpRoute } from "./http-server";

/** What the UI needs to know about this server to write a tenant's source setup. */
export interface UiServerInfo {
  /** The configured listen address (the UI uses its own address when this is a wildcard). */
  host: string;
  syslogPort?: number;
  tlsPort?: number;
  httpPort?: number;
  httpsPort?: number;
  alerts: boolean;
  /** The alert channels this server can deliver to (email only with a mail server). */
  alertChannels?: string[];
  /** This server keeps users (sign-in with a password, the Users and Account pages). */
  accounts?: boolean;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt", ".webmanifest"]);

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
};

/** Paths the UI never answers, so their 404s stay the API's JSON. */
const NOT_UI = /^\/(?:apiv2|inputs|bulk|healthz|metrics|ui\/config)(?:[/?]|$)/;
const ALL: readonly HttpMethod[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** Where `vite build` put the UI: next to the bundled program (dist/web), or dist/web when run from source. */
export function defaultWebDir(): string {
  if (process.env.UNMELTABLE_WEB_DIR) return path.resolve(process.env.UNMELTABLE_WEB_DIR);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, "web"), path.resolve(here, "../../../dist/web")];
  return candidates.find((d) => existsSync(path.join(d, "index.html"))) ?? candidates[0]!;
}

/**
 * The web UI on the program's HTTP server: `GET /ui/config` (the tenant's ingest token and this server's
 * ports, for the source setup page) and the static files of `dist/web` at `/`, with a fallback to
 * index.html for client-side paths. Hashed assets (`/assets/*`) are cached for a year, index.html is
 * revalidated on every load; text is gzipped when the browser accepts it.
 */
export function webUiRoutes(options: { tenants: TenantDirectory; info: () => UiServerInfo; dir?: string }): HttpRoute[] {
  const root = options.dir ?? defaultWebDir();
  const files = new FileCache();

  const config = async (req: FastifyRequest, reply: FastifyReply) => {
    const credential = requestCredential(req);
    const tenant = credential.tenant;
    const info = options.info();
    const wildcard = info.host === "0.0.0.0" || info.host === "::" || info.host === "";
    return sendJson(
      reply,
      200,
      {
        tenant: tenant.name,
        ingestToken: tenant.ingestToken ?? null,
        // null: use the address the browser reached this server at.
        host: wildcard ? null : info.host,
        syslog: info.syslogPort === undefined ? null : { port: info.syslogPort, tlsPort: info.tlsPort ?? null },
        http: { port: info.httpPort ?? null, httpsPort: info.httpsPort ?? null },
        alerts: info.alerts,
        alertChannels: info.alertChannels ?? ["webhook", "slack", "pagerduty"],
        // Who is signed in, and whether this server has users at all (the UI shows Users and Account).
        role: credential.role,
        user: credential.user ? { email: credential.user.email } : null,
        accounts: info.accounts ?? false,
        // The ingest tokens are managed here (the data dir's tenants table), not in a deployment's tenants.json.
        ingestTokens: info.accounts ?? false,
      },
      { "Cache-Control": "no-store" },
    );
  };

  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.raw.url ?? "/";
    if (NOT_UI.test(url)) return sendError(reply, notFound(`no such endpoint: ${req.method} ${pathOf(url)}`));
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(url, "http://localhost").pathname);
    } catch {
      return sendError(reply, badRequest("malformed URL: the path has an invalid percent-escape"));
    }
    const rel = path.posix.normalize(pathname).replace(/^\/+/, "");
    const file = path.resolve(root, rel === "" ? "index.html" : rel);
    if (pathname.includes("\0") || (file !== root && !file.startsWith(root + path.sep))) return sendError(reply, notFound(`no such file: ${pathOf(url)}`));
    let entry = files.get(file);
    if (!entry && path.extname(rel) === "") entry = files.get(path.join(root, "index.html")); // a client-side path
    if (!entry) {
      if (rel === "" || path.extname(rel) === "") return sendText(reply, 503, "The web UI has not been built: run `npm run build` (it runs vite build into dist/web).");
      return sendError(reply, notFound(`no such file: ${pathOf(url)}`));
    }
    const immutable = rel.startsWith("assets/") && entry.file !== path.join(root, "index.html");
    const headers: Record<string, string> = {
      "Content-Type": entry.type,
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      ETag: entry.etag,
      Vary: "Accept-Encoding",
      ...(entry.type.startsWith("text/html") ? SECURITY_HEADERS : { "X-Content-Type-Options": "nosniff" }),
    };
    if (req.headers["if-none-match"] === entry.etag) return reply.code(304).headers(headers).send();
    const gzip = entry.gzipped !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gzip ? entry.gzipped! : entry.body;
    if (gzip) headers["Content-Encoding"] = "gzip";
    return reply.code(200).headers(headers).send(body);
  };
  const noEndpoint = async (req: FastifyRequest, reply: FastifyReply) => sendError(reply, notFound(`no such endpoint: ${req.method} ${pathOf(req.raw.url)}`));

  return [
    { url: "/ui/config", methods: ["GET"], tenants: options.tenants, handler: config },
    { url: "/*", methods: ["GET", "HEAD"], handler: serve },
    // Bare API prefixes are not UI paths either, whatever the method.
    ...["/inputs", "/bulk", "/apiv2"].map((url) => ({ url, methods: ALL, handler: noEndpoint })),
  ];
}

function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).headers({ "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" }).send(text);
}

interface Entry {
  file: string;
  type: string;
  body: Buffer;
  gzipped?: Buffer;
  etag: string;
  mtimeMs: number;
  size: number;
}

/** Files read once and kept (compressed) in memory until they change on disk (a rebuild). */
class FileCache {
  private readonly entries = new Map<string, Entry>();

  get(file: string): Entry | undefined {
    let st;
    try {
      st = statSync(file);
    } catch {
      this.entries.delete(file);
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const cached = this.entries.get(file);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached;
    const ext = path.extname(file).toLowerCase();
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return undefined;
    }
    const entry: Entry = {
      file,
      type: TYPES[ext] ?? "application/octet-stream",
      body,
      gzipped: COMPRESSIBLE.has(ext) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined,
      etag: `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`,
      mtimeMs: st.mtimeMs,
      size: st.size,
    };
    this.entries.set(file, entry);
    return entry;
  }
}
