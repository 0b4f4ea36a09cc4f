/**
 * Queue: the MSK cluster (provisioned brokers spread over the 3 AZs, IAM authentication only, TLS
 * between clients and brokers and inside the cluster, encryption at rest), its broker configuration,
 * and the topic setup step run on every deploy that changes the topics: `functions/topics.handler`
 * creates `raw`, `deadletter`, `processed.<tier>` and `deferred.<tier>` when missing and verifies them when present
 * (the AWS provider cannot create Kafka topics). SST has no MSK component: this is raw Pulumi.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AZ_COUNT, DEFERRED, processFor, RETENTION, TOPICS, tiersFor, type StageConfig } from "./config";
import type { Network } from "./network";
import { functionArgs, kafkaArns, type FunctionContext } from "./functions";

export interface Queue {
  cluster: aws.msk.Cluster;
  clusterArn: pulumi.Output<string>;
  bootstrapBrokers: pulumi.Output<string>;
}

/** 8 MiB records: the collector's raw batches stay under 900 KiB, processed records ~1 MiB (README, "Kafka"). */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

export function serverProperties(cfg: StageConfig): string {
  const replication = Math.min(3, cfg.msk.brokers);
  return [
    "auto.create.topics.enable=false",
    `default.replication.factor=${replication}`,
    `min.insync.replicas=${Math.max(1, replication - 1)}`,
    "unclean.leader.election.enable=false",
    `message.max.bytes=${MAX_MESSAGE_BYTES}`,
    `replica.fetch.max.bytes=${MAX_MESSAGE_BYTES}`,
    // The daily archive reads yesterday's raw records at 00:15 UTC: keep three days for slack and reruns.
    // Dead letters keep longer (a topic setting: see topicPlan).
    `log.retention.hours=${RETENTION.pipelineHours}`,
    `num.partitions=${processFor(cfg).rawPartitions}`,
  ].join("\n");
}

export function createQueue(app: string, cfg: StageConfig, net: Network): Queue {
  const config = new aws.msk.Configuration("KafkaConfiguration", {
    name: `${app}-${cfg.stage}`,
    kafkaVersions: [cfg.msk.kafkaVersion],
    serverProperties: serverProperties(cfg),
  });
  const logs = new aws.cloudwatch.LogGroup("KafkaBrokerLogs", {
    name: `/${app}/${cfg.stage}/msk`,
    retentionInDays: cfg.logRetentionDays,
  });
  const cluster = new aws.msk.Cluster(
    "Kafka",
    {
      clusterName: `${app}-${cfg.stage}`,
      kafkaVersion: cfg.msk.kafkaVersion,
      numberOfBrokerNodes: cfg.msk.brokers,
      brokerNodeGroupInfo: {
        instanceType: cfg.msk.brokerType,
        clientSubnets: net.privateSubnets.apply((s) => s.slice(0, AZ_COUNT)),
        securityGroups: [net.mskSecurityGroup.id],
        storageInfo: { ebsStorageInfo: { volumeSize: cfg.msk.volumeGb } },
      },
      clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
      encryptionInfo: {
        // At rest: always on in MSK; without a key ARN it uses the AWS-managed key for MSK.
        encryptionInTransit: { clientBroker: "TLS", inCluster: true },
      },
      configurationInfo: { arn: config.arn, revision: config.latestRevision },
      loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: logs.name } } },
      enhancedMonitoring: cfg.kind === "production" ? "PER_TOPIC_PER_PARTITION" : "DEFAULT",
    },
    {
      customTimeouts: { create: "120m", update: "120m", delete: "120m" },
      // Storage auto-scaling grows the volumes; a deploy must not try to shrink them back (MSK refuses).
      ignoreChanges: ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"],
    },
  );
  createStorageAutoScaling(cfg, cluster);
  return { cluster, clusterArn: cluster.arn, bootstrapBrokers: cluster.bootstrapBrokersSaslIam };
}

/**
 * MSK storage auto-scaling (docs.aws.amazon.com/msk/latest/developerguide/msk-autoexpand.html):
 * Application Auto Scaling tracks `KafkaBrokerStorageUtilization` and expands every broker's volume
 * when it passes the target, up to the ceiling (packages/sizing: 4 × the derived size, at most 16 TiB).
 * Volumes never shrink, and an expansion is followed by a cool-down of hours before the next.
 */
