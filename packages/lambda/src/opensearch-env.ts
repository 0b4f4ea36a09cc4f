import type { IndexPort, SliceAdmin, TenantDirectory } from "@unmeltable/core";
import { openSearchIndexForTiers, type TieredIndex } from "@unmeltable/index-opensearch";
import type { INDEX_ENV } from "./function-env";
import type { z } from "zod";

/**
 * The OpenSearch index from the environment, checked by INDEX_ENV (function-env.ts): one domain per tier
 * (UNMELTABLE_OPENSEARCH_ENDPOINTS), each tier's template settings
 * (UNMELTABLE_OPENSEARCH_INDEX_SETTINGS={"default":{"replicas":1,"analysis":"icu"}}).
 */
export function openSearchFromEnv(env: z.output<typeof INDEX_ENV>, region: string | undefined, tenants: TenantDirectory): IndexPort & SliceAdmin & Pick<TieredIndex, "layoutLifecycle"> {
  // INDEX_ENV refuses UNMELTABLE_INDEX=opensearch without endpoints.
  const endpoints = env.UNMELTABLE_OPENSEARCH_ENDPOINTS ?? {};
  return openSearchIndexForTiers({ endpoints, tenants, region, tier: env.UNMELTABLE_TIER, tierSettings: env.UNMELTABLE_OPENSEARCH_INDEX_SETTINGS });
}
