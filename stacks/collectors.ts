/**
 * Collectors: EC2 instances running `unmeltable collector` (syslog UDP/TCP 514, TLS 6514, HTTPS 443)
 * that produce to MSK with IAM auth and spool to their own EBS volume when MSK is unreachable.
 *
 * ELB cannot forward syslog over UDP with the source address intact, so DNS does the balancing:
 * every collector has an Elastic IP, a Route 53 TCP health check, and a multivalue A record in
 * `<region>.<collectors domain>`; Route 53 answers with the healthy ones, so a collector out of service
 * leaves the rotation. `<collectors domain>` itself is a latency-based alias per region to those sets.
 *
 * Instances, not an auto scaling group: senders allow-list the Elastic IPs and the spool volume must
 * come back to the same collector. A collector is an instance + its spool volume (kept when the
 * instance is replaced; the attachment stops the old instance first, so its collector drains) + an
 * Elastic IP + a health check + a record. Any change of the launch template (user data, instance type,
 * artifact) replaces the collectors on the next deploy.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AZ_COUNT, TOPICS, homeRegion, type RegionConfig, type StageConfig } from "./config";
import { collectorUserData } from "./collector-user-data";
import { kafkaArns } from "./functions";
import { COLLECTOR_NAMESPACE } from "./monitoring";
import { regionId, type Network, type RegionNetwork } from "./network";

export const COLLECTOR_PORTS = { syslog: 514, tls: 6514, https: 443 };
/** The collector's plain HTTP port (the program's default, packages/runtime): /metrics, on the instance only (not in the security group). */
export const COLLECTOR_HTTP_PORT = 8080;

export function collectorMetricsLogGroup(app: string, cfg: StageConfig): string {
  return `/${app}/${cfg.stage}/collector-metrics`;
}
/** AL2023's latest x86_64 AMI, resolved by EC2 at launch from the public SSM parameter. */
export const COLLECTOR_AMI = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const SPOOL_DEVICE = "/dev/sdf";

export interface Collector {
  name: string;
  region: string;
  instance: aws.ec2.Instance;
  eip: aws.ec2.Eip;
  healthCheck?: aws.route53.HealthCheck;
  record?: aws.route53.Record;
}

export interface CollectorsInput {
  app: string;
  cfg: StageConfig;
  net: Network;
  clusterArn: pulumi.Output<string>;
  tenantsUrl: pulumi.Output<string>;
  tenantsObjectArn: pulumi.Output<string>;
}

export function createCollectors(i: CollectorsInput) {
  const { cfg, app } = i;
  const active = cfg.regions.filter((r) => r.collectorsPerAz > 0);
  if (active.length === 0) return { collectors: [] as Collector[], role: undefined, latencyRecords: [] as aws.route53.Record[] };

  const home = homeRegion(cfg).region;
  const role = createInstanceRole(i, home);
  const profile = new aws.iam.InstanceProfile("CollectorProfile", { role: role.name });
  // The CloudWatch agent's EMF documents, from which CloudWatch makes the collector metrics: only the
  // metrics matter, so the documents are kept a day.
  new aws.cloudwatch.LogGroup("CollectorMetricsLogs", { name: collectorMetricsLogGroup(app, cfg), retentionInDays: 1 });
  const zone = cfg.domain ? aws.route53.getZoneOutput({ name: cfg.domain.zone, privateZone: false }) : undefined;
  const userData = pulumi.all([i.clusterArn, i.tenantsUrl]).apply(([clusterArn, tenantsUrl]) =>
    Buffer.from(
      collectorUserData({
        nodeVersion: cfg.collector.nodeVersion,
        artifact: cfg.collector.artifact,
        homeRegion: home,
        clusterArn,
        tenantsUrl,
        tls: cfg.collector.tls,
        spoolDevice: SPOOL_DEVICE,
        ports: COLLECTOR_PORTS,
        kafkaClient: cfg.collector.kafkaClient,
        metrics: { stage: cfg.stage, namespace: COLLECTOR_NAMESPACE, logGroup: collectorMetricsLogGroup(app, cfg), httpPort: COLLECTOR_HTTP_PORT },
      }),
    ).toString("base64"),
  );

  const collectors: Collector[] = [];
  const latencyRecords: aws.route53.Record[] = [];
  for (const r of active) {
    const rnet = i.net.regions.find((n) => n.region === r.region)!;
    collectors.push(...createRegionCollectors(app, cfg, r, rnet, profile, userData, zone));
    if (cfg.domain && zone) {
      latencyRecords.push(
        new aws.route53.Record(`Collectors${regionId(r.region)}Latency`, {
          zoneId: zone.zoneId,
          name: cfg.domain.collectors,
          type: "A",
          setIdentifier: r.region,
          latencyRoutingPolicies: [{ region: r.region }],
          aliases: [{ name: regionalName(cfg, r.region), zoneId: zone.zoneId, evaluateTargetHealth: true }],
        }),
      );
    }
  }
  return { collectors, role, latencyRecords };
}

