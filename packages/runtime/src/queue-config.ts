import path from "node:path";
import type { Logger, Queue } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { checkKafkaOptions, KafkaOptionsError, mskClusterArnProblem, type KafkaConnection } from "@unmeltable/queue-kafka";

/**
 * Which queue the program runs on: the embedded on-disk log (one machine) or Kafka / Amazon MSK.
 */
export type QueueConfig =
  | { kind: "embedded" }
  | ({
      kind: "kafka";
      /** Resolve the brokers from an MSK cluster ARN (GetBootstrapBrokers) instead of listing them. */
      mskClusterArn?: string;
      region?: string;
      produceTimeoutMs?: number;
      /**
       * Which Kafka client: "js" (default), @platformatic/kafka, pure JavaScript; or "native", the optional
       * @confluentinc/kafka-javascript (librdkafka). Unset: UNMELTABLE_KAFKA_CLIENT, else "js".
       */
      client?: KafkaClientKind;
    } & KafkaConnection);

export type KafkaClientKind = "js" | "native";

/** The Kafka client asked for: the option, else UNMELTABLE_KAFKA_CLIENT, else the pure-JS one. */
export function kafkaClientKind(option: string | undefined, env: NodeJS.ProcessEnv = process.env): KafkaClientKind {
  const kind = option ?? env.UNMELTABLE_KAFKA_CLIENT ?? "js";
  if (kind !== "js" && kind !== "native") throw new Error(`the Kafka client must be js or native (--kafka-client, UNMELTABLE_KAFKA_CLIENT), not ${kind}`);
  return kind;
}

/** The command-line flag of each Kafka option, so that a refused option is named as the operator typed it. */
const KAFKA_FLAGS: Record<string, string> = {
  brokers: "--brokers",
  mskClusterArn: "--msk-cluster-arn",
  caFile: "--kafka-ca",
  "sasl.mechanism": "--kafka-sasl",
  "sasl.username": "--kafka-username",
  "sasl.password": "--kafka-password",
  "sasl.region": "--aws-region",
  produceTimeoutMs: "--produce-timeout-ms",
  clientId: "--collector-id",
  client: "--kafka-client",
};

/**
 * Checks a Kafka queue config before anything is started: every problem named by its option and flag,
 * e.g. `Kafka option brokers.1 (--brokers): expected HOST:PORT, got "kafka-2"`.
 */
export function checkQueueConfig(config: QueueConfig): void {
  if (config.kind !== "kafka") return;
  const { kind: _kind, mskClusterArn, region: _region, client, ...options } = config;
  const problems: { option: string; message: string }[] = [];
  try {
    checkKafkaOptions(options, { brokersLater: mskClusterArn !== undefined });
  } catch (err) {
    if (!(err instanceof KafkaOptionsError)) throw err;
    problems.push(...err.problems);
  }
  const arnProblem = mskClusterArn === undefined ? undefined : mskClusterArnProblem(mskClusterArn);
  if (arnProblem) problems.push({ option: "mskClusterArn", message: arnProblem });
  if (client !== undefined && client !== "js" && client !== "native") problems.push({ option: "client", message: `expected "js" or "native", got ${JSON.stringify(client)}` });
  if (problems.length === 0) return;
  const flagOf = (option: string) => KAFKA_FLAGS[option] ?? KAFKA_FLAGS[option.replace(/\.\d+$/, "")];
  throw new Error(problems.map((p) => `Kafka option ${p.option}${flagOf(p.option) ? ` (${flagOf(p.option)})` : ""}: ${p.message}`).join("\n"));
}

/** Opens the queue the configuration names; `logger` gets the embedded queue's failures and which brokers and client Kafka uses. */
export async function openQueue(config: QueueConfig, dataDir: string, logger: Logger): Promise<Queue> {
  if (config.kind === "embedded") return EmbeddedQueue.open({ dir: path.join(dataDir, "queue"), logger });
  checkQueueConfig(config);
  let brokers = config.brokers;
  if (config.mskClusterArn) {
    brokers = await mskBootstrapBrokers(config.mskClusterArn, config.region, config.sasl?.mechanism === "aws-msk-iam" ? "iam" : config.sasl ? "scram" : config.ssl ? "tls" : "plaintext");
    logger.info("MSK cluster's bootstrap brokers", { cluster: config.mskClusterArn, brokers: brokers.join(",") });
  }
  const options = { ...config, brokers, produceTimeoutMs: config.produceTimeoutMs };
  if (kafkaClientKind(config.client) === "native") {
    // The optional native adapter, from its own entry: constructing it says in one line how to install
    // the addon when it is missing (KAFKA_CLIENT_MISSING).
    const { NativeKafkaQueue } = await import("@unmeltable/queue-kafka/native");
    logger.info("Kafka client: @confluentinc/kafka-javascript (librdkafka, native)");
    return new NativeKafkaQueue(options);
  }
  // Loaded only here: the embedded mode never needs a Kafka client.
  const { PlatformaticKafkaQueue } = await import("@unmeltable/queue-kafka");
  return new PlatformaticKafkaQueue(options);
}

/**
 * The bootstrap brokers of an MSK cluster for the chosen authentication, from its ARN
 * (kafka:GetBootstrapBrokers), so a deployment needs to know only the cluster.
 */
export async function mskBootstrapBrokers(clusterArn: string, region: string | undefined, auth: "iam" | "scram" | "tls" | "plaintext"): Promise<string[]> {
  const { KafkaClient, GetBootstrapBrokersCommand } = await import("@aws-sdk/client-kafka");
  const client = new KafkaClient(region ? { region } : {});
  const out = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const list =
    auth === "iam" ? out.BootstrapBrokerStringSaslIam : auth === "scram" ? out.BootstrapBrokerStringSaslScram : auth === "tls" ? out.BootstrapBrokerStringTls : out.BootstrapBrokerString;
  if (!list) throw new Error(`MSK cluster ${clusterArn} has no ${auth} bootstrap brokers (is that authentication enabled on it?)`);
  return list.split(",");
}

/** Parses "host:port,host:port" (and trims spaces). */
export function parseBrokers(text: string): string[] {
  return text
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
}
