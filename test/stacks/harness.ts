/**
 * Runs `sst.config.ts` under Pulumi mocks, offline (`pulumi.runtime.setMocks`, Pulumi's unit-testing
 * guide: https://www.pulumi.com/docs/iac/guides/testing/unit/): raw `aws.*` resources are the
 * real @pulumi/aws classes registering with an in-process mock engine that records their inputs; the
 * `sst` global is a recording fake (SST components need the SST CLI). Use one stage per test file:
 * the mocks and the globals belong to the worker.
 */
import * as pulumi from "@pulumi/pulumi";

/** Inputs as the engine recorded them: untyped JSON the tests read by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one escape hatch for recorded, untyped engine data
export type Untyped = any;

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, Untyped>;
  /** `type::name` of the resources it depends on (explicit `dependsOn` and through its inputs). */
  dependsOn?: string[];
}
export interface RecordedComponent {
  type: string;
  name: string;
  args: Record<string, Untyped>;
  instance: Untyped;
}

export const resources: RecordedResource[] = [];
const dependencies = new Map<string, string[]>();
export const components: RecordedComponent[] = [];

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";

/** The value of an Output (or plain input), deeply resolved. */
export const value = <T>(o: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> =>
  new Promise((resolve) =>
    pulumi.output(o).apply((v) => {
      resolve(v);
      return v;
    }),
  );

/** Waits until every pending registration reached the mock engine. */
export async function settle(): Promise<void> {
  const wait = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs; // @internal, but exported
  if (wait) await wait();
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

export const byType = (type: string) => resources.filter((r) => r.type === type);
export const resource = (type: string, name: string) => {
  const r = resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} named ${name}; have: ${byType(type).map((x) => x.name).join(", ")}`);
  return r;
};
export const componentsOf = (type: string) => components.filter((c) => c.type === type);
export const component = (type: string, name: string) => {
  const c = components.find((x) => x.type === type && x.name === name);
  if (!c) throw new Error(`no ${type} named ${name}; have: ${componentsOf(type).map((x) => x.name).join(", ")}`);
  return c;
};

export const T = {
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  route: "aws:ec2/route:Route",
  routeTable: "aws:ec2/routeTable:RouteTable",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  peering: "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
  peeringAccepter: "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
  msk: "aws:msk/cluster:Cluster",
  mskConfig: "aws:msk/configuration:Configuration",
  domain: "aws:opensearch/domain:Domain",
  esm: "aws:lambda/eventSourceMapping:EventSourceMapping",
  invocation: "aws:lambda/invocation:Invocation",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  bucket: "aws:s3/bucket:Bucket",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  instance: "aws:ec2/instance:Instance",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  volume: "aws:ebs/volume:Volume",
  attachment: "aws:ec2/volumeAttachment:VolumeAttachment",
  eip: "aws:ec2/eip:Eip",
  eipAssociation: "aws:ec2/eipAssociation:EipAssociation",
  healthCheck: "aws:route53/healthCheck:HealthCheck",
  record: "aws:route53/record:Record",
  function: "sst:aws:Function",
  cron: "sst:aws:CronV2",
  sstVpc: "sst:aws:Vpc",
  apiGateway: "sst:aws:ApiGatewayV2",
  staticSite: "sst:aws:StaticSite",
  router: "sst:aws:Router",
} as const;

/** Provider-computed outputs the stacks read, made deterministic. */
const computed: Record<string, (a: pulumi.runtime.MockResourceArgs) => Record<string, unknown>> = {
  "aws:msk/cluster:Cluster": (a) => ({
    arn: `arn:aws:kafka:${REGION}:${ACCOUNT}:cluster/${a.inputs.clusterName}/0000-uuid-1`,
    bootstrapBrokersSaslIam: "b-1.kafka.mock:9098,b-2.kafka.mock:9098,b-3.kafka.mock:9098",
  }),
  "aws:msk/configuration:Configuration": (a) => ({ arn: `arn:aws:kafka:${REGION}:${ACCOUNT}:configuration/${a.inputs.name}/uuid`, latestRevision: 1 }),
  "aws:opensearch/domain:Domain": (a) => ({
    arn: `arn:aws:es:${REGION}:${ACCOUNT}:domain/${a.inputs.domainName}`,
    endpoint: `vpc-${a.inputs.domainName}-mock.${REGION}.es.amazonaws.com`,
  }),
  "aws:iam/role:Role": (a) => ({ arn: `arn:aws:iam::${ACCOUNT}:role/${a.name}`, name: a.name }),
  "aws:s3/bucket:Bucket": (a) => ({ bucket: `${a.name.toLowerCase()}-mock`, arn: `arn:aws:s3:::${a.name.toLowerCase()}-mock` }),
  "aws:ec2/eip:Eip": (a) => ({ publicIp: `203.0.113.${ipOf(a.name)}`, allocationId: `eipalloc-${a.name}` }),
  "aws:ec2/launchTemplate:LaunchTemplate": () => ({ latestVersion: 1 }),
  "aws:ec2/subnet:Subnet": (a) => ({ availabilityZone: a.inputs.availabilityZone }),
};

const ips = new Map<string, number>();
function ipOf(name: string): number {
  if (!ips.has(name)) ips.set(name, ips.size + 1);
  return ips.get(name)!;
}

/** `sst.<X>` / `sst.aws.<X>` → a recording ComponentResource with deterministic outputs. */
function fakeSst() {
  const classes = new Map<string, unknown>();
  const makeClass = (type: string) => {
    if (!classes.has(type)) {
      classes.set(
        type,
        class extends pulumi.ComponentResource {
          readonly fakeName: string;
          readonly args: Record<string, Untyped>;
          constructor(name: string, args: Record<string, Untyped> = {}, opts?: pulumi.ComponentResourceOptions) {
            super(type, name, {}, opts);
            this.fakeName = name;
            this.args = args;
            components.push({ type, name, args, instance: this });
            this.registerOutputs({});
          }
          get arn() {
            return pulumi.output(type === T.function ? `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${this.fakeName}` : `arn:fake:${type}:${this.fakeName}`);
          }
          get name() {
            return pulumi.output(`${this.fakeName}-fake`);
          }
          get url() {
            return pulumi.output(`https://${this.fakeName.toLowerCase()}.fake.example`);
          }
          get id() {
            return pulumi.output(`${this.fakeName}-id`);
          }
          /** sst.Secret's value: like SST's own (platform/src/components/secret.ts), SST_SECRET_<name> from the environment, as a secret. */
          get value() {
            return type === "sst:Secret" ? pulumi.secret(process.env[`SST_SECRET_${this.fakeName}`]) : undefined;
          }
          get privateSubnets() {
            return pulumi.output(["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"]);
          }
          get publicSubnets() {
            return pulumi.output(["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"]);
          }
          get securityGroups() {
            return pulumi.output([`sg-${this.fakeName}`]);
          }
          get nodes() {
            return {
              role: { arn: pulumi.output(`arn:aws:iam::${ACCOUNT}:role/${this.fakeName}Role`) },
              vpc: { cidrBlock: pulumi.output("10.0.0.0/16") },
              privateRouteTables: pulumi.output(["a", "b", "c"].map((z) => ({ id: `rtb-priv-${z}` }))),
              publicSubnets: pulumi.output(["a", "b", "c"].map((z) => ({ id: `subnet-pub-${z}`, availabilityZone: `${REGION}${z}` }))),
            };
          }
          route(...routeArgs: unknown[]) {
            components.push({ type: `${type}.route`, name: this.fakeName, args: routeArgs, instance: this });
            return this;
          }
        },
      );
    }
    return classes.get(type);
  };
  const namespace = (prefix: string): unknown =>
    new Proxy(
      {},
      {
        get(_t, prop: string) {
          if (prop === "aws") return namespace("sst:aws");
          return /^[A-Z]/.test(prop) ? makeClass(`${prefix}:${prop}`) : undefined;
        },
      },
    );
  return namespace("sst");
}

