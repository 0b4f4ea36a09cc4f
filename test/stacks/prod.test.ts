/**
 * The production stage's resource graph, from the real sst.config.ts under Pulumi mocks: every resource
 * of issue 7 exists with the settings of stacks/config.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ARCHIVE, DEFERRED, processFor, STAGES, tiersFor, LAMBDA_EXCLUDED, LAMBDA_KAFKA_RUNTIME, LAMBDA_RUNTIME, resolveStage, type EsmSettings } from "../../stacks/config";
import { KAFKA_HANDLERS, LAMBDA_ONLY_TRUST } from "../../stacks/functions";
import { alertsMail } from "../../stacks/alerts";
import { ACCOUNT, byType, component, components, componentsOf, effectiveTrust, principals, resource, resources, runApp, T, value, type SstConfig } from "./harness";

const CLUSTER_ARN = `arn:aws:kafka:eu-west-1:${ACCOUNT}:cluster/unmeltable-prod/0000-uuid-1`;
const fnArn = (name: string) => `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${name}`;
/** The stage as deployed: its sizes derived from its workload (packages/sizing). */
const prod = resolveStage("prod", {});
const TIERS = tiersFor(prod);
const PROC = processFor(prod);

let outputs: Record<string, unknown>;
let config: SstConfig;

beforeAll(async () => {
  const run = await runApp({ stage: "prod" });
  config = run.config;
  outputs = (await value(run.outputs as Record<string, unknown>)) as Record<string, unknown>;
});

describe("prod: app", () => {
  it("retains and protects production, uses the home region of the config", () => {
    const a = config.app({ stage: "prod" });
    expect(a).toMatchObject({ name: "unmeltable", removal: "retain", protect: true });
    expect(a.providers.aws).toEqual({ region: "eu-west-1", version: "7.20.0" });
    expect(config.app({ stage: "alice" })).toMatchObject({ removal: "remove", protect: false });
    for (const stage of [...Object.keys(STAGES), "alice"]) {
      expect(resolveStage(stage).regions.find((r) => r.home)!.region).toBe(a.providers.aws.region);
    }
  });

  it("has no resource-name collisions", () => {
    const keys = resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("returns the endpoints a deploy prints", () => {
    expect(outputs).toMatchObject({
      api: "https://api.fake.example",
      kafka: CLUSTER_ARN,
      tiers: "default,bulk",
      mappingsEnabled: "true",
      // raw, and processed.<tier> and deferred.<tier> of both tiers.
      mappings: "5",
      collectors: "logs.example.com",
    });
    expect(String(outputs.collectorIps).split(",")).toHaveLength(6);
    expect(Object.keys(outputs.opensearch as object)).toEqual(["default", "bulk"]);
  });
});

describe("prod: network", () => {
  it("one VPC over 3 AZs with managed NAT and no bastion", () => {
    expect(componentsOf(T.sstVpc)).toHaveLength(1);
    expect(component(T.sstVpc, "Vpc").args).toEqual({ az: 3, nat: "managed", bastion: false });
  });

  it("MSK security group: self-referencing (event-source mapping ENIs) and 9098 from both VPCs", () => {
    const sg = resource(T.sg, "MskSecurityGroup").inputs;
    expect(sg.ingress).toContainEqual(expect.objectContaining({ protocol: "-1", self: true }));
    expect(sg.ingress).toContainEqual(expect.objectContaining({ protocol: "tcp", fromPort: 9098, toPort: 9098, cidrBlocks: ["10.0.0.0/16", "10.1.0.0/16"] }));
    // OpenSearch admits its client functions' group only (test/stacks/ops-prod.test.ts, "exposure").
    expect(resource(T.sg, "OpenSearchSecurityGroup").inputs.ingress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 443, toPort: 443, securityGroups: ["OpenSearchClientSecurityGroup-id"] })]);
  });

  it("an S3 gateway endpoint on the private route tables", () => {
    expect(resource(T.endpoint, "S3Endpoint").inputs).toMatchObject({
      vpcEndpointType: "Gateway",
      serviceName: "com.amazonaws.eu-west-1.s3",
      routeTableIds: ["rtb-priv-a", "rtb-priv-b", "rtb-priv-c"],
    });
  });

  it("us-east-1: a collector VPC peered with the home VPC, routes both ways", () => {
    expect(resource(T.vpc, "UsEast1Vpc").inputs).toMatchObject({ region: "us-east-1", cidrBlock: "10.1.0.0/16" });
    expect(resource(T.peering, "UsEast1Peering").inputs).toMatchObject({ region: "us-east-1", peerRegion: "eu-west-1", peerVpcId: "Vpc-id" });
    expect(resource(T.peeringAccepter, "UsEast1PeeringAccepter").inputs).toMatchObject({ region: "eu-west-1", autoAccept: true });
    expect(resource(T.routeTable, "UsEast1RouteTable").inputs.routes).toContainEqual(expect.objectContaining({ cidrBlock: "10.0.0.0/16", vpcPeeringConnectionId: "UsEast1Peering-id" }));
    const back = byType(T.route).filter((r) => r.name.startsWith("UsEast1ReturnRoute"));
    expect(back.map((r) => r.inputs.routeTableId).sort()).toEqual(["rtb-priv-a", "rtb-priv-b", "rtb-priv-c"]);
    for (const r of back) expect(r.inputs).toMatchObject({ region: "eu-west-1", destinationCidrBlock: "10.1.0.0/16", vpcPeeringConnectionId: "UsEast1Peering-id" });
    const subnets = byType(T.subnet).filter((s) => s.name.startsWith("UsEast1PublicSubnet"));
    expect(subnets.map((s) => s.inputs.availabilityZone).sort()).toEqual(["us-east-1a", "us-east-1b", "us-east-1c"]);
    expect(subnets.map((s) => s.inputs.cidrBlock).sort()).toEqual(["10.1.0.0/19", "10.1.32.0/19", "10.1.64.0/19"]);
  });
});

