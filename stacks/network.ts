/**
 * Network: the home VPC (private subnets in 3 AZs with NAT, public subnets for the collectors), the
 * security groups of MSK and OpenSearch, an S3 gateway endpoint, and for every other region a small
 * collector VPC peered with the home VPC so its collectors reach the brokers privately.
 *
 * The MSK event-source mappings run in a Lambda-owned VPC and reach the brokers through ENIs in the
 * cluster's subnets and security group; they need a route to the Lambda and STS APIs: the NAT gives
 * it (and the `sst dev` stub needs the internet too). The functions themselves run in the private
 * subnets with the VPC's security group (all traffic within the VPC, all egress).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AZ_COUNT, HOME_VPC_CIDR, homeRegion, type RegionConfig, type StageConfig } from "./config";

export interface Placement {
  subnetId: pulumi.Output<string>;
  availabilityZone: pulumi.Output<string>;
}

export interface RegionNetwork {
  region: string;
  home: boolean;
  vpcId: pulumi.Output<string>;
  /** Public subnets, one per AZ, where the collectors run. */
  publicPlacements: Placement[];
}

export interface Network {
  vpc: sst.aws.Vpc;
  homeRegion: string;
  /** The private subnets, one per AZ (MSK brokers, OpenSearch nodes, functions). */
  privateSubnets: pulumi.Output<pulumi.Output<string>[]>;
  mskSecurityGroup: aws.ec2.SecurityGroup;
  openSearchSecurityGroup: aws.ec2.SecurityGroup;
  /** Carried by the functions that talk to OpenSearch: the only source the domains admit. */
  openSearchClientSecurityGroup: aws.ec2.SecurityGroup;
  regions: RegionNetwork[];
}

export const KAFKA_IAM_PORT = 9098;

export function createNetwork(cfg: StageConfig): Network {
  const home = homeRegion(cfg);
  const vpc = new sst.aws.Vpc("Vpc", {
    az: AZ_COUNT,
    nat: cfg.nat,
    // `sst tunnel` (your laptop reaching MSK and OpenSearch under `sst dev`) goes through the bastion.
    bastion: cfg.kind === "personal",
  });
  const remote = cfg.regions.filter((r) => !r.home);
  const remoteCidrs = remote.map((r) => r.cidr!);

  const mskSecurityGroup = new aws.ec2.SecurityGroup("MskSecurityGroup", {
    vpcId: vpc.id,
    description: "MSK brokers: IAM/TLS clients from the VPCs, and the Lambda event-source mapping ENIs",
    ingress: [
      // The MSK event-source mapping puts its ENIs in the cluster's subnets and security group: self-reference.
      { protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "event-source mapping ENIs and brokers" },
      { protocol: "tcp", fromPort: KAFKA_IAM_PORT, toPort: KAFKA_IAM_PORT, cidrBlocks: [HOME_VPC_CIDR, ...remoteCidrs], description: "Kafka over TLS with IAM auth" },
    ],
    egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  });

  // The functions that talk to OpenSearch (index writers, search API, alert checks, lifecycle, the role
  // mapping step) carry this group besides the VPC's; the domains admit it alone, not the VPC's CIDR, so
  // nothing else in the VPC (collectors in the public subnets, the archive, the topic setup) reaches them.
  const openSearchClientSecurityGroup = new aws.ec2.SecurityGroup("OpenSearchClientSecurityGroup", {
    vpcId: vpc.id,
    description: "Functions allowed to reach the OpenSearch domains",
    egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  });
  const openSearchSecurityGroup = new aws.ec2.SecurityGroup("OpenSearchSecurityGroup", {
    vpcId: vpc.id,
    description: "OpenSearch domains: HTTPS from the functions that use them",
    ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, securityGroups: [openSearchClientSecurityGroup.id], description: "HTTPS from the OpenSearch client functions" }],
    egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
  });

  const privateRouteTableIds = vpc.nodes.privateRouteTables.apply((tables) => tables.map((t) => t.id));
  // Tenants, archive and artifacts traffic to S3 stays off the NAT (a gateway endpoint is free).
  new aws.ec2.VpcEndpoint("S3Endpoint", {
    vpcId: vpc.id,
    serviceName: `com.amazonaws.${home.region}.s3`,
    vpcEndpointType: "Gateway",
    routeTableIds: privateRouteTableIds,
  });

  const homePlacements = Array.from({ length: AZ_COUNT }, (_, i) => ({
    subnetId: vpc.publicSubnets.apply((s) => s[i]),
    availabilityZone: vpc.nodes.publicSubnets.apply((s) => s[i].availabilityZone),
  }));

  const regions: RegionNetwork[] = [
    { region: home.region, home: true, vpcId: vpc.id, publicPlacements: homePlacements },
    ...remote.map((r) => createCollectorRegion(r, home.region, vpc, privateRouteTableIds)),
  ];

  return { vpc, homeRegion: home.region, privateSubnets: vpc.privateSubnets, mskSecurityGroup, openSearchSecurityGroup, openSearchClientSecurityGroup, regions };
}