/** Mocks + the globals SST's CLI defines for sst.config.ts, then `run()` of the real sst.config.ts. */
export async function runApp(opts: { stage: string; dev?: boolean; app?: string }) {
  const app = opts.app ?? "unmeltable";
  resources.length = 0;
  components.length = 0;
  dependencies.clear();
  await pulumi.runtime.setMocks(
    {
      newResource(a) {
        resources.push({ type: a.type, name: a.name, inputs: a.inputs, dependsOn: dependencies.get(`${a.type}::${a.name}`) });
        return { id: `${a.name}-id`, state: { arn: `arn:mock:${a.type}:${a.name}`, ...a.inputs, ...computed[a.type]?.(a) } };
      },
      call(a) {
        switch (a.token) {
          case "aws:index/getAvailabilityZones:getAvailabilityZones": {
            const region = (a.inputs.region as string | undefined) ?? REGION;
            return { names: ["a", "b", "c"].map((z) => `${region}${z}`), zoneIds: ["az1", "az2", "az3"] };
          }
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: "AIDA" };
          case "aws:route53/getZone:getZone":
            return { zoneId: "Z0MOCKZONE", id: "Z0MOCKZONE", name: a.inputs.name };
          default:
            return a.inputs;
        }
      },
    },
    app,
    opts.stage,
    false,
  );
  // The mock engine does not pass dependencies to newResource: read them from the registration request.
  const monitor = pulumi.runtime.getMonitor() as Untyped;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: Untyped, callback: Untyped) => {
    dependencies.set(`${req.getType()}::${req.getName()}`, (req.getDependenciesList() as string[]).map((urn) => urn.split("::").slice(-2).join("::")));
    return register(req, callback);
  };
  const aws = await import("@pulumi/aws");
  Object.assign(globalThis, {
    aws,
    sst: fakeSst(),
    $app: { name: app, stage: opts.stage, removal: "remove", providers: {}, protect: false },
    $dev: opts.dev ?? false,
    $util: pulumi,
    $output: pulumi.output,
    $resolve: pulumi.all,
    $interpolate: pulumi.interpolate,
    $concat: pulumi.concat,
    $jsonParse: pulumi.jsonParse,
    $jsonStringify: pulumi.jsonStringify,
    $config: (c: unknown) => c,
  });
  const mod = (await import("../../sst.config")) as unknown as { default: SstConfig };
  const outputs = await mod.default.run();
  await settle();
  return { outputs, config: mod.default };
}

