/**
 * How every Lambda function of the deployment is made: the environment contract of `functions/`, the
 * VPC, what is bundled and what is installed beside the bundle, log retention, and the role trust fix below.
 * Each stack adds its own handler, sizing and permissions.
 */
import * as pulumi from "@pulumi/pulumi";
import { indexSettingsFor, LAMBDA_EXCLUDED, LAMBDA_KAFKA_RUNTIME, LAMBDA_RUNTIME, TOPICS, tiersFor, type StageConfig } from "./config";

/**
 * A role trust policy that only lets Lambda assume the role.
 *
 * SST 4.17's `sst.aws.Function` also trusts the account root (`arn:aws:iam::<account>:root`) on every
 * stage, not only under `sst dev`: it builds the role with `assumeRolePolicy: !dev ? … : …`, and `dev` is
 * an Output, an object, so always truthy (line 2279 of
 * https://github.com/anomalyco/sst/blob/v4.17.1/platform/src/components/aws/function.ts, generated here
 * as .sst/platform/src/components/aws/function.ts; test/stacks/sst-components.test.ts shows it).
 * Any principal of the account with sts:AssumeRole could then act as the function.
 * `sst dev` does need that trust (the local CLI assumes the role to run your handler with its
 * permissions), so the override applies to deploys only; `sst dev` is refused on shared stages (sst.config.ts).
 */
export const LAMBDA_ONLY_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/** The `transform.role` given to every function: under `sst deploy` the role trusts Lambda only. */
export function lambdaOnlyRoleTransform(dev: boolean) {
  return (args: { assumeRolePolicy: pulumi.Input<string | object> }): undefined => {
    if (!dev) args.assumeRolePolicy = LAMBDA_ONLY_TRUST;
    return undefined;
  };
}

/** Managed policy with what an MSK event-source mapping needs from its function's role (ENIs, brokers, cluster). */
export const MSK_ESM_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole";

/** What every function receives (the environment contract in functions/README and packages/lambda). */
export interface FunctionContext {
  cfg: StageConfig;
  vpc: sst.aws.Vpc;
  clusterArn: pulumi.Output<string>;
  /** MSK's bootstrap brokers for IAM auth (port 9098), given to every function instead of a GetBootstrapBrokers call per cold start. */
  bootstrapBrokers: pulumi.Output<string>;
  /** `s3://<config bucket>/tenants.json` */
  tenantsUrl: pulumi.Output<string>;
  tenantsObjectArn: pulumi.Output<string>;
  /** tier → `https://<domain endpoint>` */
  openSearchEndpoints: pulumi.Output<Record<string, string>>;
  archiveBucket: pulumi.Output<string>;
  /** The security group the OpenSearch domains admit (stacks/network.ts): given to `openSearch` functions only. */
  openSearchClientSecurityGroup: pulumi.Input<string>;
  dev: boolean;
}

export interface AppFunction {
  /** Handler as SST resolves it from the repository root, e.g. `functions/process.handler`. */
  handler: string;
  description: string;
  memoryMb: number;
  timeoutSeconds: number;
  environment?: Record<string, pulumi.Input<string>>;
  permissions?: { actions: string[]; resources: pulumi.Input<pulumi.Input<string>[]> }[];
  policies?: string[];
  /**
   * false: always deploy the real code, also under `sst dev`. For deploy-time steps (a stub would
   * "succeed" without doing anything), the event-source-mapped functions (a stub answers success after
   * 16 s without a session, and the mapping would commit records nobody processed) and the archive.
   */
  live?: boolean;
  /**
   * Asynchronous invocations (EventBridge Scheduler invokes this way): retries of a failed invocation
   * (0–2; Lambda's default is 2) and how long an event may wait for its turn.
   */
  async?: { retries: number; maxEventAgeSeconds?: number };
  /** Talks to the OpenSearch domains: also carries the security group they admit. */
  openSearch?: boolean;
  /** Reserved concurrency (stacks/config.ts, `concurrencyPlan`): a floor and a ceiling. */
  reservedConcurrency?: number;
}

