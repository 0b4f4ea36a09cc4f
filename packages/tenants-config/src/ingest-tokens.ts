import { randomUUID } from "node:crypto";
import { AccountError, labelProblem, MAX_INGEST_TOKENS, type IngestToken, type IngestTokenStore } from "@unmeltable/core";
import { deploymentTiers, readTenants, tokenSha256, updateTenants } from "./tenants";

/** How a token kept as a hash is named in the API: the first 16 hex digits of its SHA-256 (64 bits). */
function idOf(sha256: string): string {
  return sha256.slice(0, 16);
}

/**
 * A deployment's ingest tokens, managed from the UI and `/apiv2/ingesttokens`: kept in its tenants.json
 * (the first in `ingestTokenSha256`, the added ones in `extraIngestTokens`), each change one conditional
 * write (updateTenants: If-Match on S3's ETag, re-applied after a conflict). Only hashes are written: a new
 * token is shown once, in the answer that made it. The collectors and functions read the file again every
 * 30 s, so a token added or removed works, or stops, within a minute.
 */
export class TenantsConfigIngestTokens implements IngestTokenStore {
  constructor(
    private readonly source: string,
    private readonly now: () => number = Date.now,
  ) {}

  async list(tenant: string): Promise<IngestToken[]> {
    const t = (await readTenants(this.source, deploymentTiers())).find((x) => x.name === tenant);
    if (!t) throw new AccountError(`no tenant ${tenant} in ${this.source}`);
    const first = t.ingestTokenSha256 ?? tokenSha256(t.ingestToken!);
    return [
      { id: idOf(first), ...(t.ingestToken !== undefined ? { token: t.ingestToken } : {}), label: "first token", createdAt: t.createdAt, primary: true },
      ...(t.extraIngestTokens ?? []).map((x) => ({ id: idOf(x.sha256), label: x.label, createdAt: x.createdAt, primary: false })),
    ];
  }

  async add(tenant: string, label: string): Promise<IngestToken> {
    const bad = labelProblem(label, "which senders use it");
    if (bad) throw new AccountError(bad);
    const token = randomUUID();
    const made = { sha256: tokenSha256(token), label: label.trim(), createdAt: this.now() };
    await updateTenants(
      this.source,
      (find) => {
        const entry = find(tenant);
        if (!entry) throw new AccountError(`no tenant ${tenant} in ${this.source}`);
        const extras = (entry.extraIngestTokens ?? []) as (typeof made)[];
        if (extras.some((x) => x.sha256 === made.sha256)) return; // this very change, applied before a conflict
        if (1 + extras.length >= MAX_INGEST_TOKENS) throw new AccountError(`a tenant has at most ${MAX_INGEST_TOKENS} ingest tokens: remove one first`, true);
        entry.extraIngestTokens = [...extras, made];
      },
      5,
      `the ingest tokens of ${tenant}`,
    );
    return { id: idOf(made.sha256), token, label: made.label, createdAt: made.createdAt, primary: false };
  }

  /**
   * Removes the token `id` names (its id, or the token itself). The last one cannot go (a tenant always
   * has one); removing the first makes the oldest added one the first.
   */
  async remove(tenant: string, id: string): Promise<boolean> {
    if (typeof id !== "string" || id.length === 0 || id.length > 256) return false;
    const hashOfId = tokenSha256(id);
    const names = (sha256: string) => idOf(sha256) === id || sha256 === hashOfId;
    let removed = false;
    await updateTenants(
      this.source,
      (find) => {
        removed = false;
        const entry = find(tenant);
        if (!entry) return;
        const extras = [...((entry.extraIngestTokens ?? []) as { sha256: string }[])];
        const first = (entry.ingestTokenSha256 as string | undefined) ?? tokenSha256(entry.ingestToken as string);
        if (names(first)) {
          const next = extras.shift();
          if (!next) throw new AccountError("a tenant keeps at least one ingest token: add another first", true);
          delete entry.ingestToken;
          entry.ingestTokenSha256 = next.sha256;
        } else {
          const at = extras.findIndex((x) => names(x.sha256));
          if (at < 0) return;
          extras.splice(at, 1);
        }
        removed = true;
        if (extras.length > 0) entry.extraIngestTokens = extras;
        else delete entry.extraIngestTokens;
      },
      5,
      `the ingest tokens of ${tenant}`,
    );
    return removed;
  }
}