export interface SstConfig {
  app(input: { stage: string }): { name: string; removal: string; protect: boolean; providers: { aws: { region: string; version: string } } };
  run(): Promise<Record<string, pulumi.Input<string> | pulumi.Input<Record<string, string>>>>;
}

/** The trust policy `sst.aws.Function` 4.17 gives a function's role (function.ts, createRole). */
export const SST_DEFAULT_TRUST = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: "sts:AssumeRole",
      Principal: { Service: "lambda.amazonaws.com", AWS: `arn:aws:iam::${ACCOUNT}:root` },
    },
  ],
};

/** The role trust policy a function ends with: SST's default, after the component's `transform.role`. */
export function effectiveTrust(fnArgs: Record<string, Untyped>): unknown {
  const roleArgs: Record<string, unknown> = { assumeRolePolicy: JSON.stringify(SST_DEFAULT_TRUST) };
  const t = fnArgs.transform?.role;
  if (typeof t === "function") t(roleArgs, {}, "Role");
  else if (t) Object.assign(roleArgs, t);
  const p = roleArgs.assumeRolePolicy;
  return typeof p === "string" ? JSON.parse(p) : p;
}

/** Every principal a trust policy names. */
export function principals(policy: Untyped): string[] {
  const out: string[] = [];
  for (const s of policy.Statement ?? []) {
    for (const v of Object.values(s.Principal ?? {})) out.push(...(Array.isArray(v) ? v : [v as string]));
  }
  return out;
}