describe("prod: queue", () => {
  it("a provisioned MSK cluster: IAM only, TLS in transit and in cluster, brokers across the 3 AZs", () => {
    const c = resource(T.msk, "Kafka").inputs;
    expect(c).toMatchObject({
      clusterName: "unmeltable-prod",
      kafkaVersion: prod.msk.kafkaVersion,
      numberOfBrokerNodes: prod.msk.brokers,
      brokerNodeGroupInfo: {
        instanceType: prod.msk.brokerType,
        clientSubnets: ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"],
        securityGroups: ["MskSecurityGroup-id"],
        storageInfo: { ebsStorageInfo: { volumeSize: prod.msk.volumeGb } },
      },
      clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
      encryptionInfo: { encryptionInTransit: { clientBroker: "TLS", inCluster: true } },
      configurationInfo: { revision: 1 },
    });
    // At rest: MSK always encrypts; no key ARN means the AWS-managed key.
    expect(c.encryptionInfo.encryptionAtRestKmsKeyArn).toBeUndefined();
    expect(c.numberOfBrokerNodes % c.brokerNodeGroupInfo.clientSubnets.length).toBe(0);
    const props = resource(T.mskConfig, "KafkaConfiguration").inputs.serverProperties as string;
    expect(props.split("\n")).toEqual(expect.arrayContaining(["auto.create.topics.enable=false", "default.replication.factor=3", "min.insync.replicas=2", "message.max.bytes=8388608"]));
  });

  it("the topic setup function runs on deploy with every topic and its partitions, never as a dev stub", async () => {
    const fn = component(T.function, "Topics").args;
    expect(fn.handler).toBe("functions/topics.handler");
    expect(fn.dev).toBe(false);
    const inv = resource(T.invocation, "TopicsSetup").inputs;
    expect(inv.functionName).toBe("Topics-fake");
    const input = JSON.parse(inv.input);
    expect(input.topics).toEqual([
      { name: "raw", partitions: PROC.rawPartitions },
      // Dead letters wait for a person: two weeks, whatever the brokers' default; the redrive ledger for good.
      { name: "deadletter", partitions: 1, config: { "retention.ms": String(14 * 86_400_000) } },
      { name: "deadletter.redriven", partitions: 1, config: { "retention.ms": "-1" } },
      ...TIERS.map((t) => ({ name: `processed.${t.name}`, partitions: t.partitions })),
      ...TIERS.map((t) => ({ name: `deferred.${t.name}`, partitions: 1 })),
    ]);
    expect(input).toMatchObject({ partitions: PROC.rawPartitions, tiers: ["default", "bulk"] });
    expect(inv.triggers.cluster).toBe(CLUSTER_ARN);
    const perms = await value(fn.permissions);
    expect(perms).toContainEqual({ actions: expect.arrayContaining(["kafka-cluster:CreateTopic"]), resources: [`arn:aws:kafka:eu-west-1:${ACCOUNT}:topic/unmeltable-prod/0000-uuid-1/*`] });
  });
});

