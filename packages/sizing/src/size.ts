/**
 * From a workload to the deployment's sizes: topics' partitions, the MSK cluster, the event-source
 * mappings' pollers and batches, one OpenSearch domain per tier, the collectors. Pure arithmetic; each
 * output records the rule that gave it (`steps`), with its source, so that `unmeltable aws estimate`
 * and docs/deploy.md show the arithmetic and ops can check it against AWS's pages.
 *
 * Sources are AWS's documentation pages (cited by path under docs.aws.amazon.com) or this repository's
 * measurements (bench/RESULTS.md). Where AWS publishes no number (a broker's sustained throughput, an
 * OpenSearch node's indexing rate, a Lambda invocation's time), the constant says "estimate": measure
 * on the real thing (docs/deploy.md, "Throughput") and change it here.
 */
import { HOURS_PER_MONTH, PRICES, priceOf } from "./prices";
import { checkWorkload, type TenantGroup, type Workload } from "./workload";

export const AZ_COUNT = 3;
const GB = 1e9;
const GIB = 1024 ** 3;
const MB = 1e6;
const MIB = 1024 ** 2;

/**
 * What a raw event becomes: the processed record and the OpenSearch document hold the raw text plus
 * its parsed fields (JSON keys, syslog header fields, tags) — estimate 1.5 × the raw bytes. Measure it
 * with `_cat/indices?v` (`pri.store.size` / docs count) on a real domain.
 */
export const DOCUMENT_BYTES_PER_RAW_BYTE = 1.5;

/** Hours `raw` and `processed.<tier>` keep records (stacks/config.ts RETENTION.pipelineHours). */
export const PIPELINE_HOURS = 72;
/** Replicas of every topic's partitions on a cluster of 3 or more brokers (stacks/queue.ts). */
export const REPLICATION_FACTOR = 3;

/**
 * An invocation of a mapping carries at most ~4.4 MiB of record data (Lambda's 6 MB payload, values in
 * base64: stacks/config.ts PAYLOAD and docs/deploy.md "Throughput").
 */
export const INVOCATION_DATA_BYTES = 4.4 * MIB;
/**
 * Seconds one invocation takes for a full payload — estimates, to be replaced by the functions'
 * measured duration: the process stage parses and routes (CPU: one full vCPU), the index stage waits
 * for OpenSearch's bulk response.
 */
export const PROCESS_SECONDS_PER_INVOCATION = 1;
export const INDEX_SECONDS_PER_INVOCATION = 2;
/** A partition is read by one invocation at a time, so its throughput is payload / invocation time. */
export const RAW_BYTES_PER_PARTITION = INVOCATION_DATA_BYTES / PROCESS_SECONDS_PER_INVOCATION;
export const PROCESSED_BYTES_PER_PARTITION = INVOCATION_DATA_BYTES / INDEX_SECONDS_PER_INVOCATION;
/** Partitions run at most at this fraction of their throughput at peak, so a backlog drains. */
export const PARTITION_HEADROOM = 0.5;

/**
 * A Kafka event poller handles up to 5 MB/s or 5 concurrent invocations
 * (docs.aws.amazon.com/lambda/latest/dg/kafka-scaling-modes.html); MinimumPollers 1–200,
 * MaximumPollers 1–2,000, and Lambda caps MaximumPollers at the topic's partitions (same page).
 */
export const POLLER_BYTES_PER_SECOND = 5 * MB;
export const POLLER_INVOCATIONS = 5;

/**
 * Each tier's lower-priority path (docs/plans.md): `deferred.<tier>`, where the process stage puts the
 * events of tenants over their plan, in records of at most 128 KiB (packages/core DEFERRED_RECORD_BYTES).
 * Not sized from the workload, on purpose: it is bounded, not scaled. One partition, so Lambda runs at
 * most one invocation at a time on it (a poller's invocations are per partition, and MaximumPollers is
 * capped at the topic's partitions: kafka-scaling-modes.html), pollers 1/1, and a batch of at most
 * `batchSize` records (20 × 128 KiB = 2.5 MiB): the tier's domain gets at most one bulk stream of
 * deferred events beside its `partitions` regular ones. Provisioned mode, like every mapping (the retry
 * limit and the on-failure destination exist only there), so it costs its one poller all month.
 */
