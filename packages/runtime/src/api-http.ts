import type { IncomingHttpHeaders } from "node:http";
import { answerApi, API_METHODS } from "@unmeltable/api";
import { badRequest, type IndexPort, type TenantDirectory, type UsageSource } from "@unmeltable/core";
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
