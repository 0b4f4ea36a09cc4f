import { readFileSync } from "node:fs";
import { generateAuthToken } from "aws-msk-iam-sasl-signer-js";

/**
 * How to reach a Kafka cluster: Amazon MSK or self-managed. Translated here into librdkafka properties,
 * which both client APIs of @confluentinc/kafka-javascript accept.
 *
 * - TLS: `ssl`, optionally with a CA bundle (self-signed clusters).
 * - SASL/SCRAM (MSK port 9096, self-managed): username and password.
 * - MSK IAM (port 9098): SASL OAUTHBEARER carrying a SigV4-signed token from aws-msk-iam-sasl-signer-js;
 *   librdkafka asks for a new token before the current one expires (tokens last at most 15 minutes).
 */
export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  /** PEM file with the CA(s) that signed the brokers' certificates. */
  caFile?: string;
  sasl?: { mechanism: "scram-sha-256" | "scram-sha-512" | "plain"; username: string; password: string } | { mechanism: "aws-msk-iam"; region: string };
}

export type RdkafkaConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

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
    config["oauthbearer_token_refresh_cb"] = mskIamTokenProvider(region) as never;
  } else if (sasl) {
    config["sasl.mechanisms"] = sasl.mechanism.toUpperCase();
    config["sasl.username"] = sasl.username;
    config["sasl.password"] = sasl.password;
  }
  return config;
}

/**
 * The OAUTHBEARER token callback for MSK IAM: librdkafka calls it at connect and again before the token's
 * lifetime ends. The signer uses the default AWS credential chain (instance role on EC2, the function's
 * role on Lambda, the profile locally).
 */
export function mskIamTokenProvider(region: string) {
  return async (): Promise<{ tokenValue: string; lifetime: number; principal: string }> => {
    const { token, expiryTime } = await generateAuthToken({ region });
    return { tokenValue: token, lifetime: expiryTime, principal: "unmeltable" };
  };
}

/** Parses "host:port,host:port" (and trims spaces). */
export function parseBrokers(text: string): string[] {
  return text
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
}
