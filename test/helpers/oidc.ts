import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type KoaContextWithOIDC } from "oidc-provider";

/**
 * A real OpenID Connect provider for the tests: panva's `oidc-provider` (a certified implementation),
 * on this machine's loopback, with one confidential client. Its sign-in page is the test's: whoever the
 * test names in `nextUser` is signed in and consents, without a form; everything else — discovery, the
 * authorization code with PKCE, the token endpoint, signed ID tokens, userinfo — is the provider's own.
 */
export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who signs in at the provider next: the claims it proves (sub is the email's local part). */
  nextUser: { email: string; email_verified?: boolean; name?: string } | undefined;
  /** Sign-ins the provider finished. */
  signIns: number;
  close(): Promise<void>;
}

export async function startTestIdp(redirectUri: string): Promise<TestIdp> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const people = new Map<string, { email: string; email_verified?: boolean; name?: string }>();
  const idp: TestIdp = {
    issuer,
    clientId: "unmeltable-test",
    clientSecret: "a-client-secret-of-thirty-two-chars!",
    nextUser: undefined,
    signIns: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const provider = new Provider(issuer, {
    clients: [{ client_id: idp.clientId, client_secret: idp.clientSecret, redirect_uris: [redirectUri], grant_types: ["authorization_code"], response_types: ["code"] }],
    cookies: { keys: ["test cookie key"] },
    // The provider's signing key for ID tokens, made for this run.
    jwks: { keys: [{ ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), kid: "test", alg: "RS256", use: "sig" }] },
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => ({ accountId: sub, claims: () => ({ sub, ...people.get(sub) }) }),
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
  });
  provider.on("server_error", (_ctx: unknown, err: Error) => console.error("test IdP:", err));
  const callback = provider.callback();
  server.on("request", (req, res) => {
    if (!req.url?.startsWith("/interaction/")) {
      void callback(req, res);
      return;
    }
    // The test's sign-in page: the named person signs in, then consents to what the client asked.
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        const person = idp.nextUser;
        if (!person) {
          await provider.interactionFinished(req, res, { error: "access_denied", error_description: "nobody signs in at the test provider" }, { mergeWithLastSubmission: false });
          return;
        }
        const sub = person.email.split("@")[0]!;
        people.set(sub, person);
        if (details.prompt.name === "login") {
          await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
          return;
        }
        const grant = new provider.Grant({ accountId: sub, clientId: idp.clientId });
        grant.addOIDCScope("openid email profile");
        const grantId = await grant.save();
        idp.signIns++;
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err));
      }
    })();
  });
  return idp;
}

/** A browser's cookie jar for fetch, by host (names and values only: the tests' servers are all on loopback). */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  header(url: string): string | undefined {
    const jar = this.byHost.get(new URL(url).host);
    return jar && jar.size > 0 ? [...jar].map(([k, v]) => `${k}=${v}`).join("; ") : undefined;
  }

  take(url: string, res: Response): void {
    const host = new URL(url).host;
    const jar = this.byHost.get(host) ?? new Map<string, string>();
    this.byHost.set(host, jar);
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const at = pair!.indexOf("=");
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }

  value(url: string, name: string): string | undefined {
    return this.byHost.get(new URL(url).host)?.get(name);
  }
}

/**
 * Follows a browser's redirects from `url` until an answer that is none, or a redirect into the UI's hash
 * (`/#/...`), which a browser would not request, or one `stopAt` picks (a server the test calls itself):
 * that location is returned.
 */
export async function navigate(url: string, jar: CookieJar, stopAt: (url: URL) => boolean = () => false, maxHops = 20): Promise<{ location: string; hops: string[] }> {
  const hops: string[] = [];
  let at = url;
  for (let i = 0; i < maxHops; i++) {
    hops.push(at);
    const cookie = jar.header(at);
    const res = await fetch(at, { redirect: "manual", headers: cookie ? { cookie } : {} });
    jar.take(at, res);
    const next = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !next) return { location: at, hops };
    at = new URL(next, at).href;
    if (new URL(at).hash.startsWith("#/") || stopAt(new URL(at))) return { location: at, hops };
  }
  throw new Error(`more than ${maxHops} redirects: ${hops.join(" -> ")}`);
}
