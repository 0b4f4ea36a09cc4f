import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar, navigate, startTestIdp, type TestIdp } from "../helpers/oidc";
import { endProgram, freePort, startWithTokens, type Program, type TenantTokens } from "../helpers/program";

/**
 * Single sign-on through the real program and a real OpenID Connect provider (oidc-provider on loopback):
 * the browser's redirects are followed with a cookie jar as a browser would. The provider proves an
 * address; the account's user with it (or an invitation to it, taken up) is signed in; anyone else, an
 * unverified address, a provider's refusal and a forged or missing flow state are refused, and the UI is
 * told why.
 */
describe("single sign-on (OpenID Connect), through the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let idp: TestIdp;

  const call = async (method: string, p: string, token: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token !== undefined) headers.Authorization = `bearer ${token}`;
    const res = await fetch(program.url(p), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several shapes, checked by the assertions
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  /** Signs in through the provider as `who` would in a browser: what the UI is handed at the end. */
  const ssoAs = async (who: TestIdp["nextUser"], account = "default", back = "#/search?q=error") => {
    idp.nextUser = who;
    const jar = new CookieJar();
    const { location, hops } = await navigate(program.url(`/auth/sso?${new URLSearchParams({ account, back })}`), jar);
    const url = new URL(location);
    expect(url.origin).toBe(new URL(program.url("/")).origin);
    expect(url.hash.startsWith("#/sso?")).toBe(true);
    const params = new URLSearchParams(url.hash.slice("#/sso?".length));
    return { token: params.get("token"), error: params.get("error"), account: params.get("account"), back: params.get("back"), hops, jar };
  };

  beforeAll(async () => {
    const httpPort = await freePort();
    idp = await startTestIdp(`http://127.0.0.1:${httpPort}/auth/sso/callback`);
    ({ program, tokens: def } = await startWithTokens({
      httpPort,
      args: ["--oidc-issuer", idp.issuer, "--oidc-client-id", idp.clientId, "--oidc-client-secret", idp.clientSecret, "--oidc-name", "Test IdP"],
    }));
  });

  afterAll(async () => {
    await endProgram(program);
    await idp?.close();
  });

  it("says how one signs in here, without credentials", async () => {
    const methods = await call("GET", "/auth/methods", undefined);
    expect(methods).toEqual({ status: 200, body: { password: true, sso: { name: "Test IdP" } } });
  });

  it("takes up an invitation for the address the provider proves, then signs the same user in again", async () => {
    const invite = await call("POST", "/apiv2/users", def.apiToken, { email: "Bob@Example.com", role: "member" });
    expect(invite.status).toBe(201);
    const first = await ssoAs({ email: "bob@example.com", email_verified: true, name: "Bob Builder" });
    expect(first.error).toBeNull();
    expect(first).toMatchObject({ account: "default", back: "#/search?q=error" });
    // The flow went through the provider and back, and its state cookie is cleared at the end.
    expect(first.hops.some((h) => h.startsWith(idp.issuer))).toBe(true);
    expect(first.jar.value(program.url("/"), "unmeltable_sso")).toBeUndefined();
    const me = await call("GET", "/apiv2/me", first.token!);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ account: "default", role: "member", session: true, user: { email: "bob@example.com", name: "Bob Builder", role: "member" } });
    const listed = await call("GET", "/apiv2/users", def.apiToken);
    expect(listed.body.users.map((u: { email: string }) => u.email)).toContain("bob@example.com");
    expect(listed.body.invites).toEqual([]);

    const again = await ssoAs({ email: "bob@example.com", email_verified: true, name: "Robert" });
    expect(again.token).not.toBe(first.token);
    expect((await call("GET", "/apiv2/me", again.token!)).body.user).toMatchObject({ id: me.body.user.id, name: "Bob Builder" });
    // Both sessions work; signing out ends only the one.
    expect((await call("POST", "/auth/logout", again.token!)).body).toEqual({ signedOut: true });
    expect((await call("GET", "/apiv2/me", again.token!)).status).toBe(401);
    expect((await call("GET", "/apiv2/me", first.token!)).status).toBe(200);
  });

  it("signs nobody in who is not a user of the account, nor invited; a removed user no more", async () => {
    const stranger = await ssoAs({ email: "mallory@example.com", email_verified: true });
    expect(stranger.token).toBeNull();
    expect(stranger.error).toMatch(/mallory@example\.com is not a user of the account default: ask one of its admins to invite you/);
    expect(stranger.back).toBe("#/search?q=error");
    const unknownAccount = await ssoAs({ email: "bob@example.com", email_verified: true }, "no-such-account");
    expect(unknownAccount.token).toBeNull();
    expect(unknownAccount.error).toMatch(/not a user of the account no-such-account/);

    const invite = await call("POST", "/apiv2/users", def.apiToken, { email: "carol@example.com", role: "readonly" });
    const carol = await ssoAs({ email: "carol@example.com", email_verified: true, name: "Carol" });
    const id = (await call("GET", "/apiv2/me", carol.token!)).body.user.id as string;
    expect(invite.status).toBe(201);
    expect((await call("DELETE", `/apiv2/users/${id}`, def.apiToken)).status).toBe(200);
    expect((await call("GET", "/apiv2/me", carol.token!)).status).toBe(401);
    expect((await ssoAs({ email: "carol@example.com", email_verified: true })).error).toMatch(/not a user of the account default/);
  });

  it("refuses an address the provider has not verified, and tells of the provider's own refusal", async () => {
    await call("POST", "/apiv2/users", def.apiToken, { email: "dave@example.com", role: "member" });
    const unverified = await ssoAs({ email: "dave@example.com", email_verified: false });
    expect(unverified.token).toBeNull();
    expect(unverified.error).toMatch(/has not verified dave@example\.com/);
    // The invitation is still there for a verified sign-in.
    expect((await call("GET", "/apiv2/users", def.apiToken)).body.invites.map((i: { email: string }) => i.email)).toContain("dave@example.com");

    const refused = await ssoAs(undefined);
    expect(refused.token).toBeNull();
    expect(refused.error).toMatch(/identity provider refused the sign-in: nobody signs in at the test provider/);
  });

  it("refuses a callback without the flow's cookie, with an altered one, or one for another flow", async () => {
    const bare = await fetch(program.url("/auth/sso/callback?code=abc&state=xyz"), { redirect: "manual" });
    expect(bare.status).toBe(302);
    expect(decodeURIComponent(bare.headers.get("location")!)).toMatch(/#\/sso\?error=The\+single\+sign-on\+took\+too\+long|#\/sso\?error=The single sign-on took too long/);

    // A real flow's cookie, altered by one character: refused the same way.
    idp.nextUser = { email: "bob@example.com", email_verified: true };
    const start = await fetch(program.url("/auth/sso?account=default"), { redirect: "manual" });
    expect(start.status).toBe(302);
    expect(start.headers.get("location")!.startsWith(`${idp.issuer}/`)).toBe(true);
    const cookie = start.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^unmeltable_sso=[\w-]+; Path=\/auth\/sso; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const value = cookie.split(";")[0]!.split("=")[1]!;
    const altered = value.slice(0, 40) + (value[40] === "A" ? "B" : "A") + value.slice(41);
    const tampered = await fetch(program.url("/auth/sso/callback?code=abc&state=xyz"), { redirect: "manual", headers: { cookie: `unmeltable_sso=${altered}` } });
    expect(tampered.headers.get("location")).toMatch(/#\/sso\?error=/);
    expect(new URLSearchParams(tampered.headers.get("location")!.split("#/sso?")[1]).get("error")).toMatch(/took too long or was started in another browser/);

    // The genuine cookie with a state it was not made for: the provider's answer is not accepted.
    const wrongState = await fetch(program.url("/auth/sso/callback?code=abc&state=not-this-flows"), { redirect: "manual", headers: { cookie: `unmeltable_sso=${value}` } });
    expect(new URLSearchParams(wrongState.headers.get("location")!.split("#/sso?")[1]).get("error")).toMatch(/could not be checked/);
    expect(new URLSearchParams(wrongState.headers.get("location")!.split("#/sso?")[1]).get("token")).toBeNull();
  });

  it("asks for the account before going to the provider, and answers only GET", async () => {
    const noAccount = await fetch(program.url("/auth/sso"), { redirect: "manual" });
    expect(noAccount.status).toBe(302);
    expect(new URLSearchParams(noAccount.headers.get("location")!.split("#/sso?")[1]).get("error")).toMatch(/Fill in the account/);
    const post = await fetch(program.url("/auth/sso"), { method: "POST", redirect: "manual" });
    expect(post.status).toBe(405);
  });
});