export const DEFERRED_PATH = {
  partitions: 1,
  recordBytes: 128 * 1024,
  esm: { batchSize: 20, batchingWindowSeconds: 5, pollers: { min: 1, max: 1 } },
} as const;

export interface BrokerType {
  name: string;
  /** MSK's recommended partitions per broker, leaders and followers (docs.aws.amazon.com/msk/latest/developerguide/bestpractices.html). */
  partitions: number;
  /**
   * Producer bytes/s (before replication) one broker sustains with RF 3 and the pipeline's consumers —
   * estimate: 60 % of the instance's baseline EBS bandwidth (EC2 instance specifications) divided by the
   * 3 copies every byte is written as. AWS publishes no per-broker figure for Standard brokers.
   */
  ingressBytesPerSecond: number;
  burstable?: boolean;
}

/** Baseline EBS bandwidth (Mbps) × 0.6 / 8 / 3 copies → producer MB/s per broker. */
const brokerIngress = (ebsBaselineMbps: number) => (ebsBaselineMbps * 1e6 * 0.6) / 8 / REPLICATION_FACTOR;

export const BROKER_TYPES: readonly BrokerType[] = [
  { name: "kafka.t3.small", partitions: 300, ingressBytesPerSecond: brokerIngress(174), burstable: true },
  { name: "kafka.m7g.large", partitions: 1000, ingressBytesPerSecond: brokerIngress(630) },
  { name: "kafka.m7g.xlarge", partitions: 1000, ingressBytesPerSecond: brokerIngress(1250) },
  { name: "kafka.m7g.2xlarge", partitions: 2000, ingressBytesPerSecond: brokerIngress(2500) },
  { name: "kafka.m7g.4xlarge", partitions: 4000, ingressBytesPerSecond: brokerIngress(5000) },
  { name: "kafka.m7g.8xlarge", partitions: 4000, ingressBytesPerSecond: brokerIngress(10000) },
];
/** MSK's default quota of brokers per cluster (docs.aws.amazon.com/msk/latest/developerguide/limits.html): 30. */
export const MAX_BROKERS = 30;
/** Largest EBS volume per broker: 16,384 GiB (same page). */
export const MAX_BROKER_VOLUME_GB = 16_384;
/** Broker volumes are sized so the retained records fill at most this fraction; storage auto-scaling grows them past it. */
export const BROKER_STORAGE_FILL = 0.6;
/**
 * MSK storage auto-scaling (Application Auto Scaling, `KafkaBrokerStorageUtilization` target tracking;
 * docs.aws.amazon.com/msk/latest/developerguide/msk-autoexpand.html): expands volumes when utilisation
 * passes the target. Volumes never shrink, so the ceiling is bounded.
 */
export const STORAGE_AUTOSCALING_TARGET_PERCENT = 70;

export interface SearchInstanceType {
  name: string;
  vcpu: number;
  /** JVM heap: half the instance's memory, at most 32 GiB (OpenSearch Service's setting). */
  heapGib: number;
  /** Largest gp3 volume per node, GiB — estimate from the EBS volume size quotas page (limits.html#ebsresource). */
  maxVolumeGb: number;
  burstable?: boolean;
  /** Allowed only alone (no replicas, no zone awareness): the small stages' domain. */
  singleNodeOnly?: boolean;
}

export const SEARCH_TYPES: readonly SearchInstanceType[] = [
  { name: "t3.medium.search", vcpu: 2, heapGib: 2, maxVolumeGb: 200, burstable: true, singleNodeOnly: true },
  { name: "r7g.large.search", vcpu: 2, heapGib: 8, maxVolumeGb: 2048 },
  { name: "r7g.xlarge.search", vcpu: 4, heapGib: 16, maxVolumeGb: 3072 },
  { name: "r7g.2xlarge.search", vcpu: 8, heapGib: 32, maxVolumeGb: 6144 },
  { name: "r7g.4xlarge.search", vcpu: 16, heapGib: 32, maxVolumeGb: 12288 },
  { name: "r7g.8xlarge.search", vcpu: 32, heapGib: 32, maxVolumeGb: 18432 },
  { name: "r7g.12xlarge.search", vcpu: 48, heapGib: 32, maxVolumeGb: 24576 },
];

