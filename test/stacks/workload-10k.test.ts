/** A production stage for 10,000 events/s (1,000 small tenants and 5 large ones on `bulk`). See ./workload-stage.ts. */
import { describeWorkloadStage } from "./workload-stage";

describeWorkloadStage("10k", {
  msk: { brokerType: "kafka.m7g.large", brokers: 3, volumeGb: 5400, maxVolumeGb: 16384 },
  rawPartitions: 12,
  processPollers: { min: 1, max: 3 },
  tiers: {
    default: { partitions: 12, pollers: { min: 1, max: 3 }, instanceType: "r7g.large.search", instanceCount: 15, volumeGb: 1880, master: "m7g.2xlarge.search" },
    bulk: { partitions: 12, pollers: { min: 1, max: 3 }, instanceType: "r7g.large.search", instanceCount: 15, volumeGb: 1880, master: "m7g.2xlarge.search" },
  },
  collectorsPerAz: 1,
});