describe("prod: index", () => {
  it.each(TIERS.map((t) => [t.name, t] as const))("tier %s: one OpenSearch domain sized from the tiers table, in the VPC", (name, tier) => {
    const d = byType(T.domain).find((x) => x.inputs.domainName === `unmeltable-prod-${name}`)!;
    expect(d).toBeDefined();
    expect(d.inputs.clusterConfig).toEqual({
      instanceType: tier.opensearch.instanceType,
      instanceCount: tier.opensearch.instanceCount,
      zoneAwarenessEnabled: true,
      zoneAwarenessConfig: { availabilityZoneCount: 3 },
      dedicatedMasterEnabled: true,
      dedicatedMasterType: tier.opensearch.dedicatedMaster!.instanceType,
      dedicatedMasterCount: tier.opensearch.dedicatedMaster!.count,
    });
    expect(d.inputs.ebsOptions).toEqual({ ebsEnabled: true, volumeType: "gp3", volumeSize: tier.opensearch.volumeGb });
    expect(d.inputs.vpcOptions).toEqual({ subnetIds: ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"], securityGroupIds: ["OpenSearchSecurityGroup-id"] });
    expect(d.inputs.autoTuneOptions).toEqual({ desiredState: "ENABLED", rollbackOnDisable: "NO_ROLLBACK" });
  });

  it("fine-grained access control with an IAM master role, encryption at rest and in transit, HTTPS only", () => {
    for (const d of byType(T.domain)) {
      expect(d.inputs).toMatchObject({
        engineVersion: prod.opensearchEngine,
        encryptAtRest: { enabled: true },
        nodeToNodeEncryption: { enabled: true },
        domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" },
        advancedSecurityOptions: {
          enabled: true,
          anonymousAuthEnabled: false,
          internalUserDatabaseEnabled: false,
          masterUserOptions: { masterUserArn: `arn:aws:iam::${ACCOUNT}:role/IndexMasterRole` },
        },
      });
      const policy = JSON.parse(d.inputs.accessPolicies);
      expect(policy.Statement[0].Resource).toBe(`arn:aws:es:eu-west-1:${ACCOUNT}:domain/${d.inputs.domainName}/*`);
    }
  });

  it("maps the index writers, the lifecycle job and the readers to their own least-privilege roles on deploy", () => {
    expect(component(T.function, "IndexAccess").args).toMatchObject({ handler: "stacks/handlers/index-access.handler", role: expect.anything(), dev: false });
    const input = JSON.parse(resource(T.invocation, "IndexAccessMapping").inputs.input);
    const role = (n: string) => `arn:aws:iam::${ACCOUNT}:role/${n}Role`;
    expect(input.grants).toEqual({
      // The deferred functions write the same domains as the index writers, with the same role.
      writer: [role("IndexDefaultWriter"), role("IndexBulkWriter"), role("IndexDefaultDeferred"), role("IndexBulkDeferred")],
      lifecycle: [role("Lifecycle")],
      reader: [role("Search"), role("Alerts")],
    });
    expect(input.master).toBe(`arn:aws:iam::${ACCOUNT}:role/IndexMasterRole`);
    expect(Object.keys(input.endpoints)).toEqual(["default", "bulk"]);
  });
});

describe("prod: pipeline", () => {
  const esm = (name: string) => resource(T.esm, name).inputs;
  /** An event-source mapping from `topic` to the function, in provisioned mode, with the row's settings. */
  const expectedMapping = (fn: string, topic: string, consumerGroupId: string, e: EsmSettings) => ({
    eventSourceArn: CLUSTER_ARN,
    functionName: fnArn(fn),
    topics: [topic],
    enabled: true,
    startingPosition: e.startingPosition,
    batchSize: e.batchSize,
    maximumBatchingWindowInSeconds: e.batchingWindowSeconds,
    amazonManagedKafkaEventSourceConfig: { consumerGroupId },
    provisionedPollerConfig: { minimumPollers: e.pollers.min, maximumPollers: e.pollers.max },
    functionResponseTypes: ["ReportBatchItemFailures"],
    bisectBatchOnFunctionError: true,
    maximumRetryAttempts: e.retryLimit,
    maximumRecordAgeInSeconds: -1,
    destinationConfig: { onFailure: { destinationArn: "kafka://deadletter" } },
  });

  it("process: raw → the process function, with the process row's settings", () => {
    expect(esm("ProcessMapping")).toEqual(expectedMapping("Process", "raw", "unmeltable-prod-process", PROC.esm));
  });

  it.each(TIERS.map((t) => [t.name, t] as const))("tier %s: processed.<tier> → that tier's index function, with the tier's settings", (name, tier) => {
    const fnName = `Index${name[0].toUpperCase()}${name.slice(1)}Writer`;
    expect(esm(`Index${name[0].toUpperCase()}${name.slice(1)}Mapping`)).toEqual(expectedMapping(fnName, `processed.${name}`, `unmeltable-prod-index-${name}`, tier.esm));
    const fn = component(T.function, fnName).args;
    expect(fn).toMatchObject({ handler: "functions/index.handler", memory: `${tier.indexFunction.memoryMb} MB`, timeout: `${tier.indexFunction.timeoutSeconds} seconds` });
    expect(fn.environment.UNMELTABLE_TIER).toBe(name);
  });

  it.each(TIERS.map((t) => [t.name, t] as const))("tier %s: deferred.<tier> → a deferred function of its own: one poller, small batches, the same retries and dead letters", (name, tier) => {
    const Name = `${name[0].toUpperCase()}${name.slice(1)}`;
    expect(esm(`Index${Name}DeferredMapping`)).toEqual(
      // One partition and one poller: at most one invocation, one bulk stream into the tier's domain.
      expectedMapping(`Index${Name}Deferred`, `deferred.${name}`, `unmeltable-prod-index-deferred-${name}`, { ...DEFERRED.esm, startingPosition: "TRIM_HORIZON", batchSize: 20, pollers: { min: 1, max: 1 } }),
    );
    // The index handler, for the tier's domain, at most one execution.
    const fn = component(T.function, `Index${Name}Deferred`).args;
    expect(fn).toMatchObject({ handler: "functions/index.handler", memory: `${tier.indexFunction.memoryMb} MB`, timeout: `${tier.indexFunction.timeoutSeconds} seconds`, dev: false, concurrency: { reserved: 1 } });
    expect(fn.environment.UNMELTABLE_TIER).toBe(name);
  });

  it("a deferred function reads only its deferred topic as its own group, writes dead letters and its tier's domain", async () => {
    const topic = (t: string) => `arn:aws:kafka:eu-west-1:${ACCOUNT}:topic/unmeltable-prod/0000-uuid-1/${t}`;
    const group = (g: string) => `arn:aws:kafka:eu-west-1:${ACCOUNT}:group/unmeltable-prod/0000-uuid-1/${g}`;
    for (const t of TIERS) {
      const perms = (await value(component(T.function, `Index${t.name[0].toUpperCase()}${t.name.slice(1)}Deferred`).args.permissions)) as { actions: string[]; resources: string[] }[];
      const reads = perms.filter((p) => p.actions.includes("kafka-cluster:ReadData")).flatMap((p) => p.resources);
      expect(reads).toEqual([topic(`deferred.${t.name}`)]);
      expect(perms).toContainEqual({ actions: ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources: [group(`unmeltable-prod-index-deferred-${t.name}`)] });
      expect(perms).toContainEqual({ actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], resources: [topic("deadletter")] });
      const es = perms.filter((p) => p.actions.some((a) => a.startsWith("es:"))).flatMap((p) => p.resources);
      expect(es.length).toBeGreaterThan(0);
      for (const r of es) expect(r).toContain(`:domain/unmeltable-prod-${t.name}`);
    }
  });

  it("mappings start after the topics exist, and the index and deferred mappings after their roles are mapped in OpenSearch", () => {
    const topics = `${T.invocation}::TopicsSetup`;
    const access = `${T.invocation}::IndexAccessMapping`;
    expect(resource(T.esm, "ProcessMapping").dependsOn).toContain(topics);
    for (const t of TIERS) {
      for (const name of [`Index${t.name[0].toUpperCase()}${t.name.slice(1)}Mapping`, `Index${t.name[0].toUpperCase()}${t.name.slice(1)}DeferredMapping`]) {
        expect(resource(T.esm, name).dependsOn).toEqual(expect.arrayContaining([topics, access]));
      }
    }
    expect(resource(T.invocation, "TopicsSetup").dependsOn).toContain(`${T.msk}::Kafka`);
  });

  it("exactly one mapping per consumer, and one mapped function per mapping", () => {
    expect(byType(T.esm)).toHaveLength(1 + 2 * TIERS.length);
    // Lambda's OffsetLag, Errors and Throttles are per function: one mapping each keeps them per mapping.
    const fns = byType(T.esm).map((m) => m.inputs.functionName);
    expect(new Set(fns).size).toBe(fns.length);
  });

  it("consumers may read their topic as their group and write dead letters; the process stage writes every processed and deferred topic", async () => {
    const perms = (await value(component(T.function, "Process").args.permissions)) as { actions: string[]; resources: string[] }[];
    const topic = (t: string) => `arn:aws:kafka:eu-west-1:${ACCOUNT}:topic/unmeltable-prod/0000-uuid-1/${t}`;
    const group = (g: string) => `arn:aws:kafka:eu-west-1:${ACCOUNT}:group/unmeltable-prod/0000-uuid-1/${g}`;
    expect(perms).toContainEqual({ actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources: [topic("raw")] });
    expect(perms).toContainEqual({ actions: ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources: [group("unmeltable-prod-process")] });
    expect(perms).toContainEqual({
      actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
      resources: [topic("deadletter"), topic("processed.default"), topic("deferred.default"), topic("processed.bulk"), topic("deferred.bulk")],
    });
    expect(component(T.function, "Process").args.policies).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole"]);
  });
});

describe("prod: every function", () => {
  const appFunctions = () => componentsOf(T.function).filter((c) => c.args.handler.startsWith("functions/"));

  it("the eight handlers of functions/ are all deployed", () => {
    expect(new Set(appFunctions().map((c) => c.args.handler))).toEqual(
      new Set(["process", "index", "search", "topics", "lifecycle", "archive", "archive-worker", "alerts"].map((h) => `functions/${h}.handler`)),
    );
  });

  it("gets the environment contract and the VPC", async () => {
    for (const c of appFunctions()) {
      const env = (await value(c.args.environment)) as Record<string, string>;
      expect(env).toMatchObject({
        UNMELTABLE_MSK_CLUSTER_ARN: CLUSTER_ARN,
        UNMELTABLE_KAFKA_SASL: "aws-msk-iam",
        UNMELTABLE_TENANTS: "s3://configbucket-mock/tenants.json",
        UNMELTABLE_INDEX: "opensearch",
        UNMELTABLE_ARCHIVE_BUCKET: "archivebucket-mock",
        UNMELTABLE_ERROR_HANDLING: "provisioned",
      });
      expect(JSON.parse(env.UNMELTABLE_OPENSEARCH_ENDPOINTS)).toEqual({
        default: "https://vpc-unmeltable-prod-default-mock.eu-west-1.es.amazonaws.com",
        bulk: "https://vpc-unmeltable-prod-bulk-mock.eu-west-1.es.amazonaws.com",
      });
      // The VPC itself, or (functions that talk to OpenSearch) its subnets and groups plus the domains' client group.
      if (c.args.vpc !== component(T.sstVpc, "Vpc").instance) {
        expect(await value(c.args.vpc.privateSubnets), c.name).toEqual(["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"]);
        expect(await value(c.args.vpc.securityGroups), c.name).toEqual(["sg-Vpc", "OpenSearchClientSecurityGroup-id"]);
      }
      expect(c.args.runtime).toBe(LAMBDA_RUNTIME);
    }
  });

  it("only the functions that talk to Kafka get the pure-JS client's unbundlable packages installed; none gets a native package", () => {
    const kafka = appFunctions().filter((c) => c.args.nodejs?.install);
    expect(new Set(kafka.map((c) => c.args.handler))).toEqual(
      new Set(["process", "index", "topics", "archive", "archive-worker"].map((h) => `functions/${h}.handler`)),
    );
    expect(new Set(KAFKA_HANDLERS)).toEqual(new Set(kafka.map((c) => c.args.handler)));
    for (const c of componentsOf(T.function)) {
      expect(c.args.nodejs?.install ?? {}, c.name).not.toHaveProperty(["@confluentinc/kafka-javascript"]);
      if (c.args.nodejs?.install) expect(c.args.nodejs.install, c.name).toEqual(LAMBDA_KAFKA_RUNTIME);
      // The embedded index (SQLite) and the native Kafka adapter stay out of every bundle.
      if (c.args.handler.startsWith("functions/")) expect(c.args.nodejs?.esbuild?.external, c.name).toEqual(expect.arrayContaining([...LAMBDA_EXCLUDED]));
    }
  });

  it("gets MSK's bootstrap brokers and the deployment's tiers in its environment, so no cold start calls GetBootstrapBrokers", async () => {
    for (const c of appFunctions()) {
      const env = (await value(c.args.environment)) as Record<string, string>;
      expect(env.UNMELTABLE_KAFKA_BROKERS).toBe("b-1.kafka.mock:9098,b-2.kafka.mock:9098,b-3.kafka.mock:9098");
      expect(env.UNMELTABLE_TIERS).toBe("default,bulk");
      const actions = ((await value(c.args.permissions)) as { actions: string[] }[]).flatMap((p) => p.actions);
      expect(actions, c.name).not.toContain("kafka:GetBootstrapBrokers");
    }
  });

  it("no function role trusts the account root: SST's roles are overridden, pre-made roles trust Lambda only", async () => {
    for (const c of componentsOf(T.function)) {
      if (c.args.role) {
        const arn = await value(c.args.role);
        const role = byType(T.role).find((r) => `arn:aws:iam::${ACCOUNT}:role/${r.name}` === arn);
        expect(role, `${c.name}: role ${c.args.role}`).toBeDefined();
        expect(principals(JSON.parse(role!.inputs.assumeRolePolicy))).toEqual(["lambda.amazonaws.com"]);
      } else {
        expect(principals(effectiveTrust(c.args)), c.name).toEqual(["lambda.amazonaws.com"]);
        expect(effectiveTrust(c.args)).toEqual(JSON.parse(LAMBDA_ONLY_TRUST));
      }
    }
    for (const r of byType(T.role)) expect(JSON.stringify(r.inputs.assumeRolePolicy), r.name).not.toMatch(/:root/);
  });
});

describe("prod: archive and schedules", () => {
  it("the archive bucket: private, encrypted, tiered to cheaper storage, expired", () => {
    expect(resource(T.sse, "ArchiveBucketEncryption").inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
    expect(resource(T.publicAccess, "ArchiveBucketPublicAccessBlock").inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const rules = resource(T.lifecycle, "ArchiveBucketLifecycle").inputs.rules;
    expect(rules[0]).toMatchObject({
      status: "Enabled",
      transitions: [
        { days: prod.archive.infrequentAccessAfterDays, storageClass: "STANDARD_IA" },
        { days: prod.archive.glacierAfterDays, storageClass: "GLACIER_IR" },
      ],
      expiration: { days: prod.archive.expireAfterDays },
    });
    expect(resource(T.bucket, "ArchiveBucket").inputs.forceDestroy).toBe(false);
  });

  it("the tenants config bucket is versioned and encrypted", () => {
    expect(resource(T.versioning, "ConfigBucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(resource(T.sse, "ConfigBucketEncryption")).toBeDefined();
  });

  it.each([
    ["ArchiveSchedule", "cron(15 * * * ? *)", "functions/archive.handler"],
    ["LifecycleSchedule", "rate(1 hour)", "functions/lifecycle.handler"],
    ["AlertsSchedule", "rate(1 minute)", "functions/alerts.handler"],
  ])("%s: %s runs %s (CronV2, UTC)", (name, schedule, handler) => {
    const cron = component(T.cron, name).args;
    expect(cron).toMatchObject({ schedule, timezone: "UTC" });
    expect(cron.function.args.handler).toBe(handler);
  });
});

describe("prod: scheduled functions (EventBridge Scheduler invokes asynchronously)", () => {
  it("alerts: Lambda never retries a check (its webhooks would go out twice), and a check that waited a minute is dropped", () => {
    const fn = component(T.function, "Alerts").args;
    expect(fn.retries).toBe(0);
    const invoke: Record<string, unknown> = {};
    fn.transform.eventInvokeConfig(invoke, {}, "AlertsEventInvokeConfig");
    expect(invoke.maximumEventAgeInSeconds).toBe(60);
  });

  it("archive and lifecycle: idempotent runs, retried by Lambda; a run older than the next one is dropped", () => {
    expect(component(T.function, "Archive").args.retries).toBe(2);
    expect(component(T.function, "Lifecycle").args.retries).toBe(2);
    const invoke: Record<string, unknown> = {};
    component(T.function, "Archive").args.transform.eventInvokeConfig(invoke, {}, "ArchiveEventInvokeConfig");
    expect(invoke.maximumEventAgeInSeconds).toBe(3600);
  });

  it("lifecycle: may write tenants.json (slice lengths) and read the archive's manifests", async () => {
    const perms = (await value(component(T.function, "Lifecycle").args.permissions)) as { actions: string[]; resources: string[] }[];
    expect(perms).toContainEqual({ actions: ["s3:PutObject"], resources: ["arn:aws:s3:::configbucket-mock/tenants.json"] });
    expect(perms).toContainEqual({ actions: ["s3:ListBucket"], resources: ["arn:aws:s3:::archivebucket-mock"] });
  });
});

describe("prod: the archive fanned out (planner hourly, worker per piece)", () => {
  it("the planner: 15 minutes, told which worker to invoke, how many at once and how big a piece is", async () => {
    const planner = component(T.function, "Archive").args;
    expect(planner.timeout).toBe("900 seconds");
    expect(planner.dev).toBe(false);
    expect(await value(planner.environment)).toMatchObject({ UNMELTABLE_ARCHIVE_WORKER: "ArchiveWorker-fake", UNMELTABLE_ARCHIVE_CONCURRENCY: String(ARCHIVE.concurrency), UNMELTABLE_ARCHIVE_PIECE_BYTES: String(1024 ** 3) });
  });

  it("the planner may invoke the worker (and no other function), and keep its state in the archive bucket", async () => {
    const perms = (await value(component(T.function, "Archive").args.permissions)) as { actions: string[]; resources: string[] }[];
    expect(perms.filter((p) => p.actions.some((a) => a.startsWith("lambda:")))).toEqual([{ actions: ["lambda:InvokeFunction"], resources: [fnArn("ArchiveWorker")] }]);
    expect(perms).toContainEqual({ actions: ["s3:PutObject", "s3:GetObject"], resources: ["arn:aws:s3:::archivebucket-mock/*"] });
    expect(perms).toContainEqual({ actions: ["s3:ListBucket"], resources: ["arn:aws:s3:::archivebucket-mock"] });
  });

  it("the worker: a full vCPU, 5 minutes, multipart uploads and their abort, reads raw; never a dev stub; not retried asynchronously", async () => {
    const worker = component(T.function, "ArchiveWorker").args;
    expect(worker).toMatchObject({ handler: "functions/archive-worker.handler", memory: "1769 MB", timeout: "300 seconds", dev: false });
    expect(worker.retries).toBeUndefined();
    // Parts of up to 8 MiB for at most 32 open streams: the worker's memory fits them.
    const env = (await value(worker.environment)) as Record<string, string>;
    expect(Number(env.UNMELTABLE_ARCHIVE_PART_BYTES)).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    expect((Number(env.UNMELTABLE_ARCHIVE_PART_BYTES) * Number(env.UNMELTABLE_ARCHIVE_MAX_OPEN)) / 1024 ** 2).toBeLessThan(ARCHIVE.worker.memoryMb / 2);
    const perms = (await value(worker.permissions)) as { actions: string[]; resources: string[] }[];
    expect(perms).toContainEqual({ actions: ["s3:PutObject", "s3:AbortMultipartUpload"], resources: ["arn:aws:s3:::archivebucket-mock/*"] });
    expect(perms).toContainEqual({ actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources: [`${CLUSTER_ARN.replace(":cluster/", ":topic/")}/raw`] });
  });

  it("the bucket removes a killed worker's incomplete multipart uploads after a day", () => {
    const rules = resource(T.lifecycle, "ArchiveBucketLifecycle").inputs.rules as { id: string }[];
    expect(rules.find((r) => r.id === "abort-incomplete-uploads")).toEqual({ id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } });
  });

  it("the lifecycle check may read how far the archive got", async () => {
    const perms = (await value(component(T.function, "Lifecycle").args.permissions)) as { actions: string[]; resources: string[] }[];
    expect(perms.find((p) => p.actions.includes("s3:GetObject") && p.resources.includes("arn:aws:s3:::archivebucket-mock/raw/*"))?.resources).toContain("arn:aws:s3:::archivebucket-mock/archive-state/status.json");
  });
});

describe("prod: api and web", () => {
  it("the search function behind API Gateway on the API domain", async () => {
    const api = component(T.apiGateway, "Api").args;
    expect(api.domain).toBe("api.logs.example.com");
    expect(api.cors.allowOrigins).toEqual(["https://app.logs.example.com"]);
    const route = component(`${T.apiGateway}.route`, "Api").args;
    expect(route[0]).toBe("$default");
    expect(await value(route[1])).toBe(fnArn("Search"));
    expect(component(T.function, "Search").args.handler).toBe("functions/search.handler");
  });

  it("the search API and the alert checks share the alerts store; firings link to the web UI; /ui/config names the collectors", async () => {
    const search = (await value(component(T.function, "Search").args.environment)) as Record<string, string>;
    const alerts = (await value(component(T.function, "Alerts").args.environment)) as Record<string, string>;
    expect(search.UNMELTABLE_ALERTS).toBe("s3://configbucket-mock/alerts/");
    expect(search.UNMELTABLE_COLLECTOR_HOST).toBe("logs.example.com");
    expect(alerts.UNMELTABLE_ALERTS).toBe("s3://configbucket-mock/alerts/");
    expect(alerts.UNMELTABLE_PUBLIC_URL).toBe("https://webrouter.fake.example");
    for (const name of ["Search", "Alerts"]) {
      expect(await value(component(T.function, name).args.permissions)).toContainEqual({
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        resources: ["arn:aws:s3:::configbucket-mock/alerts/*"],
      });
    }
  });

  it("the users are kept under accounts/, which the search function alone may read and write: no other function sees a password hash", async () => {
    const search = (await value(component(T.function, "Search").args.environment)) as Record<string, string>;
    expect(search.UNMELTABLE_ACCOUNTS).toBe("s3://configbucket-mock/accounts/");
    expect(await value(component(T.function, "Search").args.permissions)).toContainEqual({
      actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      resources: ["arn:aws:s3:::configbucket-mock/accounts/*"],
    });
    const functions = components.filter((c) => c.type === T.function);
    expect(functions.length).toBeGreaterThan(3);
    for (const f of functions.filter((c) => c.name !== "Search")) {
      const perms = JSON.stringify((await value(f.args.permissions)) ?? []);
      expect(perms, f.name).not.toContain("/accounts/");
      expect(perms, f.name).not.toMatch(/configbucket-mock\/\*"/);
      expect(((await value(f.args.environment)) as Record<string, string> | undefined)?.UNMELTABLE_ACCOUNTS, f.name).toBeUndefined();
    }
    // Invitations' links point at the UI's domain; without a mail sender named (this deploy), no SES right.
    expect(search.UNMELTABLE_PUBLIC_URL).toBe("https://app.logs.example.com");
    expect(JSON.stringify(await value(component(T.function, "Search").args.permissions))).not.toContain("ses:");
    // Admins manage ingest tokens from the UI: the search function writes tenants.json (hashes only), as the
    // lifecycle function does; no other function may.
    expect(search.UNMELTABLE_MANAGE_INGEST_TOKENS).toBe("true");
    const tenantsWrite = { actions: ["s3:PutObject"], resources: ["arn:aws:s3:::configbucket-mock/tenants.json"] };
    for (const f of functions) {
      const writes = ((await value(f.args.permissions)) ?? []) as { actions: string[]; resources: string[] }[];
      expect(writes.some((p) => p.actions.includes("s3:PutObject") && p.resources.includes(tenantsWrite.resources[0]!)), f.name).toBe(f.name === "Search" || f.name === "Lifecycle");
    }
    // Sign-ins have a route of their own, throttled below the default (each hashes a password).
    const stageRoutes = components.filter((c) => c.type === `${T.apiGateway}.route` && c.name === "Api").map((c) => c.args[0]);
    expect(stageRoutes).toContain("POST /auth/login");
  });

  it("the process function reads the tenants' derived-field rules from the alerts store: the same variable, read-only, only the rules", async () => {
    const env = (await value(component(T.function, "Process").args.environment)) as Record<string, string>;
    expect(env.UNMELTABLE_ALERTS).toBe("s3://configbucket-mock/alerts/");
    const perms = (await value(component(T.function, "Process").args.permissions)) as { actions: string[]; resources: string[] }[];
    // Everything it may do in S3: read tenants.json (every function), get the rules' objects, list the bucket.
    expect(perms.filter((p) => p.actions.some((a) => a.startsWith("s3:")))).toEqual([
      { actions: ["s3:GetObject"], resources: ["arn:aws:s3:::configbucket-mock/tenants.json"] },
      { actions: ["s3:GetObject"], resources: ["arn:aws:s3:::configbucket-mock/alerts/*/derived/*"] },
      { actions: ["s3:ListBucket"], resources: ["arn:aws:s3:::configbucket-mock"] },
    ]);
    // The rules are written through the search API only: the process function may not change them, nor
    // read the alerts, firings or saved searches beside them.
    const actions = perms.flatMap((p) => p.actions);
    for (const a of ["s3:PutObject", "s3:DeleteObject", "s3:*"]) expect(actions).not.toContain(a);
    expect(perms.flatMap((p) => p.resources)).not.toContain("arn:aws:s3:::configbucket-mock/alerts/*");
  });

  it("alert email through SES only when UNMELTABLE_ALERT_MAIL_FROM names the sender: the checker may send as that identity, nothing else", async () => {
    // This deploy set none: no email, no SES right.
    const alerts = (await value(component(T.function, "Alerts").args.environment)) as Record<string, string>;
    expect(alerts.UNMELTABLE_MAIL).toBeUndefined();
    expect(JSON.stringify(await value(component(T.function, "Alerts").args.permissions))).not.toContain("ses:");
    expect(alertsMail("unmeltable <alerts@logs.example.com>")).toEqual({
      environment: { UNMELTABLE_MAIL: "ses", UNMELTABLE_MAIL_FROM: "unmeltable <alerts@logs.example.com>" },
      permissions: [{ actions: ["ses:SendEmail"], resources: ["arn:aws:ses:*:*:identity/logs.example.com", "arn:aws:ses:*:*:identity/alerts@logs.example.com"] }],
    });
    expect(alertsMail(" ")).toEqual({ environment: {}, permissions: [] });
    expect(() => alertsMail("alerts")).toThrow(/is not an email address/);
  });

  it("the UI on S3 + CloudFront: a StaticSite of packages/web (dist/web) behind a Router that sends /apiv2, /ui and /auth to the API", async () => {
    const router = component(T.router, "WebRouter");
    expect(router.args.domain).toBe("app.logs.example.com");
    const routes = components.filter((c) => c.type === `${T.router}.route` && c.name === "WebRouter").map((c) => c.args);
    expect(routes.map((r) => r[0])).toEqual(["/apiv2", "/ui", "/auth"]);
    for (const r of routes) expect(await value(r[1])).toBe("https://api.fake.example");
    const site = component(T.staticSite, "Web").args;
    expect(site).toMatchObject({ path: "packages/web", build: { command: "npx vite build", output: "../../dist/web" } });
    expect(site.router.instance).toBe(router.instance);
    expect(outputs.web).toBe("https://webrouter.fake.example");
  });

  it("the router's cache policy keys on Authorization (else CloudFront drops it from GETs and the UI gets 401), TTL 0 by default", () => {
    const transform = component(T.router, "WebRouter").args.transform?.cachePolicy;
    expect(typeof transform).toBe("function");
    // What SST 4.17's Router passes for the routes added with route() (router.ts, ServerCachePolicy) and for inline routes.
    for (const [behavior, items] of [["whitelist", ["x-open-next-cache-key", "x-forwarded-host"]], ["none", undefined]] as const) {
      const args = {
        defaultTtl: 0,
        maxTtl: 31536000,
        minTtl: 0,
        parametersInCacheKeyAndForwardedToOrigin: {
          cookiesConfig: { cookieBehavior: "none" },
          headersConfig: { headerBehavior: behavior, ...(items ? { headers: { items: [...items] } } : {}) },
          queryStringsConfig: { queryStringBehavior: "all" },
        },
      };
      transform(args, {}, "WebRouterServerCachePolicy");
      expect(args.parametersInCacheKeyAndForwardedToOrigin.headersConfig).toEqual({ headerBehavior: "whitelist", headers: { items: [...(items ?? []), "authorization"] } });
      expect(args).toMatchObject({ defaultTtl: 0, minTtl: 0 });
      // CloudFront refuses headers in the key of a policy whose TTLs are all 0.
      expect(args.maxTtl).toBeGreaterThan(0);
    }
  });
});

describe("prod: collectors", () => {
  const regions = prod.regions.map((r) => r.region);
  const collectors = () => byType(T.instance);

  it("collectors per AZ per region, each with an Elastic IP and its own spool volume", () => {
    expect(collectors()).toHaveLength(prod.regions.reduce((n, r) => n + 3 * r.collectorsPerAz, 0));
    for (const i of collectors()) {
      const assoc = byType(T.eipAssociation).find((a) => a.inputs.instanceId === `${i.name}-id`)!;
      expect(assoc.inputs.allocationId).toBe(`eipalloc-${i.name}Ip`);
      const att = byType(T.attachment).find((a) => a.inputs.instanceId === `${i.name}-id`)!;
      expect(att.inputs).toMatchObject({ deviceName: "/dev/sdf", volumeId: `${i.name}Spool-id`, stopInstanceBeforeDetaching: true });
      expect(resource(T.volume, `${i.name}Spool`).inputs).toMatchObject({ size: prod.collector.spoolVolumeGb, type: "gp3", encrypted: true, region: i.inputs.region });
      expect(i.inputs.launchTemplate).toEqual({ id: `${i.name.replace(/Collector.*/, "")}CollectorTemplate-id`, version: "1" });
    }
    // One collector per AZ: the instances of a region sit in its 3 public subnets.
    const home = collectors().filter((i) => i.inputs.region === "eu-west-1");
    expect(home.map((i) => i.inputs.subnetId).sort()).toEqual(["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"]);
    expect(home.map((i) => resource(T.volume, `${i.name}Spool`).inputs.availabilityZone).sort()).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
  });

  it("every collector has a TCP health check and a multivalue record with it", () => {
    for (const i of collectors()) {
      const ip = resource(T.eip, `${i.name}Ip`);
      const hc = resource(T.healthCheck, `${i.name}Health`).inputs;
      const publicIp = byType(T.record).find((r) => r.name === `${i.name}Record`)!.inputs.records[0];
      expect(hc).toMatchObject({ type: "TCP", port: prod.collector.healthCheckPort, ipAddress: publicIp });
      expect(publicIp).toMatch(/^203\.0\.113\.\d+$/);
      expect(ip.inputs.domain).toBe("vpc");
      expect(resource(T.record, `${i.name}Record`).inputs).toEqual({
        zoneId: "Z0MOCKZONE",
        name: `${i.inputs.region}.logs.example.com`,
        type: "A",
        ttl: 60,
        records: [publicIp],
        setIdentifier: i.name,
        multivalueAnswerRoutingPolicy: true,
        healthCheckId: `${i.name}Health-id`,
      });
    }
    const ids = byType(T.record).map((r) => `${r.inputs.name}/${r.inputs.setIdentifier}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("latency-based alias records route logs.example.com to each region's set", () => {
    const latency = byType(T.record).filter((r) => r.inputs.latencyRoutingPolicies);
    expect(latency.map((r) => r.inputs)).toEqual(
      regions.map((region) => ({
        zoneId: "Z0MOCKZONE",
        name: "logs.example.com",
        type: "A",
        setIdentifier: region,
        latencyRoutingPolicies: [{ region }],
        aliases: [{ name: `${region}.logs.example.com`, zoneId: "Z0MOCKZONE", evaluateTargetHealth: true }],
      })),
    );
  });

  it("security groups open syslog UDP/TCP 514, TLS 6514 and HTTPS 443, nothing else", () => {
    for (const region of regions) {
      const sg = byType(T.sg).find((s) => s.name.endsWith("CollectorSecurityGroup") && s.inputs.region === region)!;
      expect(sg.inputs.ingress.map((r: { protocol: string; fromPort: number; toPort: number; cidrBlocks: string[] }) => `${r.protocol}/${r.fromPort}-${r.toPort} ${r.cidrBlocks}`).sort()).toEqual([
        "tcp/443-443 0.0.0.0/0",
        "tcp/514-514 0.0.0.0/0",
        "tcp/6514-6514 0.0.0.0/0",
        "udp/514-514 0.0.0.0/0",
      ]);
    }
  });

  it("the launch template: AL2023, IMDSv2, the instance profile, and user data that installs and runs the collector", () => {
    for (const lt of byType(T.launchTemplate)) {
      expect(lt.inputs).toMatchObject({
        imageId: "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        instanceType: prod.collector.instanceType,
        metadataOptions: { httpTokens: "required" },
        iamInstanceProfile: { arn: "arn:mock:aws:iam/instanceProfile:InstanceProfile:CollectorProfile" },
      });
      const script = Buffer.from(lt.inputs.userData, "base64").toString("utf8");
      expect(script).toContain(`UNMELTABLE_MSK_CLUSTER_ARN=${CLUSTER_ARN}`);
      expect(script).toContain("AWS_REGION=eu-west-1");
      expect(script).toContain("UNMELTABLE_TENANTS=s3://configbucket-mock/tenants.json");
      expect(script).toMatch(/ExecStart=\/opt\/node\/bin\/node .*unmeltable\.mjs collector --queue kafka --msk-cluster-arn \$\{UNMELTABLE_MSK_CLUSTER_ARN\} --kafka-sasl aws-msk-iam --aws-region \$\{AWS_REGION\} --data-dir \/var\/lib\/unmeltable/);
      expect(script).toContain(`https://nodejs.org/dist/v${prod.collector.nodeVersion}/node-v${prod.collector.nodeVersion}-linux-x64.tar.xz`);
      expect(script).toContain("aws s3 cp --region 'eu-west-1' 's3://unmeltable-artifacts/collector/unmeltable-collector-0.1.0.tgz'");
      expect(script).toContain("mountpoint -q /var/lib/unmeltable || mount /var/lib/unmeltable");
      expect(script).toContain("systemctl enable --now unmeltable-collector.service");
      // The Kafka client the config chose, installed by the instance from the artifact's lockfile.
      expect(script).toContain(`\nKAFKA_CLIENT=${prod.collector.kafkaClient}\n`);
      expect(script).toContain("\nUNMELTABLE_KAFKA_CLIENT=$KAFKA_CLIENT\n");
      expect(script).toContain(`cd /opt/unmeltable && npm ci --omit=dev${prod.collector.kafkaClient === "native" ? "" : " --omit=optional"} --no-audit --no-fund`);
    }
  });

  it("the instance role trusts EC2 only and may produce to raw and deadletter", async () => {
    expect(principals(JSON.parse(resource(T.role, "CollectorRole").inputs.assumeRolePolicy))).toEqual(["ec2.amazonaws.com"]);
    const policy = JSON.parse(resource(T.rolePolicy, "CollectorRoleAccess").inputs.policy);
    const topic = (t: string) => `arn:aws:kafka:eu-west-1:${ACCOUNT}:topic/unmeltable-prod/0000-uuid-1/${t}`;
    expect(policy.Statement).toContainEqual({ Effect: "Allow", Action: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], Resource: [topic("raw"), topic("deadletter")] });
    expect(policy.Statement).toContainEqual({
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: [`arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/unmeltable/prod/tls/cert`, `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/unmeltable/prod/tls/key`],
    });
  });
});
