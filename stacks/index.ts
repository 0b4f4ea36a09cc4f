/**
 * Index: one OpenSearch domain per tier (instance type, count, storage from the tiers table), in the
 * home VPC's private subnets with zone awareness, encrypted at rest and node to node, HTTPS only, and
 * fine-grained access control with an IAM master role.
 *
 * With fine-grained access control an IAM role has no rights inside OpenSearch until it is mapped to an
 * OpenSearch role. The master role runs `stacks/handlers/index-access.ts` on deploy, which gives the
 * index functions, the lifecycle job and the readers (search API, alerts) one role each with only the
 * actions they use on the log indices (least privilege: no function reaches the security API). The domain's resource policy lets the account's IAM principals in; their identity
 * policies (es:ESHttp* on these domains only) decide who actually can.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AZ_COUNT, domainName, pascal, tiersFor, type StageConfig, type TierConfig } from "./config";
import { LAMBDA_ONLY_TRUST, openSearchClientVpc, type FunctionContext } from "./functions";
import type { Network } from "./network";

export interface IndexDomains {
  domains: Record<string, aws.opensearch.Domain>;
  /** tier → `https://<endpoint>` */
  endpoints: pulumi.Output<Record<string, string>>;
  domainArns: pulumi.Output<string>[];
  masterRole: aws.iam.Role;
}

/** Current TLS policy with forward secrecy (OpenSearch `domainEndpointOptions.tlsSecurityPolicy`). */
export const TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10";

export function clusterConfig(tier: TierConfig) {
  const os = tier.opensearch;
  const zones = Math.min(AZ_COUNT, os.instanceCount);
  return {
    instanceType: os.instanceType,
    instanceCount: os.instanceCount,
    zoneAwarenessEnabled: zones > 1,
    ...(zones > 1 ? { zoneAwarenessConfig: { availabilityZoneCount: zones } } : {}),
    dedicatedMasterEnabled: Boolean(os.dedicatedMaster),
    ...(os.dedicatedMaster ? { dedicatedMasterType: os.dedicatedMaster.instanceType, dedicatedMasterCount: os.dedicatedMaster.count } : {}),
  };
}

export function autoTune(tier: TierConfig): boolean {
  return !/^t[23]\./.test(tier.opensearch.instanceType);
}

export function createIndexDomains(app: string, cfg: StageConfig, net: Network): IndexDomains {
  const account = aws.getCallerIdentityOutput({}).accountId;
  const masterRole = new aws.iam.Role("IndexMasterRole", {
    description: "OpenSearch fine-grained access control master user; runs the role-mapping step",
    assumeRolePolicy: LAMBDA_ONLY_TRUST,
    managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
  });

  const domains: Record<string, aws.opensearch.Domain> = {};
  for (const tier of tiersFor(cfg)) {
    const name = domainName(app, cfg.stage, tier.name);
    const zones = Math.min(AZ_COUNT, tier.opensearch.instanceCount);
    domains[tier.name] = new aws.opensearch.Domain(
      `Index${pascal(tier.name)}`,
      {
        domainName: name,
        engineVersion: cfg.opensearchEngine,
        clusterConfig: clusterConfig(tier),
        ebsOptions: { ebsEnabled: true, volumeType: "gp3", volumeSize: tier.opensearch.volumeGb },
        vpcOptions: {
          subnetIds: net.privateSubnets.apply((s) => s.slice(0, zones)),
          securityGroupIds: [net.openSearchSecurityGroup.id],
        },
        encryptAtRest: { enabled: true },
        nodeToNodeEncryption: { enabled: true },
        domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: TLS_POLICY },
        advancedSecurityOptions: {
          enabled: true,
          anonymousAuthEnabled: false,
          internalUserDatabaseEnabled: false,
          masterUserOptions: { masterUserArn: masterRole.arn },
        },
        accessPolicies: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
              Action: "es:ESHttp*",
              Resource: pulumi.interpolate`arn:aws:es:${net.homeRegion}:${account}:domain/${name}/*`,
            },
          ],
        }),
        // Write-heavy log indices: Auto-Tune adjusts JVM and queue settings (not available on t2/t3 instances).
        ...(autoTune(tier) ? { autoTuneOptions: { desiredState: "ENABLED", rollbackOnDisable: "NO_ROLLBACK" } } : {}),
        softwareUpdateOptions: { autoSoftwareUpdateEnabled: true },
      },
      // Domains often take close to or over an hour to create (terraform-provider-aws#33897).
      { customTimeouts: { create: "120m", update: "120m", delete: "90m" } },
    );
  }
  const tierNames = Object.keys(domains);
  const endpoints = pulumi
    .all(tierNames.map((t) => domains[t].endpoint))
    .apply((eps) => Object.fromEntries(tierNames.map((t, i) => [t, `https://${eps[i]}`])));
  const domainArns = tierNames.map((t) => domains[t].arn);

  new aws.iam.RolePolicy("IndexMasterRoleAccess", {
    role: masterRole.id,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "es:ESHttp*", Resource: domainArns.map((a) => pulumi.interpolate`${a}/*`) }],
    }),
  });
  return { domains, endpoints, domainArns, masterRole };
}

/** Which function roles get which OpenSearch role (FGAC backend-role mapping). */
export interface IndexAccessGrants {
  writers: pulumi.Input<string>[];
  lifecycle: pulumi.Input<string>[];
  readers: pulumi.Input<string>[];
}

/**
 * The role-mapping step: a function running as the master role, invoked on deploy whenever a mapped
 * role or a domain changes. `dev: false`: it must run for real under `sst dev` too.
 */
export function createIndexAccess(ctx: FunctionContext, index: IndexDomains, grants: IndexAccessGrants) {
  const fn = new sst.aws.Function("IndexAccess", {
    handler: "stacks/handlers/index-access.handler",
    description: "Maps the function roles to OpenSearch roles (fine-grained access control)",
    runtime: "nodejs22.x",
    timeout: "120 seconds",
    memory: "256 MB",
    vpc: openSearchClientVpc(ctx),
    role: index.masterRole.arn,
    dev: false,
  });
  const input = pulumi.jsonStringify({
    endpoints: index.endpoints,
    master: index.masterRole.arn,
    grants: { writer: grants.writers, lifecycle: grants.lifecycle, reader: grants.readers },
  });
  const invocation = new aws.lambda.Invocation("IndexAccessMapping", { functionName: fn.name, input, triggers: { input } }, { dependsOn: Object.values(index.domains) });
  return { fn, invocation };
}
