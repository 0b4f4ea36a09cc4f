import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, endProgram, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * User accounts through the real program: the tenant's API token (an admin's) invites users; an invite is
 * taken up with a name and a password, which signs the user in; sessions and the API tokens a user makes
 * act with the user's role as it is now (admin, member, read-only), for every API, checked before any
 * handler; a removed user or a revoked token stops working at once; sign-in failures are throttled; the
 * tenant's ingest tokens are added and removed, and senders with a removed one are refused.
 */
describe("user accounts, through the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let other: TenantTokens;
  const marker = `u${randomUUID().slice(0, 8)}`;
  const PASSWORD = "correct horse battery";

  const call = async (method: string, p: string, token: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token !== undefined) headers.Authorization = `bearer ${token}`;
    const res = await fetch(program.url(p), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several shapes, checked by the assertions
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const login = (email: string, password = PASSWORD, account = "default") => call("POST", "/auth/login", undefined, { account, email, password });
  /** An invite made by `by`, taken up: the new user's session token. */
  const join = async (email: string, role: string, by = def.apiToken) => {
    const invite = await call("POST", "/apiv2/users", by, { email, role });
    expect(invite.status).toBe(201);
    const taken = await call("POST", "/auth/invite", undefined, { token: invite.body.token, name: email.split("@")[0], password: PASSWORD });
    expect(taken.status).toBe(201);
    return taken.body as { token: string; user: { id: string; role: string } };
  };

  beforeAll(async () => {
    ({ program, tokens: def } = await startWithTokens());
    other = JSON.parse(await cli(["tenants", "add", "other", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
  });

  afterAll(async () => {
    await endProgram(program);
  });

  it("says how one signs in here: a password, no single sign-on unless configured (which the SSO routes then say)", async () => {
    expect(await call("GET", "/auth/methods", undefined)).toMatchObject({ status: 200, body: { password: true, sso: null } });
    const sso = await call("GET", "/auth/sso?account=default", undefined);
    expect(sso.status).toBe(404);
    expect(sso.body.message).toMatch(/single sign-on is not configured here/);
  });

  it("invites a user, who takes the invite up with a password and is signed in; the link works once", async () => {
    const invite = await call("POST", "/apiv2/users", def.apiToken, { email: " Ada@Example.com ", role: "admin" });
    expect(invite.status).toBe(201);
    expect(invite.body).toMatchObject({ email: "ada@example.com", role: "admin", createdBy: "the tenant's API token", token: expect.any(String), path: `/#/invite/${invite.body.token}` });
    const offered = await call("GET", `/auth/invite?token=${encodeURIComponent(invite.body.token)}`, undefined);
    expect(offered.body).toMatchObject({ account: "default", email: "ada@example.com", role: "admin" });
    const listed = await call("GET", "/apiv2/users", def.apiToken);
    expect(listed.body.invites.map((i: { email: string }) => i.email)).toEqual(["ada@example.com"]);
    // The token is shown once: never listed.
    expect(JSON.stringify(listed.body)).not.toContain(invite.body.token);

    const short = await call("POST", "/auth/invite", undefined, { token: invite.body.token, name: "Ada", password: "short" });
    expect(short.status).toBe(400);
    expect(short.body.message).toMatch(/at least 10 characters/);
    const taken = await call("POST", "/auth/invite", undefined, { token: invite.body.token, name: "Ada", password: PASSWORD });
    expect(taken.status).toBe(201);
    expect(taken.body).toMatchObject({ account: "default", user: { email: "ada@example.com", name: "Ada", role: "admin" }, token: expect.any(String) });
    const me = await call("GET", "/apiv2/me", taken.body.token);
    expect(me.body).toMatchObject({ account: "default", role: "admin", session: true, user: { email: "ada@example.com" } });
    // Used: gone.
    expect((await call("POST", "/auth/invite", undefined, { token: invite.body.token, name: "Eve", password: PASSWORD })).status).toBe(400);
    expect((await call("GET", `/auth/invite?token=${encodeURIComponent(invite.body.token)}`, undefined)).status).toBe(404);
    expect((await call("POST", "/apiv2/users", def.apiToken, { email: "ada@example.com" })).status).toBe(409);
  });

  it("signs in with email and password; a wrong one, an unknown address or account are one and the same 401", async () => {
    const ok = await login("ADA@example.com");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect((await call("GET", "/apiv2/events/count?q=*", ok.body.token)).status).toBe(200);
    const wrong = await login("ada@example.com", "not the password");
    const unknown = await login("nobody@example.com");
    const account = await login("ada@example.com", PASSWORD, "nosuchaccount");
    for (const r of [wrong, unknown, account]) {
      expect(r.status).toBe(401);
      expect(r.body.message).toBe("wrong account, email or password");
    }
    // The same user is no user of another tenant.
    expect((await login("ada@example.com", PASSWORD, "other")).status).toBe(401);
    expect((await call("POST", "/auth/login", undefined, "not an object")).status).toBe(400);
    expect((await call("POST", "/auth/login", undefined, { account: "default", email: "ada@example.com" })).status).toBe(400);
  });

  it("signing out ends that session and no other", async () => {
    const a = (await login("ada@example.com")).body.token as string;
    const b = (await login("ada@example.com")).body.token as string;
    expect((await call("POST", "/auth/logout", a)).body).toEqual({ signedOut: true });
    expect((await call("GET", "/apiv2/me", a)).status).toBe(401);
    expect((await call("GET", "/apiv2/me", b)).status).toBe(200);
    // The tenant's own token is no session: it is not signed out.
    expect((await call("POST", "/auth/logout", def.apiToken)).status).toBe(400);
    expect((await call("GET", "/apiv2/me", def.apiToken)).body).toMatchObject({ role: "admin", user: null, session: false });
  });

  it("enforces the roles on every API: a read-only user reads; a member writes but manages no users; an admin does all", async () => {
    const reader = await join(`reader-${marker}@example.com`, "readonly");
    const member = await join(`member-${marker}@example.com`, "member");
    const search = { name: `s-${marker}`, query: marker, from: "-1h", until: "now" };

    expect((await call("GET", `/apiv2/events/count?q=${marker}`, reader.token)).status).toBe(200);
    expect((await call("GET", "/apiv2/savedsearches", reader.token)).status).toBe(200);
    const refused = await call("POST", "/apiv2/savedsearches", reader.token, search);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "UNM_FORBIDDEN", message: expect.stringMatching(/read-only user cannot POST \/apiv2\/savedsearches/) });
    for (const [method, p] of [
      ["POST", "/apiv2/alerts"],
      ["POST", "/apiv2/dashboards"],
      ["POST", "/apiv2/derivedfields"],
      ["DELETE", "/apiv2/savedsearches/x"],
      ["GET", "/apiv2/users"],
      ["GET", "/apiv2/ingesttokens"],
    ] as const) {
      expect((await call(method, p, reader.token, method === "GET" ? undefined : {})).status, `${method} ${p}`).toBe(403);
    }
    // Reads that are POSTs: a derived field's preview; and the user's own API tokens.
    expect((await call("POST", "/apiv2/derivedfields/preview", reader.token, { rule: { type: "regex", pattern: "(?<x>a)" } })).status).toBe(200);

    const saved = await call("POST", "/apiv2/savedsearches", member.token, search);
    expect(saved.status).toBe(201);
    expect((await call("GET", "/apiv2/users", member.token)).status).toBe(403);
    expect((await call("POST", "/apiv2/users", member.token, { email: "x@example.com" })).status).toBe(403);
    // A percent-escaped or doubled path is the same path to the policy as to the router.
    expect((await call("GET", "/apiv2/%75sers", member.token)).status).toBe(403);
    const doubled = await fetch(program.url("//apiv2/users/"), { headers: { Authorization: `bearer ${member.token}` } });
    expect(await doubled.text()).not.toContain("invites");

    // The role is read at each request: promoted, the member manages users at once.
    const promoted = await call("PUT", `/apiv2/users/${member.user.id}`, def.apiToken, { role: "admin" });
    expect(promoted.body).toMatchObject({ role: "admin" });
    expect((await call("GET", "/apiv2/users", member.token)).status).toBe(200);
    expect((await call("PUT", `/apiv2/users/${member.user.id}`, def.apiToken, { role: "owner" })).status).toBe(400);
  });

  it("a user's API tokens: made with a label, shown once, listed, acting with the user's role, revoked at once", async () => {
    const reader = await join(`tokens-${marker}@example.com`, "readonly");
    const made = await call("POST", "/apiv2/me/tokens", reader.token, { label: "grafana" });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ label: "grafana", role: "readonly", token: expect.any(String), id: expect.any(String) });
    const listed = await call("GET", "/apiv2/me/tokens", reader.token);
    expect(listed.body.tokens).toEqual([{ id: made.body.id, label: "grafana", createdAt: expect.any(String) }]);
    // Basic auth with the token as password (Loggly's older clients) works too.
    const basic = await fetch(program.url(`/apiv2/events/count?q=*`), { headers: { Authorization: `Basic ${Buffer.from(`x:${made.body.token}`).toString("base64")}` } });
    expect(basic.status).toBe(200);
    expect((await call("POST", "/apiv2/savedsearches", made.body.token, { name: "n", query: "*" })).status).toBe(403);
    // Signing out with a token is refused: it is revoked instead.
    expect((await call("POST", "/auth/logout", made.body.token)).status).toBe(400);
    expect((await call("DELETE", `/apiv2/me/tokens/${made.body.id}`, reader.token)).body).toEqual({ revoked: true });
    expect((await call("GET", "/apiv2/events/count?q=*", made.body.token)).status).toBe(401);
    expect((await call("DELETE", `/apiv2/me/tokens/${made.body.id}`, reader.token)).status).toBe(404);
    expect((await call("POST", "/apiv2/me/tokens", reader.token, { label: "" })).status).toBe(400);
    expect((await call("POST", "/apiv2/me/tokens", def.apiToken, { label: "x" })).status).toBe(400);
  });

  it("a changed password ends the user's other sessions; the old one no longer signs in", async () => {
    const user = await join(`pw-${marker}@example.com`, "member");
    const elsewhere = (await login(`pw-${marker}@example.com`)).body.token as string;
    const wrong = await call("PUT", "/apiv2/me/password", user.token, { current: "nope nope nope", password: "a new passphrase" });
    expect(wrong.status).toBe(400);
    expect((await call("PUT", "/apiv2/me/password", user.token, { current: PASSWORD, password: "a new passphrase" })).status).toBe(200);
    expect((await call("GET", "/apiv2/me", user.token)).status).toBe(200);
    expect((await call("GET", "/apiv2/me", elsewhere)).status).toBe(401);
    expect((await login(`pw-${marker}@example.com`)).status).toBe(401);
    expect((await login(`pw-${marker}@example.com`, "a new passphrase")).status).toBe(200);
  });

  it("removing a user ends their sessions and tokens at once; the last admin stays one", async () => {
    const gone = await join(`gone-${marker}@example.com`, "member");
    const token = (await call("POST", "/apiv2/me/tokens", gone.token, { label: "script" })).body.token as string;
    expect((await call("DELETE", `/apiv2/users/${gone.user.id}`, def.apiToken)).body).toEqual({ removed: true });
    expect((await call("GET", "/apiv2/me", gone.token)).status).toBe(401);
    expect((await call("GET", "/apiv2/me", token)).status).toBe(401);
    expect((await call("DELETE", `/apiv2/users/${gone.user.id}`, def.apiToken)).status).toBe(404);

    // The other tenant has one admin: it cannot be demoted nor removed.
    const only = await join(`only-${marker}@example.com`, "admin", other.apiToken);
    expect((await call("PUT", `/apiv2/users/${only.user.id}`, other.apiToken, { role: "member" })).status).toBe(409);
    expect((await call("DELETE", `/apiv2/users/${only.user.id}`, other.apiToken)).status).toBe(409);
    // Tenants are apart: default's admin neither sees nor touches other's users.
    expect((await call("GET", `/apiv2/users/${only.user.id}`, def.apiToken)).status).toBe(404);
    expect((await call("DELETE", `/apiv2/users/${only.user.id}`, def.apiToken)).status).toBe(404);
  });

  it("revokes a pending invite, whose link then fails", async () => {
    const invite = await call("POST", "/apiv2/users", def.apiToken, { email: `later-${marker}@example.com`, role: "member" });
    expect((await call("DELETE", `/apiv2/users/invites/${invite.body.id}`, def.apiToken)).body).toEqual({ revoked: true });
    expect((await call("POST", "/auth/invite", undefined, { token: invite.body.token, name: "Later", password: PASSWORD })).status).toBe(400);
    expect((await call("POST", "/apiv2/users", def.apiToken, { email: "not an address", role: "chief" })).body.errors).toEqual([
      { field: "email", message: expect.any(String) },
      { field: "role", message: expect.any(String) },
    ]);
  });

  it("manages the ingest tokens: a new one takes events at once, a removed one is refused, the last one stays", async () => {
    const listed = await call("GET", "/apiv2/ingesttokens", def.apiToken);
    expect(listed.body.tokens).toEqual([{ id: def.ingestToken, token: def.ingestToken, label: "first token", createdAt: expect.any(String), primary: true }]);
    const added = await call("POST", "/apiv2/ingesttokens", def.apiToken, { label: "web servers" });
    expect(added.status).toBe(201);
    const send = (token: string) => fetch(program.url(`/inputs/${token}/tag/${marker}`), { method: "POST", body: `${marker} via ${token}` });
    expect((await send(added.body.token)).status).toBe(200);
    await waitFor("the event sent with the new token", async () => (await call("GET", `/apiv2/events/count?q=${encodeURIComponent(`tag:${marker}`)}&from=-1h`, def.apiToken)).body.count === 1, 60_000);

    // The first token removed: the added one becomes the first, and the old one is refused.
    expect((await call("DELETE", `/apiv2/ingesttokens/${def.ingestToken}`, def.apiToken)).body).toEqual({ removed: true });
    expect((await send(def.ingestToken)).status).toBe(401);
    const now = await call("GET", "/apiv2/ingesttokens", def.apiToken);
    expect(now.body.tokens).toEqual([{ id: added.body.token, token: added.body.token, label: "first token", createdAt: expect.any(String), primary: true }]);
    expect((await call("DELETE", `/apiv2/ingesttokens/${added.body.token}`, def.apiToken)).status).toBe(409);
    // Another tenant's token is not this tenant's to remove.
    expect((await call("DELETE", `/apiv2/ingesttokens/${other.ingestToken}`, def.apiToken)).status).toBe(404);
    // The source setup shows the tenant's first token as it is now.
    expect((await call("GET", "/ui/config", def.apiToken)).body.ingestToken).toBe(added.body.token);
  });

  it("`unmeltable users` invites from the data dir (the link works on the running server), lists and removes", async () => {
    const out = await cli(["users", "invite", `cli-${marker}@example.com`, "--role", "readonly", "--data-dir", program.dataDir, "--url", program.url("/")]);
    const token = /#\/invite\/([\w-]+)/.exec(out)?.[1];
    expect(token, out).toBeDefined();
    expect(out).toContain(`cli-${marker}@example.com is invited to default as readonly`);
    const taken = await call("POST", "/auth/invite", undefined, { token, name: "Cli", password: PASSWORD });
    expect(taken.body.user).toMatchObject({ role: "readonly" });
    const listed = (await cli(["users", "list", "--json", "--data-dir", program.dataDir])).trim().split("\n").map((l) => JSON.parse(l) as { email: string; role: string });
    expect(listed).toContainEqual(expect.objectContaining({ email: `cli-${marker}@example.com`, role: "readonly" }));
    await cli(["users", "remove", `cli-${marker}@example.com`, "--data-dir", program.dataDir]);
    expect((await call("GET", "/apiv2/me", taken.body.token)).status).toBe(401);
  });

  it("takes a user's email and password as HTTP basic, as Loggly's older clients send them; with the user's role, only while the user exists", async () => {
    const basic = (user: string, password = PASSWORD) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    const get = (user: string, password = PASSWORD) => fetch(program.url("/apiv2/events/count?q=*"), { headers: basic(user, password) });
    const reader = await join(`basic-${marker}@example.com`, "readonly");
    expect((await get(`basic-${marker}@example.com`)).status).toBe(200);
    expect((await get(`default/basic-${marker}@example.com`)).status).toBe(200);
    expect((await get(`basic-${marker}@example.com`, "not the password")).status).toBe(401);
    expect((await get(`other/basic-${marker}@example.com`)).status).toBe(401);
    // The role applies: a read-only user's basic credentials change nothing.
    const post = await fetch(program.url("/apiv2/savedsearches"), { method: "POST", headers: { ...basic(`basic-${marker}@example.com`), "Content-Type": "application/json" }, body: JSON.stringify({ name: "n", query: "*" }) });
    expect(post.status).toBe(403);
    // An address that is a user of two accounts must name the account.
    await join(`basic-${marker}@example.com`, "member", other.apiToken);
    expect((await get(`basic-${marker}@example.com`)).status).toBe(401);
    expect((await get(`other/basic-${marker}@example.com`)).status).toBe(200);
    // Removed: refused at once, although its password was checked a moment ago.
    expect((await get(`default/basic-${marker}@example.com`)).status).toBe(200);
    await call("DELETE", `/apiv2/users/${reader.user.id}`, def.apiToken);
    expect((await get(`default/basic-${marker}@example.com`)).status).toBe(401);
  });

  it("throttles failed sign-ins for an address: refused even with the right password until the window passes", async () => {
    await join(`slow-${marker}@example.com`, "member");
    let last = 0;
    for (let i = 0; i < 10; i++) last = (await login(`slow-${marker}@example.com`, "wrong password!")).status;
    expect(last).toBe(401);
    const blocked = await login(`slow-${marker}@example.com`);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe("UNM_TOO_MANY_ATTEMPTS");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another address is not held back by it.
    expect((await login("ada@example.com")).status).toBe(200);
  });
});
