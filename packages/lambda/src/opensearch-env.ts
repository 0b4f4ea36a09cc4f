import type { IndexPort, TenantDirectory } from "@unmeltable/core";

/** The OpenSearch index from the environment: one domain per tier (UNMELTABLE_OPENSEARCH_ENDPOINTS). */
export async function openSearchFromEnv(env: NodeJS.ProcessEnv, tenants: TenantDirectory): Promise<IndexPort> {
  const endpoints = JSON.parse(env.UNMELTABLE_OPENSEARCH_ENDPOINTS ?? "{}") as Record<string, string>;
  const mod = (await import("@unmeltable/index-opensearch")) as Record<string, unknown>;
  const factory = mod.openSearchIndexForTiers as ((o: { endpoints: Record<string, string>; region?: string; tenants: TenantDirectory; tier?: string }) => IndexPort) | undefined;
  if (!factory) throw new Error("the OpenSearch adapter is not available in this build");
  return factory({ endpoints, region: env.AWS_REGION, tenants, tier: env.UNMELTABLE_TIER });
}
