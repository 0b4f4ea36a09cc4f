import { api, FormFailed } from "./api";

/** The accounts API as the UI uses it (docs/api.md, "Users and sign-in"). */
export type Role = "admin" | "member" | "readonly";
export const ROLE_NAMES: Record<Role, string> = { admin: "Admin", member: "Member", readonly: "Read-only" };
export const ROLE_HELP: Record<Role, string> = {
  admin: "everything, and manages users and ingest tokens",
  member: "searches, and makes saved searches, alerts, dashboards and derived fields",
  readonly: "searches and looks; changes nothing",
};

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

export interface InviteView {
  id: string;
  email: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
}

export interface Me {
  account: string;
  role: Role;
  user: UserView | null;
  session: boolean;
}

export interface TokenView {
  id: string;
  label: string;
  createdAt: string;
}

export interface IngestTokenView {
  /** What removes it (DELETE /apiv2/ingesttokens/ID). */
  id: string;
  /** Absent where the deployment keeps only its hash (AWS): shown once, when made. */
  token?: string;
  label: string;
  createdAt: string;
  primary: boolean;
}

/** A request whose refusal is shown by field (FormFailed). */
export async function formCall<T>(path: string, method: string, json?: unknown): Promise<T> {
  try {
    return await api<T>(path, { method, json });
  } catch (err) {
    throw new FormFailed(err);
  }
}

export const loadMe = (signal: AbortSignal) => api<Me>("/apiv2/me", { signal });
export const loadUsers = (signal: AbortSignal) => api<{ users: UserView[]; invites: InviteView[] }>("/apiv2/users", { signal });
export const loadTokens = (signal: AbortSignal) => api<{ tokens: TokenView[] }>("/apiv2/me/tokens", { signal }).then((b) => b.tokens);
export const loadIngestTokens = (signal: AbortSignal) => api<{ tokens: IngestTokenView[] }>("/apiv2/ingesttokens", { signal }).then((b) => b.tokens);

/** An invite's link on this server (the UI's own address: the one the invitee can reach too). */
export function inviteLink(token: string): string {
  return `${location.origin}${location.pathname}#/invite/${token}`;
}
