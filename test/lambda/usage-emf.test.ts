/**
 * Per-tenant usage on AWS: the real Powertools EMF output of EmfUsage carries the tenant as a property of
 * the line (Logs Insights groups by it) and never as a dimension (no CloudWatch metric per tenant), one
 * line per tenant per invocation, with the function's usual dimensions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const FUNCTION = "unmeltable-prod-IndexFunctionDefault-abc123";
const lines: string[] = [];
let restore: () => void;
let lambda: typeof import("@unmeltable/lambda");

beforeAll(async () => {
  process.env.AWS_LAMBDA_FUNCTION_NAME = FUNCTION;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) lines.push(...text.split("\n").filter((l) => l.includes('"_aws"')));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  restore = () => (process.stdout.write = write);
  lambda = await import("@unmeltable/lambda");
});
afterAll(() => {
  restore();
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
});

type Doc = { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>;

describe("EmfUsage", () => {
  it("writes one line per tenant at the end of the invocation: tenant a property, not a dimension", () => {
    const usage = new lambda.EmfUsage();
    usage.ingested("acme", 3, 300);
    usage.ingested("acme", 2, 200);
    usage.indexed({ tenant: "acme", events: 5, bytes: 2000, lagsMs: Array.from({ length: 100 }, (_, i) => i + 1) });
    usage.deadLettered("acme", 1, 40);
    usage.indexed({ tenant: "globex", events: 1, bytes: 10, lagsMs: [7] });
    const before = lines.length;
    expect(lines.length).toBe(before); // nothing before the flush
    usage.flush();
    const docs = lines.slice(before).map((l) => JSON.parse(l) as Doc);
    expect(docs).toHaveLength(2);
    const acme = docs.find((d) => d.tenant === "acme")!;
    expect(acme).toMatchObject({
      tenant: "acme",
      FunctionName: FUNCTION,
      service: "unmeltable",
      TenantEventsIn: 5,
      TenantBytesIn: 500,
      TenantIndexed: 5,
      TenantIndexedBytes: 2000,
      TenantDeadLetters: 1,
      TenantDeadLetterBytes: 40,
      TenantLagMaxMs: 100,
      TenantLagP99Ms: 100,
    });
    for (const d of docs) {
      const cw = d._aws.CloudWatchMetrics[0]!;
      expect(cw.Namespace).toBe("unmeltable");
      for (const set of cw.Dimensions) expect(set).not.toContain("tenant");
      expect([...cw.Dimensions[0]!].sort()).toEqual(["FunctionName", "service"]);
    }
    const globex = docs.find((d) => d.tenant === "globex")!;
    expect(globex.TenantIndexed).toBe(1);
    expect(globex.TenantEventsIn).toBeUndefined();
    expect(globex._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name).sort()).toEqual(["TenantIndexed", "TenantIndexedBytes", "TenantLagMaxMs", "TenantLagP99Ms"]);
    // A second flush without new counts writes nothing.
    usage.flush();
    expect(lines.length).toBe(before + 2);
  });
});
