import { randomBytes, randomUUID } from "node:crypto";
import { validateTenantName } from "@unmeltable/core";
import { tokenSha256, updateTenants } from "@unmeltable/tenants-config";

/**
 * Tenants of an AWS deployment, in its tenants.json (S3 or a file): created and given new tokens with
 * ONE conditional write each (updateTenants: validated, If-Match on S3's ETag, re-applied after a
 * conflict). The config keeps only the tokens' SHA-256 (`ingestTokenSha256`, `apiTokenSha256`): every
 * function and collector can read the file, none can learn a token from it. The tokens are printed
 * once, here.
 */
export interface NewTokens {
  name: string;
  ingestToken?: string;
  apiToken?: string;
}

/** An API token: 32 characters of base64url (192 bits), as the single-machine store makes them. */
export function newApiToken(): string {
  return randomBytes(24).toString("base64url");
}

export async function addRemoteTenant(source: string, name: string, opts: { tier?: string; retentionDays?: number; partitionSpread?: number } = {}): Promise<Required<NewTokens>> {
  const problem = validateTenantName(name);
  if (problem) throw new Error(`tenant "${name}": ${problem}`);
  const tokens = { name, ingestToken: randomUUID(), apiToken: newApiToken() };
  await updateTenants(source, (find, entries) => {
    if (find(name)) throw new Error(`${source}: tenant ${name} exists already (new tokens: unmeltable aws tenants rotate-token ${name})`);
    entries.push({
      name,
      ingestTokenSha256: tokenSha256(tokens.ingestToken),
      apiTokenSha256: tokenSha256(tokens.apiToken),
      ...(opts.tier !== undefined ? { tier: opts.tier } : {}),
      ...(opts.retentionDays !== undefined ? { retentionDays: opts.retentionDays } : {}),
      ...(opts.partitionSpread !== undefined ? { partitionSpread: opts.partitionSpread } : {}),
      createdAt: Date.now(),
    });
  }, 5, `tenant ${name}`);
  return tokens;
}

/**
 * New tokens for a tenant: its API token, its ingest token, or both; the old ones stop working as soon
 * as the functions and collectors reload the config (within a minute). A tenant kept with plain tokens
 * gets hashes from now on.
 */
export async function rotateRemoteTokens(source: string, name: string, which: { api: boolean; ingest: boolean }): Promise<NewTokens> {
  const out: NewTokens = { name, ...(which.api ? { apiToken: newApiToken() } : {}), ...(which.ingest ? { ingestToken: randomUUID() } : {}) };
  await updateTenants(source, (find) => {
    const entry = find(name);
    if (!entry) throw new Error(`${source}: no tenant ${name}`);
    if (out.apiToken) {
      delete entry.apiToken;
      entry.apiTokenSha256 = tokenSha256(out.apiToken);
    }
    if (out.ingestToken) {
      delete entry.ingestToken;
      entry.ingestTokenSha256 = tokenSha256(out.ingestToken);
    }
  }, 5, `tenant ${name}`);
  return out;
}

/** The entries of a tenants.json that keep a token in plain text (`tenants validate` warns of them). */
export function plainTokenWarnings(tenants: { name: string; ingestToken?: string; apiToken?: string }[]): string[] {
  return tenants.flatMap((t) => [
    ...(t.apiToken !== undefined ? [`tenant ${t.name}: its API token is kept in plain text; keep only apiTokenSha256 (unmeltable aws tenants rotate-token ${t.name})`] : []),
    ...(t.ingestToken !== undefined ? [`tenant ${t.name}: its ingest token is kept in plain text; keep only ingestTokenSha256 (unmeltable aws tenants rotate-token ${t.name} --ingest)`] : []),
  ]);
}
