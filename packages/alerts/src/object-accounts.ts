import { createHash, randomBytes, randomUUID } from "node:crypto";
import {
  AccountError,
  decoyHash,
  hashPassword,
  INVITE_TTL_MS,
  isRole,
  labelProblem,
  MAX_SESSIONS_PER_USER,
  MAX_TOKENS_PER_USER,
  MAX_USERS_PER_TENANT,
  normalEmail,
  passwordProblem,
  SESSION_TTL_MS,
  ssoUserName,
  userNameProblem,
  verifyPassword,
  type AccountPort,
  type IngestTokenStore,
  type Invite,
  type ObjectStore,
  type Role,
  type Session,
  type User,
  type UserToken,
} from "@unmeltable/core";
import { readJson, readJsonEach, writeJson } from "./object-json";

/** A stored user: the listed fields and the password's scrypt hash. */
interface UserObject extends User {
  passwordHash: string;
}

/** What a token (a session or a user's API token) is, at `credentials/<sha256>.json`. */
export interface CredentialObject {
  tenant: string;
  userId: string;
  purpose: "session" | "user";
  id: string;
  label?: string;
  createdAt: number;
  expiresAt?: number;
}

/** The credential a token is, with the role its user has now (what the search function authenticates). */
export interface AccountCredential {
  tenant: string;
  role: Role;
  user: { id: string; email: string };
  session: boolean;
}

const ID = /^[0-9a-f-]{36}$/;

/**
 * The users of each tenant on AWS, in the configuration bucket under their own prefix (`accounts/`,
 * which only the search function may read and write: the alert checker, which reads `alerts/`, never
 * sees a password hash). One object per thing, found by key:
 *
 *   <tenant>/users/<id>.json                      a user, with the password's scrypt hash
 *   <tenant>/emails/<sha256 of the email>.json    {id}: the user of an address
 *   <tenant>/invites/<id>.json                    a pending invitation (with its token's hash)
 *   <tenant>/credentials/<user id>/<sha256>.json  a user's sessions and API tokens, listed
 *   _tokens/<sha256 of a token>.json              what a session, an API token or an invitation is
 *   _emails/<sha256 of an email>/<tenant>.json    the tenants an address is a user of (HTTP basic)
 *
 * Tokens are kept only as SHA-256 hashes (192 random bits each). S3 has no transactions: a removed user's
 * credentials are deleted after the user (a lookup checks the user exists, so they stop at once), and two
 * admins acting on the same user at the same moment may both succeed — the last write wins.
 */
export class ObjectAccountStore implements AccountPort {
  ingestTokens?: AccountPort["ingestTokens"];
  addIngestToken?: AccountPort["addIngestToken"];
  removeIngestToken?: AccountPort["removeIngestToken"];

  constructor(
    private readonly store: ObjectStore,
    /** `ingestTokens`: where the deployment keeps the tenants' ingest tokens, if this API may change them. */
    private readonly options: { now?: () => number; ingestTokens?: IngestTokenStore } = {},
  ) {
    const tokens = options.ingestTokens;
    if (tokens) {
      this.ingestTokens = (tenant) => tokens.list(tenant);
      this.addIngestToken = (tenant, label) => tokens.add(tenant, label);
      this.removeIngestToken = (tenant, id) => tokens.remove(tenant, id);
    }
  }

  /** The tenants whose user `email` is. */
  async tenantsOf(email: string): Promise<string[]> {
    const prefix = `_emails/${sha256(normalEmail(email))}/`;
    return (await this.store.list(prefix)).map((k) => k.slice(prefix.length).replace(/\.json$/, "")).sort();
  }

  async users(tenant: string): Promise<User[]> {
    const list = await this.readAll<UserObject>(`${tenant}/users/`);
    return list.map(publicUser).sort((a, b) => a.email.localeCompare(b.email));
  }

  async user(tenant: string, id: string): Promise<User | undefined> {
    const u = await this.userObject(tenant, id);
    return u && publicUser(u);
  }

