/** A production stage for a small workload: 100 events/s (10 tenants). See ./workload-stage.ts. */
import { describeWorkloadStage } from "./workload-stage";

describeWorkloadStage("small", {
  msk: { brokerType: "kafka.m7g.large", brokers: 3, volumeGb: 100, maxVolumeGb: 400 },
  rawPartitions: 12,
  processPollers: { min: 1, max: 3 },
  tiers: {
    default: { partitions: 6, pollers: { min: 1, max: 2 }, instanceType: "r7g.large.search", instanceCount: 3, volumeGb: 190, master: "m7g.large.search" },
    // No tenant on it: the smallest zone-aware domain.
    bulk: { partitions: 6, pollers: { min: 1, max: 2 }, instanceType: "r7g.large.search", instanceCount: 3, volumeGb: 20, master: "m7g.large.search" },
  },
  collectorsPerAz: 1,
});
