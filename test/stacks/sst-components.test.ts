/**
 * The real `sst.aws.Function` (SST 4.17's own component code from .sst/platform) under Pulumi mocks.
 * SST's components reach its CLI only by JSON-RPC at `$SST_SERVER/rpc`
 * (.sst/platform/src/components/rpc/rpc.ts): the few calls they make (Provider.Aws.Bootstrap, Runtime.Build,
 * and the dev-only ones) are answered here by a loopback server.
 * It checks what the fake `sst` of the other tests cannot: the IAM role SST actually creates for a
 * function built with `functionArgs` trusts Lambda only, while SST's default trusts the account root.
 * Skipped when .sst/platform has not been generated (`npm run sst:types`; `npm run typecheck` does it).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_THROTTLE, resolveStage } from "../../stacks/config";
import { ACCOUNT, principals, type RecordedResource, type Untyped } from "./harness";

const ROOT = path.resolve(__dirname, "../..");
const PLATFORM = path.join(ROOT, ".sst", "platform");
const available = existsSync(path.join(PLATFORM, "config.d.ts"));

const recorded: RecordedResource[] = [];
let server: http.Server | undefined;
let work: string;

/** The SST CLI's side of the three RPC methods Function needs (platform/src/components/rpc/rpc.ts). */
function rpcServer(): Promise<string> {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, Untyped>] };
      let result: unknown;
      if (method === "Provider.Aws.Bootstrap") result = { asset: "sst-asset-mock", state: "sst-state-mock", assetEcrRegistryId: ACCOUNT, assetEcrUrl: "ecr.mock", appsyncHttp: "", appsyncRealtime: "" };
      else if (method === "Runtime.Build") {
        const out = path.join(work, "build", String(params[0].functionID));
        mkdirSync(out, { recursive: true });
        writeFileSync(path.join(out, "index.mjs"), "export const handler = async () => ({});\n");
        result = { handler: "index.handler", out, errors: [], sourcemaps: [] };
      } else if (method === "Runtime.AddTarget" || method === "Provider.Aws.Appsync") result = {};
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result === undefined ? { error: `rpc: can't find method ${method}` } : { result }));
    });
  });
  return new Promise((resolve) => server!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)));
}

