import {
  AccountError,
  apiTokenOf,
  authorizationOf,
  badRequest,
  CodedError,
  conflict,
  emailProblem,
  ERROR_CODES,
  isRole,
  notFound,
  ROLES,
  SignInLimiter,
  UnauthorizedError,
  type AccountPort,
  type Credential,
  type IngestToken,
  type Invite,
  type Role,
  type Session,
  type User,
} from "@unmeltable/core";
import { answerOf, ok, parseBody, pathParts, type RecordsRequest, type RecordsResponse } from "./api-common";
import type { MailSender } from "./mail";
import type { SingleSignOn } from "./sso";

/** A request to the accounts API: a records request, with the client's address (sign-in throttling). */
export interface AccountsRequest extends RecordsRequest {
  clientIp: string;
}

export interface AccountsDeps {
  accounts: AccountPort;
  /** Whether `name` is a tenant (sign-in to an unknown account is refused as a wrong password). */
  isTenant(name: string): boolean;
  limiter: SignInLimiter;
  /** Ingest tokens changed: the caller's collectors look again. */
  changed?: () => void;
  /**
   * Invitations by email, where the operator configured a mail server: sent with a link to `publicUrl` (the
   * operator's address for the UI, never one a request names: an invitation must not carry a stranger's link).
   */
  invitations?: { mail: MailSender; publicUrl: () => string };
  /** Single sign-on, where the deployment names an OpenID Connect provider. */
  sso?: SingleSignOn;
}

/** Paths answered without credentials: signing in and taking up an invitation. */
export function isPublicAccountsPath(path: string): boolean {
  return path === "/auth/login" || path === "/auth/invite" || path === "/auth/methods" || path === "/auth/sso" || path === "/auth/sso/callback";
}

/** Every path of the accounts API. */
export function isAccountsPath(path: string): boolean {
  return /^\/auth\/(login|logout|invite|methods|sso|sso\/callback)$/.test(path) || /^\/apiv2\/(me|users|ingesttokens)(\/|$)/.test(path);
}

/**
 * The accounts API (README, "Users and sign-in"), as the local server and the search Lambda serve it:
 * - `POST /auth/login` `{account, email, password}` → a session (`token`, sent as `Authorization: bearer`);
 *   `POST /auth/logout` ends the session sent.
 * - `GET /auth/invite?token=` what an invite offers; `POST /auth/invite` `{token, name, password}` takes it up.
 * - `GET /auth/methods`: how one signs in here (password; single sign-on and its name, where configured).
 *   `GET /auth/sso?account=NAME` goes to the identity provider, which sends the browser back to
 *   `GET /auth/sso/callback`; that one goes to the UI with a session (sso.ts).
 * - `/apiv2/me`: who the credentials are; `PUT /apiv2/me/password`; `/apiv2/me/tokens`: the user's API tokens.
 * - Admins: `/apiv2/users` (list, invite, change a role, remove; `/apiv2/users/invites/ID` revokes an
 *   invite) and `/apiv2/ingesttokens` (list, add, remove) where the store keeps them.
 * `credential` is the caller's, authenticated and authorized (core's `permits`) before: none only for the
 * public paths.
 */
export async function answerAccountsApi(req: AccountsRequest, credential: Credential | undefined, deps: AccountsDeps): Promise<RecordsResponse> {
  try {
    const path = req.path.replace(/(.)\/+$/, "$1");
    if (path === "/auth/login") return await login(req, deps);
    if (path === "/auth/invite") return await invite(req, deps);
    if (path === "/auth/methods") return ok({ password: true, sso: deps.sso ? { name: deps.sso.name } : null });
    if (path === "/auth/sso" || path === "/auth/sso/callback") return await singleSignOn(req, path, deps);
    if (!credential) throw new UnauthorizedError("missing credentials: send Authorization: bearer <API token>");
    if (path === "/auth/logout") return await logout(req, credential, deps);
    if (path === "/apiv2/me" || path.startsWith("/apiv2/me/")) return await me(req, pathParts(path), credential, deps);
    if (path === "/apiv2/users" || path.startsWith("/apiv2/users/")) return await users(req, pathParts(path), credential, deps);
    if (path === "/apiv2/ingesttokens" || path.startsWith("/apiv2/ingesttokens/")) return await ingestTokens(req, pathParts(path), credential, deps);
    throw notFound(`no such endpoint: ${req.method} ${req.path}`);
  } catch (err) {
    return answerOf(translate(err));
  }
}

