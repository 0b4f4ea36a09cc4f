import { generateAuthToken } from "aws-msk-iam-sasl-signer-js";

/**
 * How to reach a Kafka cluster: Amazon MSK or self-managed. Each client maps it to its own options:
 * js-connection.ts for @platformatic/kafka (the default), native-connection.ts for librdkafka.
 *
 * - TLS: `ssl`, optionally with a CA bundle (self-signed clusters).
 * - SASL/SCRAM (MSK port 9096, self-managed): username and password.
 * - MSK IAM (port 9098): SASL OAUTHBEARER carrying a SigV4-signed token from aws-msk-iam-sasl-signer-js,
 *   renewed before it expires (tokens last at most 15 minutes).
 */
export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  /** PEM file with the CA(s) that signed the brokers' certificates. */
  caFile?: string;
  sasl?: { mechanism: "scram-sha-256" | "scram-sha-512" | "plain"; username: string; password: string } | { mechanism: "aws-msk-iam"; region: string };
}

/**
 * Signs an OAUTHBEARER token for MSK IAM (lifetime: epoch ms of its expiry). librdkafka calls it at connect
 * and again before the token's lifetime ends; the pure-JS client gets it through mskIamTokenRefresher. The
 * signer uses the default AWS credential chain (instance role on EC2, the function's role on Lambda, the
 * profile locally).
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