/**
 * OpenSearch storage: source × (1 + replicas) × 1.45 — 10 % indexing overhead, 5 % Linux reserve, 20 %
 * OpenSearch Service reserve (docs.aws.amazon.com/opensearch-service/latest/developerguide/bp-storage.html).
 */
export const STORAGE_OVERHEAD = 1.45;
/**
 * Shards per data node: at most 25 per GiB of heap (Well-Architected, OpenSearch lens, AOSPERF01-BP01:
 * docs.aws.amazon.com/wellarchitected/latest/amazon-opensearch-service-lens/aosperf01-bp01.html), and
 * under the service's hard limit: 1,000 per node before OpenSearch 2.15, from 2.17 1,000 per 16 GiB of
 * heap up to 4,000 (AWS's sizing reference, github.com/aws/agent-toolkit-for-aws, amazon-opensearch-service
 * references/sizing.md; OpenSearch Service's shard-limit page).
 */
export const SHARDS_PER_HEAP_GIB = 25;
export function hardShardLimit(heapGib: number, engineMinor = 19): number {
  return engineMinor >= 17 ? Math.min(4000, Math.floor((1000 * heapGib) / 16)) : 1000;
}
/** Shard sizes 10–50 GiB, 30–50 for logs (same WA page; the layout's target, packages/index-opensearch layout.ts). */
export const SHARD_TARGET_GIB = { min: 10, max: 50 };
/** Indexed bytes (all copies) one data node's vCPU takes at peak — estimate; measure with the domain's IndexingRate and CPU. */
export const INDEX_BYTES_PER_VCPU = 2 * MB;
/** Data nodes per domain without a quota increase (limits.html): 80. */
export const MAX_DATA_NODES = 80;
/**
 * Dedicated cluster managers by data nodes, after AWS's table (managedomains-dedicatedmasternodes.html,
 * which names m5/m6g/c5/r5 types; these are their Graviton 7 sizes).
 */
export const MASTER_TYPES: readonly { maxDataNodes: number; type: string }[] = [
  { maxDataNodes: 10, type: "m7g.large.search" },
  { maxDataNodes: 30, type: "m7g.2xlarge.search" },
  { maxDataNodes: 75, type: "r7g.2xlarge.search" },
  { maxDataNodes: 1000, type: "r7g.4xlarge.search" },
];

export interface CollectorType {
  name: string;
  /** Events/s and bytes/s one collector is planned for. */
  eventsPerSecond: number;
  bytesPerSecond: number;
}
/**
 * Measured: collector → Kafka, native client, 330,459 events/s of 200-byte lines (66 MB/s) on this
 * repository's 2-core machine (bench/RESULTS.md, "Kafka clients", 2026-12-05). A c7i.large (2 vCPU) is
 * planned at 30 % of it (TLS, HTTP parsing and real senders cost more than the bench's plain TCP); a
 * t3.small at 20 % of that (its CPU baseline).
 */
export const COLLECTOR_TYPES: Record<"production" | "small", CollectorType> = {
  production: { name: "c7i.large", eventsPerSecond: 100_000, bytesPerSecond: 20 * MB },
  small: { name: "t3.small", eventsPerSecond: 20_000, bytesPerSecond: 4 * MB },
};
/** A collector's disk spool holds this many hours of its share while MSK is unreachable. */
export const SPOOL_HOURS = 2;

/** A sizing profile: production (zone-aware, replicas, dedicated managers) or small (staging, developers). */
export type Profile = "production" | "small";

