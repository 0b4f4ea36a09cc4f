/**
 * Pipeline: the process stage (MSK mapping on `raw`), one index function per tier (MSK mapping on
 * `processed.<tier>`, writing to that tier's domain) and one deferred function per tier (the index
 * handler, MSK mapping on `deferred.<tier>`: over-plan events, one invocation at a time; config
 * DEFERRED). Every mapping takes its batch size, batching window, starting position, pollers and retry
 * limit from the tiers table (stacks/config.ts; the deferred ones from DEFERRED), and its consumer
 * group id from the stage, so stages never share offsets.
 *
 * Error handling (`errorHandling` of the stage). The driver (packages/lambda/src/msk-driver.ts) blocks on
 * transient failures (OpenSearch throttling or down, brokers unreachable) for most of each invocation and
 * dead-letters only what the stage finds invalid; what Lambda does with the rest:
 * - provisioned: provisioned pollers; ReportBatchItemFailures (the driver reports the first unfinished
 *   record of each blocked partition; Lambda commits what came before and invokes again from it); bisect
 *   when the function itself fails (a crash, a timeout); no record age limit; a retry limit sized to
 *   outlast the topics' retention (stacks/config.ts). Only after it, or for a record Lambda cannot deliver
 *   at all, does a batch go to the on-failure destination `kafka://deadletter` on the same cluster, where
 *   `unmeltable deadletters` reads Lambda's envelope beside the app's own dead letters. These controls
 *   exist only in provisioned mode.
 * - on-demand: Lambda's default poller scaling; a failed invocation is retried with the whole batch until
 *   it succeeds or the records expire (the driver fails the invocation while a partition stays blocked).
 *
 * The dev-stage guard: mappings are created disabled when the stage config says `esmEnabled: false`
 * (personal stages unless UNMELTABLE_ESM_ENABLED=1): under `sst dev` the function is a stub that answers
 * success after 16 s when no session is connected, which would commit offsets of unprocessed records.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { concurrencyPlan, DEFERRED, pascal, processFor, TOPICS, tiersFor, type EsmSettings, type StageConfig } from "./config";
import { consumePermissions, consumerGroup, functionArgs, MSK_ESM_POLICY, openSearchPermissions, producePermissions, type FunctionContext } from "./functions";
import type { Queue } from "./queue";
import { derivedRulesRead } from "./alerts";
import type { PrivateBucket } from "./storage";

export interface StageFunctions {
  process: sst.aws.Function;
  /** tier → index function */
  index: Record<string, sst.aws.Function>;
  /** tier → its deferred function: the index handler on `deferred.<tier>`, one invocation at a time (DEFERRED) */
  deferred: Record<string, sst.aws.Function>;
}

export interface Mappings {
  process: aws.lambda.EventSourceMapping;
  index: Record<string, aws.lambda.EventSourceMapping>;
  /** tier → the mapping of its deferred function on `deferred.<tier>` (over-plan events, docs/plans.md) */
  deferred: Record<string, aws.lambda.EventSourceMapping>;
}

/** The mapping arguments for one consumer, from its settings row. */
export function mappingArgs(
  cfg: StageConfig,
  app: string,
  o: { clusterArn: pulumi.Input<string>; functionArn: pulumi.Input<string>; topic: string; consumer: string; esm: EsmSettings },
): aws.lambda.EventSourceMappingArgs {
  const provisioned = cfg.errorHandling === "provisioned";
  return {
    eventSourceArn: o.clusterArn,
    functionName: o.functionArn,
    topics: [o.topic],
    enabled: cfg.esmEnabled,
    startingPosition: o.esm.startingPosition,
    batchSize: o.esm.batchSize,
    maximumBatchingWindowInSeconds: o.esm.batchingWindowSeconds,
    amazonManagedKafkaEventSourceConfig: { consumerGroupId: consumerGroup(app, cfg.stage, o.consumer) },
    ...(provisioned
      ? {
          provisionedPollerConfig: { minimumPollers: o.esm.pollers.min, maximumPollers: o.esm.pollers.max },
          functionResponseTypes: ["ReportBatchItemFailures"],
          bisectBatchOnFunctionError: true,
          maximumRetryAttempts: o.esm.retryLimit,
          // -1: no age limit. A blocked partition's records are never discarded for being old.
          maximumRecordAgeInSeconds: -1,
          destinationConfig: { onFailure: { destinationArn: `kafka://${TOPICS.deadLetter}` } },
        }
      : {}),
  };
}

