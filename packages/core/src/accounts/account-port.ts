import type { Role } from "./roles";

/**
 * A tenant's users, their invitations, sessions and API tokens: what the accounts API needs of a store,
 * on one machine (`tenants.db`, packages/runtime account-store.ts) and on AWS (the configuration bucket,
 * packages/alerts object-accounts.ts). Methods may answer at once or later (SQLite is synchronous, S3 not).
 */
export interface AccountPort {
  users(tenant: string): Awaitable<User[]>;
  user(tenant: string, id: string): Awaitable<User | undefined>;
  /** An invitation for `email` as `role`; the token (for the link) only now. */
  invite(tenant: string, spec: { email: string; role: Role; by: string }): Awaitable<Invite & { token: string }>;
  invites(tenant: string): Awaitable<Invite[]>;
  revokeInvite(tenant: string, id: string): Awaitable<boolean>;
  inviteByToken(token: string): Awaitable<(Invite & { tenant: string }) | undefined>;
  /** The invitation taken up: the user made, and signed in. */
  acceptInvite(token: string, spec: { name: string; password: string }): Promise<Session>;
  /** The user, if `password` is theirs. */
  verify(tenant: string, email: string, password: string): Promise<User | undefined>;
  signIn(tenant: string, email: string, password: string): Promise<Session | undefined>;
  /**
   * A session for `email`, whose address the deployment's single sign-on proved (no password): the user's,
   * or — for a live invitation to that address — the invitation taken up, the new user named `name`.
   * Undefined: the address is neither a user of the tenant nor invited to it.
   */
  ssoSignIn(tenant: string, email: string, name: string): Promise<Session | undefined>;
  /** Ends a session; false if the token is none. */
  signOut(token: string): Awaitable<boolean>;
  /** A new password; the user's other sessions end (`keep` stays). */
  setPassword(tenant: string, id: string, password: string, keep?: string): Promise<void>;
  setRole(tenant: string, id: string, role: Role): Awaitable<User>;
  removeUser(tenant: string, id: string): Awaitable<boolean>;
  createUserToken(tenant: string, userId: string, label: string): Awaitable<UserToken & { token: string }>;
  userTokens(tenant: string, userId: string): Awaitable<UserToken[]>;
  revokeUserToken(tenant: string, userId: string, id: string): Awaitable<boolean>;
  /** The tenant's ingest tokens, where this store manages them (one machine); none: not here. */
  ingestTokens?(tenant: string): Awaitable<IngestToken[]>;
  addIngestToken?(tenant: string, label: string): Awaitable<IngestToken>;
  /** Removes the token `id` names (IngestToken.id, or the token itself). */
  removeIngestToken?(tenant: string, id: string): Awaitable<boolean>;
}

export type Awaitable<T> = T | Promise<T>;

/** Where a deployment keeps its tenants' ingest tokens apart from its users (AWS: tenants.json). */
export interface IngestTokenStore {
  list(tenant: string): Promise<IngestToken[]>;
  add(tenant: string, label: string): Promise<IngestToken>;
  remove(tenant: string, id: string): Promise<boolean>;
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: number;
}

export interface Invite {
  id: string;
  email: string;
  role: Role;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
}

/** A user's API token as listed: never the token, which is shown once. */
export interface UserToken {
  id: string;
  label: string;
  createdAt: number;
}

export interface IngestToken {
  /** What names it in the API (DELETE /apiv2/ingesttokens/ID): the token itself where it is kept, else a prefix of its SHA-256. */
  id: string;
  /** The token, where the store keeps it (one machine); a deployment's keeps only a hash: shown once, when made. */
  token?: string;
  label: string;
  createdAt: number;
  /** The tenant's first token, the one the source setup shows and `tenants add` printed. */
  primary: boolean;
}

/** A new session: the token the browser sends from now on. */
export interface Session {
  token: string;
  expiresAt: number;
  user: User;
  tenant: string;
}

/** An account operation refused, saying why: a 409 when it conflicts with what exists, else a 400. */
export class AccountError extends Error {
  override name = "AccountError";
  constructor(
    message: string,
    readonly conflict = false,
  ) {
    super(message);
  }
}

export const SESSION_TTL_MS = 30 * 24 * 3600_000;
export const INVITE_TTL_MS = 7 * 24 * 3600_000;
export const MAX_USERS_PER_TENANT = 500;
export const MAX_TOKENS_PER_USER = 20;
export const MAX_SESSIONS_PER_USER = 50;
export const MAX_INGEST_TOKENS = 20;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Why an email address cannot be a user's, or undefined. */
export function emailProblem(email: unknown): string | undefined {
  if (typeof email !== "string" || !EMAIL.test(email.trim())) return "an email address is required (name@example.com)";
  return undefined;
}

export function normalEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Why a label (of a token) cannot be used, or undefined. */
export function labelProblem(label: unknown, what: string): string | undefined {
  const name = typeof label === "string" ? label.trim() : "";
  return name === "" || name.length > 100 ? `a token's label is 1-100 characters (${what})` : undefined;
}

/** The name of a user made by single sign-on: the identity provider's, or the address's local part. */
export function ssoUserName(name: string, email: string): string {
  return userNameProblem(name) === undefined ? name.trim() : email.split("@")[0]!.slice(0, 100);
}

/** Why a user's name cannot be used, or undefined. */
export function userNameProblem(name: unknown): string | undefined {
  const n = typeof name === "string" ? name.trim() : "";
  return n === "" || n.length > 100 ? "a name of 1-100 characters is required" : undefined;
}
