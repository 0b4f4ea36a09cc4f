/**
 * A production stage sized for one of ./workloads.ts, built from the real sst.config.ts under Pulumi
 * mocks: the resources carry the sizes packages/sizing derives, and those sizes keep the rules they
 * come from (storage formula, shard limits, partitions per broker, pollers, one AZ down).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DOCUMENT_BYTES_PER_RAW_BYTE, MAX_BROKER_VOLUME_GB, POLLER_BYTES_PER_SECOND, REPLICATION_FACTOR, STORAGE_OVERHEAD } from "@unmeltable/sizing";
import { resolveStage, tiersFor } from "../../stacks/config";
import { byType, resource, runApp, T } from "./harness";
import { declareWorkloadStage, WORKLOADS } from "./workloads";

export interface ExpectedSizes {
  msk: { brokerType: string; brokers: number; volumeGb: number; maxVolumeGb: number };
  rawPartitions: number;
  processPollers: { min: number; max: number };
  tiers: Record<string, { partitions: number; pollers: { min: number; max: number }; instanceType: string; instanceCount: number; volumeGb: number; master: string }>;
  collectorsPerAz: number;
}

export function describeWorkloadStage(key: keyof typeof WORKLOADS, expected: ExpectedSizes): void {
  const stage = `wl-${key}`;
  const workload = WORKLOADS[key];
  declareWorkloadStage(stage, workload);
  const cfg = resolveStage(stage, {});

  beforeAll(async () => {
    await runApp({ stage });
  });

  describe(`${stage}: ${workload.eventsPerSecond.toLocaleString("en-US")} events/s of ${workload.eventBytes} B, ${workload.groups[0]!.retentionDays} days`, () => {
    it("MSK: brokers, type and storage derived from the workload, with storage auto-scaling", () => {
      const c = resource(T.msk, "Kafka").inputs;
      expect({ brokerType: c.brokerNodeGroupInfo.instanceType, brokers: c.numberOfBrokerNodes, volumeGb: c.brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize }).toEqual({
        brokerType: expected.msk.brokerType,
        brokers: expected.msk.brokers,
        volumeGb: expected.msk.volumeGb,
      });
      const target = resource("aws:appautoscaling/target:Target", "KafkaStorageScaling").inputs;
      expect(target).toMatchObject({ serviceNamespace: "kafka", scalableDimension: "kafka:broker-storage:VolumeSize", minCapacity: 1, maxCapacity: expected.msk.maxVolumeGb });
      const policy = resource("aws:appautoscaling/policy:Policy", "KafkaStorageScalingPolicy").inputs;
      expect(policy.targetTrackingScalingPolicyConfiguration).toMatchObject({ predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" }, targetValue: 70, disableScaleIn: true });
      // The rules: 3 AZs; 72 h of raw and processed records at RF 3 fill at most 60 % of the volumes.
      expect(expected.msk.brokers % 3).toBe(0);
      const producedPerSecond = workload.eventsPerSecond * workload.eventBytes * (1 + DOCUMENT_BYTES_PER_RAW_BYTE);
      const retainedGb = (producedPerSecond * 72 * 3600 * REPLICATION_FACTOR) / 1e9;
      expect(expected.msk.brokers * expected.msk.volumeGb * 0.6).toBeGreaterThanOrEqual(retainedGb * 0.999);
      expect(expected.msk.volumeGb).toBeLessThanOrEqual(MAX_BROKER_VOLUME_GB);
    });

    it("topics: raw and each processed topic get the derived partitions, within the brokers' recommended partition count", () => {
      const input = JSON.parse(resource(T.invocation, "TopicsSetup").inputs.input);
      expect(input.topics.map((t: { name: string; partitions: number }) => [t.name, t.partitions])).toEqual([
        ["raw", expected.rawPartitions],
        ["deadletter", 1],
        ["deadletter.redriven", 1],
        ...Object.entries(expected.tiers).map(([name, t]) => [`processed.${name}`, t.partitions]),
        // The deferred paths are bounded, not scaled: one partition a tier at any workload.
        ...Object.keys(expected.tiers).map((name) => [`deferred.${name}`, 1]),
      ]);
      const perBroker = { "kafka.m7g.large": 1000, "kafka.m7g.xlarge": 1000, "kafka.m7g.2xlarge": 2000 }[expected.msk.brokerType] ?? 4000;
      const replicas = (expected.rawPartitions + Object.values(expected.tiers).reduce((n, t) => n + t.partitions + 1, 0) + 56) * REPLICATION_FACTOR;
      expect(replicas).toBeLessThanOrEqual(perBroker * expected.msk.brokers);
    });

    it("mappings: pollers derived from the bytes each carries (5 MB/s a poller), never more than the topic's partitions", () => {
      expect(resource(T.esm, "ProcessMapping").inputs.provisionedPollerConfig).toEqual({ minimumPollers: expected.processPollers.min, maximumPollers: expected.processPollers.max });
      expect(expected.processPollers.max).toBeLessThanOrEqual(expected.rawPartitions);
      expect(expected.processPollers.max * POLLER_BYTES_PER_SECOND).toBeGreaterThanOrEqual(workload.peakEventsPerSecond * workload.eventBytes);
      for (const [name, t] of Object.entries(expected.tiers)) {
        const m = resource(T.esm, `Index${name[0]!.toUpperCase()}${name.slice(1)}Mapping`).inputs;
        expect(m.provisionedPollerConfig).toEqual({ minimumPollers: t.pollers.min, maximumPollers: t.pollers.max });
        expect(t.pollers.max).toBeLessThanOrEqual(t.partitions);
        // Its deferred mapping: one poller, a batch of 20, whatever the workload.
        const d = resource(T.esm, `Index${name[0]!.toUpperCase()}${name.slice(1)}DeferredMapping`).inputs;
        expect(d.provisionedPollerConfig).toEqual({ minimumPollers: 1, maximumPollers: 1 });
        expect(d.batchSize).toBe(20);
      }
    });

    it("OpenSearch: one domain per tier, nodes and gp3 per node holding source × 2 copies × 1.45, shards within the per-node limit", () => {
      for (const [name, t] of Object.entries(expected.tiers)) {
        const d = byType(T.domain).find((x) => x.inputs.domainName.endsWith(`-${name}`))!;
        expect(d.inputs.clusterConfig).toMatchObject({ instanceType: t.instanceType, instanceCount: t.instanceCount, dedicatedMasterType: t.master, dedicatedMasterCount: 3, zoneAwarenessConfig: { availabilityZoneCount: 3 } });
        expect(d.inputs.ebsOptions).toEqual({ ebsEnabled: true, volumeType: "gp3", volumeSize: t.volumeGb });
        const sized = cfg.sizing.tiers.find((x) => x.name === name)!.opensearch;
        const sourceGb = workload.groups.filter((g) => g.tier === name).reduce((n, g) => n + (g.tenants * g.eventsPerSecond * workload.eventBytes * DOCUMENT_BYTES_PER_RAW_BYTE * 86_400 * g.retentionDays) / 1e9, 0);
        expect(t.instanceCount * t.volumeGb).toBeGreaterThanOrEqual(sourceGb * 2 * STORAGE_OVERHEAD * 0.999);
        expect(sized.shards).toBeLessThanOrEqual(t.instanceCount * sized.shardsPerNodeLimit);
        expect(t.instanceCount % 3).toBe(0);
      }
      expect(tiersFor(cfg).map((t) => t.name)).toEqual(Object.keys(expected.tiers));
    });

    it("collectors: enough per AZ to carry each region's share of the peak with one AZ down", () => {
      expect(cfg.regions.map((r) => r.collectorsPerAz)).toEqual(cfg.regions.map(() => expected.collectorsPerAz));
      expect(byType(T.instance)).toHaveLength(cfg.regions.length * 3 * expected.collectorsPerAz);
      const perCollector = Math.min(100_000, 20e6 / workload.eventBytes);
      expect(expected.collectorsPerAz * 2 * perCollector).toBeGreaterThanOrEqual(workload.peakEventsPerSecond / cfg.regions.length);
    });
  });
}
