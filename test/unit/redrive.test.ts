import { describe, expect, it } from "vitest";
import { decodeRawBatch, planRedrive, RAW_TOPIC, type DeadLetter } from "@unmeltable/core";
import { ReloadingTenantDirectory } from "@unmeltable/tenants-config";

const tenants = new ReloadingTenantDirectory([{ name: "acme", ingestToken: "0f8e1c2a-1111-4222-8333-444455556666", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 }]);

function unknownToken(message: string, keptBytes?: number): DeadLetter {
  const whole = Buffer.from(message);
  const kept = keptBytes === undefined ? whole : whole.subarray(0, keptBytes);
  return { stage: "collector", reason: "unknown_token", error: "unknown token", at: Date.UTC(2026, 11, 4), bytes: kept.toString("base64"), ...(keptBytes === undefined ? {} : { bytesLength: whole.length }), source: "tcp 10.0.0.1:5000" };
}

describe("planning a redrive of a dead letter", () => {
  const message = `<13>1 2026-12-04T10:00:00Z web app - - [0f8e1c2a-1111-4222-8333-444455556666@41058 tag="late"] ${"x".repeat(200)}`;

  it("sends a whole unknown-token message on to its tenant, once its token is known", () => {
    const plan = planRedrive(unknownToken(message), "deadletter-0@7", tenants);
    if (!("topic" in plan)) throw new Error(`skipped: ${plan.skip}`);
    expect(plan.topic).toBe(RAW_TOPIC);
    const batch = decodeRawBatch(plan.record.value);
    expect(batch.tenant).toBe("acme");
    expect(batch.events.map((e) => e.raw)).toEqual([message]);
    expect(batch.events[0]!.tags).toEqual(["late"]);
  });

  it("skips a message of which the dead letter kept only the first part, saying so", () => {
    const plan = planRedrive(unknownToken(message, 120), "deadletter-0@8", tenants);
    expect(plan).toEqual({ skip: `only the first 120 of its ${Buffer.byteLength(message)} bytes were kept` });
  });
});