/** `eu-west-1.logs.example.com`: the multivalue set of one region's collectors. */
export function regionalName(cfg: StageConfig, region: string): string {
  return `${region}.${cfg.domain!.collectors}`;
}

function createRegionCollectors(
  app: string,
  cfg: StageConfig,
  r: RegionConfig,
  rnet: RegionNetwork,
  profile: aws.iam.InstanceProfile,
  userData: pulumi.Output<string>,
  zone: pulumi.Output<aws.route53.GetZoneResult> | undefined,
): Collector[] {
  const id = regionId(r.region);
  const region = r.region;
  const sg = new aws.ec2.SecurityGroup(`${id}CollectorSecurityGroup`, {
    region,
    vpcId: rnet.vpcId,
    description: "unmeltable collectors: syslog UDP/TCP 514, syslog TLS 6514, HTTPS 443",
    ingress: [
      { protocol: "udp", fromPort: COLLECTOR_PORTS.syslog, toPort: COLLECTOR_PORTS.syslog, cidrBlocks: ["0.0.0.0/0"], description: "syslog UDP" },
      { protocol: "tcp", fromPort: COLLECTOR_PORTS.syslog, toPort: COLLECTOR_PORTS.syslog, cidrBlocks: ["0.0.0.0/0"], description: "syslog TCP" },
      { protocol: "tcp", fromPort: COLLECTOR_PORTS.tls, toPort: COLLECTOR_PORTS.tls, cidrBlocks: ["0.0.0.0/0"], description: "syslog TLS (and the Route 53 health check)" },
      { protocol: "tcp", fromPort: COLLECTOR_PORTS.https, toPort: COLLECTOR_PORTS.https, cidrBlocks: ["0.0.0.0/0"], description: "HTTPS ingest" },
    ],
    egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  });
  const template = new aws.ec2.LaunchTemplate(`${id}CollectorTemplate`, {
    region,
    namePrefix: `${app}-${cfg.stage}-collector-`,
    imageId: COLLECTOR_AMI,
    instanceType: cfg.collector.instanceType,
    iamInstanceProfile: { arn: profile.arn },
    userData,
    metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
    blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 20, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
    monitoring: { enabled: true },
    updateDefaultVersion: true,
    tagSpecifications: [{ resourceType: "instance", tags: { app, stage: cfg.stage, role: "collector" } }],
  });

  const out: Collector[] = [];
  for (let az = 0; az < AZ_COUNT; az++) {
    for (let n = 0; n < r.collectorsPerAz; n++) {
      const name = `${id}Collector${az}${String.fromCharCode(97 + n)}`; // UsEast1Collector0a
      const placement = rnet.publicPlacements[az];
      const instance = new aws.ec2.Instance(name, {
        region,
        launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
        subnetId: placement.subnetId,
        vpcSecurityGroupIds: [sg.id],
        // The public subnets give every instance a public address at launch, so the boot script can
        // download before the Elastic IP is associated.
        maintenanceOptions: { autoRecovery: "default" },
        tags: { Name: `${app}-${cfg.stage}-${name}` },
      });
      const spool = new aws.ebs.Volume(`${name}Spool`, {
        region,
        availabilityZone: placement.availabilityZone,
        size: cfg.collector.spoolVolumeGb,
        type: "gp3",
        encrypted: true,
        tags: { Name: `${app}-${cfg.stage}-${name}-spool` },
      });
      new aws.ec2.VolumeAttachment(
        `${name}SpoolAttachment`,
        { region, deviceName: SPOOL_DEVICE, volumeId: spool.id, instanceId: instance.id, stopInstanceBeforeDetaching: true },
        // The volume can be attached to one instance at a time: detach (stopping the old instance, which
        // drains its collector) before attaching to the replacement.
        { deleteBeforeReplace: true },
      );
      const eip = new aws.ec2.Eip(`${name}Ip`, { region, domain: "vpc", tags: { Name: `${app}-${cfg.stage}-${name}` } });
      new aws.ec2.EipAssociation(`${name}IpAssociation`, { region, allocationId: eip.allocationId, instanceId: instance.id, allowReassociation: true });

      const collector: Collector = { name, region, instance, eip };
      if (cfg.domain && zone) {
        collector.healthCheck = new aws.route53.HealthCheck(`${name}Health`, {
          type: "TCP",
          ipAddress: eip.publicIp,
          port: cfg.collector.healthCheckPort,
          requestInterval: 30,
          failureThreshold: 3,
          tags: { Name: `${app}-${cfg.stage}-${name}` },
        });
        collector.record = new aws.route53.Record(`${name}Record`, {
          zoneId: zone.zoneId,
          name: regionalName(cfg, region),
          type: "A",
          ttl: 60,
          records: [eip.publicIp],
          setIdentifier: name,
          multivalueAnswerRoutingPolicy: true,
          healthCheckId: collector.healthCheck.id,
        });
      }
      out.push(collector);
    }
  }
  return out;
}