export interface SizeOptions {
  profile: Profile;
  /** Every tier the deployment has (each gets a domain and topic, with or without traffic). */
  tiers: readonly string[];
  /** Regions with collectors (the home region first). 0: no collectors (a developer's stage). */
  collectorRegions: number;
  /**
   * The OpenSearch layout's shard count for a tier (packages/index-opensearch `layoutTable`: pooled
   * and dedicated indices, retention classes), injected so this package imports no adapter.
   */
  layout: LayoutCounter;
  /** OpenSearch minor version (2.x) of the domains: it decides the shard limit. */
  engineMinor?: number;
}

export type LayoutCounter = (
  groups: { tenants: number; eventsPerSecond: number; tier: string; oldSlice: "day"; retentionDays: number }[],
  a: { bytesPerEvent: number; replicas: number },
) => { tier: string; new: { indices: number; shards: number } }[];

/** One derived number with its rule, its arithmetic and where the rule comes from. */
export interface Step {
  what: string;
  value: string;
  arithmetic: string;
  source: string;
}

export interface EsmSizing {
  batchSize: number;
  batchingWindowSeconds: number;
  pollers: { min: number; max: number };
}

export interface TierSizing {
  name: string;
  /** Average and peak bytes/s of processed records on `processed.<tier>`. */
  processedBytesPerSecond: { average: number; peak: number };
  partitions: number;
  esm: EsmSizing;
  /** Its deferred path: `deferred.<tier>` and the mapping that drains it (DEFERRED_PATH). */
  deferred: { partitions: number; esm: EsmSizing };
  opensearch: {
    instanceType: string;
    instanceCount: number;
    volumeGb: number;
    replicas: number;
    dedicatedMaster?: { instanceType: string; count: number };
    /** Source (document) bytes held over the retention. */
    sourceBytes: number;
    storageNeededGb: number;
    shards: number;
    shardsPerNodeLimit: number;
  };
}