async function login(req: AccountsRequest, deps: AccountsDeps): Promise<RecordsResponse> {
  if (req.method !== "POST") throw badRequest("sign in with POST {account, email, password}");
  const b = jsonBody(req);
  const account = stringField(b, "account");
  const email = stringField(b, "email").trim().toLowerCase();
  const password = stringField(b, "password");
  if (!deps.isTenant(account)) return refuseSignIn();
  const result = await deps.limiter.check(`${account}/${email}`, req.clientIp, () => deps.accounts.signIn(account, email, password));
  if ("ok" in result) return noStore(ok(sessionBody(result.ok)));
  if (result.refused === "throttled") throw tooMany(`too many failed sign-ins: try again in ${result.retryAfter} s`, result.retryAfter);
  if (result.refused === "busy") throw tooMany("too many sign-ins at once: try again in a moment", 1);
  return refuseSignIn();
}

async function invite(req: AccountsRequest, deps: AccountsDeps): Promise<RecordsResponse> {
  if (req.method === "GET") {
    const found = await deps.accounts.inviteByToken(req.query.get("token") ?? "");
    if (!found) throw notFound("this invitation is unknown, used or expired: ask an admin for a new one");
    return ok({ account: found.tenant, email: found.email, role: found.role, expiresAt: new Date(found.expiresAt).toISOString() });
  }
  if (req.method !== "POST") throw badRequest("read an invitation with GET ?token=, take it up with POST {token, name, password}");
  const b = jsonBody(req);
  const session = await deps.accounts.acceptInvite(stringField(b, "token"), { name: stringField(b, "name"), password: stringField(b, "password") });
  return noStore(ok(sessionBody(session), 201));
}

