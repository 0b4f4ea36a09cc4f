import { apiTokenOf, authorizationOf, badRequest, CodedError, conflict, ERROR_CODES, isRole, notFound, ROLES, SignInLimiter, UnauthorizedError, type Credential, type TenantDirectory } from "@unmeltable/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { emailProblem, type AccountStore, type Session, type User } from "./account-store";
import { pathOf, requestCredential, sendJson, type HttpRoute } from "./http-server";
import { TenantError } from "./credentials";

/** Bodies are small JSON objects: an email, a password, a label. */
const MAX_BODY_BYTES = 8 * 1024;

/**
 * The accounts API (docs/api.md, "Users and sign-in"):
 * - `POST /auth/login` `{account, email, password}` → a session (`token`, sent as `Authorization: bearer`);
 *   `POST /auth/logout` ends the session sent.
 * - `GET /auth/invite?token=` what an invite offers; `POST /auth/invite` `{token, name, password}` takes it up.
 * - `/apiv2/me`: who the credentials are; `PUT /apiv2/me/password`; `/apiv2/me/tokens`: the user's API tokens.
 * - Admins: `/apiv2/users` (list, invite, change a role, remove; `/apiv2/users/invites/ID` revokes an
 *   invite) and `/apiv2/ingesttokens` (list, add, remove).
 * Roles are checked before any handler (core's `permits`, through the route's authentication).
 */
