import path from "node:path";
import type { Queue } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import type { KafkaConnection } from "@unmeltable/queue-kafka";

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
    } & KafkaConnection);

export async function openQueue(config: QueueConfig, dataDir: string, log: (line: string) => void): Promise<Queue> {
  if (config.kind === "embedded") return EmbeddedQueue.open({ dir: path.join(dataDir, "queue") });
  let brokers = config.brokers;
  if (config.mskClusterArn) {
    brokers = await mskBootstrapBrokers(config.mskClusterArn, config.region, config.sasl?.mechanism === "aws-msk-iam" ? "iam" : config.sasl ? "scram" : config.ssl ? "tls" : "plaintext");
    log(`MSK cluster ${config.mskClusterArn}: brokers ${brokers.join(",")}`);
  }
  // Loaded only here: the Kafka client is a native addon that the embedded mode never needs.
  const { KafkaQueue } = await import("@unmeltable/queue-kafka");
  return new KafkaQueue({ ...config, brokers, produceTimeoutMs: config.produceTimeoutMs });
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
