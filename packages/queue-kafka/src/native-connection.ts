import { readFileSync } from "node:fs";
import { mskIamTokenProvider, type KafkaConnection } from "./connection";

export type RdkafkaConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

/** KafkaConnection → librdkafka properties, which both client APIs of @confluentinc/kafka-javascript accept. */
export function rdkafkaConfig(conn: KafkaConnection): RdkafkaConfig {
  if (conn.brokers.length === 0) throw new Error("no Kafka brokers given (--brokers HOST:PORT,...)");
  const config: RdkafkaConfig = {
    "bootstrap.servers": conn.brokers.join(","),
    "client.id": conn.clientId ?? "unmeltable",
    "log_level": 3,
  };
  const sasl = conn.sasl;
  const tls = conn.ssl || sasl?.mechanism === "aws-msk-iam";
  if (sasl) config["security.protocol"] = tls ? "sasl_ssl" : "sasl_plaintext";
  else if (tls) config["security.protocol"] = "ssl";
  if (conn.caFile) config["ssl.ca.pem"] = readFileSync(conn.caFile, "utf8");
  if (sasl?.mechanism === "aws-msk-iam") {
    config["sasl.mechanisms"] = "OAUTHBEARER";
    const region = sasl.region;
    config["oauthbearer_token_refresh_cb"] = mskIamTokenProvider(region);
  } else if (sasl) {
    config["sasl.mechanisms"] = sasl.mechanism.toUpperCase();
    config["sasl.username"] = sasl.username;
    config["sasl.password"] = sasl.password;
  }
  return config;
}

