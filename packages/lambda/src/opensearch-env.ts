import type { IndexPort, SliceAdmin, TenantDirectory } from "@unmeltable/core";
import { openSearchIndexForTiers, type TieredIndex, type TieredOptions } from "@unmeltable/index-opensearch";

/**
 * The OpenSearch index from the environment: one domain per tier (UNMELTABLE_OPENSEARCH_ENDPOINTS), each
 * tier's template settings (UNMELTABLE_OPENSEARCH_INDEX_SETTINGS={"default":{"replicas":1,"analysis":"icu"}}).
 */
export function openSearchFromEnv(env: NodeJS.ProcessEnv, tenants: TenantDirectory): IndexPort & SliceAdmin & Pick<TieredIndex, "layoutLifecycle"> {
  let endpoints: Record<string, string>;
  try {
    endpoints = JSON.parse(env.UNMELTABLE_OPENSEARCH_ENDPOINTS ?? "") as Record<string, string>;
  } catch {
    throw new Error('UNMELTABLE_OPENSEARCH_ENDPOINTS must be a JSON object of tier → endpoint, e.g. {"default":"https://search-..."}');
  }
  let tierSettings: TieredOptions["tierSettings"];
  try {
    tierSettings = env.UNMELTABLE_OPENSEARCH_INDEX_SETTINGS ? (JSON.parse(env.UNMELTABLE_OPENSEARCH_INDEX_SETTINGS) as TieredOptions["tierSettings"]) : undefined;
  } catch {
    throw new Error('UNMELTABLE_OPENSEARCH_INDEX_SETTINGS must be a JSON object of tier → settings, e.g. {"default":{"replicas":1,"analysis":"icu"}}');
  }
  return openSearchIndexForTiers({ endpoints, tenants, region: env.AWS_REGION, tier: env.UNMELTABLE_TIER, tierSettings });
}
