import { answerAccountsApi, type AccountsDeps } from "@unmeltable/alerts";
import { badRequest, SignInLimiter, type AccountPort, type TenantDirectory } from "@unmeltable/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { decodable } from "./api-http";
import { requestCredential, sendError, sendJson, type HttpRoute } from "./http-server";

/** Bodies are small JSON objects: an email, a password, a label. */
const MAX_BODY_BYTES = 8 * 1024;

/**
 * The accounts API on the program's HTTP server (packages/alerts accounts-api.ts answers it): signing in
 * and invitations without credentials, the rest authenticated — and the role checked — by the route table.
 */
export function accountsRoutes(options: { accounts: AccountPort; tenants: TenantDirectory; limiter?: SignInLimiter; changed?: () => void; invitations?: AccountsDeps["invitations"]; sso?: AccountsDeps["sso"] }): HttpRoute[] {
  const deps: AccountsDeps = {
    accounts: options.accounts,
    isTenant: (name) => options.tenants.byName(name) !== undefined,
    limiter: options.limiter ?? new SignInLimiter(),
    changed: options.changed,
    invitations: options.invitations,
    sso: options.sso,
  };
  const handler = (authenticated: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(req.raw.url ?? "/", "http://localhost");
    if (!decodable(url.pathname)) return sendError(reply, badRequest("malformed URL: the path has an invalid percent-escape"));
    const body = typeof req.body === "string" ? req.body : undefined;
    const request = { method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers as Record<string, string | undefined>, body, clientIp: req.ip };
    const response = await answerAccountsApi(request, authenticated ? requestCredential(req) : undefined, deps);
    return sendJson(reply, response.status, response.body, response.headers);
  };
  const { tenants } = options;
  const body = { text: MAX_BODY_BYTES };
  const all = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
  return [
    { url: "/auth/login", methods: ["POST"], body, handler: handler(false) },
    { url: "/auth/invite", methods: ["GET", "POST"], body, handler: handler(false) },
    ...["/auth/methods", "/auth/sso", "/auth/sso/callback"].map((url) => ({ url, methods: ["GET" as const], handler: handler(false) })),
    { url: "/auth/logout", methods: ["POST"], tenants, handler: handler(true) },
    { url: "/apiv2/me", methods: ["GET"], tenants, handler: handler(true) },
    ...["/apiv2/me/*", "/apiv2/users", "/apiv2/users/*", "/apiv2/ingesttokens", "/apiv2/ingesttokens/*"].map((url) => ({ url, methods: all, tenants, body, handler: handler(true) })),
  ];
}
