import { describe, expect, it } from "vitest";
import { mskIamTokenProvider, rdkafkaConfig } from "@unmeltable/queue-kafka";

describe("Kafka connection settings", () => {
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
    // Signing needs credentials, not the network: static ones are enough to check the token's shape.
    const env = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" });
    delete process.env.AWS_PROFILE;
    try {
      const token = await mskIamTokenProvider("eu-west-1")();
      const url = new URL(Buffer.from(token.tokenValue, "base64url").toString("utf8"));
      expect(url.hostname).toBe("kafka.eu-west-1.amazonaws.com");
      expect(url.searchParams.get("Action")).toBe("kafka-cluster:Connect");
      expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
      expect(token.lifetime).toBeGreaterThan(Date.now());
    } finally {
      process.env = env;
    }
  });
});
