/**
 * Operating staging (a shared stage): the same alarms as production with its own thresholds, no yellow
 * alarm on its one-node domains, no email subscription unless UNMELTABLE_OPS_EMAIL is set, and its
 * mapped stages capped to fit its small brokers' IAM connection rate.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ALARM_THRESHOLDS, checkQuotas, DEFERRED, KAFKA_CONNECT_WINDOW_SECONDS, MSK_IAM_CONNECTIONS_PER_SECOND, mskConnectionBurst, resolveStage, SEARCH_RESERVED, SHARED_STAGE_CAPS, tiersFor } from "../../stacks/config";
import { byType, componentsOf, runApp, T } from "./harness";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const cfg = resolveStage("staging", {});

beforeAll(async () => {
  delete process.env.UNMELTABLE_OPS_EMAIL;
  await runApp({ stage: "staging" });
});

describe("staging: alarms", () => {
  it("a topic and its us-east-1 twin, no subscriptions without UNMELTABLE_OPS_EMAIL", () => {
    expect(byType("aws:sns/topic:Topic").map((t) => t.name)).toEqual(["OpsAlarms", "OpsAlarmsUsEast1"]);
    expect(byType("aws:sns/topicSubscription:TopicSubscription")).toHaveLength(0);
  });

  it("lag alarms per mapping with staging's threshold; the OpenSearch set per domain without yellow on one node", () => {
    const lag = byType(ALARM).filter((a) => a.inputs.metricName === "OffsetLag");
    expect(lag).toHaveLength(byType(T.esm).length);
    // The deferred paths page on their own threshold, on every stage (stacks/config.ts DEFERRED).
    for (const a of lag) expect(a.inputs.threshold, a.name).toBe(a.name.endsWith("DeferredOffsetLag") ? DEFERRED.alarm.offsetLagRecords : ALARM_THRESHOLDS.shared.offsetLagRecords);
    expect(lag.filter((a) => a.name.endsWith("DeferredOffsetLag"))).toHaveLength(tiersFor(cfg).length);
    for (const d of byType(T.domain)) {
      expect(d.inputs.clusterConfig.instanceCount).toBe(1);
      const mine = byType(ALARM).filter((a) => a.inputs.dimensions?.DomainName === d.inputs.domainName);
      expect(mine.map((a) => a.inputs.metricName).sort()).toEqual(["ClusterIndexWritesBlocked", "ClusterStatus.red", "FreeStorageSpace", "JVMMemoryPressure"]);
      expect(mine.find((a) => a.inputs.metricName === "FreeStorageSpace")!.inputs.threshold).toBe(d.inputs.ebsOptions.volumeSize * 1024 * 0.25);
    }
    expect(byType(ALARM).filter((a) => a.inputs.metricName === "HealthCheckStatus")).toHaveLength(byType(T.healthCheck).length);
    expect(byType("aws:cloudwatch/dashboard:Dashboard").map((d) => d.inputs.dashboardName)).toEqual(["unmeltable-staging"]);
  });
});

describe("staging: concurrency fits its t3.small brokers", () => {
  it("search reserved, mapped stages capped below their partitions", () => {
    const reserved = Object.fromEntries(componentsOf(T.function).filter((c) => c.args.concurrency).map((c) => [c.name, c.args.concurrency.reserved]));
    expect(reserved).toEqual({
      Search: SEARCH_RESERVED.shared,
      Process: SHARED_STAGE_CAPS.process,
      ...Object.fromEntries(tiersFor(cfg).map((t) => [`Index${t.name[0].toUpperCase()}${t.name.slice(1)}Writer`, SHARED_STAGE_CAPS.index])),
      // Each tier's deferred path: one invocation at a time, on staging too.
      ...Object.fromEntries(tiersFor(cfg).map((t) => [`Index${t.name[0].toUpperCase()}${t.name.slice(1)}Deferred`, DEFERRED.reservedConcurrency])),
    });
    const burst = mskConnectionBurst(cfg);
    expect(burst).toBe(SHARED_STAGE_CAPS.process + (SHARED_STAGE_CAPS.index + DEFERRED.reservedConcurrency) * tiersFor(cfg).length + 3);
    expect(burst).toBeLessThanOrEqual(MSK_IAM_CONNECTIONS_PER_SECOND[cfg.msk.brokerType] * KAFKA_CONNECT_WINDOW_SECONDS);
    expect(() => checkQuotas(cfg)).not.toThrow();
  });
});
