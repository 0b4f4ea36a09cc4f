import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import * as oidc from "openid-client";
import type { AccountPort, Logger, Session } from "@unmeltable/core";

/**
 * Single sign-on through the deployment's OpenID Connect identity provider (Okta, Entra ID, Google
 * Workspace, Keycloak, Dex...): the authorization code flow with PKCE, a state and a nonce, as a
 * confidential client. The provider proves an email address; the account's user with that address (or an
 * invitation to it, taken up) gets a session like a password's. Nobody becomes a user by signing in: an
 * admin invites the address first.
 *
 * Stateless between the two legs, so that it works the same on one machine and across the search
 * Lambda's instances: what the callback must check (state, nonce, PKCE verifier, the account, where the
 * user was going) travels in a short-lived cookie, encrypted and authenticated (AES-256-GCM) under a key
 * derived from the client secret.
 */
export interface SsoOptions {
  /** The provider's issuer URL (its `/.well-known/openid-configuration` is read once, then kept). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Shown on the sign-in page's button: "Sign in with <name>". */
  name: string;
  /** The UI's address as users reach it: the redirect URI is `<publicUrl>/auth/sso/callback`. */
  publicUrl: () => string;
  logger?: Logger;
}

/** A step of the flow's answer: a redirect, with the cookie that carries (or clears) the flow's state. */
export interface SsoRedirect {
  location: string;
  cookie: string;
}

const COOKIE = "unmeltable_sso";
/** The time a user has at the provider's sign-in page. */
const FLOW_TTL_MS = 10 * 60_000;
const MAX_ACCOUNT = 200;
const MAX_RETURN = 2_000;

interface FlowState {
  state: string;
  nonce: string;
  verifier: string;
  account: string;
  /** The UI's hash to go back to (a shared link opened before signing in). */
  back: string;
  exp: number;
}

export class SingleSignOn {
  private discovered: Promise<oidc.Configuration> | undefined;
  private readonly key: Buffer;

  constructor(
    private readonly options: SsoOptions,
    private readonly accounts: AccountPort,
  ) {
    this.key = Buffer.from(hkdfSync("sha256", options.clientSecret, "unmeltable", "sso flow state", 32));
  }

  get name(): string {
    return this.options.name;
  }

  /** Where the provider sends the browser back to: registered with the provider as is. */
  redirectUri(): string {
    return `${this.base()}/auth/sso/callback`;
  }