/** A collector-only region: VPC, 3 public subnets, internet gateway, peering to the home VPC both ways. */
function createCollectorRegion(r: RegionConfig, homeRegion: string, homeVpc: sst.aws.Vpc, homePrivateRouteTables: pulumi.Output<pulumi.Output<string>[]>): RegionNetwork {
  const id = regionId(r.region);
  const region = r.region;
  const cidr = r.cidr!;
  const vpc = new aws.ec2.Vpc(`${id}Vpc`, { region, cidrBlock: cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: `collectors-${region}` } });
  const igw = new aws.ec2.InternetGateway(`${id}InternetGateway`, { region, vpcId: vpc.id });
  const peering = new aws.ec2.VpcPeeringConnection(`${id}Peering`, {
    region,
    vpcId: vpc.id,
    peerVpcId: homeVpc.id,
    peerRegion: homeRegion,
    tags: { Name: `collectors-${region}-to-${homeRegion}` },
  });
  new aws.ec2.VpcPeeringConnectionAccepter(`${id}PeeringAccepter`, { region: homeRegion, vpcPeeringConnectionId: peering.id, autoAccept: true });

  const routeTable = new aws.ec2.RouteTable(`${id}RouteTable`, {
    region,
    vpcId: vpc.id,
    routes: [
      { cidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      { cidrBlock: HOME_VPC_CIDR, vpcPeeringConnectionId: peering.id },
    ],
  });
  // The way back: the brokers' subnets route this region's collectors through the peering.
  for (let i = 0; i < AZ_COUNT; i++) {
    new aws.ec2.Route(`${id}ReturnRoute${i}`, {
      region: homeRegion,
      routeTableId: homePrivateRouteTables.apply((t) => t[i]),
      destinationCidrBlock: cidr,
      vpcPeeringConnectionId: peering.id,
    });
  }

  const azs = aws.getAvailabilityZonesOutput({ region, state: "available" }).names;
  const publicPlacements = Array.from({ length: AZ_COUNT }, (_, i) => {
    const subnet = new aws.ec2.Subnet(`${id}PublicSubnet${i}`, {
      region,
      vpcId: vpc.id,
      availabilityZone: azs.apply((n) => n[i]),
      cidrBlock: subnetCidr(cidr, i),
      mapPublicIpOnLaunch: true,
      tags: { Name: `collectors-${region}-public-${i}` },
    });
    new aws.ec2.RouteTableAssociation(`${id}PublicSubnet${i}Routes`, { region, subnetId: subnet.id, routeTableId: routeTable.id });
    return { subnetId: subnet.id, availabilityZone: subnet.availabilityZone };
  });
  return { region, home: false, vpcId: vpc.id, publicPlacements };
}

/** `10.1.0.0/16`, 2 → `10.1.32.0/19`: the i-th /19 of a /16. */
export function subnetCidr(cidr: string, i: number): string {
  const [a, b] = cidr.split(".");
  return `${a}.${b}.${i * 32}.0/19`;
}

/** `us-east-1` → `UsEast1`, for resource names. */
export function regionId(region: string): string {
  return region.split("-").map((p) => p[0].toUpperCase() + p.slice(1)).join("");
}
