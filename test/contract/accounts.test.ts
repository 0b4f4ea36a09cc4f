import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ObjectAccountStore } from "@unmeltable/alerts";
import { DirectoryStore } from "@unmeltable/archive";
import { AccountError, type AccountPort, type Role } from "@unmeltable/core";
import { AccountStore } from "../../packages/runtime/src/account-store";
import { TenantStore } from "../../packages/runtime/src/tenant-store";

/**
 * The account stores' one contract, run on both: the one machine's (tenants.db, SQLite) and AWS's (one
 * object per thing: here over a directory, the same ObjectStore port S3 fills; test/lambda runs it on an
 * S3 server). Each case says what a user of the accounts API relies on. `credentialOf` is how each
 * deployment turns a token into its tenant, user and role: the tenant directory on one machine, the
 * store's own lookup on AWS.
 */
interface Harness {
  accounts: AccountPort & { tenantsOf(email: string): string[] | Promise<string[]> };
  credentialOf(token: string): Promise<{ tenant: string; role: Role; userId?: string; session?: boolean } | undefined>;
  close(): Promise<void>;
}

const PASSWORD = "correct horse battery";

const harnesses: [string, () => Promise<Harness>][] = [
  [
    "one machine (tenants.db)",
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "accounts-"));
      const tenants = new TenantStore(dir);
      tenants.add("acme");
      tenants.add("other");
      const directory = tenants.liveDirectory(60_000);
      const accounts = new AccountStore(dir);
      return {
        accounts,
        credentialOf: async (token) => {
          const c = directory.credential(token);
          return c && { tenant: c.tenant.name, role: c.role, userId: c.user?.id, session: c.session === true };
        },
        close: async () => {
          directory.stop();
          accounts.close();
          tenants.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    "AWS (objects)",
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "accounts-obj-"));
      const accounts = new ObjectAccountStore(new DirectoryStore(dir));
      return {
        accounts,
        credentialOf: async (token) => {
          const c = await accounts.credential(token);
          return c && { tenant: c.tenant, role: c.role, userId: c.user.id, session: c.session };
        },
        close: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(harnesses)("account store contract: %s", (_name, make) => {
  let h: Harness;
  beforeEach(async () => {
    h = await make();
  });
  afterEach(async () => {
    await h.close();
  });

  const join = async (email: string, role: Role, tenant = "acme") => {
    const invite = await h.accounts.invite(tenant, { email, role, by: "test" });
    return h.accounts.acceptInvite(invite.token, { name: email.split("@")[0]!, password: PASSWORD });
  };

  it("an invitation is taken up once: the user made with its role, signed in; listed until then", async () => {
    const invite = await h.accounts.invite("acme", { email: " Ada@Example.com", role: "admin", by: "op" });
    expect((await h.accounts.invites("acme")).map((i) => [i.email, i.role, i.createdBy])).toEqual([["ada@example.com", "admin", "op"]]);
    expect(await h.accounts.inviteByToken(invite.token)).toMatchObject({ tenant: "acme", email: "ada@example.com", role: "admin" });
    const session = await h.accounts.acceptInvite(invite.token, { name: " Ada ", password: PASSWORD });
    expect(session).toMatchObject({ tenant: "acme", user: { email: "ada@example.com", name: "Ada", role: "admin" } });
    expect(await h.credentialOf(session.token)).toEqual({ tenant: "acme", role: "admin", userId: session.user.id, session: true });
    expect(await h.accounts.invites("acme")).toEqual([]);
    expect(await h.accounts.inviteByToken(invite.token)).toBeUndefined();
    await expect(h.accounts.acceptInvite(invite.token, { name: "Eve", password: PASSWORD })).rejects.toThrow(/unknown, used or expired/);
    expect((await h.accounts.users("acme")).map((u) => u.email)).toEqual(["ada@example.com"]);
    expect(await h.accounts.users("other")).toEqual([]);
  });

  it("single sign-on: an address proven by the provider signs its user in, or takes its invitation up; nobody else", async () => {
    const ada = await join("ada@example.com", "admin");
    const again = await h.accounts.ssoSignIn("acme", " ADA@example.com", "Someone Else");
    expect(again).toMatchObject({ tenant: "acme", user: { id: ada.user.id, name: "ada", role: "admin" } });
    expect(again!.token).not.toBe(ada.token);
    expect(await h.credentialOf(again!.token)).toEqual({ tenant: "acme", role: "admin", userId: ada.user.id, session: true });

    const invite = await h.accounts.invite("acme", { email: "bob@example.com", role: "readonly", by: "ada" });
    const bob = await h.accounts.ssoSignIn("acme", "bob@example.com", "");
    // The invitation's role; the address's local part when the provider gives no name.
    expect(bob).toMatchObject({ tenant: "acme", user: { email: "bob@example.com", name: "bob", role: "readonly" } });
    expect(await h.accounts.inviteByToken(invite.token)).toBeUndefined();
    expect(await h.accounts.invites("acme")).toEqual([]);
    // No password works for a user made this way: the provider is the way in.
    expect(await h.accounts.verify("acme", "bob@example.com", "")).toBeUndefined();

    expect(await h.accounts.ssoSignIn("acme", "mallory@example.com", "Mallory")).toBeUndefined();
    expect(await h.accounts.ssoSignIn("other", "ada@example.com", "Ada")).toBeUndefined();
    expect((await h.accounts.users("acme")).map((u) => u.email)).toEqual(["ada@example.com", "bob@example.com"]);
  });

  it("refuses an invitation for a user who exists, a weak password, and no name", async () => {
    await join("ada@example.com", "member");
    await expect(Promise.resolve().then(() => h.accounts.invite("acme", { email: "ADA@example.com", role: "member", by: "x" }))).rejects.toMatchObject({ conflict: true });
    const invite = await h.accounts.invite("acme", { email: "bob@example.com", role: "member", by: "x" });
    await expect(h.accounts.acceptInvite(invite.token, { name: "Bob", password: "short" })).rejects.toThrow(AccountError);
    await expect(h.accounts.acceptInvite(invite.token, { name: " ", password: PASSWORD })).rejects.toThrow(/name/);
    // A second invitation for the same address replaces the first.
    const again = await h.accounts.invite("acme", { email: "bob@example.com", role: "readonly", by: "x" });
    expect(await h.accounts.inviteByToken(invite.token)).toBeUndefined();
    expect(await h.accounts.inviteByToken(again.token)).toMatchObject({ role: "readonly" });
    expect(await h.accounts.revokeInvite("acme", again.id)).toBe(true);
    expect(await h.accounts.inviteByToken(again.token)).toBeUndefined();
    expect(await h.accounts.revokeInvite("acme", again.id)).toBe(false);
  });

  it("signs in with the right password only, of that tenant; signing out ends that session alone", async () => {
    await join("ada@example.com", "member");
    expect(await h.accounts.signIn("acme", "ada@example.com", "wrong password")).toBeUndefined();
    expect(await h.accounts.signIn("acme", "nobody@example.com", PASSWORD)).toBeUndefined();
    expect(await h.accounts.signIn("other", "ada@example.com", PASSWORD)).toBeUndefined();
    const a = (await h.accounts.signIn("acme", "ADA@example.com", PASSWORD))!;
    const b = (await h.accounts.signIn("acme", "ada@example.com", PASSWORD))!;
    expect(await h.accounts.signOut(a.token)).toBe(true);
    expect(await h.credentialOf(a.token)).toBeUndefined();
    expect(await h.credentialOf(b.token)).toMatchObject({ role: "member", session: true });
    expect(await h.accounts.signOut(a.token)).toBe(false);
  });

  it("a role change applies to the user's sessions and tokens at once; the last admin keeps the role", async () => {
    const admin = await join("ada@example.com", "admin");
    const member = await join("bob@example.com", "member");
    const token = await h.accounts.createUserToken("acme", member.user.id, "script");
    expect(await h.credentialOf(token.token)).toMatchObject({ role: "member", session: false });
    await h.accounts.setRole("acme", member.user.id, "readonly");
    expect(await h.credentialOf(token.token)).toMatchObject({ role: "readonly" });
    expect(await h.credentialOf(member.token)).toMatchObject({ role: "readonly" });
    await expect(Promise.resolve().then(() => h.accounts.setRole("acme", admin.user.id, "member"))).rejects.toMatchObject({ conflict: true });
    await expect(Promise.resolve().then(() => h.accounts.removeUser("acme", admin.user.id))).rejects.toMatchObject({ conflict: true });
    await h.accounts.setRole("acme", member.user.id, "admin");
    await h.accounts.setRole("acme", admin.user.id, "member");
    expect(await h.credentialOf(admin.token)).toMatchObject({ role: "member" });
  });

  it("a removed user's sessions and tokens stop at once, and the address can be invited again", async () => {
    await join("ada@example.com", "admin");
    const gone = await join("bob@example.com", "member");
    const token = await h.accounts.createUserToken("acme", gone.user.id, "script");
    expect(await h.accounts.removeUser("acme", gone.user.id)).toBe(true);
    expect(await h.credentialOf(gone.token)).toBeUndefined();
    expect(await h.credentialOf(token.token)).toBeUndefined();
    expect(await h.accounts.removeUser("acme", gone.user.id)).toBe(false);
    expect(await h.accounts.signIn("acme", "bob@example.com", PASSWORD)).toBeUndefined();
    const back = await join("bob@example.com", "readonly");
    expect(back.user.role).toBe("readonly");
  });

  it("a user's API tokens: listed by label, never the token; revoked one by one; at most 20", async () => {
    const u = await join("ada@example.com", "member");
    const one = await h.accounts.createUserToken("acme", u.user.id, " grafana ");
    expect(await h.accounts.userTokens("acme", u.user.id)).toEqual([{ id: one.id, label: "grafana", createdAt: expect.any(Number) }]);
    expect(JSON.stringify(await h.accounts.userTokens("acme", u.user.id))).not.toContain(one.token);
    await expect(Promise.resolve().then(() => h.accounts.createUserToken("acme", u.user.id, ""))).rejects.toThrow(/label/);
    for (let i = 1; i < 20; i++) await h.accounts.createUserToken("acme", u.user.id, `t${i}`);
    await expect(Promise.resolve().then(() => h.accounts.createUserToken("acme", u.user.id, "one too many"))).rejects.toMatchObject({ conflict: true });
    expect(await h.accounts.revokeUserToken("acme", u.user.id, one.id)).toBe(true);
    expect(await h.credentialOf(one.token)).toBeUndefined();
    expect(await h.accounts.revokeUserToken("acme", u.user.id, one.id)).toBe(false);
    // Signing out is for sessions: a token is not signed out.
    const two = await h.accounts.createUserToken("acme", u.user.id, "again");
    expect(await h.accounts.signOut(two.token)).toBe(false);
    expect(await h.credentialOf(two.token)).toMatchObject({ session: false });
  });

  it("a new password ends the other sessions, keeps the one it was changed from, and the old one no longer signs in", async () => {
    const u = await join("ada@example.com", "member");
    const other = (await h.accounts.signIn("acme", "ada@example.com", PASSWORD))!;
    const token = await h.accounts.createUserToken("acme", u.user.id, "script");
    await h.accounts.setPassword("acme", u.user.id, "a new passphrase", u.token);
    expect(await h.credentialOf(u.token)).toBeDefined();
    expect(await h.credentialOf(other.token)).toBeUndefined();
    // API tokens are not sessions: they stay.
    expect(await h.credentialOf(token.token)).toBeDefined();
    expect(await h.accounts.verify("acme", "ada@example.com", PASSWORD)).toBeUndefined();
    expect(await h.accounts.verify("acme", "ada@example.com", "a new passphrase")).toMatchObject({ id: u.user.id });
  });

  it("knows the tenants an address is a user of (for HTTP basic), and forgets a removed user", async () => {
    const a = await join("ada@example.com", "admin");
    await join("ada@example.com", "member", "other");
    expect(await h.accounts.tenantsOf("ADA@example.com")).toEqual(["acme", "other"]);
    expect(await h.accounts.tenantsOf("nobody@example.com")).toEqual([]);
    await join("bob@example.com", "admin");
    await h.accounts.removeUser("acme", a.user.id);
    expect(await h.accounts.tenantsOf("ada@example.com")).toEqual(["other"]);
  });

  it("an invitation's token is no credential, and no credential is an invitation", async () => {
    const invite = await h.accounts.invite("acme", { email: "ada@example.com", role: "admin", by: "x" });
    expect(await h.credentialOf(invite.token)).toBeUndefined();
    const session = await h.accounts.acceptInvite(invite.token, { name: "Ada", password: PASSWORD });
    expect(await h.accounts.inviteByToken(session.token)).toBeUndefined();
    expect(await h.credentialOf("")).toBeUndefined();
    expect(await h.credentialOf("x".repeat(10_000))).toBeUndefined();
  });
});
