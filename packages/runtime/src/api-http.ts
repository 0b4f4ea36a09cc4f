import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { answerApi, apiErrorAnswer, API_METHODS, exportHeaders, planExport } from "@unmeltable/api";
import { badRequest, CodedError, ERROR_CODES, type IndexPort, type Tenant, type TenantDirectory, type UsageSource } from "@unmeltable/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { sendError, sendJson, tenantOf, type HttpRoute } from "./http-server";

/** Serves Loggly's apiv2 routes (packages/api) on the HTTP server; the route table authenticates the caller first. */
export function apiRoute(deps: { index: IndexPort; tenants: TenantDirectory; usage?: UsageSource }): HttpRoute {
  return {
    url: "/apiv2/*",
    methods: API_METHODS,
    tenants: deps.tenants,
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const url = new URL(req.raw.url ?? "/", "http://localhost");
      // The API decodes path segments itself (a field name); refuse what cannot be decoded before it tries.
      if (!decodable(url.pathname)) return sendError(reply, badRequest("malformed URL: the path has an invalid percent-escape"));
      if (url.pathname.replace(/\/+$/, "") === EXPORT_PATH) return sendExport(req, reply, url.searchParams, tenantOf(req), deps.index);
      const response = await answerApi(
        {
          method: req.method,
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers as Record<string, string | undefined>,
          origin: requestOrigin(req.headers, (req.raw.socket as { encrypted?: boolean }).encrypted === true),
        },
        tenantOf(req),
        deps,
      );
      return sendJson(reply, response.status, response.body, response.headers);
    },
  };
}

const EXPORT_PATH = "/apiv2/events/export";
/** An export whose reader takes nothing for this long is cut off (its page of events is let go). */
export const EXPORT_IDLE_MS = 60_000;
/** Exports one tenant may run at once; more wait their turn (429), so that no tenant holds every reader. */
const EXPORTS_PER_TENANT = 2;
const running = new Map<string, number>();

/**
 * `GET /apiv2/events/export` (packages/api/src/export.ts): the file streamed as the index pages are read,
 * at the reader's pace. A failure before the first byte is an answer; one after it cuts the transfer off
 * (the client sees an incomplete chunked body, never a short file that looks whole).
 */
async function sendExport(req: FastifyRequest, reply: FastifyReply, params: URLSearchParams, tenant: Tenant, index: IndexPort) {
  // The slot is taken before the first await, so that requests arriving together cannot all pass the check.
  const release = takeExportSlot(tenant.name);
  if (!release) {
    const message = `at most ${EXPORTS_PER_TENANT} exports of an account run at once: try again when one has finished`;
    return sendError(reply, new CodedError(ERROR_CODES.INDEX_BUSY, 429, message, { headers: { "Retry-After": "5" } }));
  }
  let plan;
  try {
    plan = await planExport(params, tenant, index, Date.now());
  } catch (err) {
    release();
    const answer = apiErrorAnswer(err);
    return sendJson(reply, answer.status, answer.body, answer.headers);
  }
  reply.headers(exportHeaders(plan));
  if (req.method === "HEAD") {
    release();
    return reply.code(200).send();
  }
  const body = Readable.from(plan.chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
  body.once("close", release);
  // A reader that stops reading: nothing moves on the socket, and it is cut off.
  reply.raw.setTimeout(EXPORT_IDLE_MS, () => reply.raw.destroy());
  reply.raw.once("close", () => {
    release();
    if (!body.destroyed) body.destroy();
  });
  return reply.code(200).send(body);
}

/** One of the tenant's export slots, or undefined when all are taken; the function returned gives it back (once). */
function takeExportSlot(tenant: string): (() => void) | undefined {
  const busy = running.get(tenant) ?? 0;
  if (busy >= EXPORTS_PER_TENANT) return undefined;
  running.set(tenant, busy + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (running.get(tenant) ?? 1) - 1;
    if (n <= 0) running.delete(tenant);
    else running.set(tenant, n);
  };
}

/** Whether every percent-escape of a path decodes. */
export function decodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The scheme and host the client used, for absolute links (`next`): behind a TLS-terminating proxy, the
 * proxy's X-Forwarded-Proto and X-Forwarded-Host (the first value of each; what Loggly's clients reach),
 * else this connection's own scheme and Host. A value that is not a plain scheme or host is ignored.
 */
export function requestOrigin(headers: IncomingHttpHeaders, encrypted: boolean): string {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(",")[0]?.trim();
  const fwdProto = first(headers["x-forwarded-proto"])?.toLowerCase();
  const proto = fwdProto === "https" || fwdProto === "http" ? fwdProto : encrypted ? "https" : "http";
  const candidates = [first(headers["x-forwarded-host"]), first(headers.host)];
  const host = candidates.find((h) => h !== undefined && HOST.test(h)) ?? "localhost";
  return `${proto}://${host}`;
}
