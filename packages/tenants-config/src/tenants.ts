import { readFile } from "node:fs/promises";
import type { Tenant, TenantDirectory } from "@unmeltable/core";

/**
 * The tenants of an AWS deployment: a JSON array of tenants (name, tokens, tier, slice, retention) kept
 * at `UNMELTABLE_TENANTS` — an `s3://bucket/key` object or a file path — read at cold start and again
 * every minute, so a new tenant or a tier move reaches running functions within a minute.
 */
export class StaticTenantDirectory implements TenantDirectory {
  private byIngest = new Map<string, Tenant>();
  private byApi = new Map<string, Tenant>();
  private byNameMap = new Map<string, Tenant>();

  constructor(tenants: Tenant[] = []) {
    this.replace(tenants);
  }

  replace(tenants: Tenant[]): void {
    this.byIngest = new Map(tenants.map((t) => [t.ingestToken, t]));
    this.byApi = new Map(tenants.flatMap((t) => (t.apiToken ? [[t.apiToken, t] as const] : [])));
    this.byNameMap = new Map(tenants.map((t) => [t.name, t]));
  }

  byIngestToken(token: string) {
    return this.byIngest.get(token);
  }
  byApiToken(token: string) {
    return this.byApi.get(token);
  }
  byName(name: string) {
    return this.byNameMap.get(name);
  }
  list() {
    return [...this.byNameMap.values()];
  }
}

export async function readTenants(source: string): Promise<Tenant[]> {
  let text: string;
  if (source.startsWith("s3://")) {
    const [, , bucket, ...key] = source.split("/");
    const { S3Client, GetObjectCommand } = await import("@aws-sdk/client-s3");
    const out = await new S3Client({}).send(new GetObjectCommand({ Bucket: bucket, Key: key.join("/") }));
    text = await out.Body!.transformToString("utf8");
  } else {
    text = await readFile(source, "utf8");
  }
  const list = JSON.parse(text) as Partial<Tenant>[];
  if (!Array.isArray(list)) throw new Error(`${source}: expected a JSON array of tenants`);
  return list.map((t) => {
    if (!t.name || !t.ingestToken || !t.apiToken) throw new Error(`${source}: every tenant needs name, ingestToken and apiToken`);
    return { tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0, ...t } as Tenant;
  });
}

/** A directory loaded now and refreshed in the background (a failed refresh keeps the last good list). */
export async function loadTenantDirectory(source: string, refreshMs = 60_000): Promise<StaticTenantDirectory> {
  const dir = new StaticTenantDirectory(await readTenants(source));
  const timer = setInterval(() => {
    readTenants(source).then(
      (t) => dir.replace(t),
      () => undefined,
    );
  }, refreshMs);
  timer.unref();
  return dir;
}

/** Changes one tenant in the tenants config (read, modify, write back), e.g. its slice length. */
export async function updateTenant(source: string, name: string, changes: Partial<Tenant>): Promise<void> {
  const list = await readTenants(source);
  const t = list.find((x) => x.name === name);
  if (!t) throw new Error(`${source}: no tenant ${name}`);
  Object.assign(t, changes);
  const body = `${JSON.stringify(list, null, 2)}\n`;
  if (source.startsWith("s3://")) {
    const [, , bucket, ...key] = source.split("/");
    const { S3Client, PutObjectCommand } = await import("@aws-sdk/client-s3");
    await new S3Client({}).send(new PutObjectCommand({ Bucket: bucket, Key: key.join("/"), Body: body, ContentType: "application/json" }));
  } else {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(source, body);
  }
}