/** The process function, and one index function and one deferred function per tier. */
export function createStageFunctions(app: string, ctx: FunctionContext, queue: Queue, index: { domainArns: pulumi.Output<string>[] }, config?: PrivateBucket): StageFunctions {
  const cfg = ctx.cfg;
  // Reservations cap the stages so they cannot take the account's unreserved pool (stacks/config.ts).
  const plan = concurrencyPlan(cfg);
  const tiers = tiersFor(cfg);
  const cluster = queue.clusterArn;
  // The on-failure destination `kafka://deadletter` is written with the function's role.
  const deadLetterWrite = producePermissions(cluster, [TOPICS.deadLetter]);
  // Tenants' derived-field rules, applied by the process stage (functions/process.ts).
  const derived = config ? derivedRulesRead(config) : { environment: {}, permissions: [] };

  const process = new sst.aws.Function(
    "Process",
    functionArgs(ctx, {
      handler: "functions/process.handler",
      description: "Process stage: raw -> processed.<tier> (over plan: deferred.<tier>)",
      memoryMb: processFor(cfg).memoryMb,
      timeoutSeconds: processFor(cfg).timeoutSeconds,
      // Never the sst dev stub: the mapping would commit what the stub "processed" without a session.
      live: false,
      reservedConcurrency: plan?.process,
      environment: derived.environment,
      policies: [MSK_ESM_POLICY],
      permissions: [
        ...derived.permissions,
        ...consumePermissions(cluster, TOPICS.raw, consumerGroup(app, cfg.stage, "process")),
        ...producePermissions(cluster, [TOPICS.deadLetter, ...tiers.flatMap((t) => [TOPICS.processed(t.name), TOPICS.deferred(t.name)])]),
      ],
    }),
  );

  const indexFns: Record<string, sst.aws.Function> = {};
  tiers.forEach((tier, i) => {
    indexFns[tier.name] = new sst.aws.Function(
      `Index${pascal(tier.name)}Writer`,
      functionArgs(ctx, {
        handler: "functions/index.handler",
        description: `Index stage, tier ${tier.name}: processed.${tier.name} -> OpenSearch`,
        memoryMb: tier.indexFunction.memoryMb,
        timeoutSeconds: tier.indexFunction.timeoutSeconds,
        environment: { UNMELTABLE_TIER: tier.name },
        live: false,
        openSearch: true,
        reservedConcurrency: plan?.index[tier.name],
        policies: [MSK_ESM_POLICY],
        permissions: [
          ...consumePermissions(cluster, TOPICS.processed(tier.name), consumerGroup(app, cfg.stage, `index-${tier.name}`)),
          ...deadLetterWrite,
          ...openSearchPermissions([index.domainArns[i]]),
        ],
      }),
    );
  });
  // The tiers' lower-priority paths (stacks/config.ts DEFERRED): the same handler and domain as the
  // tier's index function, its own role, reservation, mapping and alarms.
  const deferredFns: Record<string, sst.aws.Function> = {};
  tiers.forEach((tier, i) => {
    deferredFns[tier.name] = new sst.aws.Function(
      `Index${pascal(tier.name)}Deferred`,
      functionArgs(ctx, {
        handler: "functions/index.handler",
        description: `Index stage, tier ${tier.name}, deferred path: deferred.${tier.name} -> OpenSearch (over-plan events, one invocation at a time)`,
        memoryMb: tier.indexFunction.memoryMb,
        timeoutSeconds: tier.indexFunction.timeoutSeconds,
        environment: { UNMELTABLE_TIER: tier.name },
        live: false,
        openSearch: true,
        reservedConcurrency: plan?.deferred[tier.name],
        policies: [MSK_ESM_POLICY],
        permissions: [
          ...consumePermissions(cluster, TOPICS.deferred(tier.name), consumerGroup(app, cfg.stage, `index-deferred-${tier.name}`)),
          ...deadLetterWrite,
          ...openSearchPermissions([index.domainArns[i]]),
        ],
      }),
    );
  });
  return { process, index: indexFns, deferred: deferredFns };
}

/**
 * The event-source mappings, created once what they need exists: the topics (all mappings) and the
 * OpenSearch role mapping (index mappings; without it every write would be refused and, in
 * provisioned mode, the first batches would end in the dead-letter topic).
 */
export function createMappings(
  app: string,
  cfg: StageConfig,
  queue: Queue,
  fns: StageFunctions,
  after: { topics: pulumi.Resource[]; indexAccess: pulumi.Resource[] },
): Mappings {
  const cluster = queue.clusterArn;
  const process = new aws.lambda.EventSourceMapping(
    "ProcessMapping",
    mappingArgs(cfg, app, { clusterArn: cluster, functionArn: fns.process.arn, topic: TOPICS.raw, consumer: "process", esm: processFor(cfg).esm }),
    { dependsOn: after.topics },
  );
  const index: Mappings["index"] = {};
  const deferred: Mappings["deferred"] = {};
  for (const tier of tiersFor(cfg)) {
    index[tier.name] = new aws.lambda.EventSourceMapping(
      `Index${pascal(tier.name)}Mapping`,
      mappingArgs(cfg, app, { clusterArn: cluster, functionArn: fns.index[tier.name].arn, topic: TOPICS.processed(tier.name), consumer: `index-${tier.name}`, esm: tier.esm }),
      { dependsOn: [...after.topics, ...after.indexAccess] },
    );
    // The tier's lower-priority path: its own function, consumer group and settings (one partition, one poller, small batches).
    deferred[tier.name] = new aws.lambda.EventSourceMapping(
      `Index${pascal(tier.name)}DeferredMapping`,
      mappingArgs(cfg, app, { clusterArn: cluster, functionArn: fns.deferred[tier.name].arn, topic: TOPICS.deferred(tier.name), consumer: `index-deferred-${tier.name}`, esm: DEFERRED.esm }),
      { dependsOn: [...after.topics, ...after.indexAccess] },
    );
  }
  return { process, index, deferred };
}
