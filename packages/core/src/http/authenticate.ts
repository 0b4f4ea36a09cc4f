import { permits } from "../accounts/roles";
import type { Credential, Tenant, TenantDirectory } from "../ports/tenants";
import { CodedError, ERROR_CODES } from "./coded-error";

/** Request headers as the local server (node) and Lambda (API Gateway) hand them over. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** What a 401 asks for (RFC 6750): the realm every surface names. */
const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="unmeltable"' };

/** A 401 with the bearer challenge: no credentials, or credentials of no tenant. */
export class UnauthorizedError extends CodedError {
  override name = "UnauthorizedError";
  constructor(message: string) {
    super(ERROR_CODES.UNAUTHORIZED, 401, message, { headers: CHALLENGE });
  }
}

/** The Authorization header, whatever the case of its name (node lowercases it; a hand-built request may not). */
export function authorizationOf(headers: RequestHeaders): string | undefined {
  const v = headers.authorization ?? headers.Authorization ?? Object.entries(headers).find(([k]) => k.toLowerCase() === "authorization")?.[1];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The API token an Authorization header carries: `bearer <token>`, or HTTP basic with the token as the
 * password (as Loggly's older clients send it: any user name, or none). Scheme names are case-insensitive
 * (RFC 9110); anything else carries no token. The one parser of credentials: every surface uses it.
 */
export function apiTokenOf(authorization: string | undefined): string | undefined {
  const m = /^([A-Za-z]+)\s+(\S+)$/.exec((authorization ?? "").trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === "bearer") return m[2];
  if (scheme !== "basic") return undefined;
  const decoded = Buffer.from(m[2]!, "base64").toString("utf8");
  // user:token; without a colon, the whole of it (as the API has always read it).
  const token = decoded.slice(decoded.indexOf(":") + 1);
  return token === "" ? undefined : token;
}

/** A 403: the credentials are good, but their role may not make this request. */
export class ForbiddenError extends CodedError {
  override name = "ForbiddenError";
  constructor(message: string) {
    super(ERROR_CODES.FORBIDDEN, 403, message);
  }
}

/** The request being authorized: its method and its path, without the query. */
export interface RequestLine {
  method: string;
  path: string;
}

/**
 * The credential a request carries (the tenant, the role, the user), or UnauthorizedError (401,
 * `WWW-Authenticate: Bearer`); with `request`, ForbiddenError (403) when the role may not make it.
 * Called once per request, before its handler (Loki's tenant-from-context middleware is the model):
 * handlers are given the tenant and never read credentials themselves.
 */
export function credentialOf(headers: RequestHeaders, tenants: TenantDirectory, request?: RequestLine): Credential {
  const authorization = authorizationOf(headers);
  if (!authorization) throw new UnauthorizedError("missing credentials: send Authorization: bearer <API token>");
  const token = apiTokenOf(authorization);
  const credential = token === undefined ? undefined : tenants.credential ? tenants.credential(token) : tenantToken(tenants.byApiToken(token));
  if (!credential) throw new UnauthorizedError("invalid API token");
  if (request) authorize(credential, request);
  return credential;
}

/**
 * As credentialOf, with another way to find the credential when no token of the directory matches (a
 * user's session kept elsewhere, a password in HTTP basic): `orElse` is asked then, and what it finds has
 * its role checked as a token's is. The one sequence of every surface that has such a way.
 */
export async function credentialOrElse(headers: RequestHeaders, tenants: TenantDirectory, request: RequestLine, orElse: ((headers: RequestHeaders) => Promise<Credential | undefined>) | undefined): Promise<Credential> {
  try {
    return credentialOf(headers, tenants, request);
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || !orElse) throw err;
    const credential = await orElse(headers);
    if (!credential) throw err;
    authorize(credential, request);
    return credential;
  }
}

/** ForbiddenError (403) unless the credential's role may make the request (core's `permits`). */
export function authorize(credential: Credential, request: RequestLine): void {
  if (permits(credential.role, request.method, request.path)) return;
  throw new ForbiddenError(
    credential.role === "readonly"
      ? `a read-only user cannot ${request.method} ${request.path}: ask an admin of ${credential.tenant.name} for the member role`
      : `only an admin of ${credential.tenant.name} manages its users and ingest tokens`,
  );
}

function tenantToken(tenant: Tenant | undefined): Credential | undefined {
  return tenant && { tenant, role: "admin" };
}

/** The tenant a request's credentials name (see credentialOf). */
export function authenticate(headers: RequestHeaders, tenants: TenantDirectory, request?: RequestLine): Tenant {
  return credentialOf(headers, tenants, request).tenant;
}