describe.skipIf(!available)("sst.aws.Function from SST's platform", () => {
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "unmeltable-sst-real-"));
    process.env.SST_SERVER = await rpcServer();
    // Some platform modules read $app at import time: the globals come first.
    Object.assign(globalThis, {
      $app: { name: "unmeltable", stage: "prod", removal: "remove", providers: {}, protect: false },
      $dev: false,
      $cli: { command: "deploy", rpc: process.env.SST_SERVER, paths: { home: work, root: ROOT, work, platform: PLATFORM } },
    });
    Object.assign(globalThis, await import(path.join(PLATFORM, "src/shim/run.js")));
    const pulumi = (await import(path.join(PLATFORM, "node_modules/@pulumi/pulumi/index.js"))) as typeof import("@pulumi/pulumi");
    await pulumi.runtime.setMocks(
      {
        newResource(a) {
          recorded.push({ type: a.type, name: a.name, inputs: a.inputs });
          const state: Record<string, unknown> = { arn: `arn:aws:mock:::${a.name}`, name: a.name, ...a.inputs };
          if (a.type === "random:index/randomBytes:RandomBytes") state.base64 = "bW9jaw==";
          return { id: `${a.name}-id`, state };
        },
        call(a) {
          switch (a.token) {
            case "aws:iam/getPolicyDocument:getPolicyDocument": {
              const statements = (a.inputs.statements ?? []) as Untyped[];
              const json = JSON.stringify({
                Version: "2012-10-17",
                Statement: statements.map((s) => ({
                  Effect: s.effect ?? "Allow",
                  Action: s.actions,
                  ...(s.resources ? { Resource: s.resources } : {}),
                  ...(s.principals ? { Principal: Object.fromEntries(s.principals.map((p: Untyped) => [p.type === "AWS" ? "AWS" : p.type, p.identifiers])) } : {}),
                })),
              });
              return { json, minifiedJson: json, statements };
            }
            case "aws:index/getPartition:getPartition":
              return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
            case "aws:index/getRegion:getRegion":
              return { name: "eu-west-1", region: "eu-west-1", id: "eu-west-1" };
            case "aws:index/getCallerIdentity:getCallerIdentity":
              return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: "AIDA", id: ACCOUNT };
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
              return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], zoneIds: ["1", "2", "3"] };
            default:
              return a.inputs;
          }
        },
      },
      "unmeltable",
      "prod",
      false,
    );
    const sst = await import(path.join(PLATFORM, "src/components/index.ts"));
    const aws = await import(path.join(PLATFORM, "node_modules/@pulumi/aws/index.js"));
    Object.assign(globalThis, { sst, aws });
    const { functionArgs } = await import("../../stacks/functions");
    const created: { arn: import("@pulumi/pulumi").Output<string> }[] = [];
    await pulumi.runtime.runInPulumiStack(async () => {
      const ctx = {
        cfg: resolveStage("prod", {}),
        vpc: { privateSubnets: ["subnet-a", "subnet-b", "subnet-c"], securityGroups: ["sg-vpc"] } as unknown as sst.aws.Vpc,
        clusterArn: pulumi.output(`arn:aws:kafka:eu-west-1:${ACCOUNT}:cluster/unmeltable-prod/uuid`),
        bootstrapBrokers: pulumi.output("b-1.kafka.mock:9098"),
        tenantsUrl: pulumi.output("s3://config/tenants.json"),
        tenantsObjectArn: pulumi.output("arn:aws:s3:::config/tenants.json"),
        openSearchEndpoints: pulumi.output<Record<string, string>>({ default: "https://vpc-x.es.amazonaws.com" }),
        archiveBucket: pulumi.output("archive"),
        openSearchClientSecurityGroup: pulumi.output("sg-opensearch-clients"),
        dev: false,
      };
      created.push(new sst.aws.Function("Ours", functionArgs(ctx, { handler: "functions/process.handler", description: "process", memoryMb: 1024, timeoutSeconds: 60 })));
      created.push(new sst.aws.Function("SstDefault", { handler: "functions/process.handler" }));
      // The throttled API stage of stacks/api.ts on SST's real ApiGatewayV2: registered after its routes.
      const { throttledStage } = await import("../../stacks/api");
      let routesDeclared!: (r: import("@pulumi/pulumi").Resource[]) => void;
      const routes = new Promise<import("@pulumi/pulumi").Resource[]>((r) => (routesDeclared = r));
      const api = new sst.aws.ApiGatewayV2("ThrottledApi", { transform: { stage: throttledStage(routes) } });
      const target = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:search`;
      routesDeclared(["$default", ...Object.keys(API_THROTTLE.routes)].map((key) => api.route(key, target)));
      created.push(
        new sst.aws.Function("Reader", functionArgs(ctx, { handler: "functions/search.handler", description: "search", memoryMb: 1024, timeoutSeconds: 29, openSearch: true, reservedConcurrency: 100 })),
      );
      return {};
    });
    // A function's ARN resolves once its role, build, zip and Lambda function are registered.
    await Promise.all(created.map((f) => new Promise((resolve) => f.arn.apply(resolve))));
    const wait = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (wait) await wait();
  });

  afterAll(() => {
    server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const role = (name: string) => {
    const r = recorded.find((x) => x.type === "aws:iam/role:Role" && x.name === name);
    if (!r) throw new Error(`no role ${name}; roles: ${recorded.filter((x) => x.type === "aws:iam/role:Role").map((x) => x.name).join(", ")}`);
    const p = r.inputs.assumeRolePolicy;
    return typeof p === "string" ? JSON.parse(p) : p;
  };

  it("a function made with functionArgs gets a role that trusts Lambda only", () => {
    expect(principals(role("OursRole"))).toEqual(["lambda.amazonaws.com"]);
  });

  it("SST's default role trusts the account root even under sst deploy (the upstream bug the override fixes)", () => {
    // When this fails, SST fixed function.ts (`!dev` on an Output): the override in stacks/functions.ts can go.
    expect(principals(role("SstDefaultRole"))).toContain(`arn:aws:iam::${ACCOUNT}:root`);
  });

  it("SST maps our sizing, VPC and environment onto the Lambda function", () => {
    const fn = recorded.find((x) => x.type === "aws:lambda/function:Function" && x.name === "OursFunction")!;
    expect(fn.inputs).toMatchObject({ runtime: "nodejs22.x", memorySize: 1024, timeout: 60, vpcConfig: { subnetIds: ["subnet-a", "subnet-b", "subnet-c"], securityGroupIds: ["sg-vpc"] } });
    expect(fn.inputs.environment.variables).toMatchObject({ UNMELTABLE_KAFKA_SASL: "aws-msk-iam", UNMELTABLE_TENANTS: "s3://config/tenants.json", UNMELTABLE_INDEX: "opensearch" });
    expect(fn.inputs.reservedConcurrentExecutions).toBeUndefined();
  });

  it("a function that talks to OpenSearch gets the VPC's groups and the one the domains admit, and its reserved concurrency", () => {
    const fn = recorded.find((x) => x.type === "aws:lambda/function:Function" && x.name === "ReaderFunction")!;
    expect(fn.inputs.vpcConfig).toEqual({ subnetIds: ["subnet-a", "subnet-b", "subnet-c"], securityGroupIds: ["sg-vpc", "sg-opensearch-clients"] });
    expect(fn.inputs.reservedConcurrentExecutions).toBe(100);
  });

  it("SST's API stage takes the route throttles and is created after the routes they name", () => {
    const index = (pred: (r: RecordedResource) => boolean) => recorded.findIndex(pred);
    const stageAt = index((r) => r.type === "aws:apigatewayv2/stage:Stage" && r.name === "ThrottledApiStage");
    expect(stageAt).toBeGreaterThan(-1);
    const stage = recorded[stageAt].inputs;
    expect(stage.defaultRouteSettings).toMatchObject({ throttlingRateLimit: API_THROTTLE.default.rate, throttlingBurstLimit: API_THROTTLE.default.burst });
    expect(stage.routeSettings.map((r: Untyped) => r.routeKey).sort()).toEqual(Object.keys(API_THROTTLE.routes).sort());
    const routes = recorded.map((r, i) => [r, i] as const).filter(([r]) => r.type === "aws:apigatewayv2/route:Route");
    expect(routes.map(([r]) => r.inputs.routeKey).sort()).toEqual(["$default", ...Object.keys(API_THROTTLE.routes)].sort());
    for (const [r, i] of routes) expect(i, r.inputs.routeKey).toBeLessThan(stageAt);
  });
});