  async invite(tenant: string, spec: { email: string; role: Role; by: string }): Promise<Invite & { token: string }> {
    const email = normalEmail(spec.email);
    if (await this.read<{ id: string }>(this.emailKey(tenant, email))) throw new AccountError(`${email} is a user of ${tenant} already`, true);
    if ((await this.store.list(`${tenant}/users/`)).length >= MAX_USERS_PER_TENANT) throw new AccountError(`a tenant has at most ${MAX_USERS_PER_TENANT} users`, true);
    const now = this.now();
    // A new invitation for the same address replaces the earlier one (whose link stops working).
    for (const old of await this.invites(tenant)) if (old.email === email) await this.revokeInvite(tenant, old.id);
    const token = newToken();
    const invite: Invite = { id: randomUUID(), email, role: spec.role, createdBy: spec.by, createdAt: now, expiresAt: now + INVITE_TTL_MS };
    await this.write(`_tokens/${sha256(token)}.json`, { kind: "invite", tenant, ...invite });
    await this.write(`${tenant}/invites/${invite.id}.json`, { ...invite, sha256: sha256(token) });
    return { ...invite, token };
  }

  async invites(tenant: string): Promise<Invite[]> {
    const now = this.now();
    const list = await this.readAll<Invite & { sha256: string }>(`${tenant}/invites/`);
    return list
      .filter((i) => i.expiresAt > now)
      .map(({ sha256: _, ...i }) => i)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeInvite(tenant: string, id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    const key = `${tenant}/invites/${id}.json`;
    const found = await this.read<Invite & { sha256: string }>(key);
    if (!found) return false;
    await this.store.delete(`_tokens/${found.sha256}.json`);
    await this.store.delete(key);
    return true;
  }

  async inviteByToken(token: string): Promise<(Invite & { tenant: string }) | undefined> {
    if (typeof token !== "string" || token === "" || token.length > 512) return undefined;
    const found = await this.read<Invite & { tenant: string; kind?: string }>(`_tokens/${sha256(token)}.json`);
    if (!found || found.kind !== "invite" || found.expiresAt <= this.now()) return undefined;
    const { kind: _, ...invite } = found;
    return invite;
  }

  async acceptInvite(token: string, spec: { name: string; password: string }): Promise<Session> {
    const problem = passwordProblem(spec.password) ?? userNameProblem(spec.name);
    if (problem) throw new AccountError(problem);
    const invite = await this.inviteByToken(token);
    if (!invite) throw new AccountError("this invitation is unknown, used or expired: ask an admin for a new one");
    if (await this.read(this.emailKey(invite.tenant, invite.email))) throw new AccountError(`${invite.email} is a user of ${invite.tenant} already`, true);
    const now = this.now();
    const user: UserObject = { id: randomUUID(), email: invite.email, name: spec.name.trim(), role: invite.role, createdAt: now, passwordHash: await hashPassword(spec.password) };
    // Used up first: a second taker of the same link finds it gone.
    await this.revokeInvite(invite.tenant, invite.id);
    await this.write(`${invite.tenant}/users/${user.id}.json`, user);
    await this.write(this.emailKey(invite.tenant, user.email), { id: user.id });
    await this.write(`_emails/${sha256(user.email)}/${invite.tenant}.json`, { id: user.id });
    return this.newSession(invite.tenant, publicUser(user));
  }

  async verify(tenant: string, email: string, password: string): Promise<User | undefined> {
    const ref = await this.read<{ id: string }>(this.emailKey(tenant, normalEmail(String(email))));
    const user = ref && (await this.userObject(tenant, ref.id));
    // An unknown user costs as long as a wrong password: timing does not tell which addresses exist.
    const ok = await verifyPassword(String(password), user?.passwordHash ?? (await decoyHash()));
    return user && ok ? publicUser(user) : undefined;
  }

  async signIn(tenant: string, email: string, password: string): Promise<Session | undefined> {
    const user = await this.verify(tenant, email, password);
    return user && this.newSession(tenant, user);
  }

  async ssoSignIn(tenant: string, email: string, name: string): Promise<Session | undefined> {
    const address = normalEmail(email);
    const ref = await this.read<{ id: string }>(this.emailKey(tenant, address));
    const existing = ref && (await this.userObject(tenant, ref.id));
    if (existing) return this.newSession(tenant, publicUser(existing));
    const invite = (await this.invites(tenant)).find((i) => i.email === address);
    if (!invite) return undefined;
    // A password nobody knows: the user signs in through the identity provider.
    const user: UserObject = { id: randomUUID(), email: address, name: ssoUserName(name, address), role: invite.role, createdAt: this.now(), passwordHash: await hashPassword(newToken()) };
    await this.revokeInvite(tenant, invite.id);
    await this.write(`${tenant}/users/${user.id}.json`, user);
    await this.write(this.emailKey(tenant, user.email), { id: user.id });
    await this.write(`_emails/${sha256(user.email)}/${tenant}.json`, { id: user.id });
    return this.newSession(tenant, publicUser(user));
  }

  async signOut(token: string): Promise<boolean> {
    const hash = sha256(token);
    const found = await this.read<CredentialObject>(`_tokens/${hash}.json`);
    if (!found || found.purpose !== "session") return false;
    await this.deleteCredential(found.tenant, found.userId, hash);
    return true;
  }

  async setPassword(tenant: string, id: string, password: string, keep?: string): Promise<void> {
    const problem = passwordProblem(password);
    if (problem) throw new AccountError(problem);
    const user = await this.userObject(tenant, id);
    if (!user) throw new AccountError(`no such user in ${tenant}`);
    await this.write(`${tenant}/users/${id}.json`, { ...user, passwordHash: await hashPassword(password) });
    const kept = keep === undefined ? undefined : sha256(keep);
    for (const c of await this.credentials(tenant, id)) if (c.purpose === "session" && c.sha256 !== kept) await this.deleteCredential(tenant, id, c.sha256);
  }

  async setRole(tenant: string, id: string, role: Role): Promise<User> {
    const user = await this.userObject(tenant, id);
    if (!user) throw new AccountError(`no such user in ${tenant}`);
    if (user.role === "admin" && role !== "admin") await this.keepAnAdmin(tenant, id);
    await this.write(`${tenant}/users/${id}.json`, { ...user, role });
    return publicUser({ ...user, role });
  }

  async removeUser(tenant: string, id: string): Promise<boolean> {
    const user = await this.userObject(tenant, id);
    if (!user) return false;
    if (user.role === "admin") await this.keepAnAdmin(tenant, id);
    // The user first: every lookup of their credentials checks the user, so they stop here.
    await this.store.delete(`${tenant}/users/${id}.json`);
    await this.store.delete(this.emailKey(tenant, user.email));
    await this.store.delete(`_emails/${sha256(user.email)}/${tenant}.json`);
    for (const c of await this.credentials(tenant, id)) await this.deleteCredential(tenant, id, c.sha256);
    return true;
  }

  async createUserToken(tenant: string, userId: string, label: string): Promise<UserToken & { token: string }> {
    const bad = labelProblem(label, "what it is for: a script, a dashboard");
    if (bad) throw new AccountError(bad);
    if (!(await this.userObject(tenant, userId))) throw new AccountError(`no such user in ${tenant}`);
    if ((await this.userTokens(tenant, userId)).length >= MAX_TOKENS_PER_USER) throw new AccountError(`a user has at most ${MAX_TOKENS_PER_USER} API tokens: revoke one first`, true);
    const out = { id: randomUUID(), label: label.trim(), createdAt: this.now(), token: newToken() };
    await this.putCredential(out.token, { tenant, userId, purpose: "user", id: out.id, label: out.label, createdAt: out.createdAt });
    return out;
  }

  async userTokens(tenant: string, userId: string): Promise<UserToken[]> {
    return (await this.credentials(tenant, userId))
      .filter((c) => c.purpose === "user")
      .map((c) => ({ id: c.id, label: c.label ?? "", createdAt: c.createdAt }))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeUserToken(tenant: string, userId: string, id: string): Promise<boolean> {
    const found = (await this.credentials(tenant, userId)).find((c) => c.purpose === "user" && c.id === id);
    if (!found) return false;
    await this.deleteCredential(tenant, userId, found.sha256);
    return true;
  }

  /** What `token` is: a live session or API token of a user who still exists, with the user's role now. */
  async credential(token: string): Promise<AccountCredential | undefined> {
    if (typeof token !== "string" || token === "" || token.length > 512) return undefined;
    const c = await this.read<CredentialObject & { kind?: string }>(`_tokens/${sha256(token)}.json`);
    if (!c || c.kind === "invite" || (c.expiresAt !== undefined && c.expiresAt <= this.now())) return undefined;
    const user = await this.userObject(c.tenant, c.userId);
    if (!user) return undefined;
    return { tenant: c.tenant, role: user.role, user: { id: user.id, email: user.email }, session: c.purpose === "session" };
  }

  private async newSession(tenant: string, user: User): Promise<Session> {
    const now = this.now();
    // The oldest sessions of a user who signs in again and again (scripts) end.
    const sessions = (await this.credentials(tenant, user.id)).filter((c) => c.purpose === "session").sort((a, b) => b.createdAt - a.createdAt);
    for (const old of sessions.slice(MAX_SESSIONS_PER_USER - 1)) await this.deleteCredential(tenant, user.id, old.sha256);
    for (const old of sessions) if (old.expiresAt !== undefined && old.expiresAt <= now) await this.deleteCredential(tenant, user.id, old.sha256);
    const token = newToken();
    const expiresAt = now + SESSION_TTL_MS;
    await this.putCredential(token, { tenant, userId: user.id, purpose: "session", id: randomUUID(), createdAt: now, expiresAt });
    return { token, expiresAt, user, tenant };
  }

  private async putCredential(token: string, c: CredentialObject): Promise<void> {
    const hash = sha256(token);
    await this.write(`${c.tenant}/credentials/${c.userId}/${hash}.json`, { ...c, sha256: hash });
    await this.write(`_tokens/${hash}.json`, c);
  }

  private async deleteCredential(tenant: string, userId: string, hash: string): Promise<void> {
    await this.store.delete(`_tokens/${hash}.json`);
    await this.store.delete(`${tenant}/credentials/${userId}/${hash}.json`);
  }

  private credentials(tenant: string, userId: string): Promise<(CredentialObject & { sha256: string })[]> {
    return ID.test(userId) ? this.readAll(`${tenant}/credentials/${userId}/`) : Promise.resolve([]);
  }

  private async keepAnAdmin(tenant: string, exceptId: string): Promise<void> {
    const others = (await this.users(tenant)).filter((u) => u.role === "admin" && u.id !== exceptId);
    if (others.length === 0) throw new AccountError("the last admin cannot be removed or lose the role: make another user an admin first", true);
  }

  private userObject(tenant: string, id: string): Promise<UserObject | undefined> {
    return ID.test(id) ? this.read<UserObject>(`${tenant}/users/${id}.json`) : Promise.resolve(undefined);
  }

  private emailKey(tenant: string, email: string): string {
    return `${tenant}/emails/${sha256(email)}.json`;
  }

  private async readAll<T>(prefix: string): Promise<T[]> {
    const keys = (await this.store.list(prefix)).filter((k) => k.endsWith(".json"));
    return readJsonEach<T>(this.store, keys);
  }

  private read<T>(key: string): Promise<T | undefined> {
    return readJson<T>(this.store, key);
  }

  private write(key: string, value: unknown): Promise<void> {
    return writeJson(this.store, key, value);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function newToken(): string {
  return randomBytes(24).toString("base64url");
}

function publicUser(u: UserObject | User): User {
  return { id: u.id, email: u.email, name: u.name, role: isRole(u.role) ? u.role : "readonly", createdAt: u.createdAt };
}
