/** A production stage for 100,000 events/s (9,000 small tenants, 11 at 5,000 events/s on `bulk`). See ./workload-stage.ts. */
import { describeWorkloadStage } from "./workload-stage";

describeWorkloadStage("100k", {
  msk: { brokerType: "kafka.m7g.large", brokers: 18, volumeGb: 9000, maxVolumeGb: 16384 },
  rawPartitions: 48,
  processPollers: { min: 10, max: 20 },
  tiers: {
    default: { partitions: 60, pollers: { min: 7, max: 14 }, instanceType: "r7g.4xlarge.search", instanceCount: 21, volumeGb: 12090, master: "m7g.2xlarge.search" },
    bulk: { partitions: 72, pollers: { min: 9, max: 17 }, instanceType: "r7g.2xlarge.search", instanceCount: 51, volumeGb: 6080, master: "r7g.2xlarge.search" },
  },
  collectorsPerAz: 2,
});