/**
 * The handlers that talk to Kafka: only their bundles hold the Kafka client, and only they get its
 * unbundlable packages installed beside them (LAMBDA_KAFKA_RUNTIME). test/stacks/lambda-artifacts.test.ts
 * checks this list against what each deployed bundle contains, both ways.
 */
export const KAFKA_HANDLERS: readonly string[] = ["functions/process.handler", "functions/index.handler", "functions/topics.handler", "functions/archive.handler", "functions/archive-worker.handler"];

/**
 * `nodejs` of a function: SST bundles it with esbuild; the embedded index and the native Kafka adapter
 * stay out of it; a function that talks to Kafka gets the client's unbundlable pure-JS packages
 * installed beside the bundle, any other function gets nothing installed.
 */
export function lambdaNodejs(handler: string) {
  return {
    ...(KAFKA_HANDLERS.includes(handler) ? { install: { ...LAMBDA_KAFKA_RUNTIME } } : {}),
    esbuild: { external: [...LAMBDA_EXCLUDED] },
  };
}

/** The environment contract, identical for every function (UNMELTABLE_* variables). */
export function contractEnvironment(ctx: FunctionContext): Record<string, pulumi.Input<string>> {
  return {
    UNMELTABLE_MSK_CLUSTER_ARN: ctx.clusterArn,
    UNMELTABLE_KAFKA_BROKERS: ctx.bootstrapBrokers,
    UNMELTABLE_KAFKA_SASL: "aws-msk-iam",
    // tenants.json is checked against these: a tier that does not exist here is refused.
    UNMELTABLE_TIERS: tiersFor(ctx.cfg).map((t) => t.name).join(","),
    UNMELTABLE_TENANTS: ctx.tenantsUrl,
    UNMELTABLE_INDEX: "opensearch",
    UNMELTABLE_OPENSEARCH_ENDPOINTS: ctx.openSearchEndpoints.apply((e) => JSON.stringify(e)),
    // Per tier: replicas and text analysis of the index templates (config.ts, indexSettingsFor).
    UNMELTABLE_OPENSEARCH_INDEX_SETTINGS: JSON.stringify(indexSettingsFor(ctx.cfg)),
    UNMELTABLE_ARCHIVE_BUCKET: ctx.archiveBucket,
    UNMELTABLE_ERROR_HANDLING: ctx.cfg.errorHandling,
  };
}

/** `sst.aws.Function` arguments for one of the app's functions. */
export function functionArgs(ctx: FunctionContext, fn: AppFunction) {
  return {
    handler: fn.handler,
    description: fn.description,
    runtime: LAMBDA_RUNTIME,
    memory: `${fn.memoryMb} MB`,
    timeout: `${fn.timeoutSeconds} seconds`,
    vpc: fn.openSearch ? openSearchClientVpc(ctx) : ctx.vpc,
    environment: { ...contractEnvironment(ctx), ...fn.environment },
    nodejs: lambdaNodejs(fn.handler),
    permissions: [
      // Every function may read the tenants (the contract gives every function UNMELTABLE_TENANTS).
      { actions: ["s3:GetObject"], resources: [ctx.tenantsObjectArn] },
      ...(fn.permissions ?? []),
    ],
    policies: fn.policies,
    logging: { retention: logRetention(ctx.cfg.logRetentionDays) },
    ...(fn.live === false ? { dev: false as const } : {}),
    ...(fn.async ? { retries: fn.async.retries } : {}),
    ...(fn.reservedConcurrency !== undefined ? { concurrency: { reserved: fn.reservedConcurrency } } : {}),
    transform: {
      role: lambdaOnlyRoleTransform(ctx.dev),
      ...(fn.async?.maxEventAgeSeconds !== undefined ? { eventInvokeConfig: maxEventAge(fn.async.maxEventAgeSeconds) } : {}),
    },
  } satisfies sst.aws.FunctionArgs;
}

