import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mskIamTokenProvider, mskIamTokenRefresher, platformaticConnection } from "@unmeltable/queue-kafka";
import { rdkafkaConfig } from "@unmeltable/queue-kafka/native";

/** Signing needs credentials, not the network: static fake ones are enough to check the token. */
function withFakeAwsCredentials() {
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    env = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  });
  afterEach(() => {
    process.env = env;
  });
}

/** The presigned URL inside an MSK IAM token. */
function tokenUrl(token: string): URL {
  return new URL(Buffer.from(token, "base64url").toString("utf8"));
}

describe("Kafka connection settings, pure-JS client (@platformatic/kafka)", () => {
  withFakeAwsCredentials();

  it("plaintext, TLS with a CA file, SCRAM and PLAIN become the client's options", () => {
    expect(platformaticConnection({ brokers: ["a:9092", "b:9092"] })).toEqual({ clientId: "unmeltable", bootstrapBrokers: ["a:9092", "b:9092"] });
    expect(platformaticConnection({ brokers: ["a:9094"], ssl: true, clientId: "c1" })).toEqual({ clientId: "c1", bootstrapBrokers: ["a:9094"], tls: {}, tlsServerName: true });
    const dir = mkdtempSync(path.join(tmpdir(), "kafka-ca-"));
    try {
      const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
      writeFileSync(path.join(dir, "ca.pem"), pem);
      expect(platformaticConnection({ brokers: ["a:9094"], ssl: true, caFile: path.join(dir, "ca.pem") }).tls).toEqual({ ca: pem });
    } finally {
      rmSync(dir, { recursive: true });
    }
    for (const [mechanism, name] of [
      ["scram-sha-256", "SCRAM-SHA-256"],
      ["scram-sha-512", "SCRAM-SHA-512"],
      ["plain", "PLAIN"],
    ] as const) {
      const options = platformaticConnection({ brokers: ["a:9096"], ssl: true, sasl: { mechanism, username: "u", password: "p" } });
      expect(options.sasl).toEqual({ mechanism: name, username: "u", password: "p" });
      expect(options.tls).toEqual({});
    }
    // SASL without TLS stays plaintext (a self-managed cluster's SASL_PLAINTEXT listener).
    expect(platformaticConnection({ brokers: ["a:9092"], sasl: { mechanism: "plain", username: "u", password: "p" } }).tls).toBeUndefined();
    expect(() => platformaticConnection({ brokers: [] })).toThrow(/no Kafka brokers/);
  });

  it("MSK IAM is SASL OAUTHBEARER over TLS, the token a function that signs with the AWS signer", async () => {
    const options = platformaticConnection({ brokers: ["b-1:9098"], sasl: { mechanism: "aws-msk-iam", region: "eu-west-1" } });
    expect(options.tls).toEqual({});
    expect(options.sasl?.mechanism).toBe("OAUTHBEARER");
    const token = options.sasl?.token;
    expect(typeof token).toBe("function");
    const value = await (token as () => Promise<string>)();
    const url = tokenUrl(value);
    expect(url.hostname).toBe("kafka.eu-west-1.amazonaws.com");
    expect(url.searchParams.get("Action")).toBe("kafka-cluster:Connect");
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^AKIDEXAMPLE\//);
  });

  it("reuses a token while it is fresh and signs a new one before it expires", async () => {
    let now = Date.now();
    const refresher = mskIamTokenRefresher("us-east-1", () => now);
    const first = await refresher();
    // A few connections within seconds of each other: one signing.
    expect(await refresher()).toBe(first);
    const expires = Number(tokenUrl(first).searchParams.get("X-Amz-Expires")) * 1000;
    expect(expires).toBeGreaterThan(60_000);
    // Past half its lifetime (and within a minute of the end, at the latest): a new token.
    now += expires / 2 + 1000;
    // The signer stamps whole seconds: let the clock move so the new signature differs.
    await new Promise((r) => setTimeout(r, 1100));
    const second = await refresher();
    expect(second).not.toBe(first);
    expect(tokenUrl(second).searchParams.get("X-Amz-Date")).not.toBe(tokenUrl(first).searchParams.get("X-Amz-Date"));
  });
});

describe("Kafka connection settings, native client (librdkafka)", () => {
  withFakeAwsCredentials();

  it("plaintext, TLS and SCRAM become the librdkafka properties MSK and self-managed clusters expect", () => {
    expect(rdkafkaConfig({ brokers: ["a:9092", "b:9092"] })).toMatchObject({ "bootstrap.servers": "a:9092,b:9092" });
    expect(rdkafkaConfig({ brokers: ["a:9094"], ssl: true })).toMatchObject({ "security.protocol": "ssl" });
    expect(rdkafkaConfig({ brokers: ["a:9096"], ssl: true, sasl: { mechanism: "scram-sha-512", username: "u", password: "p" } })).toMatchObject({
      "security.protocol": "sasl_ssl",
      "sasl.mechanisms": "SCRAM-SHA-512",
      "sasl.username": "u",
      "sasl.password": "p",
    });
    expect(() => rdkafkaConfig({ brokers: [] })).toThrow(/no Kafka brokers/);
  });

  it("MSK IAM is SASL OAUTHBEARER over TLS with a token from the AWS signer, renewed by librdkafka", async () => {
    const config = rdkafkaConfig({ brokers: ["b-1:9098"], sasl: { mechanism: "aws-msk-iam", region: "eu-west-1" } });
    expect(config).toMatchObject({ "security.protocol": "sasl_ssl", "sasl.mechanisms": "OAUTHBEARER" });
    expect(typeof config.oauthbearer_token_refresh_cb).toBe("function");
    const token = await mskIamTokenProvider("eu-west-1")();
    const url = tokenUrl(token.tokenValue);
    expect(url.hostname).toBe("kafka.eu-west-1.amazonaws.com");
    expect(url.searchParams.get("Action")).toBe("kafka-cluster:Connect");
    expect(token.lifetime).toBeGreaterThan(Date.now());
  });
});

describe("broker connections of the pure-JS client", () => {
  it("never turn a connection's second error into an uncaught exception (the program would end)", async () => {
    const { Connection } = await import("@platformatic/kafka");
    // Any of the adapter's clients installs the guard: their options come from platformaticConnection.
    platformaticConnection({ brokers: ["127.0.0.1:9092"] });
    const c = new Connection("unmeltable-test");
    // As the library's pool does: one listener, once.
    c.once("error", () => undefined);
    c.emit("error", new Error("the socket was reset"));
    // Without the guard this emit throws ERR_UNHANDLED_ERROR (an uncaught exception inside a socket event).
    expect(() => c.emit("error", new Error("a write on the reset socket"))).not.toThrow();
    expect(c.listenerCount("error")).toBe(1);
  });
});
