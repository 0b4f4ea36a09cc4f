/**
 * The quota check (stacks/config.ts, `checkQuotas`): a stage that cannot fit the AWS quotas stated for
 * its account is refused at synth time, with the quota named and the request to make. Pure config: no
 * Pulumi engine needed.
 */
import { describe, expect, it } from "vitest";
import {
  AWS_DEFAULT_QUOTAS,
  checkQuotas,
  concurrencyPlan,
  DEFAULT_ELASTIC_IPS,
  elasticIpsNeeded,
  LAMBDA_UNRESERVED_MINIMUM,
  QuotaError,
  quotasFor,
  resolveStage,
  STAGES,
  type StageConfig,
} from "../../stacks/config";

const prod = resolveStage("prod", {});
const staging = resolveStage("staging", {});
const refusal = (cfg: StageConfig, quotas = AWS_DEFAULT_QUOTAS): string => {
  try {
    checkQuotas(cfg, quotas);
  } catch (e) {
    expect(e).toBeInstanceOf(QuotaError);
    return (e as Error).message;
  }
  throw new Error("not refused");
};

describe("Elastic IPs", () => {
  it("counts the NAT's three and one per collector, per region", () => {
    expect(elasticIpsNeeded(staging)).toEqual({ "eu-west-1": 6 });
    expect(elasticIpsNeeded(prod)).toEqual({ "eu-west-1": 6, "us-east-1": 3 });
    expect(elasticIpsNeeded(resolveStage("alice", {}))).toEqual({ "eu-west-1": 3 });
  });

  it("refuses staging on AWS's default of 5, naming the quota, its code and the request", () => {
    const msg = refusal(staging);
    expect(msg).toContain('stage "staging" does not fit its AWS quotas');
    expect(msg).toContain('EC2 "EC2-VPC Elastic IPs" in eu-west-1: the stage allocates 6 (NAT and collectors), the quota is 5');
    expect(msg).toContain("aws service-quotas request-service-quota-increase --region eu-west-1 --service-code ec2 --quota-code L-0263D0A3 --desired-value 6");
    expect(msg).toContain('STAGE_QUOTAS["staging"].elasticIpsPerRegion["eu-west-1"]');
    // The other region of production fits the default.
    expect(refusal(prod)).not.toContain("us-east-1");
    expect(DEFAULT_ELASTIC_IPS).toBe(5);
  });

  it("accepts the stages with the quotas stated for their accounts; a personal stage fits the defaults", () => {
    expect(() => resolveStage("prod", {})).not.toThrow();
    expect(() => resolveStage("staging", {})).not.toThrow();
    expect(() => checkQuotas(resolveStage("alice", {}), AWS_DEFAULT_QUOTAS)).not.toThrow();
    expect(quotasFor("staging").elasticIpsPerRegion["eu-west-1"]).toBeGreaterThanOrEqual(6);
  });

  it("refuses at resolveStage (what sst.config.ts calls) when a stage grows past its stated quota", () => {
    const base = STAGES.staging;
    STAGES["staging-big"] = { ...base, regions: [{ ...base.regions[0], collectorsPerAz: 3 }] };
    try {
      expect(() => resolveStage("staging-big", {})).toThrow(/Elastic IPs" in eu-west-1: the stage allocates 12 .* the quota is 5/);
    } finally {
      delete STAGES["staging-big"];
    }
  });
});

describe("Lambda concurrency", () => {
  it("refuses reservations that would leave less than 100 unreserved, with the request", () => {
    const plan = concurrencyPlan(prod)!;
    // Search, process, and each tier's index and deferred functions.
    const reserved = plan.search + plan.process + Object.values(plan.index).reduce((a, b) => a + b, 0) + Object.values(plan.deferred).reduce((a, b) => a + b, 0);
    expect(Object.values(plan.deferred)).toEqual(Object.keys(plan.index).map(() => 1));
    const quotas = { ...quotasFor("prod"), lambdaConcurrency: reserved + LAMBDA_UNRESERVED_MINIMUM - 1 };
    const msg = refusal(prod, quotas);
    expect(msg).toContain(`Lambda "Concurrent executions" in eu-west-1: the stage reserves ${reserved} and Lambda keeps 100 unreserved`);
    expect(msg).toContain("--service-code lambda --quota-code L-B99A9384 --desired-value 1000");
    expect(() => checkQuotas(prod, { ...quotas, lambdaConcurrency: reserved + LAMBDA_UNRESERVED_MINIMUM })).not.toThrow();
  });

  it("a new account's low quota refuses even staging", () => {
    expect(refusal(staging, { ...quotasFor("staging"), lambdaConcurrency: 10 })).toContain("the quota is 10");
  });
});

describe("MSK IAM connection rate", () => {
  it("refuses production's uncapped reservations on t3.small brokers and says what to change", () => {
    const small: StageConfig = { ...prod, msk: { ...prod.msk, brokerType: "kafka.t3.small" } };
    const msg = refusal(small, quotasFor("prod"));
    expect(msg).toContain('MSK "Maximum TCP connection rate per broker (IAM)" on kafka.t3.small');
    expect(msg).toContain("a broker accepts 4/s, 12 within the Kafka client's 3 s of retries");
    expect(msg).toMatch(/Use a larger broker type \(kafka\.m7g\.large and up accept 100\/s\)/);
    expect(() => checkQuotas(prod)).not.toThrow();
  });
});
