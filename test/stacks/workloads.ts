/**
 * The three workloads the stack tests size a production stage for (issue 14: a small one, 10k and
 * 100k events/s; Loggly's range is 10 to 100,000+ events/s per tenant). Each runs in its own test file
 * (one stage per file: the Pulumi mocks belong to the worker).
 */
import { tieredWorkload, type Workload } from "@unmeltable/sizing";
import { PROD_WORKLOAD, STAGE_QUOTAS, STAGES } from "../../stacks/config";

export const WORKLOADS: Record<"small" | "10k" | "100k", Workload> = {
  small: tieredWorkload({ tiers: { default: { tenants: 10, eventsPerSecond: 10 } }, peakEventsPerSecond: 200, retentionDays: 30, archiveDays: 400 }),
  // Production's own declared workload (10,000 events/s of 500 B, 30 days).
  "10k": PROD_WORKLOAD,
  "100k": tieredWorkload({
    tiers: { default: { tenants: 9_000, eventsPerSecond: 5 }, bulk: { tenants: 11, eventsPerSecond: 5_000 } },
    peakEventsPerSecond: 200_000,
    retentionDays: 30,
    archiveDays: 400,
  }),
};

/**
 * Declares a production stage like `prod` (its two regions) sized for the workload, with the quotas its
 * account would have been raised to (a 100k events/s stage needs more Elastic IPs than AWS's default 5).
 */
export function declareWorkloadStage(name: string, workload: Workload): void {
  STAGES[name] = { ...STAGES.prod, workload, domain: undefined };
  STAGE_QUOTAS[name] = { elasticIpsPerRegion: { "eu-west-1": 30, "us-east-1": 30 }, lambdaConcurrency: 2_000 };
}
