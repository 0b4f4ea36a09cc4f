import { errorFields, type IndexPort, type Queue, type QueueProducer, type SliceAdmin } from "@unmeltable/core";
import type { TieredIndex } from "@unmeltable/index-opensearch";
import type { ReloadingTenantDirectory } from "@unmeltable/tenants-config";
import { loadTenantDirectory } from "@unmeltable/tenants-config";
import { appLogger } from "./powertools";
import { INDEX_ENV, KAFKA_ENV, readEnv, STAGE_ENV, TENANTS_ENV } from "./function-env";

/**
 * Builds a function's ports from its environment (set by the stacks), once per container: the Kafka
 * producer, the tenants and the index are reused across invocations.
 *
 *   UNMELTABLE_MSK_CLUSTER_ARN | UNMELTABLE_KAFKA_BROKERS   where Kafka is
 *   UNMELTABLE_KAFKA_SASL=aws-msk-iam                        MSK IAM (with AWS_REGION)
 *   UNMELTABLE_TENANTS=s3://bucket/tenants.json | path       the tenants
 *   UNMELTABLE_INDEX=opensearch | embedded                   the index (embedded: UNMELTABLE_INDEX_DIR)
 *   UNMELTABLE_OPENSEARCH_ENDPOINTS={"tier":"https://..."}   one domain per tier
 *   UNMELTABLE_OPENSEARCH_INDEX_SETTINGS={"tier":{"replicas":1,"analysis":"icu"}}   each tier's template settings
 *   UNMELTABLE_TIER                                          the index function's tier
 *   UNMELTABLE_ERROR_HANDLING=provisioned | on-demand        see msk-driver.ts
 *   UNMELTABLE_PRODUCE_TIMEOUT_MS                            how long a Kafka write may take (30 s)
 *
 * Each builder reads its variables through the schemas of function-env.ts: a malformed one is refused
 * with its name (functions check their whole environment at cold start with functionEnv()).
 */
export interface FunctionEnv {
  env: NodeJS.ProcessEnv;
}

export function errorHandling(env: NodeJS.ProcessEnv = process.env): "provisioned" | "on-demand" {
  return readEnv(STAGE_ENV, env).UNMELTABLE_ERROR_HANDLING;
}

let queue: Promise<Queue> | undefined;
let producer: Promise<QueueProducer> | undefined;
let tenants: Promise<ReloadingTenantDirectory> | undefined;
/** The index; with OpenSearch's layout, its batched lifecycle too (functions/lifecycle.ts). */
type LambdaIndex = IndexPort & SliceAdmin & Partial<Pick<TieredIndex, "layoutLifecycle">>;
let index: Promise<LambdaIndex> | undefined;

export function kafka(env: NodeJS.ProcessEnv = process.env): Promise<Queue> {
  queue ??= (async () => {
    // The pure-JavaScript client: nothing native in a function bundle (the native adapter is a separate
    // entry, @unmeltable/queue-kafka/native, that no function imports).
    const { PlatformaticKafkaQueue } = await import("@unmeltable/queue-kafka");
    const k = readEnv(KAFKA_ENV, env);
    const region = k.AWS_REGION;
    // KAFKA_ENV has checked that IAM comes with a region, and that there are brokers or a cluster.
    const sasl = k.UNMELTABLE_KAFKA_SASL === "aws-msk-iam" && region ? { mechanism: "aws-msk-iam" as const, region } : undefined;
    let brokers = (k.UNMELTABLE_KAFKA_BROKERS ?? "").split(",").filter(Boolean);
    const arn = k.UNMELTABLE_MSK_CLUSTER_ARN;
    if (brokers.length === 0 && arn) {
      const { KafkaClient, GetBootstrapBrokersCommand } = await import("@aws-sdk/client-kafka");
      const out = await new KafkaClient(region ? { region } : {}).send(new GetBootstrapBrokersCommand({ ClusterArn: arn }));
      const list = sasl ? out.BootstrapBrokerStringSaslIam : out.BootstrapBrokerStringTls ?? out.BootstrapBrokerString;
      if (!list) throw new Error(`MSK cluster ${arn} has no bootstrap brokers for this authentication`);
      brokers = list.split(",");
    }
    return new PlatformaticKafkaQueue({
      brokers,
      sasl,
      ssl: Boolean(sasl) || k.UNMELTABLE_KAFKA_TLS === "1",
      clientId: `unmeltable-${k.AWS_LAMBDA_FUNCTION_NAME ?? "function"}`,
      // Within the function's timeout: a produce that cannot finish fails the invocation, and Lambda retries.
      produceTimeoutMs: k.UNMELTABLE_PRODUCE_TIMEOUT_MS,
    });
  })();
  return queue;
}

export function kafkaProducer(env: NodeJS.ProcessEnv = process.env): Promise<QueueProducer> {
  producer ??= kafka(env).then((q) => q.producer());
  return producer;
}

export function tenantDirectory(env: NodeJS.ProcessEnv = process.env): Promise<ReloadingTenantDirectory> {
  // A failed refresh keeps the last good tenants: said as a warning in the function's JSON log.
  tenants ??= (async () => {
    const source = readEnv(TENANTS_ENV, env).UNMELTABLE_TENANTS;
    return loadTenantDirectory(source, undefined, (err) => appLogger.warn("tenants config not reloaded, the last good one stays in use", { source, ...errorFields(err) }));
  })();
  return tenants;
}

export function indexPort(env: NodeJS.ProcessEnv = process.env): Promise<LambdaIndex> {
  index ??= (async () => {
    const ix = readEnv(INDEX_ENV, env);
    if (ix.UNMELTABLE_INDEX === "embedded" && ix.UNMELTABLE_INDEX_DIR) {
      const { EmbeddedIndex } = await import("@unmeltable/index-sqlite");
      return new EmbeddedIndex({ dir: ix.UNMELTABLE_INDEX_DIR, writer: "inline" });
    }
    const { openSearchFromEnv } = await import("./opensearch-env");
    return openSearchFromEnv(ix, env.AWS_REGION, await tenantDirectory(env));
  })();
  return index;
}

/** Forgets the cached ports (tests start functions with different environments). */
export function resetEnvironment(): void {
  queue = producer = tenants = index = undefined;
}
