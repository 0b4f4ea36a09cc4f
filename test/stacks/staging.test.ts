/** The staging stage: one region, small sizes, but provisioned error handling and DNS like production. */
import { beforeAll, describe, expect, it } from "vitest";
import { resolveStage, tiersFor } from "../../stacks/config";
import { byType, component, resource, runApp, T, value } from "./harness";

/** The stage as deployed: its sizes derived from its (small) workload. */
const staging = resolveStage("staging", {});
const TIERS = tiersFor(staging);
let outputs: Record<string, unknown>;

beforeAll(async () => {
  const run = await runApp({ stage: "staging" });
  outputs = (await value(run.outputs as Record<string, unknown>)) as Record<string, unknown>;
});

describe("staging", () => {
  it("one region with EC2 NAT; collectors in its 3 AZs, each with a health check and a multivalue record", () => {
    expect(component(T.sstVpc, "Vpc").args).toEqual({ az: 3, nat: "ec2", bastion: false });
    expect(byType(T.vpc)).toHaveLength(0);
    const instances = byType(T.instance);
    expect(instances).toHaveLength(3);
    for (const i of instances) {
      expect(resource(T.healthCheck, `${i.name}Health`).inputs).toMatchObject({ type: "TCP", port: 6514 });
      expect(resource(T.record, `${i.name}Record`).inputs).toMatchObject({
        name: "eu-west-1.logs.staging.example.com",
        multivalueAnswerRoutingPolicy: true,
        healthCheckId: `${i.name}Health-id`,
      });
    }
    expect(byType(T.record).filter((r) => r.inputs.latencyRoutingPolicies).map((r) => r.inputs.aliases[0].name)).toEqual(["eu-west-1.logs.staging.example.com"]);
    expect(resource(T.launchTemplate, "EuWest1CollectorTemplate").inputs.instanceType).toBe(staging.collector.instanceType);
  });

  it("mappings are enabled with provisioned error handling", () => {
    for (const e of byType(T.esm)) {
      expect(e.inputs.enabled).toBe(true);
      expect(e.inputs.destinationConfig).toEqual({ onFailure: { destinationArn: "kafka://deadletter" } });
      expect(e.inputs.amazonManagedKafkaEventSourceConfig.consumerGroupId).toMatch(/^unmeltable-staging-/);
    }
    expect(resource(T.esm, "IndexBulkMapping").inputs.provisionedPollerConfig).toEqual({
      minimumPollers: TIERS[1].esm.pollers.min,
      maximumPollers: TIERS[1].esm.pollers.max,
    });
  });

  it("the tiers' domains are the small profile's single burstable node (the workload fits one)", () => {
    for (const d of byType(T.domain)) expect(d.inputs.clusterConfig.instanceType).toBe("t3.medium.search");
    expect(byType(T.domain).map((d) => d.inputs.domainName).sort()).toEqual(["unmeltable-staging-bulk", "unmeltable-staging-default"]);
  });

  it("the archive expires after 30 days without storage-class moves that S3 would refuse", () => {
    expect(resource(T.lifecycle, "ArchiveBucketLifecycle").inputs.rules[0]).toEqual({ id: "tiering", status: "Enabled", filter: {}, expiration: { days: 30 } });
    expect(outputs.collectors).toBe("logs.staging.example.com");
  });
});