/**
 * The VPC settings of a function that talks to OpenSearch: the VPC's private subnets and security groups
 * plus the group the domains admit. (Given as subnets and groups, SST maps them to `vpcConfig` as it does
 * for the Vpc component; it only skips its no-NAT warning, and these VPCs have a NAT.)
 */
export function openSearchClientVpc(ctx: Pick<FunctionContext, "vpc" | "openSearchClientSecurityGroup">) {
  return {
    privateSubnets: ctx.vpc.privateSubnets,
    securityGroups: pulumi.all([ctx.vpc.securityGroups, ctx.openSearchClientSecurityGroup]).apply(([groups, client]) => [...groups, client]),
  };
}

/** The `transform.eventInvokeConfig` that bounds how long an asynchronous event may wait. */
export function maxEventAge(seconds: number) {
  return (args: { maximumEventAgeInSeconds?: pulumi.Input<number> }): undefined => {
    args.maximumEventAgeInSeconds = seconds;
    return undefined;
  };
}

const RETENTION_NAMES: Record<number, "1 day" | "3 days" | "1 week" | "2 weeks" | "1 month" | "3 months" | "6 months" | "1 year"> = {
  1: "1 day",
  3: "3 days",
  7: "1 week",
  14: "2 weeks",
  30: "1 month",
  90: "3 months",
  180: "6 months",
  365: "1 year",
};

function logRetention(days: number) {
  const name = RETENTION_NAMES[days];
  if (!name) throw new Error(`logRetentionDays ${days}: use one of ${Object.keys(RETENTION_NAMES).join(", ")}`);
  return name;
}

/**
 * MSK IAM resource ARNs (docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html#msk-iam-resources):
 * cluster `arn:aws:kafka:R:A:cluster/NAME/UUID`, topic `arn:aws:kafka:R:A:topic/NAME/UUID/TOPIC`,
 * group `arn:aws:kafka:R:A:group/NAME/UUID/GROUP`.
 */
export function kafkaArns(clusterArn: pulumi.Output<string>) {
  const part = (kind: "topic" | "group", name: string) => clusterArn.apply((a) => `${a.replace(":cluster/", `:${kind}/`)}/${name}`);
  return {
    cluster: clusterArn,
    topic: (name: string) => part("topic", name),
    group: (name: string) => part("group", name),
    /** Any topic of the cluster (the topic setup step). */
    anyTopic: part("topic", "*"),
  };
}

/** Data-plane permissions to consume `topic` as `group` (what the MSK event-source mapping does with the function's role). */
export function consumePermissions(clusterArn: pulumi.Output<string>, topic: string, group: string) {
  const arns = kafkaArns(clusterArn);
  return [
    { actions: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:DescribeClusterDynamicConfiguration"], resources: [arns.cluster] },
    { actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources: [arns.topic(topic)] },
    { actions: ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources: [arns.group(group)] },
  ];
}

/** Data-plane permissions to produce to `topics` (idempotent producer). */
export function producePermissions(clusterArn: pulumi.Output<string>, topics: string[]) {
  const arns = kafkaArns(clusterArn);
  return [
    { actions: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"], resources: [arns.cluster] },
    { actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], resources: topics.map((t) => arns.topic(t)) },
  ];
}

/** OpenSearch HTTP access to the given domains (identity side; FGAC maps the role inside the domain). */
export function openSearchPermissions(domainArns: pulumi.Input<string>[]) {
  return [
    {
      actions: ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch"],
      resources: domainArns.map((a) => pulumi.interpolate`${a}/*`),
    },
  ];
}

/** Consumer group ids, one per stage so two stages never share offsets (create-only on the mapping). */
export function consumerGroup(app: string, stage: string, consumer: string): string {
  return `${app}-${stage}-${consumer}`;
}

export { TOPICS };
