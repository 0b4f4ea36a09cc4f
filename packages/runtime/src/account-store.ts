import { randomBytes, randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import {
  AccountError,
  decoyHash,
  hashPassword,
  INVITE_TTL_MS,
  isRole,
  labelProblem,
  MAX_INGEST_TOKENS,
  MAX_SESSIONS_PER_USER,
  MAX_TOKENS_PER_USER,
  MAX_USERS_PER_TENANT,
  userNameProblem,
  normalEmail,
  passwordProblem,
  SESSION_TTL_MS,
  ssoUserName,
  verifyPassword,
  type AccountPort,
  type IngestToken,
  type Invite,
  type Role,
  type Session,
  type User,
  type UserToken,
} from "@unmeltable/core";
import { openDataDirDb } from "./sqlite-file";
import { apiTokenHash } from "./credentials";

/**
 * The tables of users, invites and extra ingest tokens, in `tenants.db` beside the tenants and their API
 * tokens. A user's credentials — the sessions of signing in, the API tokens the user makes — are rows of
 * `api_tokens` like the tenant's own, with the user's id: the tenant directory every request consults
 * already follows that table, so a session works, and a signed-out or removed user stops working, at once
 * and on every process that reads the file. Created by whichever of TenantStore and AccountStore opens
 * the file first.
 */
export const ACCOUNT_TABLES = `
  CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant, email)
  );
  CREATE TABLE IF NOT EXISTS invites (
    token_sha256 TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ingest_tokens (
    token TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );`;

/** Columns of api_tokens added for users' credentials (none on a table from before users). */
export const API_TOKEN_USER_COLUMNS: [string, string][] = [
  ["id", "TEXT"],
  ["user_id", "TEXT"],
  ["label", "TEXT"],
];

function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** The users of each tenant, their invites, sessions and API tokens, and the tenants' ingest tokens. */
export class AccountStore implements AccountPort {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = openDataDirDb(dataDir, "tenants.db");
    this.db.pragma("secure_delete = ON");
    ensureAccountTables(this.db);
  }

  users(tenant: string): User[] {
    return (this.db.prepare("SELECT * FROM users WHERE tenant = ? ORDER BY email").all(tenant) as UserRow[]).map(toUser);
  }

  /** The tenants whose user `email` is. */
  tenantsOf(email: string): string[] {
    return (this.db.prepare("SELECT tenant FROM users WHERE email = ? ORDER BY tenant").all(normalEmail(email)) as { tenant: string }[]).map((r) => r.tenant);
  }

  user(tenant: string, id: string): User | undefined {
    const row = this.db.prepare("SELECT * FROM users WHERE tenant = ? AND id = ?").get(tenant, id) as UserRow | undefined;
    return row && toUser(row);
  }

  /** An invitation for `email` to join `tenant` as `role`: the token (in the link) is shown once. */
  invite(tenant: string, spec: { email: string; role: Role; by: string }, now = Date.now()): Invite & { token: string } {
    const email = normalEmail(spec.email);
    if (this.db.prepare("SELECT 1 FROM users WHERE tenant = ? AND email = ?").get(tenant, email)) throw new AccountError(`${email} is a user of ${tenant} already`, true);
    const count = (this.db.prepare("SELECT COUNT(*) AS n FROM users WHERE tenant = ?").get(tenant) as { n: number }).n;
    if (count >= MAX_USERS_PER_TENANT) throw new AccountError(`a tenant has at most ${MAX_USERS_PER_TENANT} users`, true);
    const token = newToken();
    const invite: Invite = { id: randomUUID(), email, role: spec.role, createdBy: spec.by, createdAt: now, expiresAt: now + INVITE_TTL_MS };
    this.db.transaction(() => {
      // A new invite for the same address replaces the earlier one (whose link stops working).
      this.db.prepare("DELETE FROM invites WHERE tenant = ? AND (email = ? OR expires_at <= ?)").run(tenant, email, now);
      this.db
        .prepare("INSERT INTO invites (token_sha256, id, tenant, email, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(apiTokenHash(token), invite.id, tenant, email, invite.role, invite.createdBy, invite.createdAt, invite.expiresAt);
    })();
    return { ...invite, token };
  }

  /** The invites not yet accepted nor expired. */
  invites(tenant: string, now = Date.now()): Invite[] {
    return (this.db.prepare("SELECT * FROM invites WHERE tenant = ? AND expires_at > ? ORDER BY created_at").all(tenant, now) as InviteRow[]).map(toInvite);
  }

  revokeInvite(tenant: string, id: string): boolean {
    return this.db.prepare("DELETE FROM invites WHERE tenant = ? AND id = ?").run(tenant, id).changes > 0;
  }

  /** What an invite link offers, if it is still good. */
  inviteByToken(token: string, now = Date.now()): (Invite & { tenant: string }) | undefined {
    if (typeof token !== "string" || token.length > 512) return undefined;
    const row = this.db.prepare("SELECT * FROM invites WHERE token_sha256 = ? AND expires_at > ?").get(apiTokenHash(token), now) as InviteRow | undefined;
    return row && { ...toInvite(row), tenant: row.tenant };
  }

  /** The invite taken up: the user made, the invite gone, and a session for the new user. */
  async acceptInvite(token: string, spec: { name: string; password: string }, now = Date.now()): Promise<Session> {
    const problem = passwordProblem(spec.password);
    if (problem) throw new AccountError(problem);
    const badName = userNameProblem(spec.name);
    if (badName) throw new AccountError(badName);
    const name = spec.name.trim();
    if (!this.inviteByToken(token, now)) throw new AccountError("this invitation is unknown, used or expired: ask an admin for a new one");
    const hash = await hashPassword(spec.password);
    // Read again after the hash (a moment later): the invite may have been taken up or revoked meanwhile.
    return this.db.transaction(() => {
      const invite = this.inviteByToken(token, now);
      if (!invite) throw new AccountError("this invitation is unknown, used or expired: ask an admin for a new one");
      if (this.db.prepare("SELECT 1 FROM users WHERE tenant = ? AND email = ?").get(invite.tenant, invite.email)) throw new AccountError(`${invite.email} is a user of ${invite.tenant} already`, true);
      const user: User = { id: randomUUID(), email: invite.email, name, role: invite.role, createdAt: now };
      this.db.prepare("INSERT INTO users (id, tenant, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)").run(user.id, invite.tenant, user.email, user.name, user.role, hash, now);
      this.db.prepare("DELETE FROM invites WHERE token_sha256 = ?").run(apiTokenHash(token));
      return this.newSession(invite.tenant, user, now);
    })();
  }

  /** A session for the user with this email and password, or undefined (which of the two was wrong is not said). */
  async signIn(tenant: string, email: string, password: string, now = Date.now()): Promise<Session | undefined> {
    const user = await this.verify(tenant, email, password);
    // Read again: the user may have been removed while the password was hashed.
    return user && this.db.transaction(() => (this.user(tenant, user.id) ? this.newSession(tenant, user, now) : undefined))();
  }

  /**
   * A session for the user with this email, proven by single sign-on; an invitation to the address is
   * taken up (the user gets a password nobody knows: they sign in through the identity provider).
   */
  async ssoSignIn(tenant: string, email: string, name: string, now = Date.now()): Promise<Session | undefined> {
    const address = normalEmail(email);
    const userRow = () => this.db.prepare("SELECT * FROM users WHERE tenant = ? AND email = ?").get(tenant, address) as UserRow | undefined;
    const inviteRow = () => this.db.prepare("SELECT * FROM invites WHERE tenant = ? AND email = ? AND expires_at > ?").get(tenant, address, now) as (InviteRow & { token_sha256: string }) | undefined;
    if (!userRow() && !inviteRow()) return undefined;
    const hash = await hashPassword(newToken());
    // Read again after the hash: the user may have been removed, or the invitation taken up, meanwhile.
    return this.db.transaction(() => {
      const row = userRow();
      if (row) return this.newSession(tenant, toUser(row), now);
      const invite = inviteRow();
      if (!invite) return undefined;
      const user: User = { id: randomUUID(), email: address, name: ssoUserName(name, address), role: isRole(invite.role) ? invite.role : "readonly", createdAt: now };
      this.db.prepare("INSERT INTO users (id, tenant, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)").run(user.id, tenant, user.email, user.name, user.role, hash, now);
      this.db.prepare("DELETE FROM invites WHERE token_sha256 = ?").run(invite.token_sha256);
      return this.newSession(tenant, user, now);
    })();
  }

  /** The user with this email, if `password` is theirs. */
  async verify(tenant: string, email: string, password: string): Promise<User | undefined> {
    const row = this.db.prepare("SELECT * FROM users WHERE tenant = ? AND email = ?").get(tenant, normalEmail(String(email))) as UserRow | undefined;
    // An unknown user costs as long as a wrong password: timing does not tell which addresses exist.
    const ok = await verifyPassword(String(password), row?.password_hash ?? (await decoyHash()));
    return row && ok ? toUser(row) : undefined;
  }

  /** Ends the session (or revokes the token) this is; false if it was none of a user's. */
  signOut(token: string): boolean {
    return this.db.prepare("DELETE FROM api_tokens WHERE token_sha256 = ? AND purpose = 'session'").run(apiTokenHash(token)).changes > 0;
  }

  /** A new password; the user's other sessions end (whoever knew the old one is signed out), `keep` stays. */
  async setPassword(tenant: string, id: string, password: string, keep?: string): Promise<void> {
    const problem = passwordProblem(password);
    if (problem) throw new AccountError(problem);
    const hash = await hashPassword(password);
    this.db.transaction(() => {
      if (this.db.prepare("UPDATE users SET password_hash = ? WHERE tenant = ? AND id = ?").run(hash, tenant, id).changes === 0) throw new AccountError(`no such user in ${tenant}`);
      this.db.prepare("DELETE FROM api_tokens WHERE tenant = ? AND user_id = ? AND purpose = 'session' AND token_sha256 <> ?").run(tenant, id, keep === undefined ? "" : apiTokenHash(keep));
    })();
  }

  /** A new role; the last admin stays one (someone must be able to manage the tenant from the UI). */
  setRole(tenant: string, id: string, role: Role): User {
    return this.db.transaction(() => {
      const user = this.user(tenant, id);
      if (!user) throw new AccountError(`no such user in ${tenant}`);
      if (user.role === "admin" && role !== "admin") this.keepAnAdmin(tenant, id);
      this.db.prepare("UPDATE users SET role = ? WHERE tenant = ? AND id = ?").run(role, tenant, id);
      return { ...user, role };
    })();
  }

  /** The user gone, and with it every session and API token of theirs, at once. */
  removeUser(tenant: string, id: string): boolean {
    return this.db.transaction(() => {
      const user = this.user(tenant, id);
      if (!user) return false;
      if (user.role === "admin") this.keepAnAdmin(tenant, id);
      this.db.prepare("DELETE FROM api_tokens WHERE tenant = ? AND user_id = ?").run(tenant, id);
      this.db.prepare("DELETE FROM users WHERE tenant = ? AND id = ?").run(tenant, id);
      return true;
    })();
  }

  /** A named API token of the user's, acting with the user's role; shown once. */
  createUserToken(tenant: string, userId: string, label: string, now = Date.now()): UserToken & { token: string } {
    const bad = labelProblem(label, "what it is for: a script, a dashboard");
    if (bad) throw new AccountError(bad);
    const name = label.trim();
    return this.db.transaction(() => {
      if (!this.user(tenant, userId)) throw new AccountError(`no such user in ${tenant}`);
      if (this.userTokens(tenant, userId).length >= MAX_TOKENS_PER_USER) throw new AccountError(`a user has at most ${MAX_TOKENS_PER_USER} API tokens: revoke one first`, true);
      const out = { id: randomUUID(), label: name, createdAt: now, token: newToken() };
      this.insertCredential(out.token, tenant, userId, "user", now, undefined, out.id, name);
      return out;
    })();
  }

  userTokens(tenant: string, userId: string): UserToken[] {
    return (
      this.db.prepare("SELECT id, label, created_at FROM api_tokens WHERE tenant = ? AND user_id = ? AND purpose = 'user' ORDER BY created_at").all(tenant, userId) as { id: string; label: string; created_at: number }[]
    ).map((r) => ({ id: r.id, label: r.label, createdAt: r.created_at }));
  }

  revokeUserToken(tenant: string, userId: string, id: string): boolean {
    return this.db.prepare("DELETE FROM api_tokens WHERE tenant = ? AND user_id = ? AND purpose = 'user' AND id = ?").run(tenant, userId, id).changes > 0;
  }

  /** The tenant's ingest tokens: its first (in the tenants table) and those added since. */
  ingestTokens(tenant: string): IngestToken[] {
    const first = this.db.prepare("SELECT ingest_token, created_at FROM tenants WHERE name = ?").get(tenant) as { ingest_token: string; created_at: number } | undefined;
    if (!first) throw new AccountError(`no tenant ${tenant}`);
    const extra = this.db.prepare("SELECT token, label, created_at FROM ingest_tokens WHERE tenant = ? ORDER BY created_at").all(tenant) as { token: string; label: string; created_at: number }[];
    return [{ id: first.ingest_token, token: first.ingest_token, label: "first token", createdAt: first.created_at, primary: true }, ...extra.map((r) => ({ id: r.token, token: r.token, label: r.label, createdAt: r.created_at, primary: false }))];
  }

  /** Another ingest token (a new sender, or a rotation: add, reconfigure the senders, remove the old). */
  addIngestToken(tenant: string, label: string, now = Date.now()): IngestToken {
    const bad = labelProblem(label, "which senders use it");
    if (bad) throw new AccountError(bad);
    const name = label.trim();
    return this.db.transaction(() => {
      if (this.ingestTokens(tenant).length >= MAX_INGEST_TOKENS) throw new AccountError(`a tenant has at most ${MAX_INGEST_TOKENS} ingest tokens: remove one first`, true);
      const token = randomUUID();
      this.db.prepare("INSERT INTO ingest_tokens (token, tenant, label, created_at) VALUES (?, ?, ?, ?)").run(token, tenant, name, now);
      return { id: token, token, label: name, createdAt: now, primary: false };
    })();
  }

  /**
   * An ingest token removed: senders using it are refused from now on. The last one cannot be (a tenant
   * always has one); removing the first makes the oldest added one the first.
   */
  removeIngestToken(tenant: string, token: string): boolean {
    return this.db.transaction(() => {
      const tokens = this.ingestTokens(tenant);
      const found = tokens.find((t) => t.id === token);
      if (!found) return false;
      if (tokens.length === 1) throw new AccountError("a tenant keeps at least one ingest token: add another first", true);
      if (found.primary) {
        const next = tokens[1]!;
        this.db.prepare("DELETE FROM ingest_tokens WHERE token = ?").run(next.id);
        this.db.prepare("UPDATE tenants SET ingest_token = ? WHERE name = ?").run(next.id, tenant);
      } else {
        this.db.prepare("DELETE FROM ingest_tokens WHERE token = ? AND tenant = ?").run(token, tenant);
      }
      return true;
    })();
  }

  close(): void {
    this.db.close();
  }

  private keepAnAdmin(tenant: string, exceptId: string): void {
    const others = (this.db.prepare("SELECT COUNT(*) AS n FROM users WHERE tenant = ? AND role = 'admin' AND id <> ?").get(tenant, exceptId) as { n: number }).n;
    if (others === 0) throw new AccountError("the last admin cannot be removed or lose the role: make another user an admin first", true);
  }

  private newSession(tenant: string, user: User, now: number): Session {
    const token = newToken();
    // The oldest sessions of a user who signs in again and again (scripts) end.
    this.db
      .prepare("DELETE FROM api_tokens WHERE purpose = 'session' AND user_id = ? AND token_sha256 NOT IN (SELECT token_sha256 FROM api_tokens WHERE purpose = 'session' AND user_id = ? ORDER BY created_at DESC LIMIT ?)")
      .run(user.id, user.id, MAX_SESSIONS_PER_USER - 1);
    this.db.prepare("DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?").run(now);
    const expiresAt = now + SESSION_TTL_MS;
    this.insertCredential(token, tenant, user.id, "session", now, expiresAt, randomUUID(), null);
    return { token, expiresAt, user, tenant };
  }

  private insertCredential(token: string, tenant: string, userId: string, purpose: "session" | "user", createdAt: number, expiresAt: number | undefined, id: string, label: string | null): void {
    this.db
      .prepare("INSERT INTO api_tokens (token_sha256, tenant, purpose, created_at, expires_at, id, user_id, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(apiTokenHash(token), tenant, purpose, createdAt, expiresAt ?? null, id, userId, label);
  }
}

/** The account tables, and the users' columns of api_tokens (which TenantStore creates). */
export function ensureAccountTables(db: Database.Database): void {
  db.exec(ACCOUNT_TABLES);
  const columns = new Set((db.prepare("PRAGMA table_info(api_tokens)").all() as { name: string }[]).map((c) => c.name));
  if (columns.size === 0) return; // TenantStore makes the table, with these columns
  for (const [name, type] of API_TOKEN_USER_COLUMNS) if (!columns.has(name)) db.exec(`ALTER TABLE api_tokens ADD COLUMN ${name} ${type}`);
}

interface UserRow {
  id: string;
  tenant: string;
  email: string;
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
}

function toUser(r: UserRow): User {
  return { id: r.id, email: r.email, name: r.name, role: isRole(r.role) ? r.role : "readonly", createdAt: r.created_at };
}

interface InviteRow {
  id: string;
  tenant: string;
  email: string;
  role: string;
  created_by: string;
  created_at: number;
  expires_at: number;
}

function toInvite(r: InviteRow): Invite {
  return { id: r.id, email: r.email, role: isRole(r.role) ? r.role : "readonly", createdBy: r.created_by, createdAt: r.created_at, expiresAt: r.expires_at };
}
