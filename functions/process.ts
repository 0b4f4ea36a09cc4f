/**
 * The process stage on AWS: an MSK event-source mapping on the `raw` topic. Raw batches in, parsed
 * Loggly events out to `processed.<tier>` of each tenant's tier (packages/core/src/stages/process-stage.ts);
 * the events of a tenant over its plan, beyond it, to `deferred.<tier>` (docs/plans.md).
 */
import { CachedRuleSource, createProcessStage, errorFields, PlanMeter } from "@unmeltable/core";
import { appLogger, derivedRuleStore, functionEnv, stageHandler, tenantDirectory } from "@unmeltable/lambda";

const env = functionEnv("process"); // the whole environment checked at cold start, before the first batch
const tenants = await tenantDirectory();

/** How long a container keeps a tenant's derived-field rules before reading them from the bucket again. */
export const DERIVED_RULES_TTL_MS = 60_000;
// Tenants' derived-field rules, from the configuration bucket where the search API keeps them. A bucket
// that cannot be read leaves the rules last read: events are never held back for a rule.
const derived = env.UNMELTABLE_ALERTS
  ? new CachedRuleSource(derivedRuleStore(), { ttlMs: DERIVED_RULES_TTL_MS, onError: (tenant, err) => appLogger.warn("derived fields: cannot read a tenant's rules", { tenant, ...errorFields(err) }) })
  : undefined;

// Each container meters the share of a tenant's plan its raw partitions carry: a tenant's batches are
// spread over `partitionSpread` partitions, each read by one invocation at a time (docs/plans.md).
const plans = new PlanMeter({
  planOf: (name) => tenants.byName(name)?.plan,
  shareOf: (name) => 1 / Math.max(1, tenants.byName(name)?.partitionSpread ?? 1),
  onChange: (c) =>
    c.over
      ? appLogger.warn("tenant over its plan: its excess events go to the deferred path", { tenant: c.tenant, reason: c.reason, plan: c.plan, dayBytes: c.dayBytes })
      : appLogger.info("tenant back within its plan", { tenant: c.tenant, reason: c.reason, plan: c.plan, dayBytes: c.dayBytes }),
});
setInterval(() => plans.tick(), 5_000).unref();

export const handler = stageHandler({
  stage: createProcessStage({
    tierOf: (name) => tenants.byName(name)?.tier ?? "default",
    // A big tenant's processed records go to `partitionSpread` partitions of its tier's topic, as on raw.
    spreadOf: (name) => tenants.byName(name)?.partitionSpread ?? 1,
    // UNMELTABLE_PLANS=off: every event on the regular path (plans not applied).
    plans: process.env.UNMELTABLE_PLANS === "off" ? undefined : plans,
    derived,
  }),
  stageName: "process",
});
