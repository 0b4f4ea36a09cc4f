import { basicPasswordLogin, type ObjectAccountStore } from "@unmeltable/alerts";
import { apiTokenOf, authorizationOf, credentialOrElse, SignInLimiter, type Credential, type RequestHeaders, type RequestLine, type TenantDirectory } from "@unmeltable/core";

/** How long a function instance trusts what a token was found to be: a revocation reaches every instance within it. */
export const CREDENTIAL_CACHE_MS = 30_000;
const MAX_CACHED = 10_000;

/**
 * The search function's authentication: the tenant's own API token from tenants.json (core's
 * `credentialOf`, synchronous), else a user's session or API token from the account store, its role as the
 * user has it now; then the role checked against the request (core's `authorize`). What a token was found
 * to be — or not to be — is kept CREDENTIAL_CACHE_MS, so a busy dashboard costs no S3 read per request,
 * and a removed user, a revoked token or a changed role takes effect within that on AWS (at once on one
 * machine, where every lookup reads the table's current state).
 */
export function awsAuthenticator(tenants: TenantDirectory, accounts: Pick<ObjectAccountStore, "credential" | "user" | "verify" | "tenantsOf"> | undefined, now: () => number = Date.now, limiter = new SignInLimiter()) {
  // Loggly's HTTP basic with a user's email and password, as on one machine.
  const passwordLogin = accounts && basicPasswordLogin({ accounts, tenants, limiter, now });
  const cache = new Map<string, { at: number; value: Awaited<ReturnType<ObjectAccountStore["credential"]>> }>();
  const lookup = async (token: string) => {
    const hit = cache.get(token);
    if (hit && now() - hit.at < CREDENTIAL_CACHE_MS) return hit.value;
    const value = await accounts!.credential(token);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(token, { at: now(), value });
    return value;
  };
  /** A user's session or API token, from the account store (through the cache). */
  const userToken = async (headers: RequestHeaders): Promise<Credential | undefined> => {
    const token = apiTokenOf(authorizationOf(headers));
    const found = token === undefined ? undefined : await lookup(token);
    const tenant = found && tenants.byName(found.tenant);
    return found && tenant ? { tenant, role: found.role, user: found.user, ...(found.session ? { session: true } : {}) } : undefined;
  };
  return {
    authenticate(headers: RequestHeaders, request: RequestLine, clientIp = ""): Promise<Credential> {
      return credentialOrElse(headers, tenants, request, passwordLogin && (async (h) => (await userToken(h)) ?? passwordLogin(h, clientIp)));
    },
    /** A token this instance knows to be gone (signed out here): not trusted from the cache any more. */
    forget(headers: RequestHeaders): void {
      const token = apiTokenOf(authorizationOf(headers));
      if (token !== undefined) cache.delete(token);
    },
  };
}