export interface DeploymentSizing {
  workload: Workload;
  profile: Profile;
  rawBytesPerSecond: { average: number; peak: number };
  ingestGbPerDay: number;
  raw: { partitions: number; esm: EsmSizing };
  tiers: TierSizing[];
  msk: { brokerType: string; brokers: number; volumeGb: number; autoScaling: { targetPercent: number; maxVolumeGb: number }; retainedBytes: number; partitionReplicas: number };
  collectors: { instanceType: string; perAz: number; regions: number; spoolVolumeGb: number };
  steps: Step[];
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const mbps = (b: number) => `${fmt(b / MB, 2)} MB/s`;
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Batches: the 6 MB payload bounds an invocation, so the batch size is Lambda's maximum; a 1 s window bounds the added latency. */
const ESM_BATCH = { batchSize: 10_000, batchingWindowSeconds: 1 };

function esmFor(what: string, partitions: number, avg: number, peak: number, steps: Step[]): EsmSizing {
  const forBytes = Math.ceil(peak / POLLER_BYTES_PER_SECOND);
  const forConcurrency = Math.ceil(partitions / POLLER_INVOCATIONS);
  const max = Math.min(2000, partitions, Math.max(1, forBytes, forConcurrency));
  const min = Math.min(200, max, Math.max(1, Math.ceil(avg / POLLER_BYTES_PER_SECOND)));
  steps.push({
    what: `${what}: pollers max`,
    value: String(max),
    arithmetic: `min(partitions ${partitions}, max(peak ${mbps(peak)} / 5 MB/s = ${forBytes}, partitions ${partitions} / 5 invocations = ${forConcurrency}))`,
    source: "a poller: 5 MB/s or 5 concurrent invocations; max ≤ partitions (docs.aws.amazon.com/lambda/latest/dg/kafka-scaling-modes.html)",
  });
  steps.push({
    what: `${what}: pollers min`,
    value: String(min),
    arithmetic: `max(1, average ${mbps(avg)} / 5 MB/s)`,
    source: "the average needs no scale-up; min is paid when idle (same page)",
  });
  return { ...ESM_BATCH, pollers: { min, max } };
}

function partitionsFor(what: string, peak: number, perPartition: number, minimum: number, steps: Step[], invocationSeconds: number): number {
  const needed = Math.ceil(peak / (perPartition * PARTITION_HEADROOM));
  const partitions = Math.max(minimum, roundUp(needed, 6));
  steps.push({
    what: `${what}: partitions`,
    value: String(partitions),
    arithmetic: `max(${minimum}, roundup6(peak ${mbps(peak)} / (4.4 MiB per invocation / ${invocationSeconds} s × ${PARTITION_HEADROOM} headroom) = ${needed}))`,
    source: "one invocation per partition at a time (docs/deploy.md \"Throughput\"); invocation time is an estimate",
  });
  return partitions;
}

export function sizeDeployment(w: Workload, o: SizeOptions): DeploymentSizing {
  checkWorkload(w);
  const steps: Step[] = [];
  const production = o.profile === "production";
  const peakFactor = w.eventsPerSecond > 0 ? w.peakEventsPerSecond / w.eventsPerSecond : 1;
  const rawAvg = w.eventsPerSecond * w.eventBytes;
  const rawPeak = w.peakEventsPerSecond * w.eventBytes;
  const ingestGbPerDay = (rawAvg * 86_400) / GB;
  steps.push({ what: "ingest", value: `${fmt(ingestGbPerDay, 1)} GB/day`, arithmetic: `${fmt(w.eventsPerSecond, 1)} events/s × ${w.eventBytes} B × 86,400 s`, source: "the workload" });

  // --- topics ---------------------------------------------------------------------------------
  const rawPartitions = partitionsFor("raw", rawPeak, RAW_BYTES_PER_PARTITION, production ? 12 : 3, steps, PROCESS_SECONDS_PER_INVOCATION);
  const rawEsm = esmFor("raw (process mapping)", rawPartitions, rawAvg, rawPeak, steps);

  const docFactor = DOCUMENT_BYTES_PER_RAW_BYTE;
  const byTier = new Map<string, TenantGroup[]>(o.tiers.map((t) => [t, []]));
  for (const g of w.groups) {
    if (!byTier.has(g.tier)) throw new Error(`workload: tier "${g.tier}" is not one of the deployment's tiers (${o.tiers.join(", ")})`);
    byTier.get(g.tier)!.push(g);
  }
  const replicasFor = (nodes: number) => (nodes > 1 ? 1 : 0);
  const tiers: TierSizing[] = [];
  for (const [tier, groups] of byTier) {
    const evAvg = groups.reduce((s, g) => s + g.tenants * g.eventsPerSecond, 0);
    const avg = evAvg * w.eventBytes * docFactor;
    const peak = avg * peakFactor;
    const partitions = partitionsFor(`processed.${tier}`, peak, PROCESSED_BYTES_PER_PARTITION, production ? 6 : 3, steps, INDEX_SECONDS_PER_INVOCATION);
    const esm = esmFor(`processed.${tier} (index mapping)`, partitions, avg, peak, steps);
    const deferred = { partitions: DEFERRED_PATH.partitions, esm: { ...DEFERRED_PATH.esm, pollers: { ...DEFERRED_PATH.esm.pollers } } };
    steps.push({
      what: `deferred.${tier} (over-plan events): partitions and pollers`,
      value: `${deferred.partitions} partition, pollers ${deferred.esm.pollers.min}/${deferred.esm.pollers.max}, batch ${deferred.esm.batchSize}`,
      arithmetic: `fixed, not scaled: one invocation at a time, ≤ ${deferred.esm.batchSize} records × 128 KiB = ${fmt((deferred.esm.batchSize * DEFERRED_PATH.recordBytes) / MIB, 1)} MiB per bulk stream`,
      source: "docs/plans.md (the deferred path on AWS); one invocation per partition: kafka-scaling-modes.html",
    });
    const os = sizeDomain(tier, groups, w, peak, production, o, steps, replicasFor);
    tiers.push({ name: tier, processedBytesPerSecond: { average: avg, peak }, partitions, esm, deferred, opensearch: os });
  }

  // --- MSK --------------------------------------------------------------------------------------
  const producedAvg = rawAvg + tiers.reduce((s, t) => s + t.processedBytesPerSecond.average, 0);
  const producedPeak = rawPeak + tiers.reduce((s, t) => s + t.processedBytesPerSecond.peak, 0);
  // raw, processed.<tier> and deferred.<tier>, deadletter and its ledger (3 each: stacks/queue.ts topicPlan), __consumer_offsets (50).
  const partitionCount = rawPartitions + tiers.reduce((s, t) => s + t.partitions + t.deferred.partitions, 0) + 3 + 3 + 50;
  const partitionReplicas = partitionCount * REPLICATION_FACTOR;
  const retainedBytes = producedAvg * PIPELINE_HOURS * 3600 * REPLICATION_FACTOR;
  const minVolume = production ? 100 : 20;
  type BrokerChoice = { type: BrokerType; brokers: number; volumeGb: number; cost: number; forBytes: number; forPartitions: number; forStorage: number };
  const brokerChoices: BrokerChoice[] = [];
  for (const type of BROKER_TYPES) {
    if (type.burstable && production) continue;
    const forBytes = Math.ceil(producedPeak / type.ingressBytesPerSecond);
    const forPartitions = Math.ceil(partitionReplicas / type.partitions);
    const forStorage = Math.ceil(retainedBytes / BROKER_STORAGE_FILL / (MAX_BROKER_VOLUME_GB * GB));
    const brokers = roundUp(Math.max(AZ_COUNT, forBytes, forPartitions, forStorage), AZ_COUNT);
    if (brokers > MAX_BROKERS) continue;
    const volumeGb = Math.min(MAX_BROKER_VOLUME_GB, Math.max(minVolume, roundUp(retainedBytes / brokers / BROKER_STORAGE_FILL / GB, production ? 100 : 10)));
    const cost = brokers * (priceOf(PRICES.msk.broker, type.name).usd * HOURS_PER_MONTH + volumeGb * PRICES.msk.storage.usd);
    brokerChoices.push({ type, brokers, volumeGb, cost, forBytes, forPartitions, forStorage });
  }
  if (brokerChoices.length === 0) throw new Error(`MSK: no broker type carries ${mbps(producedPeak)} and ${fmt(retainedBytes / GB)} GB within ${MAX_BROKERS} brokers per cluster: split the deployment, request more brokers, or shorten the pipeline retention`);
  // The cheapest at list price; a tie goes to the smaller type (listed first).
  const broker = brokerChoices.reduce((a, b) => (b.cost < a.cost - 1e-9 ? b : a));
  const volumeGb = broker.volumeGb;
  steps.push({
    what: "MSK brokers",
    value: `${broker.brokers} × ${broker.type.name}`,
    arithmetic: `cheapest type of max(3 AZs, produced peak ${mbps(producedPeak)} / ${mbps(broker.type.ingressBytesPerSecond)} per broker = ${broker.forBytes}, ${partitionReplicas} partition replicas / ${broker.type.partitions} per broker = ${broker.forPartitions}, storage = ${broker.forStorage}), rounded up to a multiple of 3`,
    source: "partitions per broker: docs.aws.amazon.com/msk/latest/developerguide/bestpractices.html; bytes per broker: estimate (60 % of EBS baseline / 3 copies)",
  });
  steps.push({
    what: "MSK storage per broker",
    value: `${fmt(volumeGb)} GB`,
    arithmetic: `produced ${mbps(producedAvg)} × ${PIPELINE_HOURS} h × RF ${REPLICATION_FACTOR} = ${fmt(retainedBytes / GB)} GB / ${broker.brokers} brokers / ${BROKER_STORAGE_FILL} fill`,
    source: "retention: stacks/config.ts RETENTION; 16,384 GiB max per broker (msk limits.html)",
  });
  const maxVolumeGb = Math.min(MAX_BROKER_VOLUME_GB, volumeGb * 4);
  steps.push({ what: "MSK storage auto-scaling", value: `target ${STORAGE_AUTOSCALING_TARGET_PERCENT} %, up to ${fmt(maxVolumeGb)} GB`, arithmetic: `4 × ${fmt(volumeGb)} GB, at most 16,384`, source: "docs.aws.amazon.com/msk/latest/developerguide/msk-autoexpand.html (volumes never shrink)" });

  // --- collectors -------------------------------------------------------------------------------
  const ctype = COLLECTOR_TYPES[production ? "production" : "small"];
  let perAz = 0;
  let spoolVolumeGb = 0;
  if (o.collectorRegions > 0) {
    const perRegionEvents = w.peakEventsPerSecond / o.collectorRegions;
    const capacity = Math.min(ctype.eventsPerSecond, ctype.bytesPerSecond / w.eventBytes);
    // A region keeps its peak with one AZ down: the other AZs carry it.
    perAz = Math.max(1, Math.ceil(perRegionEvents / (capacity * (AZ_COUNT - 1))));
    steps.push({
      what: "collectors per AZ",
      value: `${perAz} × ${ctype.name} (${o.collectorRegions} region${o.collectorRegions > 1 ? "s" : ""})`,
      arithmetic: `peak ${fmt(perRegionEvents)} events/s per region / (min(${fmt(ctype.eventsPerSecond)} events/s, ${mbps(ctype.bytesPerSecond)} / ${w.eventBytes} B) = ${fmt(capacity)} per collector × ${AZ_COUNT - 1} AZs left when one is down)`,
      source: "bench/RESULTS.md \"Kafka clients\" (330k events/s measured; planned at 30 %)",
    });
    const perCollectorAvg = rawAvg / o.collectorRegions / (perAz * AZ_COUNT);
    spoolVolumeGb = Math.max(production ? 100 : 10, roundUp((perCollectorAvg * SPOOL_HOURS * 3600) / GB, 10));
    steps.push({ what: "collector spool volume", value: `${fmt(spoolVolumeGb)} GB`, arithmetic: `${mbps(perCollectorAvg)} per collector × ${SPOOL_HOURS} h`, source: "ours: the spool rides out an MSK outage of that length" });
  }

  return {
    workload: w,
    profile: o.profile,
    rawBytesPerSecond: { average: rawAvg, peak: rawPeak },
    ingestGbPerDay,
    raw: { partitions: rawPartitions, esm: rawEsm },
    tiers,
    msk: { brokerType: broker.type.name, brokers: broker.brokers, volumeGb, autoScaling: { targetPercent: STORAGE_AUTOSCALING_TARGET_PERCENT, maxVolumeGb }, retainedBytes, partitionReplicas },
    collectors: { instanceType: ctype.name, perAz, regions: o.collectorRegions, spoolVolumeGb },
    steps,
  };
}

function sizeDomain(
  tier: string,
  groups: TenantGroup[],
  w: Workload,
  peakDocBytes: number,
  production: boolean,
  o: SizeOptions,
  steps: Step[],
  replicasFor: (nodes: number) => number,
): TierSizing["opensearch"] {
  const docBytesPerEvent = w.eventBytes * DOCUMENT_BYTES_PER_RAW_BYTE;
  const sourceBytes = groups.reduce((s, g) => s + g.tenants * g.eventsPerSecond * docBytesPerEvent * 86_400 * g.retentionDays, 0);
  const shardsFor = (replicas: number) => {
    if (groups.length === 0) return 0;
    const rows = o.layout(groups.map((g) => ({ ...g, oldSlice: "day" as const })), { bytesPerEvent: docBytesPerEvent * 1.1, replicas });
    return rows.find((r) => r.tier === tier)?.new.shards ?? 0;
  };
  type Choice = { type: SearchInstanceType; nodes: number; replicas: number; shards: number; storageGb: number; volumeGb: number; perNodeShards: number; cost: number; why: string };
  const choices: Choice[] = [];
  for (const type of SEARCH_TYPES) {
    if (type.burstable && production) continue;
    const perNodeShards = Math.min(hardShardLimit(type.heapGib, o.engineMinor), SHARDS_PER_HEAP_GIB * type.heapGib);
    // Try one node first on the small profile, then zone-aware domains of 3, 6, ... with one replica.
    const attempts = production ? [3] : [1, 3];
    for (const start of attempts) {
      if (type.singleNodeOnly && start !== 1) continue;
      const replicas = replicasFor(start);
      const storageGb = (sourceBytes * (1 + replicas) * STORAGE_OVERHEAD) / GB;
      const shards = shardsFor(replicas);
      const indexRate = peakDocBytes * (1 + replicas);
      const forStorage = Math.ceil(storageGb / type.maxVolumeGb);
      const forShards = Math.ceil(shards / perNodeShards);
      const forIndexing = Math.ceil(indexRate / (type.vcpu * INDEX_BYTES_PER_VCPU));
      const need = Math.max(1, forStorage, forShards, forIndexing);
      const nodes = start === 1 ? (need <= 1 ? 1 : 0) : roundUp(Math.max(3, need), AZ_COUNT);
      if (nodes === 0 || nodes > MAX_DATA_NODES) continue;
      const volumeGb = Math.max(production ? 20 : 10, roundUp(storageGb / nodes, 10));
      // Monthly list price, to pick the cheapest (./prices.ts).
      const cost = nodes * (priceOf(PRICES.opensearch.instance, type.name).usd * HOURS_PER_MONTH + volumeGb * PRICES.opensearch.gp3.usd);
      choices.push({ type, nodes, replicas, shards, storageGb, volumeGb, perNodeShards, cost, why: `max(storage ${fmt(storageGb)} GB / ${fmt(type.maxVolumeGb)} GB per node = ${forStorage}, shards ${shards} / ${perNodeShards} per node = ${forShards}, indexing ${mbps(indexRate)} / (${type.vcpu} vCPU × 2 MB/s) = ${forIndexing})` });
      break;
    }
  }
  if (choices.length === 0) throw new Error(`OpenSearch tier ${tier}: no instance type holds ${fmt(sourceBytes / GB)} GB of source data within ${MAX_DATA_NODES} data nodes: shorten the retention, split the tier, or request more data nodes per domain`);
  const c = choices.reduce((a, b) => (b.cost < a.cost ? b : a));
  const master = production ? { instanceType: MASTER_TYPES.find((m) => c.nodes <= m.maxDataNodes)!.type, count: 3 } : undefined;
  steps.push({
    what: `OpenSearch ${tier}: storage`,
    value: `${fmt(c.storageGb)} GB`,
    arithmetic: `source ${fmt(sourceBytes / GB)} GB (${w.eventBytes} B × ${DOCUMENT_BYTES_PER_RAW_BYTE} per event over the retention) × (1 + ${c.replicas} replica) × ${STORAGE_OVERHEAD}`,
    source: "docs.aws.amazon.com/opensearch-service/latest/developerguide/bp-storage.html; 1.5 × raw per document: estimate",
  });
  steps.push({
    what: `OpenSearch ${tier}: shards`,
    value: `${fmt(c.shards)} (≤ ${c.perNodeShards} per ${c.type.name})`,
    arithmetic: "pooled/dedicated layout (packages/index-opensearch layoutTable), copies included",
    source: "≤ 25 per GiB of heap (AOSPERF01-BP01); hard limit 1,000 per 16 GiB heap from 2.17 (AWS sizing reference)",
  });
  steps.push({
    what: `OpenSearch ${tier}: data nodes`,
    value: `${c.nodes} × ${c.type.name}, ${fmt(c.volumeGb)} GB gp3 each${master ? `, 3 × ${master.instanceType} managers` : ""}`,
    arithmetic: `cheapest type; ${c.why}${c.nodes > 1 ? ", a multiple of 3 AZs" : ""}`,
    source: "EBS max per node: limits.html (estimate); indexing per vCPU: estimate; managers: managedomains-dedicatedmasternodes.html",
  });
  return {
    instanceType: c.type.name,
    instanceCount: c.nodes,
    volumeGb: c.volumeGb,
    replicas: c.replicas,
    dedicatedMaster: master,
    sourceBytes,
    storageNeededGb: c.storageGb,
    shards: c.shards,
    shardsPerNodeLimit: c.perNodeShards,
  };
}

export const UNITS = { GB, GIB, MB, MIB };