export function accountsRoutes(options: { accounts: AccountStore; tenants: TenantDirectory; limiter?: SignInLimiter; changed?: () => void }): HttpRoute[] {
  const { accounts, tenants } = options;
  const limiter = options.limiter ?? new SignInLimiter();
  const body = { text: MAX_BODY_BYTES };

  const login = async (req: FastifyRequest, reply: FastifyReply) => {
    const b = jsonBody(req);
    const account = stringField(b, "account");
    const email = stringField(b, "email").trim().toLowerCase();
    const password = stringField(b, "password");
    if (!tenants.byName(account)) return refuseSignIn();
    const wait = limiter.retryAfter(`${account}/${email}`, req.ip);
    if (wait > 0) throw tooMany(`too many failed sign-ins: try again in ${wait} s`, wait);
    if (!limiter.begin()) throw tooMany("too many sign-ins at once: try again in a moment", 1);
    let session: Session | undefined;
    try {
      session = await accounts.signIn(account, email, password);
    } finally {
      limiter.end();
    }
    if (!session) {
      limiter.failed(`${account}/${email}`, req.ip);
      return refuseSignIn();
    }
    return sendJson(reply, 200, sessionBody(session), { "Cache-Control": "no-store" });
  };

  const logout = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = apiTokenOf(authorizationOf(req.headers));
    const credential = requestCredential(req);
    if (!credential.session) throw badRequest("these credentials are not a session: an API token is revoked from the account page (DELETE /apiv2/me/tokens/ID)");
    return sendJson(reply, 200, { signedOut: token !== undefined && accounts.signOut(token) });
  };

  const invite = async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method === "GET") {
      const token = new URL(req.raw.url ?? "/", "http://x").searchParams.get("token") ?? "";
      const found = accounts.inviteByToken(token);
      if (!found) throw notFound("this invitation is unknown, used or expired: ask an admin for a new one");
      return sendJson(reply, 200, { account: found.tenant, email: found.email, role: found.role, expiresAt: new Date(found.expiresAt).toISOString() });
    }
    const b = jsonBody(req);
    const session = await tenantCall(() => accounts.acceptInvite(stringField(b, "token"), { name: stringField(b, "name"), password: stringField(b, "password") }));
    return sendJson(reply, 201, sessionBody(session), { "Cache-Control": "no-store" });
  };

  const me = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = requestCredential(req);
    const parts = pathParts(req, "/apiv2/me");
    if (parts.length === 0) {
      const user = c.user && accounts.user(c.tenant.name, c.user.id);
      return sendJson(reply, 200, { account: c.tenant.name, role: c.role, user: user ? userBody(user) : null, session: c.session === true });
    }
    const user = usersOwn(c);
    if (parts[0] === "password" && parts.length === 1 && req.method === "PUT") {
      const b = jsonBody(req);
      if (!(await accounts.verify(c.tenant.name, user.email, stringField(b, "current")))) throw badRequest("the current password is not right", { errors: [{ field: "current", message: "not the current password" }] });
      await tenantCall(() => accounts.setPassword(c.tenant.name, user.id, stringField(b, "password"), c.session ? apiTokenOf(authorizationOf(req.headers)) : undefined));
      return sendJson(reply, 200, { changed: true });
    }
    if (parts[0] !== "tokens" || parts.length > 2) throw notFound(`no such endpoint: ${req.method} ${pathOf(req.raw.url)}`);
    if (parts.length === 2) {
      if (req.method !== "DELETE") throw badRequest("a token is revoked with DELETE");
      if (!accounts.revokeUserToken(c.tenant.name, user.id, parts[1]!)) throw notFound("no such API token of yours");
      return sendJson(reply, 200, { revoked: true });
    }
    if (req.method === "GET") return sendJson(reply, 200, { tokens: accounts.userTokens(c.tenant.name, user.id).map(tokenBody) });
    if (req.method !== "POST") throw badRequest("list with GET, make one with POST");
    const made = tenantCall(() => accounts.createUserToken(c.tenant.name, user.id, stringField(jsonBody(req), "label")));
    return sendJson(reply, 201, { ...tokenBody(made), token: made.token, role: c.role }, { "Cache-Control": "no-store" });
  };

  const users = async (req: FastifyRequest, reply: FastifyReply) => {
    const c = requestCredential(req);
    const tenant = c.tenant.name;
    const parts = pathParts(req, "/apiv2/users");
    if (parts.length === 0) {
      if (req.method === "GET") return sendJson(reply, 200, { users: accounts.users(tenant).map(userBody), invites: accounts.invites(tenant).map(inviteBody) });
      if (req.method !== "POST") throw badRequest("list with GET, invite with POST");
      const b = jsonBody(req);
      const email = stringField(b, "email");
      const problem = emailProblem(email);
      const role = b.role ?? "member";
      const errors = [...(problem ? [{ field: "email", message: problem }] : []), ...(isRole(role) ? [] : [{ field: "role", message: `a role is one of ${ROLES.join(", ")}` }])];
      if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join("; "), { errors });
      const made = tenantCall(() => accounts.invite(tenant, { email, role: role as (typeof ROLES)[number], by: c.user?.email ?? "the tenant's API token" }));
      return sendJson(reply, 201, { ...inviteBody(made), token: made.token, path: `/#/invite/${made.token}` }, { "Cache-Control": "no-store" });
    }
    if (parts[0] === "invites" && parts.length === 2 && req.method === "DELETE") {
      if (!accounts.revokeInvite(tenant, parts[1]!)) throw notFound("no such invitation");
      return sendJson(reply, 200, { revoked: true });
    }
    if (parts.length !== 1) throw notFound(`no such endpoint: ${req.method} ${pathOf(req.raw.url)}`);
    const id = parts[0]!;
    if (req.method === "GET") {
      const user = accounts.user(tenant, id);
      if (!user) throw notFound("no such user");
      return sendJson(reply, 200, userBody(user));
    }
    if (req.method === "DELETE") {
      if (!tenantCall(() => accounts.removeUser(tenant, id))) throw notFound("no such user");
      return sendJson(reply, 200, { removed: true });
    }
    if (req.method !== "PUT" && req.method !== "PATCH") throw badRequest("change a role with PUT {role}");
    const role = jsonBody(req).role;
    if (!isRole(role)) throw badRequest(`a role is one of ${ROLES.join(", ")}`, { errors: [{ field: "role", message: `one of ${ROLES.join(", ")}` }] });
    if (!accounts.user(tenant, id)) throw notFound("no such user");
    return sendJson(reply, 200, userBody(tenantCall(() => accounts.setRole(tenant, id, role))));
  };

  const ingestTokens = async (req: FastifyRequest, reply: FastifyReply) => {
    const tenant = requestCredential(req).tenant.name;
    const parts = pathParts(req, "/apiv2/ingesttokens");
    if (parts.length === 1 && req.method === "DELETE") {
      if (!tenantCall(() => accounts.removeIngestToken(tenant, parts[0]!))) throw notFound("no such ingest token");
      // This process's collectors refuse it from this answer on (others within their poll of the table).
      options.changed?.();
      return sendJson(reply, 200, { removed: true });
    }
    if (parts.length !== 0) throw notFound(`no such endpoint: ${req.method} ${pathOf(req.raw.url)}`);
    if (req.method === "GET") return sendJson(reply, 200, { tokens: tenantCall(() => accounts.ingestTokens(tenant)).map(ingestBody) });
    if (req.method !== "POST") throw badRequest("list with GET, add one with POST {label}");
    const added = tenantCall(() => accounts.addIngestToken(tenant, stringField(jsonBody(req), "label")));
    options.changed?.();
    return sendJson(reply, 201, ingestBody(added));
  };

  const all = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
  return [
    { url: "/auth/login", methods: ["POST"], body, handler: login },
    { url: "/auth/logout", methods: ["POST"], tenants, handler: logout },
    { url: "/auth/invite", methods: ["GET", "POST"], body, handler: invite },
    { url: "/apiv2/me", methods: ["GET"], tenants, handler: me },
    { url: "/apiv2/me/*", methods: all, tenants, body, handler: me },
    { url: "/apiv2/users", methods: all, tenants, body, handler: users },
    { url: "/apiv2/users/*", methods: all, tenants, body, handler: users },
    { url: "/apiv2/ingesttokens", methods: all, tenants, body, handler: ingestTokens },
    { url: "/apiv2/ingesttokens/*", methods: all, tenants, body, handler: ingestTokens },
  ];
}

