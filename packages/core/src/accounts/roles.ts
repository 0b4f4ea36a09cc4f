/**
 * Who may do what in a tenant. Three roles, as Loggly's: an admin manages the tenant's users and ingest
 * tokens besides everything a member does; a member searches and makes saved searches, alerts,
 * dashboards and derived fields; a read-only user searches and looks. The tenant's own API token (the
 * one `tenants add` prints) acts as an admin: it is the key the operator holds.
 */
export const ROLES = ["admin", "member", "readonly"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === "string" && (ROLES as readonly string[]).includes(v);
}

/** What a role is called on screen. */
export const ROLE_LABELS: Record<Role, string> = { admin: "Admin", member: "Member", readonly: "Read-only" };

/** Paths only an admin may use, whatever the method. */
const ADMIN_PATHS = [/^\/apiv2\/users(\/|$)/, /^\/apiv2\/ingesttokens(\/|$)/];

/**
 * Requests that change nothing although they are not GETs: trying a derived-field rule on recent events,
 * a live tail's ticket, signing oneself out, one's own password, and a user's own API tokens (a read-only user's tokens are read-only too).
 */
const READ_ONLY_WRITES = [/^POST \/apiv2\/derivedfields\/preview$/, /^POST \/apiv2\/tail\/ticket$/, /^(POST|DELETE) \/apiv2\/me\/tokens(\/[^/]+)?$/, /^PUT \/apiv2\/me\/password$/, /^POST \/auth\/logout$/];

/**
 * Whether `role` may make this request (`path` without its query). The one place the roles are
 * enforced: every surface calls it through `authenticate`, before any handler.
 */
export function permits(role: Role, method: string, rawPath: string): boolean {
  if (role === "admin") return true;
  // As a router would read it: `/apiv2/%75sers` and `//apiv2/users/` are the users API too.
  const path = canonicalPath(rawPath);
  if (path === undefined || ADMIN_PATHS.some((p) => p.test(path))) return false;
  if (role === "member") return true;
  const m = method.toUpperCase();
  if (m === "GET" || m === "HEAD" || m === "OPTIONS") return true;
  return READ_ONLY_WRITES.some((p) => p.test(`${m} ${path}`));
}

/** The path decoded, its repeated and trailing slashes dropped, lowercased; undefined if it does not decode. */
function canonicalPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path).replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1").toLowerCase();
  } catch {
    return undefined;
  }
}