async function singleSignOn(req: AccountsRequest, path: string, deps: AccountsDeps): Promise<RecordsResponse> {
  const { sso } = deps;
  if (!sso) throw notFound("single sign-on is not configured here: sign in with email and password (the operator sets it up with --oidc-issuer, README)");
  if (req.method !== "GET") throw badRequest("single sign-on is a browser's navigation: GET");
  let step;
  if (path === "/auth/sso/callback") step = await sso.callback(req.query, req.headers.cookie, (name) => deps.isTenant(name));
  else {
    const account = (req.query.get("account") ?? "").trim();
    const back = req.query.get("back") ?? "";
    if (!account) step = sso.failed("Fill in the account (the name of your tenant) first.", back);
    else {
      try {
        step = await sso.start(account, back);
      } catch (err) {
        step = sso.failed(`Single sign-on is not available now: ${(err as Error).message}`, back);
      }
    }
  }
  return { status: 302, headers: { Location: step.location, "Set-Cookie": step.cookie, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" }, body: { location: step.location } };
}

async function logout(req: AccountsRequest, c: Credential, deps: AccountsDeps): Promise<RecordsResponse> {
  if (req.method !== "POST") throw badRequest("sign out with POST");
  if (!c.session) throw badRequest("these credentials are not a session: an API token is revoked from the account page (DELETE /apiv2/me/tokens/ID)");
  const token = apiTokenOf(authorizationOf(req.headers));
  return ok({ signedOut: token !== undefined && (await deps.accounts.signOut(token)) });
}

async function me(req: AccountsRequest, p: string[], c: Credential, deps: AccountsDeps): Promise<RecordsResponse> {
  const tenant = c.tenant.name;
  if (p.length === 0) {
    if (req.method !== "GET") throw badRequest("GET /apiv2/me says who the credentials are");
    const user = c.user && (await deps.accounts.user(tenant, c.user.id));
    return ok({ account: tenant, role: c.role, user: user ? userBody(user) : null, session: c.session === true });
  }
  const user = usersOwn(c);
  if (p[0] === "password" && p.length === 1) {
    if (req.method !== "PUT") throw badRequest("change the password with PUT {current, password}");
    const b = jsonBody(req);
    if (!(await deps.accounts.verify(tenant, user.email, stringField(b, "current")))) throw badRequest("the current password is not right", { errors: [{ field: "current", message: "not the current password" }] });
    await deps.accounts.setPassword(tenant, user.id, stringField(b, "password"), c.session ? apiTokenOf(authorizationOf(req.headers)) : undefined);
    return ok({ changed: true });
  }
  if (p[0] !== "tokens" || p.length > 2) throw notFound(`no such endpoint: ${req.method} ${req.path}`);
  if (p.length === 2) {
    if (req.method !== "DELETE") throw badRequest("a token is revoked with DELETE");
    if (!(await deps.accounts.revokeUserToken(tenant, user.id, p[1]!))) throw notFound("no such API token of yours");
    return ok({ revoked: true });
  }
  if (req.method === "GET") return ok({ tokens: (await deps.accounts.userTokens(tenant, user.id)).map(tokenBody) });
  if (req.method !== "POST") throw badRequest("list with GET, make one with POST {label}");
  const made = await deps.accounts.createUserToken(tenant, user.id, stringField(jsonBody(req), "label"));
  return noStore(ok({ ...tokenBody(made), token: made.token, role: c.role }, 201));
}

async function users(req: AccountsRequest, p: string[], c: Credential, deps: AccountsDeps): Promise<RecordsResponse> {
  const tenant = c.tenant.name;
  const { accounts } = deps;
  if (p.length === 0) {
    if (req.method === "GET") {
      const [list, invites] = await Promise.all([accounts.users(tenant), accounts.invites(tenant)]);
      return ok({ users: list.map(userBody), invites: invites.map(inviteBody) });
    }
    if (req.method !== "POST") throw badRequest("list with GET, invite with POST {email, role}");
    const b = jsonBody(req);
    const email = typeof b.email === "string" ? b.email : "";
    const problem = emailProblem(b.email);
    const role = b.role ?? "member";
    const errors = [...(problem ? [{ field: "email", message: problem }] : []), ...(isRole(role) ? [] : [{ field: "role", message: `a role is one of ${ROLES.join(", ")}` }])];
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join("; "), { errors });
    const by = c.user?.email ?? "the tenant's API token";
    const made = await accounts.invite(tenant, { email, role: role as Role, by });
    const emailed = deps.invitations ? await sendInvitation(deps.invitations, tenant, made, by) : false;
    return noStore(ok({ ...inviteBody(made), token: made.token, path: `/#/invite/${made.token}`, emailed }, 201));
  }
  if (p[0] === "invites" && p.length === 2) {
    if (req.method !== "DELETE") throw badRequest("an invitation is revoked with DELETE");
    if (!(await accounts.revokeInvite(tenant, p[1]!))) throw notFound("no such invitation");
    return ok({ revoked: true });
  }
  if (p.length !== 1) throw notFound(`no such endpoint: ${req.method} ${req.path}`);
  const id = p[0]!;
  if (req.method === "GET") {
    const user = await accounts.user(tenant, id);
    if (!user) throw notFound("no such user");
    return ok(userBody(user));
  }
  if (req.method === "DELETE") {
    if (!(await accounts.removeUser(tenant, id))) throw notFound("no such user");
    return ok({ removed: true });
  }
  if (req.method !== "PUT" && req.method !== "PATCH") throw badRequest("change a role with PUT {role}");
  const role = jsonBody(req).role;
  if (!isRole(role)) throw badRequest(`a role is one of ${ROLES.join(", ")}`, { errors: [{ field: "role", message: `one of ${ROLES.join(", ")}` }] });
  if (!(await accounts.user(tenant, id))) throw notFound("no such user");
  return ok(userBody(await accounts.setRole(tenant, id, role)));
}

async function ingestTokens(req: AccountsRequest, p: string[], c: Credential, deps: AccountsDeps): Promise<RecordsResponse> {
  const { accounts } = deps;
  if (!accounts.ingestTokens || !accounts.addIngestToken || !accounts.removeIngestToken) {
    throw notFound("this deployment's ingest tokens are kept in its tenants config, which this API may not change: `unmeltable aws tenants rotate-token NAME --ingest` (docs/deploy.md)");
  }
  const tenant = c.tenant.name;
  if (p.length === 1) {
    if (req.method !== "DELETE") throw badRequest("an ingest token is removed with DELETE");
    if (!(await accounts.removeIngestToken(tenant, p[0]!))) throw notFound("no such ingest token");
    // The caller's collectors refuse it from this answer on (others within their poll of the table).
    deps.changed?.();
    return ok({ removed: true });
  }
  if (p.length !== 0) throw notFound(`no such endpoint: ${req.method} ${req.path}`);
  if (req.method === "GET") return ok({ tokens: (await accounts.ingestTokens(tenant)).map(ingestBody) });
  if (req.method !== "POST") throw badRequest("list with GET, add one with POST {label}");
  const added = await accounts.addIngestToken(tenant, stringField(jsonBody(req), "label"));
  deps.changed?.();
  return ok(ingestBody(added), 201);
}

/** The invitation's email: who invites whom to what, and the link (the mailer retries; a failure is logged there). */
async function sendInvitation(via: NonNullable<AccountsDeps["invitations"]>, tenant: string, invite: Invite & { token: string }, by: string): Promise<boolean> {
  const link = `${via.publicUrl().replace(/\/+$/, "")}/#/invite/${invite.token}`;
  const text = [
    `${by} invites you to the log account ${tenant} on unmeltable, as ${invite.role}.`,
    "",
    `Choose your name and a password here (the link works once, until ${new Date(invite.expiresAt).toUTCString()}):`,
    link,
    "",
    "If you did not expect this, ignore it: nothing happens until the link is used.",
  ].join("\n");
  const delivery = await via.mail([invite.email], { subject: `You are invited to ${tenant} on unmeltable`, text }, { tenant, alertId: "invitation" });
  return delivery.ok;
}

function refuseSignIn(): never {
  throw new UnauthorizedError("wrong account, email or password");
}

function tooMany(message: string, seconds: number): CodedError {
  return new CodedError(ERROR_CODES.TOO_MANY_ATTEMPTS, 429, message, { headers: { "Retry-After": String(seconds) } });
}

/** A store's refusal (a limit, the last admin, a bad label) as the 400 or 409 that says why. */
function translate(err: unknown): unknown {
  if (!(err instanceof AccountError)) return err;
  return err.conflict ? conflict(err.message) : badRequest(err.message);
}

function noStore(r: RecordsResponse): RecordsResponse {
  return { ...r, headers: { ...r.headers, "Cache-Control": "no-store" } };
}

/** The signed-in user of these credentials; the tenant's own token is no user. */
function usersOwn(c: Credential): { id: string; email: string } {
  if (!c.user) throw badRequest("these are the tenant's own API token's credentials, which belong to no user: sign in as a user for a password and API tokens of your own");
  return c.user;
}

/** The body: JSON (api-common's parseBody says what is wrong), and an object. */
function jsonBody(req: RecordsRequest): Record<string, unknown> {
  const value = parseBody(req.body);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest("the body must be a JSON object");
  return value as Record<string, unknown>;
}

function stringField(b: Record<string, unknown>, name: string): string {
  const v = b[name];
  if (typeof v !== "string") throw badRequest(`"${name}" is required (a string)`, { errors: [{ field: name, message: "required" }] });
  return v;
}

function sessionBody(s: Session) {
  return { token: s.token, expiresAt: new Date(s.expiresAt).toISOString(), account: s.tenant, user: userBody(s.user) };
}

function userBody(u: User) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, createdAt: new Date(u.createdAt).toISOString() };
}

function inviteBody(i: Invite) {
  return { id: i.id, email: i.email, role: i.role, createdBy: i.createdBy, createdAt: new Date(i.createdAt).toISOString(), expiresAt: new Date(i.expiresAt).toISOString() };
}

function tokenBody(t: { id: string; label: string; createdAt: number }) {
  return { id: t.id, label: t.label, createdAt: new Date(t.createdAt).toISOString() };
}

function ingestBody(t: IngestToken) {
  return { id: t.id, ...(t.token !== undefined ? { token: t.token } : {}), label: t.label, createdAt: new Date(t.createdAt).toISOString(), primary: t.primary };
}
