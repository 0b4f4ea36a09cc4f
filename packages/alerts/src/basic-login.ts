import { createHash } from "node:crypto";
import { authorizationOf, MAX_PASSWORD_LENGTH, SignInLimiter, type AccountPort, type Awaitable, type Credential, type RequestHeaders, type TenantDirectory } from "@unmeltable/core";

/** How long a checked email and password are trusted before scrypt runs again (a script calls every few seconds). */
export const BASIC_LOGIN_TTL_MS = 60_000;
const MAX_CACHED = 10_000;

/**
 * HTTP basic with a user's email and password, as Loggly's older docs and scripts send it
 * (`curl -u user:password …/apiv2/search`): `email:password`, or `account/email:password` when the address
 * is a user of several accounts. Checked with scrypt once, then trusted for BASIC_LOGIN_TTL_MS — each
 * request still reads the user (removed: refused; the role as it is now), so only a changed password
 * takes up to that long. Failures count towards the same per-address throttle as signing in. The same on
 * one machine (tenants.db) and on AWS (the search function, over the account objects).
 */
export function basicPasswordLogin(opts: { accounts: Pick<AccountPort, "user" | "verify"> & { tenantsOf(email: string): Awaitable<string[]> }; tenants: TenantDirectory; limiter: SignInLimiter; now?: () => number }) {
  const cache = new Map<string, { at: number; tenant: string; userId: string }>();
  const now = opts.now ?? Date.now;
  const credentialOf = async (tenantName: string, userId: string): Promise<Credential | undefined> => {
    const tenant = opts.tenants.byName(tenantName);
    const user = tenant && (await opts.accounts.user(tenantName, userId));
    return tenant && user ? { tenant, role: user.role, user: { id: user.id, email: user.email } } : undefined;
  };
  return async (headers: RequestHeaders, ip: string): Promise<Credential | undefined> => {
    const header = authorizationOf(headers)?.trim() ?? "";
    const m = /^basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header);
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const slash = name.indexOf("/");
    const email = (slash >= 0 ? name.slice(slash + 1) : name).trim().toLowerCase();
    if (!email.includes("@") || password === "" || password.length > MAX_PASSWORD_LENGTH) return undefined;

    const key = createHash("sha256").update(header).digest("hex");
    // The account named, or the only one the address is a user of (several: it must be named).
    const accounts = slash >= 0 ? [name.slice(0, slash)] : await opts.accounts.tenantsOf(email);
    if (accounts.length !== 1) return undefined;
    const hit = cache.get(key);
    if (hit && hit.tenant === accounts[0] && now() - hit.at < BASIC_LOGIN_TTL_MS) {
      const credential = await credentialOf(hit.tenant, hit.userId);
      if (credential) return credential;
    }
    cache.delete(key);
    if (!opts.tenants.byName(accounts[0]!)) return undefined;
    const tenant = accounts[0]!;
    const result = await opts.limiter.check(`${tenant}/${email}`, ip, () => opts.accounts.verify(tenant, email, password));
    if (!("ok" in result)) return undefined;
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, { at: now(), tenant, userId: result.ok.id });
    return credentialOf(tenant, result.ok.id);
  };
}