  /** The first leg: to the provider's sign-in page, for `account`; back to `back` (a UI hash) afterwards. */
  async start(account: string, back: string): Promise<SsoRedirect> {
    const config = await this.configuration();
    const flow: FlowState = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      account: account.slice(0, MAX_ACCOUNT),
      back: /^#\/[^\s]*$/.test(back) && back.length <= MAX_RETURN ? back : "#/search",
      exp: Date.now() + FLOW_TTL_MS,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope: "openid email profile",
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: "S256",
      state: flow.state,
      nonce: flow.nonce,
    });
    return { location: url.href, cookie: this.cookie(this.seal(flow), FLOW_TTL_MS / 1000) };
  }

  /**
   * The second leg: the provider's answer checked (state, PKCE, the ID token's signature, issuer, audience,
   * nonce), then a session for the address it proves. Every outcome is a redirect to the UI, which shows the
   * error or keeps the session: the browser is navigating, not calling an API.
   */
  async callback(query: URLSearchParams, cookieHeader: string | undefined, isTenant: (name: string) => boolean = () => true): Promise<SsoRedirect> {
    const clear = this.cookie("", 0);
    const flow = this.unseal(cookieOf(cookieHeader, COOKIE));
    const fail = (message: string, back = "#/search"): SsoRedirect => ({ location: this.ui("error", message, back), cookie: clear });
    if (!flow) return fail("The single sign-on took too long or was started in another browser: sign in again.");
    const providerError = query.get("error");
    if (providerError) return fail(`The identity provider refused the sign-in: ${(query.get("error_description") ?? providerError).slice(0, 300)}`, flow.back);
    let claims: Record<string, unknown> | undefined;
    try {
      const config = await this.configuration();
      const current = new URL(this.redirectUri());
      for (const [k, v] of query) current.searchParams.append(k, v);
      const tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      const id = tokens.claims()!;
      // Providers that keep the ID token small (the specification's default) say the address at userinfo.
      claims = typeof id.email === "string" ? { ...id } : { ...(await oidc.fetchUserInfo(config, tokens.access_token, id.sub)) };
    } catch (err) {
      this.options.logger?.warn(`single sign-on: the identity provider's answer was not accepted: ${(err as Error).message}`, { error: (err as Error).message });
      return fail("The identity provider's answer could not be checked: sign in again.", flow.back);
    }
    const email = typeof claims?.email === "string" ? claims.email : "";
    if (!email) return fail("The identity provider did not say your email address (the `email` scope): ask your administrator.", flow.back);
    // Providers that do not verify addresses say so; one that says nothing (Entra ID) vouches for its own.
    if (claims?.email_verified === false) return fail(`The identity provider has not verified ${email}: verify it there, then sign in again.`, flow.back);
    const name = typeof claims?.name === "string" ? claims.name : "";
    let session: Session | undefined;
    try {
      // An account that is no tenant is answered as one the address is no user of (as a password's sign-in).
      session = isTenant(flow.account) ? await this.accounts.ssoSignIn(flow.account, email, name) : undefined;
    } catch (err) {
      this.options.logger?.warn(`single sign-on: ${(err as Error).message}`, { error: (err as Error).message });
      return fail(`Signing in failed: ${(err as Error).message}`, flow.back);
    }
    if (!session) return fail(`${email} is not a user of the account ${flow.account}: ask one of its admins to invite you.`, flow.back);
    const params = new URLSearchParams({ token: session.token, account: session.tenant, back: flow.back });
    return { location: `${this.base()}/#/sso?${params.toString()}`, cookie: clear };
  }

  /** The provider's metadata, read once; a failed read is tried again at the next sign-in. */
  private configuration(): Promise<oidc.Configuration> {
    this.discovered ??= oidc
      .discovery(new URL(this.options.issuer), this.options.clientId, this.options.clientSecret, undefined, insecureAllowed(this.options.issuer) ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((err: unknown) => {
        this.discovered = undefined;
        throw new Error(`cannot read the identity provider's configuration at ${this.options.issuer}: ${(err as Error).message}`);
      });
    return this.discovered;
  }

  /** To the UI's sign-in page, which shows `message` (a sign-in that could not even start). */
  failed(message: string, back: string): SsoRedirect {
    return { location: this.ui("error", message, back), cookie: this.cookie("", 0) };
  }

  private ui(kind: "error", message: string, back: string): string {
    return `${this.base()}/#/sso?${new URLSearchParams({ [kind]: message, back }).toString()}`;
  }

  private base(): string {
    return this.options.publicUrl().replace(/\/+$/, "");
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = this.base().startsWith("https:") ? "; Secure" : "";
    return `${COOKIE}=${value}; Path=/auth/sso; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
  }

  private seal(flow: FlowState): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(flow), "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
  }

  private unseal(value: string | undefined): FlowState | undefined {
    if (!value || value.length > 4_000) return undefined;
    try {
      const raw = Buffer.from(value, "base64url");
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const flow = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")) as FlowState;
      return flow.exp > Date.now() ? flow : undefined;
    } catch {
      return undefined; // not ours, altered, or cut
    }
  }
}

/** Plain HTTP to the provider only on this machine's loopback (a development provider, the tests). */
function insecureAllowed(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === "http:" && (u.hostname === "localhost" || u.hostname === "127.0.0.1" || u.hostname === "[::1]");
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