function createStorageAutoScaling(cfg: StageConfig, cluster: aws.msk.Cluster) {
  const target = new aws.appautoscaling.Target("KafkaStorageScaling", {
    serviceNamespace: "kafka",
    scalableDimension: "kafka:broker-storage:VolumeSize",
    resourceId: cluster.arn,
    minCapacity: 1,
    maxCapacity: cfg.msk.autoScaling.maxVolumeGb,
  });
  new aws.appautoscaling.Policy("KafkaStorageScalingPolicy", {
    name: `${cfg.stage}-kafka-broker-storage`,
    policyType: "TargetTrackingScaling",
    serviceNamespace: target.serviceNamespace,
    scalableDimension: target.scalableDimension,
    resourceId: target.resourceId,
    targetTrackingScalingPolicyConfiguration: {
      predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" },
      targetValue: cfg.msk.autoScaling.targetPercent,
      // Scale-in is not supported for MSK storage.
      disableScaleIn: true,
    },
  });
}

/**
 * The topics the deployment needs, with their partitions from the tiers table. The dead letters (the
 * app's own and Lambda's on-failure destination) and the redrive ledger carry their own retention.
 */
export function topicPlan(cfg: StageConfig) {
  const tiers = tiersFor(cfg);
  return [
    { name: TOPICS.raw, partitions: processFor(cfg).rawPartitions },
    { name: TOPICS.deadLetter, partitions: 1, config: { "retention.ms": String(RETENTION.deadLetterDays * 86_400_000) } },
    { name: TOPICS.redriven, partitions: 1, config: { "retention.ms": String(RETENTION.redrivenMs) } },
    ...tiers.map((t) => ({ name: TOPICS.processed(t.name), partitions: t.partitions })),
    ...tiers.map((t) => ({ name: TOPICS.deferred(t.name), partitions: DEFERRED.partitions })),
  ];
}

/**
 * The topic setup function and its invocation on deploy. `dev: false`: under `sst dev` an invocation
 * of the stub would "succeed" after 16 s without creating anything. The invocation runs again when
 * the topic plan changes (new tier, more partitions) and is the dependency of every event-source mapping.
 */
export function createTopicSetup(ctx: FunctionContext, queue: Queue) {
  const plan = topicPlan(ctx.cfg);
  const tiers = tiersFor(ctx.cfg);
  const arns = kafkaArns(queue.clusterArn);
  const fn = new sst.aws.Function(
    "Topics",
    functionArgs(ctx, {
      handler: "functions/topics.handler",
      description: "Creates or verifies the Kafka topics (raw, deadletter, deadletter.redriven, processed.<tier>, deferred.<tier>)",
      memoryMb: 512,
      timeoutSeconds: 300,
      live: false,
      environment: {
        UNMELTABLE_PARTITIONS: String(processFor(ctx.cfg).rawPartitions),
        UNMELTABLE_TIERS: tiers.map((t) => t.name).join(","),
      },
      permissions: [
        { actions: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:DescribeClusterDynamicConfiguration"], resources: [arns.cluster] },
        {
          actions: [
            "kafka-cluster:CreateTopic",
            "kafka-cluster:DescribeTopic",
            "kafka-cluster:AlterTopic",
            "kafka-cluster:DescribeTopicDynamicConfiguration",
            // The dead-letter topics' retention.ms is a topic setting.
            "kafka-cluster:AlterTopicDynamicConfiguration",
          ],
          resources: [arns.anyTopic],
        },
      ],
    }),
  );
  const input = JSON.stringify({
    // What functions/topics.ts reads today: one partition count and the tier names ...
    partitions: processFor(ctx.cfg).rawPartitions,
    tiers: tiers.map((t) => t.name),
    // ... and the full plan with each tier's own partition count (docs/deploy.md, "Topics").
    topics: plan,
  });
  const invocation = new aws.lambda.Invocation(
    "TopicsSetup",
    { functionName: fn.name, input, triggers: { plan: JSON.stringify(plan), cluster: queue.clusterArn } },
    { dependsOn: [queue.cluster] },
  );
  return { fn, invocation, plan };
}