function refuseSignIn(): never {
  throw new UnauthorizedError("wrong account, email or password");
}

function tooMany(message: string, seconds: number): CodedError {
  return new CodedError(ERROR_CODES.TOO_MANY_ATTEMPTS, 429, message, { headers: { "Retry-After": String(seconds) } });
}

/** The store's refusals (a limit, the last admin, a bad label) as 400s or 409s that say why. */
function tenantCall<T>(fn: () => T): T {
  try {
    const out = fn();
    if (out instanceof Promise) return out.catch(translate) as T;
    return out;
  } catch (err) {
    return translate(err);
  }
}

function translate(err: unknown): never {
  if (!(err instanceof TenantError)) throw err;
  if (/already|at most|last admin|at least one/.test(err.message)) throw conflict(err.message);
  throw badRequest(err.message);
}

/** The signed-in user of these credentials; the tenant's own token is no user. */
function usersOwn(c: Credential): { id: string; email: string } {
  if (!c.user) throw badRequest("these are the tenant's own API token's credentials, which belong to no user: sign in as a user for a password and API tokens of your own");
  return c.user;
}

function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const text = typeof req.body === "string" ? req.body : "";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("the body must be a JSON object");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest("the body must be a JSON object");
  return value as Record<string, unknown>;
}

function stringField(b: Record<string, unknown>, name: string): string {
  const v = b[name];
  if (typeof v !== "string") throw badRequest(`"${name}" is required (a string)`, { errors: [{ field: name, message: "required" }] });
  return v;
}

/** The path's parts after `prefix`, decoded (a malformed escape is the request's fault: 400). */
function pathParts(req: FastifyRequest, prefix: string): string[] {
  const rest = pathOf(req.raw.url).slice(prefix.length);
  try {
    return rest.split("/").filter((p) => p !== "").map(decodeURIComponent);
  } catch {
    throw badRequest("malformed URL: the path has an invalid percent-escape");
  }
}

function sessionBody(s: Session) {
  return { token: s.token, expiresAt: new Date(s.expiresAt).toISOString(), account: s.tenant, user: userBody(s.user) };
}

function userBody(u: User) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, createdAt: new Date(u.createdAt).toISOString() };
}

function inviteBody(i: { id: string; email: string; role: string; createdBy: string; createdAt: number; expiresAt: number }) {
  return { id: i.id, email: i.email, role: i.role, createdBy: i.createdBy, createdAt: new Date(i.createdAt).toISOString(), expiresAt: new Date(i.expiresAt).toISOString() };
}

function tokenBody(t: { id: string; label: string; createdAt: number }) {
  return { id: t.id, label: t.label, createdAt: new Date(t.createdAt).toISOString() };
}

function ingestBody(t: { token: string; label: string; createdAt: number; primary: boolean }) {
  return { token: t.token, label: t.label, createdAt: new Date(t.createdAt).toISOString(), primary: t.primary };
}
