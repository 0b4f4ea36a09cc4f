/**
 * A personal stage under `sst dev` (stage "alice", $dev = true): the dev-stage guard, the small sizes,
 * and `sst dev` refused on shared stages.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROCESS, TIERS } from "../../stacks/config";
import { ACCOUNT, byType, component, componentsOf, effectiveTrust, principals, resource, resources, runApp, T, value } from "./harness";

let outputs: Record<string, unknown>;

beforeAll(async () => {
  delete process.env.UNMELTABLE_ESM_ENABLED;
  const run = await runApp({ stage: "alice", dev: true });
  outputs = (await value(run.outputs as Record<string, unknown>)) as Record<string, unknown>;
});

describe("personal stage: the dev-stage guard", () => {
  it("creates every MSK mapping disabled (the sst dev stub would commit offsets of unprocessed records)", () => {
    const esms = byType(T.esm);
    // raw, and each tier's processed and deferred topics.
    expect(esms).toHaveLength(1 + 2 * TIERS.length);
    for (const e of esms) expect(e.inputs.enabled, e.name).toBe(false);
    expect(outputs.mappingsEnabled).toBe("false");
  });

  it("uses the stage's own consumer groups and on-demand error handling", () => {
    expect(resource(T.esm, "ProcessMapping").inputs).toEqual({
      eventSourceArn: `arn:aws:kafka:eu-west-1:${ACCOUNT}:cluster/unmeltable-alice/0000-uuid-1`,
      functionName: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:Process`,
      topics: ["raw"],
      enabled: false,
      startingPosition: PROCESS.esm.startingPosition,
      batchSize: PROCESS.esm.batchSize,
      maximumBatchingWindowInSeconds: PROCESS.esm.batchingWindowSeconds,
      amazonManagedKafkaEventSourceConfig: { consumerGroupId: "unmeltable-alice-process" },
    });
    expect(resource(T.esm, "IndexDefaultMapping").inputs.amazonManagedKafkaEventSourceConfig).toEqual({ consumerGroupId: "unmeltable-alice-index-default" });
  });

  it("tells the functions which error handling the mappings use", async () => {
    for (const c of componentsOf(T.function).filter((f) => f.args.handler.startsWith("functions/"))) {
      expect(((await value(c.args.environment)) as Record<string, string>).UNMELTABLE_ERROR_HANDLING).toBe("on-demand");
    }
  });

  it("deploy-time steps, the event-source-mapped functions and the archive never run as the dev stub", () => {
    expect(component(T.function, "Topics").args.dev).toBe(false);
    expect(component(T.function, "IndexAccess").args.dev).toBe(false);
    // The stub answers success after 16 s without a session: a mapping would commit unprocessed records.
    for (const name of ["Process", ...TIERS.flatMap((t) => [`Index${t.name[0]!.toUpperCase()}${t.name.slice(1)}Writer`, `Index${t.name[0]!.toUpperCase()}${t.name.slice(1)}Deferred`]), "Archive", "ArchiveWorker"]) expect(component(T.function, name).args.dev, name).toBe(false);
    // The API, the alert checks and the lifecycle stay debuggable under sst dev.
    for (const name of ["Search", "Alerts", "Lifecycle"]) expect(component(T.function, name).args.dev, name).toBeUndefined();
  });

  it("under sst dev, SST's own role trust is kept (the CLI assumes the role to run your handler)", () => {
    expect(principals(effectiveTrust(component(T.function, "Search").args)).sort()).toEqual([`arn:aws:iam::${ACCOUNT}:root`, "lambda.amazonaws.com"]);
  });
});

describe("personal stage: sizes", () => {
  it("a bastion for sst tunnel, EC2 NAT", () => {
    expect(component(T.sstVpc, "Vpc").args).toEqual({ az: 3, nat: "ec2", bastion: true });
  });

  it("one small OpenSearch node per tier, no zone awareness, no dedicated masters, no Auto-Tune", () => {
    const domains = byType(T.domain);
    expect(domains).toHaveLength(TIERS.length);
    for (const d of domains) {
      expect(d.inputs.clusterConfig).toEqual({ instanceType: "t3.medium.search", instanceCount: 1, zoneAwarenessEnabled: false, dedicatedMasterEnabled: false });
      expect(d.inputs.vpcOptions.subnetIds).toEqual(["subnet-priv-a"]);
      expect(d.inputs.ebsOptions.volumeSize).toBe(10);
      expect(d.inputs.autoTuneOptions).toBeUndefined();
    }
  });

  it("three small brokers", () => {
    expect(resource(T.msk, "Kafka").inputs).toMatchObject({ numberOfBrokerNodes: 3, brokerNodeGroupInfo: { instanceType: "kafka.t3.small" } });
  });

  it("no collectors, no DNS, no other region; buckets go with the stage", () => {
    for (const t of [T.instance, T.eip, T.healthCheck, T.record, T.launchTemplate, T.peering]) expect(byType(t), t).toHaveLength(0);
    expect(resources.filter((r) => r.inputs.region && r.inputs.region !== "eu-west-1")).toHaveLength(0);
    expect(resource(T.bucket, "ArchiveBucket").inputs.forceDestroy).toBe(true);
    expect(resource(T.lifecycle, "ArchiveBucketLifecycle").inputs.rules[0]).toEqual({ id: "tiering", status: "Enabled", filter: {}, expiration: { days: 7 } });
    expect(outputs.collectors).toBe("(no DNS on this stage)");
  });
});

describe("sst dev on a shared stage", () => {
  afterAll(() => {
    delete process.env.UNMELTABLE_ESM_ENABLED;
  });
  it("is refused before anything is created", async () => {
    await expect(runApp({ stage: "staging", dev: true })).rejects.toThrow(/sst dev is for personal stages; "staging" is shared/);
    expect(resources).toHaveLength(0);
  });
});

describe("personal stage: operations", () => {
  it("pages nobody: no alarms, no topic, no dashboard; reserves no concurrency (a developer account's quota may be 10)", () => {
    expect(byType("aws:cloudwatch/metricAlarm:MetricAlarm")).toHaveLength(0);
    expect(byType("aws:sns/topic:Topic")).toHaveLength(0);
    expect(byType("aws:cloudwatch/dashboard:Dashboard")).toHaveLength(0);
    expect(outputs.alarms).toBe("0");
    for (const c of componentsOf(T.function)) expect(c.args.concurrency, c.name).toBeUndefined();
    for (const r of componentsOf(T.router)) expect(r.args.waf, r.name).toBeUndefined();
  });
});
