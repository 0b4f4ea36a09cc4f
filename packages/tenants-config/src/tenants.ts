import { createHash } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { z } from "zod";
import { describeIssue, issuePath, sliceStart, validateTenantName, type Tenant, type TenantDirectory } from "@unmeltable/core";

/**
 * The tenants of an AWS deployment: a JSON array of tenants (name, tokens, tier, slice, retention) kept
 * at `UNMELTABLE_TENANTS` — an `s3://bucket/key` object or a file path — read at cold start and again
 * every 30 seconds, so a new tenant or a tier move reaches running functions within a minute.
 *
 * The file is checked against a schema wherever it is read (and by `unmeltable tenants validate FILE`,
 * which ops run before uploading): a mistyped field or tier is refused with its place in the file,
 * instead of sending a tenant's events to a topic that does not exist. A refresh that fails the check
 * keeps the last good list. Each problem names its place and the tenant, in words core's describeIssue
 * gives every configuration boundary: `[3].retentionDays: expected a whole number from 1 to 3650, got 0
 * (tenant acme)`.
 */
/** Longer than any token (UUIDs, 32-character API tokens): not hashed, not found. */
const MAX_TOKEN_CHARS = 256;
const MAX_SEEN_TOKENS = 100_000;

/** The hex SHA-256 a tenants config keeps instead of a token (`ingestTokenSha256`, `apiTokenSha256`). */
export function tokenSha256(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * The tenants of a deployment, looked up by token and name, whose list is replaced whole each time its
 * source is read again (loadTenantDirectory: every TENANTS_REFRESH_MS) — never a fixed list.
 */
export class ReloadingTenantDirectory implements TenantDirectory {
  private byIngest = new Map<string, Tenant>();
  private byIngestHash = new Map<string, Tenant>();
  private byApi = new Map<string, Tenant>();
  private byApiHash = new Map<string, Tenant>();
  private byNameMap = new Map<string, Tenant>();
  /**
   * Hashed ingest tokens already seen, by token: a collector looks a token up for every message, and
   * a SHA-256 per message would cost more than the parse. Bounded (a flood of made-up tokens is never
   * cached: only tokens that matched) and emptied on every replace, so a removed tenant stops at once.
   */
  private seenIngest = new Map<string, Tenant>();

  constructor(tenants: Tenant[] = []) {
    this.replace(tenants);
  }

  replace(tenants: Tenant[]): void {
    this.byIngest = new Map(tenants.flatMap((t) => (t.ingestToken ? [[t.ingestToken, t] as const] : [])));
    this.byIngestHash = new Map(tenants.flatMap((t) => [...(t.ingestTokenSha256 ? [t.ingestTokenSha256] : []), ...(t.extraIngestTokens ?? []).map((x) => x.sha256)].map((h) => [h, t] as const)));
    this.byApi = new Map(tenants.flatMap((t) => (t.apiToken ? [[t.apiToken, t] as const] : [])));
    this.byApiHash = new Map(tenants.flatMap((t) => (t.apiTokenSha256 ? [[t.apiTokenSha256, t] as const] : [])));
    this.byNameMap = new Map(tenants.map((t) => [t.name, t]));
    this.seenIngest = new Map();
  }

  byIngestToken(token: string) {
    const plain = this.byIngest.get(token) ?? this.seenIngest.get(token);
    if (plain || this.byIngestHash.size === 0 || typeof token !== "string" || token.length > MAX_TOKEN_CHARS) return plain;
    const hashed = this.byIngestHash.get(tokenSha256(token));
    if (hashed && this.seenIngest.size < MAX_SEEN_TOKENS) this.seenIngest.set(token, hashed);
    return hashed;
  }
  byApiToken(token: string) {
    const plain = this.byApi.get(token);
    if (plain || this.byApiHash.size === 0 || typeof token !== "string" || token.length > MAX_TOKEN_CHARS) return plain;
    return this.byApiHash.get(tokenSha256(token));
  }
  byName(name: string) {
    return this.byNameMap.get(name);
  }
  list() {
    return [...this.byNameMap.values()];
  }
}

const TIER_NAME = z.string().regex(/^[a-z][a-z0-9-]*$/, "a tier name is lowercase letters, digits and hyphens");

/**
 * One placement of a tenant's OpenSearch layout (packages/index-opensearch/README.md): from a boundary
 * of its slice, pooled (day slices, shared indices) or dedicated (its own indices, `shards` primaries).
 */
export const PLACEMENT = z
  .object({
    from: z.number().int(),
    layout: z.enum(["pooled", "dedicated"]),
    slice: z.enum(["hour", "day", "week"]),
    shards: z.number().int().min(1).max(1024).optional(),
    tier: TIER_NAME.optional(),
    /** The tenant's retention when the placement was made (the lifecycle records it). */
    retentionDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict()
  .refine((p) => p.layout === "dedicated" || p.slice === "day", { message: "pooled indices are day slices" })
  .refine((p) => sliceStart(p.from, p.slice) === p.from, { message: "a placement starts at a boundary of its slice" });

const SHA256_HEX = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 is 64 lowercase hexadecimal digits (sha256sum of the token, without a newline)");

/** A tenant's retention when its entry names none. */
export const DEFAULT_RETENTION_DAYS = 30;

/** One entry of tenants.json. Unknown fields are refused: a misspelt `tier` must not pass unnoticed. */
export const TENANT_ENTRY = z
  .object({
    name: z.string().refine((n) => validateTenantName(n) === undefined, { message: validateTenantName("!") }),
    /** The ingest token, or (better) only its hex SHA-256 in `ingestTokenSha256`: one of the two. */
    ingestToken: z.string().min(8, "an ingest token has at least 8 characters").optional(),
    ingestTokenSha256: SHA256_HEX.optional(),
    /** More ingest tokens, as their SHA-256 (added from the UI or `/apiv2/ingesttokens`): senders may use any. */
    extraIngestTokens: z
      .array(z.object({ sha256: SHA256_HEX, label: z.string().trim().min(1).max(100), createdAt: z.number().int().min(0) }).strict())
      .max(19, "a tenant has at most 20 ingest tokens")
      .optional(),
    /** The API token, or (better) only its hex SHA-256 in `apiTokenSha256`: one of the two. */
    apiToken: z.string().min(1).optional(),
    apiTokenSha256: SHA256_HEX.optional(),
    /** Index tier: one of the deployment's tiers (stacks/config.ts, TIERS). */
    tier: TIER_NAME.default("default"),
    /** Partitions of `raw` and of `processed.<tier>` the tenant's records are spread over. */
    partitionSpread: z.number().int().min(1).max(1000).default(1),
    slice: z.enum(["hour", "day", "week"]).default("day"),
    retentionDays: z.number().int().min(1).max(3650).default(DEFAULT_RETENTION_DAYS),
    createdAt: z.number().int().min(0).default(0),
    /** The tenant's OpenSearch layout over time, ordered by `from`; none: pooled from the beginning. */
    placements: z
      .array(PLACEMENT)
      .max(1000)
      .refine((ps) => ps.every((p, k) => k === 0 || ps[k - 1]!.from < p.from), { message: "placements are ordered by from, each later than the one before" })
      .optional(),
    /** The tenant's plan (core's Plan); none: unlimited. */
    plan: z
      .object({
        bytesPerDay: z.number().int().min(1).max(1e15),
        eventsPerSecond: z.number().positive().max(1e8),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((t) => (t.ingestToken === undefined) !== (t.ingestTokenSha256 === undefined), { message: "give ingestToken or ingestTokenSha256 (one of the two)", path: ["ingestToken"] })
  .refine((t) => (t.apiToken === undefined) !== (t.apiTokenSha256 === undefined), { message: "give apiToken or apiTokenSha256 (one of the two)", path: ["apiToken"] });

export class TenantsConfigError extends Error {
  override name = "TenantsConfigError";
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n  ${problems.join("\n  ")}`);
  }
}

/**
 * The tenants in a tenants.json text, checked: the schema per entry, names and tokens unique, and — when
 * the deployment's tiers are known (`UNMELTABLE_TIERS` in every function) — every tier one of them.
 */
export function parseTenants(text: string, source: string, tiers?: readonly string[]): Tenant[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TenantsConfigError(source, [`not JSON: ${(err as Error).message}`]);
  }
  if (!Array.isArray(data)) throw new TenantsConfigError(source, ["expected a JSON array of tenants"]);
  const problems: string[] = [];
  const valid: { t: Tenant; i: number }[] = [];
  data.forEach((entry, i) => {
    const r = TENANT_ENTRY.safeParse(entry, { error: describeIssue });
    if (!r.success) {
      const who = tenantOf(entry);
      for (const issue of r.error.issues) problems.push(`[${i}]${issue.path.length > 0 ? `.${issuePath(issue.path)}` : ""}: ${issue.message}${who}`);
      return;
    }
    valid.push({ t: r.data, i });
  });
  // A token and a hash of the same token are the same credential: compared as hashes.
  const seen = { name: new Map<string, number>(), ingestToken: new Map<string, number>(), apiToken: new Map<string, number>() };
  valid.forEach(({ t, i }) => {
    const values = { name: t.name, ingestToken: t.ingestTokenSha256 ?? tokenSha256(t.ingestToken!), apiToken: t.apiTokenSha256 ?? tokenSha256(t.apiToken!) };
    for (const key of ["name", "ingestToken", "apiToken"] as const) {
      const v = values[key];
      const first = seen[key].get(v);
      if (first !== undefined) problems.push(`[${i}].${key}: the same as tenant [${first}]'s`);
      else seen[key].set(v, i);
    }
    // Every ingest token, the first and the added ones, is one credential of one tenant.
    (t.extraIngestTokens ?? []).forEach((x, k) => {
      const first = seen.ingestToken.get(x.sha256);
      if (first !== undefined) problems.push(`[${i}].extraIngestTokens.${k}: the same token as ${first === i ? "another of this tenant's" : `tenant [${first}]'s`}`);
      else seen.ingestToken.set(x.sha256, i);
    });
    if (tiers && !tiers.includes(t.tier)) problems.push(`[${i}].tier: "${t.tier}" is not a tier of this deployment (${tiers.join(", ")}); deploy the tier first (tenant ${t.name})`);
    (t.placements ?? []).forEach((p, k) => {
      if (tiers && p.tier !== undefined && !tiers.includes(p.tier)) problems.push(`[${i}].placements.${k}.tier: "${p.tier}" is not a tier of this deployment (${tiers.join(", ")}) (tenant ${t.name})`);
    });
  });
  if (problems.length > 0) throw new TenantsConfigError(source, problems);
  return valid.map((v) => v.t);
}

/** " (tenant acme)" after a problem of an entry whose name is valid: the place alone is easy to misread in a long file. */
function tenantOf(entry: unknown): string {
  const name = (entry as { name?: unknown } | null)?.name;
  return typeof name === "string" && validateTenantName(name) === undefined ? ` (tenant ${name})` : "";
}

/** The deployment's tiers, from the environment every function gets (UNMELTABLE_TIERS=default,bulk). */
export function deploymentTiers(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const list = (env.UNMELTABLE_TIERS ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

export async function readTenants(source: string, tiers: readonly string[] | undefined = deploymentTiers()): Promise<Tenant[]> {
  return parseTenants((await readSource(source)).text, source, tiers);
}

/**
 * How often functions and collectors read tenants.json again: a change made by ops (`unmeltable aws
 * tenants set`) applies within a minute, this plus the read. Two small GETs a minute per process.
 */
export const TENANTS_REFRESH_MS = 30_000;

/** A directory loaded now and refreshed in the background (a failed refresh keeps the last good list). */
export async function loadTenantDirectory(source: string, refreshMs = TENANTS_REFRESH_MS, onRefreshError: (err: Error) => void = logRefreshError): Promise<ReloadingTenantDirectory> {
  const dir = new ReloadingTenantDirectory(await readTenants(source));
  const timer = setInterval(() => {
    readTenants(source).then(
      (t) => dir.replace(t),
      (err: Error) => onRefreshError(err),
    );
  }, refreshMs);
  timer.unref();
  return dir;
}

function logRefreshError(err: Error): void {
  process.stderr.write(`tenants config not reloaded, the last good one stays in use: ${err.message}\n`);
}

/**
 * Changes one tenant in the tenants config, e.g. its slice length (the lifecycle job). Ops may upload the
 * file at the same moment: the write is conditional on the version read (S3 If-Match on the ETag; for a
 * file, its content), and on a conflict the file is read again and the change applied to what is there
 * now. Only that tenant's given fields change; the rest of the file stays as it was written.
 */
export async function updateTenant(source: string, name: string, changes: Partial<Tenant>, attempts = 5): Promise<void> {
  await updateTenants(source, (find) => {
    const entry = find(name);
    if (!entry) throw new Error(`${source}: no tenant ${name}`);
    Object.assign(entry, changes);
  }, attempts, `tenant ${name}`);
}

/**
 * Changes several tenants with ONE conditional write (the lifecycle job's placements of a run): `apply`
 * gets a lookup of the entries as written and changes them in place; it runs again on what is there now
 * after a conflict, so it must derive its changes from the entries it is given (e.g. append a placement
 * only when the last one differs). Tenants it cannot find are its to skip.
 */
export async function updateTenants(
  source: string,
  apply: (find: (name: string) => Record<string, unknown> | undefined, entries: Record<string, unknown>[]) => void,
  attempts = 5,
  what = "tenants",
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await readSource(source);
    parseTenants(current.text, source); // never build on a file that fails the schema
    const list = JSON.parse(current.text) as Record<string, unknown>[];
    const byName = new Map(list.map((x) => [x.name as string, x]));
    const before = JSON.stringify(list);
    apply((name) => byName.get(name), list);
    // Nothing to change (another writer did it already, or a run saw a stale directory): no write.
    if (JSON.stringify(list) === before) return;
    const body = `${JSON.stringify(list, null, 2)}\n`;
    parseTenants(body, source); // nor write one
    if (await writeIfUnchanged(source, body, current)) return;
    if (attempt >= attempts) throw new Error(`${source}: changed by someone else ${attempts} times while updating ${what}; try again`);
  }
}

interface Version {
  text: string;
  /** S3's ETag of the object read. */
  etag?: string;
}

function s3Location(source: string): { bucket: string; key: string } | undefined {
  if (!source.startsWith("s3://")) return undefined;
  const [, , bucket, ...key] = source.split("/");
  return { bucket: bucket!, key: key.join("/") };
}

async function s3Client() {
  const { S3Client } = await import("@aws-sdk/client-s3");
  // UNMELTABLE_S3_ENDPOINT: an S3-compatible endpoint instead of AWS's (path-style), as for the archive.
  const endpoint = process.env.UNMELTABLE_S3_ENDPOINT;
  return new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
}

async function readSource(source: string): Promise<Version> {
  const s3 = s3Location(source);
  if (!s3) return { text: await readFile(source, "utf8") };
  const { GetObjectCommand } = await import("@aws-sdk/client-s3");
  const out = await (await s3Client()).send(new GetObjectCommand({ Bucket: s3.bucket, Key: s3.key }));
  return { text: await out.Body!.transformToString("utf8"), etag: out.ETag };
}

/** Writes `body` only if the source is still the version read; false when it changed meanwhile. */
async function writeIfUnchanged(source: string, body: string, read: Version): Promise<boolean> {
  const s3 = s3Location(source);
  if (!s3) {
    const tmp = `${source}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    if ((await readFile(source, "utf8")) !== read.text) {
      await unlink(tmp);
      return false;
    }
    await rename(tmp, source);
    return true;
  }
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  try {
    await (await s3Client()).send(new PutObjectCommand({ Bucket: s3.bucket, Key: s3.key, Body: body, ContentType: "application/json", IfMatch: read.etag }));
    return true;
  } catch (err) {
    // 412: the object is no longer the version read; 409: a concurrent conditional write won.
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 412 || status === 409) return false;
    throw err;
  }
}