/** The collectors' instance role: MSK IAM (produce to raw and deadletter), the tenants, the TLS parameters, Session Manager. */
function createInstanceRole(i: CollectorsInput, home: string) {
  const { cfg } = i;
  const account = aws.getCallerIdentityOutput({}).accountId;
  const arns = kafkaArns(i.clusterArn);
  const role = new aws.iam.Role("CollectorRole", {
    description: "unmeltable collectors: produce to MSK with IAM auth",
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
    // Shell access through Session Manager instead of SSH (no port 22 open); the CloudWatch agent
    // publishing the collector's metrics (PutMetricData, and writes to the EMF log group).
    managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
  });
  const artifact = cfg.collector.artifact;
  const statements: unknown[] = [
    { Effect: "Allow", Action: ["kafka:GetBootstrapBrokers", "kafka:DescribeCluster", "kafka:DescribeClusterV2"], Resource: arns.cluster },
    { Effect: "Allow", Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"], Resource: arns.cluster },
    { Effect: "Allow", Action: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], Resource: [arns.topic(TOPICS.raw), arns.topic(TOPICS.deadLetter)] },
    { Effect: "Allow", Action: "s3:GetObject", Resource: [i.tenantsObjectArn, ...(artifact.kind === "s3" ? [`arn:aws:s3:::${artifact.bucket}/${artifact.key}`] : [])] },
    {
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: [cfg.collector.tls.certParameter, cfg.collector.tls.keyParameter].map((p) => pulumi.interpolate`arn:aws:ssm:${home}:${account}:parameter${p}`),
    },
  ];
  new aws.iam.RolePolicy("CollectorRoleAccess", { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) });
  return role;
}
