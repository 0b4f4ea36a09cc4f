import type { IndexPort, SliceAdmin, TenantDirectory } from "@unmeltable/core";
import { openSearchIndexForTiers } from "@unmeltable/index-opensearch";

/** The OpenSearch index from the environment: one domain per tier (UNMELTABLE_OPENSEARCH_ENDPOINTS). */
export function openSearchFromEnv(env: NodeJS.ProcessEnv, tenants: TenantDirectory): IndexPort & SliceAdmin {
  let endpoints: Record<string, string>;
  try {
    endpoints = JSON.parse(env.UNMELTABLE_OPENSEARCH_ENDPOINTS ?? "") as Record<string, string>;
  } catch {
    throw new Error('UNMELTABLE_OPENSEARCH_ENDPOINTS must be a JSON object of tier → endpoint, e.g. {"default":"https://search-..."}');
  }
  return openSearchIndexForTiers({ endpoints, tenants, region: env.AWS_REGION, tier: env.UNMELTABLE_TIER });
}
