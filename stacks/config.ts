/**
 * The deployment's tunables, as plain data: the tiers table (one processed topic, one index function
 * with its MSK event-source mapping, and one OpenSearch domain per tier), the process stage, and per
 * stage the workload it is sized for. The sizes — partitions, MSK brokers and storage, pollers, the
 * domains, collectors per AZ — are derived from that workload by packages/sizing (each rule written
 * beside it there, printed by `unmeltable aws estimate`). No AWS calls here: the stacks read
 * `resolveStage($app.stage)` and the tests assert the resource graph against the same derivation.
 *
 * Ops tune a tenant's throughput by moving the tenant to another tier (the `tier` field of its entry in
 * tenants.json), by declaring the stage's workload, and by pinning a derived size where they know better
 * (`msk`, `collectorsPerAz`, `opensearchOverride`). See docs/deploy.md, "Tuning a tenant's tier".
 */
import { layoutTable } from "@unmeltable/index-opensearch/sizing";
import { DEFERRED_PATH, sizeDeployment, tieredWorkload, type DeploymentSizing, type Workload } from "@unmeltable/sizing";

export type StartingPosition = "LATEST" | "TRIM_HORIZON";
export type ErrorHandling = "provisioned" | "on-demand";
export type StageKind = "production" | "shared" | "personal";

/** One MSK event-source mapping's settings (docs.aws.amazon.com/lambda/latest/dg/msk-esm-parameters.html). */
export interface EsmSettings {
  /** Records per invocation, 1–10,000 (Lambda also stops at 6 MB of payload). */
  batchSize: number;
  /** 0–300 s. Once set, Lambda's 500 ms default cannot be restored without recreating the mapping. */
  batchingWindowSeconds: number;
  /** Where a new consumer group starts. Ignored once the group has committed offsets. */
  startingPosition: StartingPosition;
  /** Provisioned mode: event pollers (≈5 MB/s and up to 5 concurrent invocations each). Min 1–200, max 1–2000. */
  pollers: { min: number; max: number };
  /**
   * Provisioned mode: retries of a batch the function hands back unfinished before Lambda sends it to
   * the dead-letter topic (0–10,000). The driver blocks on transient failures for most of each
   * invocation (packages/lambda/src/msk-driver.ts), so retries last about `retryLimit` × the function's
   * timeout: validated to outlast the topics' retention, so an outage never dead-letters (not -1:
   * with an on-failure destination Lambda turns "infinite" into 10).
   */
  retryLimit: number;
}

export interface OpenSearchSizing {
  /** A `*.search` instance type. t2.* and t3.small do not support encryption at rest, which FGAC needs. */
  instanceType: string;
  instanceCount: number;
  /** gp3 EBS volume per data node, GB. */
  volumeGb: number;
  /** Dedicated cluster-manager nodes (3 recommended for production domains). */
  dedicatedMaster?: { instanceType: string; count: number };
}

/** A tier as a stage deploys it: its row of the tiers table with the sizes derived for the stage. */
export interface TierConfig {
  /** Tenant-facing tier name: tenants.json `tier`, topic `processed.<name>`, env `UNMELTABLE_TIER`. */
  name: string;
  opensearch: OpenSearchSizing;
  /** The index function's mapping on `processed.<name>`. */
  esm: EsmSettings;
  /** Partitions of `processed.<name>`: the ceiling of the index stage's parallelism (one consumer per partition). */
  partitions: number;
  indexFunction: { memoryMb: number; timeoutSeconds: number };
}

/** The mapping settings that are not derived from the workload (pollers are). */
export type EsmRow = Omit<EsmSettings, "pollers">;

/** A row of the tiers table: what does not depend on the workload. */
export interface TierRow {
  name: string;
  /**
   * Batch size and window: the 6 MB payload, not `batchSize`, bounds a busy invocation (PAYLOAD below),
   * so the size only matters for small records at low volume, where the window decides; a window of
   * 1–2 s bounds the latency it adds.
   */
  esm: EsmRow;
  indexFunction: { memoryMb: number; timeoutSeconds: number };
}

/**
 * The tiers table. `default` is the tier of every tenant that names none (packages/lambda/src/tenants.ts),
 * so it must exist. `bulk` is for the few tenants that send most of the volume. Their partitions,
 * pollers and domains are derived per stage from its workload (`tiersFor`).
 */
export const TIERS: readonly TierRow[] = [
  {
    name: "default",
    esm: { batchSize: 2_000, batchingWindowSeconds: 1, startingPosition: "TRIM_HORIZON", retryLimit: 10_000 },
    indexFunction: { memoryMb: 1024, timeoutSeconds: 120 },
  },
  {
    name: "bulk",
    esm: { batchSize: 10_000, batchingWindowSeconds: 2, startingPosition: "TRIM_HORIZON", retryLimit: 10_000 },
    indexFunction: { memoryMb: 2048, timeoutSeconds: 300 },
  },
];

/** The process stage: one mapping on `raw` for every tenant; it routes events to `processed.<tier>`. */
export const PROCESS = {
  esm: { batchSize: 500, batchingWindowSeconds: 1, startingPosition: "TRIM_HORIZON", retryLimit: 10_000 } satisfies EsmRow as EsmRow,
  memoryMb: 1769, // one full vCPU
  timeoutSeconds: 120,
};

/** The process stage as a stage deploys it: `raw`'s partitions and the mapping's pollers derived from its workload. */
export interface ProcessConfig {
  esm: EsmSettings;
  /** Partitions of `raw`. A tenant's batches spread over its `partitionSpread` of them. */
  rawPartitions: number;
  memoryMb: number;
  timeoutSeconds: number;
}

export function processFor(cfg: StageConfig): ProcessConfig {
  return { ...PROCESS, esm: { ...PROCESS.esm, pollers: cfg.sizing.raw.esm.pollers }, rawPartitions: cfg.sizing.raw.partitions };
}

/** Topic names shared with packages/core (RAW_TOPIC, DEAD_LETTER_TOPIC, REDRIVEN_TOPIC, processedTopic). */
export const TOPICS = {
  raw: "raw",
  deadLetter: "deadletter",
  /** The redrive ledger: which dead letters were sent back (packages/runtime/src/dead-letters.ts). */
  redriven: "deadletter.redriven",
  processed: (tier: string) => `processed.${tier}`,
  /** Over-plan events of a tier (packages/core deferredTopic, docs/plans.md). */
  deferred: (tier: string) => `deferred.${tier}`,
};

/**
 * The lower-priority path of each tier (docs/plans.md, "On AWS"): the process function sends the events
 * of a tenant over its plan, beyond it, to `deferred.<tier>`, and a function of its own,
 * `Index<Tier>Deferred` (the index handler, the tier's domain), drains it through its own mapping. Bounded,
 * not scaled (packages/sizing DEFERRED_PATH): one partition, so at most one invocation at a time; pollers
 * 1/1; small batches (records of at most 128 KiB, 20 a batch: ≤ 2.5 MiB a bulk stream); and a reserved
 * concurrency of 1, a hard ceiling that holds even if someone adds partitions. A function of its own, not
 * a second mapping of the index function: Lambda's OffsetLag, Errors, Throttles and ConcurrentExecutions
 * are per function, so a second mapping would mix the deferred backlog (which grows by design while a
 * tenant is over plan) into the regular path's lag alarm, and the two mappings would share one
 * reservation. Retries, bisection and the on-failure dead-letter topic are the other mappings' (mappingArgs).
 */
export const DEFERRED = {
  partitions: DEFERRED_PATH.partitions,
  /** packages/core DEFERRED_RECORD_BYTES (test/stacks/config.test.ts keeps them equal). */
  recordBytes: DEFERRED_PATH.recordBytes,
  esm: {
    batchSize: DEFERRED_PATH.esm.batchSize,
    batchingWindowSeconds: DEFERRED_PATH.esm.batchingWindowSeconds,
    startingPosition: "TRIM_HORIZON",
    pollers: { ...DEFERRED_PATH.esm.pollers },
    retryLimit: 10_000,
  } satisfies EsmSettings as EsmSettings,
  /** Reserved concurrency of each deferred function (production and shared stages). */
  reservedConcurrency: 1,
  /**
   * Its OffsetLag alarm. The deferred backlog grows by design while a tenant is over plan; it pages when
   * it has stayed above `offsetLagRecords` (5,000 records of ≤ 128 KiB: up to ~640 MiB of events, 250
   * invocations) for `lagMinutes`: the excess is arriving faster than one invocation at a time drains
   * it, or the path is stuck. Either way its records would expire after RETENTION.pipelineHours (72 h),
   * so ops have days, not minutes: raise the tenant's plan, or move it to a tier with room.
   */
  alarm: { offsetLagRecords: 5_000, lagMinutes: 60 },
};

/**
 * The archive (packages/archive, functions/archive.ts and archive-worker.ts): every hour at :15 UTC the
 * planner cuts `raw` from each partition's checkpoint into pieces of at most `pieceBytes` raw bytes and
 * invokes the worker for each, `concurrency` at a time. At 10k events/s (~400 GB/day, ~17 GB/hour over 48
 * partitions) a partition gains ~350 MB an hour: one piece per partition and run, 48 worker invocations.
 * A worker holds at most `maxOpen` tenant-hour streams of up to `partBytes` compressed bytes each (S3's
 * part minimum is 5 MiB), so its memory is bounded by maxOpen × partBytes (256 MiB) plus one read (16 MiB).
 */
export const ARCHIVE = {
  schedule: "cron(15 * * * ? *)" as const,
  pieceBytes: 1024 ** 3,
  concurrency: 8,
  planner: { memoryMb: 512, timeoutSeconds: 900 },
  // A full vCPU (gzip is the work), memory for the parts; 5 minutes for 1 GiB at ≥ 4 MB/s.
  worker: { memoryMb: 1769, timeoutSeconds: 300, partBytes: 8 * 1024 * 1024, maxOpen: 32 },
  /** Incomplete multipart uploads (a worker killed mid-piece) are removed after this. */
  abortIncompleteUploadsAfterDays: 1,
};

/**
 * How long the topics keep records. `raw` and `processed.<tier>` are the pipeline's buffer (the hourly
 * archive reads `raw` within the hour; three days leave room for a stopped archive to catch up); dead letters wait for
 * a person, so they stay two weeks; the redrive ledger must outlive them (kept forever: it is tiny).
 */
export const RETENTION = {
  pipelineHours: 72,
  deadLetterDays: 14,
  redrivenMs: -1,
};

/**
 * What a batch can hold. Lambda invokes a mapping's function with at most 6 MB of event (the
 * synchronous invocation payload), whatever `batchSize` says, and in that event every record's key and
 * value are base64 (4/3 of their size) with the record's fields around them. So bytes, not records,
 * bound an invocation: with full records, `recordsPerInvocation` of them. The records' sizes are set
 * where they are written: a collector seals a raw batch at 900 KiB (packages/collector, RawBatcher), the
 * process stage cuts a tenant's parsed events into processed records of at most 900 KiB
 * (packages/core, PROCESSED_RECORD_BYTES); test/stacks/config.test.ts keeps these numbers equal to them.
 */
export const PAYLOAD = {
  /** Lambda's limit for a synchronous invocation's request, which an event-source mapping's event is. */
  invocationBytes: 6 * 1024 * 1024,
  rawRecordBytes: 900 * 1024,
  processedRecordBytes: 900 * 1024,
  /** The largest event a collector accepts (`--max-event-bytes`): a record holds at least one. */
  maxEventBytes: 1024 * 1024,
};

/** Bytes a record of `valueBytes` takes in an MSK event (key and value base64, topic, offsets, headers). */
export function eventRecordBytes(valueBytes: number, keyBytes = 64): number {
  return 4 * Math.ceil(valueBytes / 3) + 4 * Math.ceil(keyBytes / 3) + 256;
}

/** How many full records of `recordBytes` one invocation carries (the event's own fields take ~1 KiB). */
export function recordsPerInvocation(recordBytes: number): number {
  return Math.floor((PAYLOAD.invocationBytes - 1024) / eventRecordBytes(recordBytes));
}

/**
 * What one invocation of a mapping carries at most, in records and in record bytes: the batch size or
 * what fits in the payload, whichever is smaller. Throughput per partition is this divided by how long
 * an invocation takes (docs/deploy.md, "Throughput").
 */
export function invocationLimit(esm: EsmSettings, recordBytes: number): { records: number; bytes: number } {
  const records = Math.min(esm.batchSize, recordsPerInvocation(recordBytes));
  return { records, bytes: records * recordBytes };
}

/** Seconds the MSK driver keeps for its answer before a function's timeout (its default `reserveMs`). */
export const DRIVER_RESERVE_SECONDS = 10;

/**
 * The Kafka client in Lambda is @platformatic/kafka (pure JavaScript), bundled by esbuild into the
 * functions that talk to Kafka (docs/deploy.md, "Which Kafka client runs where"). Nothing native goes
 * into any function artifact: SST npm-installs `nodejs.install` packages on the deploying machine, and a
 * native package would get a binary for that machine's OS, libc and Node ABI, not Lambda's.
 *
 * Two of the client's packages cannot be bundled, so SST installs them beside those bundles:
 * @platformatic/wasm-utils reads its WebAssembly (CRC-32C, LZ4, Snappy) from `../dist/native.wasm`
 * beside its own module when it loads, a file esbuild does not copy; and @platformatic/dynamic-buffer,
 * which wasm-utils imports, recognises its buffers by a module-private Symbol, so the bundle must share
 * wasm-utils' installed copy. Both are pure JavaScript without install scripts. Exact versions: SST's
 * `npm install` has no lockfile. test/stacks/lambda-artifacts.test.ts checks all of it against
 * package-lock.json and the bundles.
 */
export const LAMBDA_KAFKA_RUNTIME: Readonly<Record<string, string>> = {
  "@platformatic/wasm-utils": "0.2.1",
  "@platformatic/dynamic-buffer": "0.3.1",
};

/**
 * Kept out of every function bundle (`nodejs.esbuild.external`) and never installed, so nothing native
 * is bundled: the embedded index (SQLite; Lambda indexes into OpenSearch) and the native Kafka adapter.
 * `packages/lambda` reaches the embedded index only through a dynamic import, which then fails with
 * "Cannot find package" if UNMELTABLE_INDEX=embedded were ever set on Lambda.
 */
export const LAMBDA_EXCLUDED: readonly string[] = ["@unmeltable/index-sqlite", "@unmeltable/queue-kafka/native"];

/**
 * The native Kafka client (librdkafka), optional, for the collectors on EC2 only: their instances
 * install it themselves, from the lockfile (`npm ci`), so its binary matches the instance. Kept equal to
 * the version in package-lock.json (test/stacks/config.test.ts checks it).
 */
export const NATIVE_KAFKA_CLIENT = { name: "@confluentinc/kafka-javascript", version: "1.10.1" };

/** Lambda runtime for every function (Node 20 reached end of support on Lambda in 2026; the code targets >= 20.19). */
export const LAMBDA_RUNTIME = "nodejs22.x";

export interface RegionConfig {
  region: string;
  /** The home region hosts MSK, the functions, OpenSearch and S3; the others only collectors. */
  home?: boolean;
  /** Collector VPC CIDR for non-home regions (peered with the home VPC, which SST fixes at 10.0.0.0/16). */
  cidr?: string;
  /** Collector instances per availability zone (3 AZs per region). 0: no collectors. */
  collectorsPerAz: number;
}

/** The Kafka clients: "js" is @platformatic/kafka (pure JavaScript), "native" is librdkafka's. */
export type KafkaClientKind = "js" | "native";

/** Where the collectors get the program (docs/deploy.md, "The collector artifact"). */
export type CollectorArtifact =
  /** A tarball made by `node scripts/sst-collector-artifact.mjs` and uploaded to S3. */
  | { kind: "s3"; bucket: string; key: string }
  /** A git checkout, built on the instance (`npm ci && npm run build`; slower first boot). */
  | { kind: "git"; url: string; ref: string };

export interface StageConfig {
  stage: string;
  kind: StageKind;
  /** What the stage is sized for (packages/sizing): events/s, event size, tenants by tier and retention. */
  workload: Workload;
  /** The sizes derived from `workload`, with each rule (`sizing.steps`). */
  sizing: DeploymentSizing;
  regions: RegionConfig[];
  /** VPC NAT: "managed" (a NAT gateway per AZ) or "ec2" (fck-nat t4g.nano instances, far cheaper). */
  nat: "managed" | "ec2";
  msk: {
    kafkaVersion: string;
    brokerType: string;
    brokers: number;
    volumeGb: number;
    /** MSK storage auto-scaling: expand past `targetPercent` used, up to `maxVolumeGb` per broker. */
    autoScaling: { targetPercent: number; maxVolumeGb: number };
  };
  /** Overrides applied to every tier's domain (small stages do not need the production sizing). */
  opensearchOverride?: Partial<OpenSearchSizing>;
  opensearchEngine: string;
  /** provisioned: pollers + ReportBatchItemFailures + bisect + retry limit + on-failure `kafka://deadletter`. */
  errorHandling: ErrorHandling;
  /**
   * The dev-stage guard. Personal stages create their MSK mappings disabled, because under `sst dev` the
   * deployed function is a stub that answers *success* after 16 s when no `sst dev` session is connected,
   * and the mapping would commit offsets of records nobody processed. Set UNMELTABLE_ESM_ENABLED=1 on the
   * `sst deploy`/`sst dev` command line to consume while you debug.
   */
  esmEnabled: boolean;
  collector: {
    instanceType: string;
    spoolVolumeGb: number;
    /** Node.js installed on the collectors (official linux-x64 build, checked against SHASUMS256.txt). */
    nodeVersion: string;
    artifact: CollectorArtifact;
    /**
     * The collectors' Kafka client, chosen by measurement (bench/RESULTS.md, "Kafka clients"; docs/deploy.md,
     * "Which Kafka client runs where"). "native" is installed by each instance for itself, and the
     * collector falls back to the pure-JS client if it cannot load (stacks/collector-user-data.ts).
     */
    kafkaClient: KafkaClientKind;
    /** SSM parameters (SecureString, home region) with the PEM certificate chain and key for TLS 6514 and HTTPS. */
    tls: { certParameter: string; keyParameter: string };
    /** TCP port Route 53 checks on every collector (the syslog TLS listener). */
    healthCheckPort: number;
  };
  /** DNS: collectors at `<region>.<collectors>` (multivalue) and `<collectors>` (latency). Omitted: no DNS. */
  domain?: { zone: string; collectors: string; api?: string; web?: string };
  archive: { infrequentAccessAfterDays: number; glacierAfterDays: number; expireAfterDays?: number };
  logRetentionDays: number;
}

/**
 * The collectors' Kafka client, by measurement (bench/RESULTS.md, "Kafka clients", 2026-12-05): collector
 * → Kafka, nine interleaved pairs of 10 s runs, the native client wrote a median 330,459 events/s and the
 * pure-JS one 194,377, native ahead in 8 of 9 pairs: in the collector the client's work competes with
 * parsing for the one JavaScript thread, and librdkafka does it on threads of its own. (Producing alone,
 * the pure-JS client is the faster one.) So collectors keep the native client, optional: each instance
 * installs it itself and falls back to the pure-JS client if it cannot load it.
 */
export const COLLECTOR_KAFKA_CLIENT: KafkaClientKind = "native";

const COLLECTOR_DEFAULTS = {
  nodeVersion: "20.20.2",
  artifact: { kind: "s3", bucket: "unmeltable-artifacts", key: "collector/unmeltable-collector-0.1.0.tgz" },
  kafkaClient: COLLECTOR_KAFKA_CLIENT,
  healthCheckPort: 6514,
} as const;

/**
 * A stage as declared: its workload, and everything that is not a size. The sizes are derived in
 * `resolveStage`; a declaration may pin one (`msk.brokers`, a region's `collectorsPerAz`, the
 * collectors' `instanceType`, `opensearchOverride`) where ops know better than the model — a pinned
 * size is used as it is, and still validated.
 */
export type StageDeclaration = Omit<StageConfig, "stage" | "esmEnabled" | "sizing" | "msk" | "regions" | "collector"> & {
  msk: { kafkaVersion: string } & Partial<Omit<StageConfig["msk"], "kafkaVersion">>;
  regions: (Omit<RegionConfig, "collectorsPerAz"> & { collectorsPerAz?: number })[];
  collector: Omit<StageConfig["collector"], "instanceType" | "spoolVolumeGb"> & Partial<Pick<StageConfig["collector"], "instanceType" | "spoolVolumeGb">>;
};

/**
 * Production's workload: the issue's reference point, 10,000 events/s of ~500 bytes (432 GB a day)
 * searchable for 30 days, twice that at peak; most tenants small on the default tier, a few large ones
 * on `bulk` (half the volume); raw events archived 400 days.
 */
export const PROD_WORKLOAD: Workload = tieredWorkload({
  tiers: { default: { tenants: 1_000, eventsPerSecond: 5 }, bulk: { tenants: 5, eventsPerSecond: 1_000 } },
  peakEventsPerSecond: 20_000,
  retentionDays: 30,
  archiveDays: 400,
});

/** Staging's: test traffic, ~100 events/s, a week searchable, a month archived. */
export const STAGING_WORKLOAD: Workload = tieredWorkload({
  tiers: { default: { tenants: 10, eventsPerSecond: 5 }, bulk: { tenants: 1, eventsPerSecond: 50 } },
  peakEventsPerSecond: 500,
  retentionDays: 7,
  archiveDays: 30,
});

/** A developer's: a trickle, three days searchable, a week archived. */
export const PERSONAL_WORKLOAD: Workload = tieredWorkload({
  tiers: { default: { tenants: 1, eventsPerSecond: 5 }, bulk: { tenants: 1, eventsPerSecond: 5 } },
  peakEventsPerSecond: 100,
  retentionDays: 3,
  archiveDays: 7,
});

/** Shared stages, by name. Any other stage name is a personal (developer) stage: see `personalStage`. */
export const STAGES: Record<string, StageDeclaration> = {
  prod: {
    kind: "production",
    workload: PROD_WORKLOAD,
    regions: [
      { region: "eu-west-1", home: true },
      { region: "us-east-1", cidr: "10.1.0.0/16" },
    ],
    nat: "managed",
    msk: { kafkaVersion: "3.8.x" },
    opensearchEngine: "OpenSearch_2.19",
    errorHandling: "provisioned",
    collector: {
      ...COLLECTOR_DEFAULTS,
      tls: { certParameter: "/unmeltable/prod/tls/cert", keyParameter: "/unmeltable/prod/tls/key" },
    },
    domain: { zone: "example.com", collectors: "logs.example.com", api: "api.logs.example.com", web: "app.logs.example.com" },
    archive: { infrequentAccessAfterDays: 30, glacierAfterDays: 90, expireAfterDays: 400 },
    logRetentionDays: 30,
  },
  staging: {
    kind: "shared",
    workload: STAGING_WORKLOAD,
    regions: [{ region: "eu-west-1", home: true }],
    nat: "ec2",
    msk: { kafkaVersion: "3.8.x" },
    opensearchEngine: "OpenSearch_2.19",
    errorHandling: "provisioned",
    collector: {
      ...COLLECTOR_DEFAULTS,
      tls: { certParameter: "/unmeltable/staging/tls/cert", keyParameter: "/unmeltable/staging/tls/key" },
    },
    domain: { zone: "example.com", collectors: "logs.staging.example.com" },
    archive: { infrequentAccessAfterDays: 30, glacierAfterDays: 90, expireAfterDays: 30 },
    logRetentionDays: 7,
  },
};

/** A developer's own stage (`sst dev --stage alice`): smallest sizes, no collectors, no DNS, guarded mappings. */
export function personalStage(): StageDeclaration {
  return {
    kind: "personal",
    workload: PERSONAL_WORKLOAD,
    regions: [{ region: "eu-west-1", home: true, collectorsPerAz: 0 }],
    nat: "ec2",
    msk: { kafkaVersion: "3.8.x" },
    opensearchEngine: "OpenSearch_2.19",
    errorHandling: "on-demand",
    collector: {
      ...COLLECTOR_DEFAULTS,
      tls: { certParameter: "/unmeltable/dev/tls/cert", keyParameter: "/unmeltable/dev/tls/key" },
    },
    archive: { infrequentAccessAfterDays: 30, glacierAfterDays: 90, expireAfterDays: 7 },
    logRetentionDays: 3,
  };
}

/**
 * The sizes for a declaration (packages/sizing): production stages get zone-aware domains with
 * replicas and cluster managers and no burstable types; shared and personal stages the small profile.
 * Collectors are sized for every region that does not pin 0 of them.
 */
export function sizeStage(d: StageDeclaration): DeploymentSizing {
  const engineMinor = Number(/_2\.(\d+)$/.exec(d.opensearchEngine)?.[1] ?? 0);
  return sizeDeployment(d.workload, {
    profile: d.kind === "production" ? "production" : "small",
    tiers: TIERS.map((t) => t.name),
    collectorRegions: d.regions.filter((r) => r.collectorsPerAz !== 0).length,
    layout: layoutTable,
    engineMinor,
  });
}

/** The stage's whole configuration, sized and validated. `env` is where the dev-stage guard's opt-in is read. */
export function resolveStage(stage: string, env: Record<string, string | undefined> = process.env): StageConfig {
  const d = STAGES[stage] ?? personalStage();
  const esmEnabled = d.kind === "personal" ? env.UNMELTABLE_ESM_ENABLED === "1" : true;
  const sizing = sizeStage(d);
  const cfg: StageConfig = {
    ...d,
    stage,
    esmEnabled,
    sizing,
    msk: {
      brokerType: sizing.msk.brokerType,
      brokers: sizing.msk.brokers,
      volumeGb: sizing.msk.volumeGb,
      autoScaling: sizing.msk.autoScaling,
      ...d.msk,
    },
    regions: d.regions.map((r) => ({ ...r, collectorsPerAz: r.collectorsPerAz ?? sizing.collectors.perAz })),
    collector: { instanceType: sizing.collectors.instanceType, spoolVolumeGb: sizing.collectors.spoolVolumeGb, ...d.collector },
  };
  validate(cfg);
  checkQuotas(cfg);
  return cfg;
}

/**
 * Each tier's index settings, given to the functions (UNMELTABLE_OPENSEARCH_INDEX_SETTINGS) that put the
 * index templates:
 *  - replicas explicit: 1 where the domain has a second data node to hold it, 0 on a single-node domain
 *    (a replica that cannot be assigned leaves it yellow for good);
 *  - `analysis: "icu"`: Amazon OpenSearch Service ships the analysis-icu plugin on every domain
 *    (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-plugins.html), whose
 *    NFD decomposition is exact where asciifolding (the adapter's default without a known plugin) is not.
 */
export function indexSettingsFor(cfg: StageConfig): Record<string, { replicas: number; analysis: "icu" }> {
  return Object.fromEntries(tiersFor(cfg).map((t) => [t.name, { replicas: t.opensearch.instanceCount > 1 ? 1 : 0, analysis: "icu" as const }]));
}

/** Each tier as the stage deploys it: its row, with the partitions, pollers and domain derived for the stage and the stage's OpenSearch pins. */
export function tiersFor(cfg: StageConfig): TierConfig[] {
  return TIERS.map((t) => {
    const sized = cfg.sizing.tiers.find((x) => x.name === t.name)!;
    const os = sized.opensearch;
    const opensearch: OpenSearchSizing = { instanceType: os.instanceType, instanceCount: os.instanceCount, volumeGb: os.volumeGb, dedicatedMaster: os.dedicatedMaster, ...cfg.opensearchOverride };
    return { ...t, partitions: sized.partitions, esm: { ...t.esm, pollers: sized.esm.pollers }, opensearch };
  });
}

export function homeRegion(cfg: StageConfig): RegionConfig {
  return cfg.regions.find((r) => r.home)!;
}

/** Availability zones used in every region (MSK brokers, OpenSearch zone awareness, collectors). */
export const AZ_COUNT = 3;
/** SST's `sst.aws.Vpc` always uses this CIDR (platform/src/components/aws/vpc.ts). */
export const HOME_VPC_CIDR = "10.0.0.0/16";

/** OpenSearch domain names: 3–28 characters, lowercase letters, digits and hyphens, starting with a letter. */
export function domainName(app: string, stage: string, tier: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const full = `${clean(app)}-${clean(stage)}-${clean(tier)}`;
  if (full.length <= 28) return full;
  const hash = fnv1a(`${app}/${stage}/${tier}`).toString(36).slice(0, 6);
  return `${clean(app).slice(0, 4)}-${hash}-${clean(tier)}`.slice(0, 28).replace(/-+$/, "");
}

/** `bulk-eu` → `BulkEu`, for resource names. */
export function pascal(s: string): string {
  return s
    .split(/[^a-zA-Z0-9]/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function validate(cfg: StageConfig): void {
  const fail = (msg: string) => {
    throw new Error(`stacks/config.ts, stage "${cfg.stage}": ${msg}`);
  };
  const homes = cfg.regions.filter((r) => r.home);
  if (homes.length !== 1) fail("exactly one region must be the home region");
  const cidrs = new Set<string>([HOME_VPC_CIDR]);
  for (const r of cfg.regions.filter((x) => !x.home)) {
    if (!r.cidr) fail(`region ${r.region} needs a cidr for its collector VPC`);
    if (cidrs.has(r.cidr!)) fail(`region ${r.region}: cidr ${r.cidr} is already used`);
    cidrs.add(r.cidr!);
  }
  if (new Set(cfg.regions.map((r) => r.region)).size !== cfg.regions.length) fail("a region is listed twice");
  if (cfg.msk.brokers % AZ_COUNT !== 0) fail(`MSK brokers (${cfg.msk.brokers}) must be a multiple of the ${AZ_COUNT} AZs`);
  const tiers = tiersFor(cfg);
  if (!tiers.some((t) => t.name === "default")) fail('the tiers table needs a "default" tier');
  if (new Set(tiers.map((t) => t.name)).size !== tiers.length) fail("tier names must be unique");
  for (const t of tiers) {
    if (!/^[a-z][a-z0-9-]*$/.test(t.name)) fail(`tier name "${t.name}": lowercase letters, digits and hyphens`);
    const os = t.opensearch;
    if (/^t2\.|^t3\.(micro|small)\./.test(os.instanceType)) fail(`tier ${t.name}: ${os.instanceType} has no encryption at rest, which fine-grained access control needs`);
    const azs = Math.min(AZ_COUNT, os.instanceCount);
    if (os.instanceCount > 1 && os.instanceCount % azs !== 0) fail(`tier ${t.name}: ${os.instanceCount} data nodes do not spread evenly over ${azs} AZs`);
    checkEsm(`tier ${t.name}`, t.esm, t.indexFunction.timeoutSeconds, PAYLOAD.processedRecordBytes, fail);
  }
  for (const t of tiers) {
    // The deferred path: the other mappings' retry rule, and a batch deliberately below what fits.
    checkEsm(`tier ${t.name} (deferred)`, DEFERRED.esm, t.indexFunction.timeoutSeconds, DEFERRED.recordBytes, fail, { smallBatch: true });
  }
  if (DEFERRED.esm.pollers.max !== 1 || DEFERRED.partitions !== 1) fail("the deferred path is one partition and one poller: its share of a domain is one bulk stream (docs/plans.md)");
  const proc = processFor(cfg);
  checkEsm("process", proc.esm, proc.timeoutSeconds, PAYLOAD.rawRecordBytes, fail);
  // A record must fit in an invocation alone, or Lambda cannot deliver it at all. The largest processed
  // record is one event's document: the raw text plus its parsed fields, at most ~3 times the event.
  if (eventRecordBytes(3 * PAYLOAD.maxEventBytes) > PAYLOAD.invocationBytes - 1024) fail(`maxEventBytes ${PAYLOAD.maxEventBytes}: its processed record would not fit in Lambda's 6 MB invocation`);
}

function checkEsm(what: string, e: EsmSettings, timeoutSeconds: number, recordBytes: number, fail: (m: string) => never | void, o: { smallBatch?: boolean } = {}): void {
  if (e.batchSize < 1 || e.batchSize > 10_000) fail(`${what}: batch size must be 1–10,000`);
  if (e.batchingWindowSeconds < 0 || e.batchingWindowSeconds > 300) fail(`${what}: batching window must be 0–300 s`);
  if (e.pollers.min < 1 || e.pollers.min > 200 || e.pollers.max < e.pollers.min || e.pollers.max > 2000) fail(`${what}: pollers must satisfy 1 ≤ min ≤ 200, min ≤ max ≤ 2000`);
  if (e.retryLimit < 0 || e.retryLimit > 10_000) fail(`${what}: retry limit must be 0–10,000`);
  // Each retry is an invocation that blocked for about its timeout: together they must outlast the
  // records, or a long outage would end in the dead letters (records expire from the topic anyway).
  const retriesLastHours = (e.retryLimit * Math.max(1, timeoutSeconds - DRIVER_RESERVE_SECONDS)) / 3600;
  if (retriesLastHours < RETENTION.pipelineHours) fail(`${what}: ${e.retryLimit} retries of a ${timeoutSeconds} s function last ${retriesLastHours.toFixed(1)} h, less than the topics' ${RETENTION.pipelineHours} h retention: a long outage would dead-letter`);
  // The deferred path's batch is small on purpose (a short bulk stream): it must still fit the payload.
  if (o.smallBatch) {
    if (e.batchSize > recordsPerInvocation(recordBytes)) fail(`${what}: batch size ${e.batchSize} is above the ${recordsPerInvocation(recordBytes)} full records an invocation holds`);
    return;
  }
  // A batch smaller than what fits would leave the payload unused on busy partitions.
  if (e.batchSize < recordsPerInvocation(recordBytes)) fail(`${what}: batch size ${e.batchSize} is below the ${recordsPerInvocation(recordBytes)} full records an invocation holds`);
}

// ---------------------------------------------------------------------------------------------------
// Operating it (issue 14, parts 2 and 4): who is paged and on what, the concurrency each function may
// take, the API's throttles, and the AWS quotas a stage must fit. Appended here as separate tables so
// the sizing rows above stay as they are.
// ---------------------------------------------------------------------------------------------------

/** Stage kinds that get the alarms, their SNS topic and the dashboard (a developer's stage pages nobody). */
export const ALARMED_KINDS: readonly StageKind[] = ["production", "shared"];

/**
 * Alarm thresholds that are ours to choose (the OpenSearch ones follow AWS's recommended alarms, in
 * stacks/monitoring.ts beside each alarm). Per stage kind: staging pages on the same conditions, but its
 * traffic is test traffic, so its lag threshold is lower and its dead-letter threshold the same.
 */
export interface AlarmThresholds {
  /**
   * OffsetLag (records) of a mapping, its maximum over `lagMinutes` consecutive minutes. A processed
   * record holds up to 900 KiB of events and a raw batch the same: 10,000 records behind is ~9 GB of
   * events, minutes of work at full poller strength; sustained for 15 minutes it means the stage is not
   * catching up (pollers at their maximum, OpenSearch pushing back, or a partition blocked).
   */
  offsetLagRecords: number;
  lagMinutes: number;
  /**
   * Events dead-lettered by one stage in 5 minutes. Some dead letters are normal (a tenant sending what
   * cannot be parsed is told so through them); thousands in 5 minutes are a parser bug or a tenant's
   * broken sender, which ops must see (`unmeltable deadletters`).
   */
  deadLettersPer5Minutes: number;
  /** Bytes in a collector's disk spool: a fraction of its volume. Spooling means MSK is not taking writes. */
  spoolFraction: number;
}

export const ALARM_THRESHOLDS: Record<"production" | "shared", AlarmThresholds> = {
  production: { offsetLagRecords: 10_000, lagMinutes: 15, deadLettersPer5Minutes: 1_000, spoolFraction: 0.25 },
  shared: { offsetLagRecords: 2_000, lagMinutes: 15, deadLettersPer5Minutes: 1_000, spoolFraction: 0.25 },
};

/**
 * Where the alarms go: an SNS topic per stage (and its twin in us-east-1 for the Route 53 health check
 * alarms, whose metrics exist only there). Email addresses come from `UNMELTABLE_OPS_EMAIL` (comma
 * separated) on the deploying machine, so no address is committed; each must confirm the subscription
 * mail SNS sends. Without it the topics exist and ops subscribe whatever they use (PagerDuty, chat).
 */
export function opsEmails(env: Record<string, string | undefined> = process.env): string[] {
  const raw = env.UNMELTABLE_OPS_EMAIL ?? "";
  const emails = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const e of emails) if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) throw new Error(`UNMELTABLE_OPS_EMAIL: "${e}" is not an email address`);
  return emails;
}

/**
 * Reserved concurrency (Lambda `ReservedConcurrentExecutions`): both a floor the account cannot take away
 * and a ceiling the function cannot pass. Only on production and shared stages: a developer's account
 * often has a concurrency quota of 10, and any reservation there would be refused.
 * - search: the API's function keeps `search` executions however busy the pipeline is (ingest-side load
 *   cannot starve it), and cannot take more (a burst of searches cannot starve the pipeline). API Gateway
 *   answers 429 beyond it, before the function. 29 s at most per search; 100 concurrent is ~3.4 searches
 *   per second at the worst latency, far more at the usual.
 * - the MSK-mapped stages: Lambda runs at most one invocation per partition of a mapping's topic at a
 *   time, so a reservation equal to the topic's partitions never throttles the mapping, and it keeps the
 *   stage from eating the account's unreserved pool (which the API, the jobs and the alerts share).
 */
export interface ConcurrencyPlan {
  search: number;
  process: number;
  /** tier → its index function's reservation */
  index: Record<string, number>;
  /** tier → its deferred function's reservation (DEFERRED: 1, its one partition) */
  deferred: Record<string, number>;
}

/** Every reservation of a plan, added up. */
export function reservedTotal(plan: ConcurrencyPlan): number {
  return plan.search + mappedReserved(plan);
}

/** The reservations of the MSK-mapped functions: process, every tier's index and deferred functions. */
function mappedReserved(plan: ConcurrencyPlan): number {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return plan.process + sum(plan.index) + sum(plan.deferred);
}

export const SEARCH_RESERVED: Record<"production" | "shared", number> = { production: 100, shared: 20 };

/**
 * The shared (staging) stage caps its mapped stages far below their partitions: its kafka.t3.small
 * brokers accept 4 new IAM connections per second each, 12 within the Kafka client's retries, and a cold
 * start of 108 executions (one per partition) plus 3 collectors would be refused (`checkQuotas`). With
 * these caps (process 3, each tier's index 2 and deferred 1 — DEFERRED — and 3 collectors: 12) a
 * backlog drains more slowly on staging (Lambda retries the throttled invocations), which a test stage
 * can afford; kafka.m7g.large brokers would lift the limit to 100/s for about 3 × $0.20 an hour more.
 */
export const SHARED_STAGE_CAPS = { process: 3, index: 2 };

export function concurrencyPlan(cfg: StageConfig): ConcurrencyPlan | undefined {
  if (cfg.kind === "personal") return undefined;
  const cap = (n: number, c: number) => (cfg.kind === "shared" ? Math.min(n, c) : n);
  return {
    search: SEARCH_RESERVED[cfg.kind],
    process: cap(processFor(cfg).rawPartitions, SHARED_STAGE_CAPS.process),
    index: Object.fromEntries(tiersFor(cfg).map((t) => [t.name, cap(t.partitions, SHARED_STAGE_CAPS.index)])),
    deferred: Object.fromEntries(tiersFor(cfg).map((t) => [t.name, DEFERRED.reservedConcurrency])),
  };
}

/**
 * API Gateway throttling of the HTTP API's `$default` stage (requests per second, steady and burst), by
 * route. HTTP APIs throttle per stage and per route only: they have no usage plans or API keys (REST
 * APIs do), so no per-client or per-tenant throttle exists at this layer, and they cannot be associated
 * with AWS WAF (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-vs-rest.html). The
 * expensive reads (search, paging through events, counts, histograms) get their own, tighter limits so a
 * burst of them cannot take the whole stage's rate; everything else shares the default. Beyond them API
 * Gateway answers 429, which Loggly clients retry. Account-wide, API Gateway allows 10,000 requests/s
 * per region (shared by all APIs).
 */
export const API_THROTTLE = {
  default: { rate: 200, burst: 400 },
  routes: {
    "GET /apiv2/search": { rate: 50, burst: 100 },
    "GET /apiv2/events": { rate: 100, burst: 200 },
    "GET /apiv2/events/iterate": { rate: 50, burst: 100 },
    "GET /apiv2/events/count": { rate: 50, burst: 100 },
    "GET /apiv2/events/histogram": { rate: 50, burst: 100 },
    "GET /apiv2/events/surrounding": { rate: 50, burst: 100 },
    // Each sign-in hashes a password (scrypt, 70-90 ms of a core and 32 MiB): few at a time, whoever sends them;
    // the function also counts failures per address and per client (core's SignInLimiter).
    "POST /auth/login": { rate: 10, burst: 20 },
  } as Record<string, { rate: number; burst: number }>,
};

/**
 * AWS quotas a stage's first deploy meets, with AWS's defaults. A stage states the values its account
 * has (after ops raised them: docs/deploy.md, "Quotas") in STAGE_QUOTAS; `checkQuotas` refuses at synth
 * time a stage that cannot fit, naming the quota and the request to make.
 */
export interface Quotas {
  /** EC2 "EC2-VPC Elastic IPs" per region (quota code L-0263D0A3), default 5. */
  elasticIpsPerRegion: Record<string, number>;
  /** Lambda "Concurrent executions" (L-B99A9384), default 1,000 (new accounts may start lower). */
  lambdaConcurrency: number;
  /**
   * MSK's limit on new IAM-authenticated TCP connections per broker per second, by broker type: 100/s on
   * m5/m7g.large and up, 4/s on t3.small (docs.aws.amazon.com/msk/latest/developerguide/limits.html;
   * not adjustable: only a bigger broker raises it). Not per account, so not in STAGE_QUOTAS.
   */
}

/** What Lambda keeps unreserved, whatever the reservations: `UnreservedConcurrentExecutions` ≥ 100. */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

export const AWS_DEFAULT_QUOTAS: Quotas = { elasticIpsPerRegion: {}, lambdaConcurrency: 1_000 };
export const DEFAULT_ELASTIC_IPS = 5;

/**
 * New IAM connections per second one broker accepts (MSK quotas page, "Maximum TCP connection rate per
 * broker (IAM)"). A broker type not listed is assumed to be an m5/m7g size or larger.
 */
export const MSK_IAM_CONNECTIONS_PER_SECOND: Record<string, number> = { "kafka.t3.small": 4 };
export const MSK_IAM_CONNECTIONS_PER_SECOND_DEFAULT = 100;

/**
 * The quotas each shared stage's account has, as raised by ops before its first deploy. Both need a 6th
 * Elastic IP in the home region: 3 for the NAT (one per AZ, for NAT gateways and NAT instances alike,
 * SST's Vpc) plus 3 collectors.
 */
export const STAGE_QUOTAS: Record<string, Partial<Quotas>> = {
  prod: { elasticIpsPerRegion: { "eu-west-1": 10 } },
  staging: { elasticIpsPerRegion: { "eu-west-1": 10 } },
};

export function quotasFor(stage: string): Quotas {
  const q = STAGE_QUOTAS[stage] ?? {};
  return { ...AWS_DEFAULT_QUOTAS, ...q, elasticIpsPerRegion: { ...AWS_DEFAULT_QUOTAS.elasticIpsPerRegion, ...q.elasticIpsPerRegion } };
}

/** Elastic IPs a stage allocates in each region: the NAT's (home region, one per AZ) and one per collector. */
export function elasticIpsNeeded(cfg: StageConfig): Record<string, number> {
  return Object.fromEntries(cfg.regions.map((r) => [r.region, (r.home ? AZ_COUNT : 0) + r.collectorsPerAz * AZ_COUNT]));
}

/**
 * New IAM connections each broker must accept at once in the worst ordinary moment: every MSK-mapped
 * function's reserved executions starting cold together (a backlog after an outage; each execution
 * opens its own client, which connects to every broker it writes to: assume all of them), plus every
 * collector reconnecting (a broker restart). The mappings' own pollers are Lambda's and scale up over
 * minutes, so they are not counted. Compared with what a broker accepts within the Kafka client's retry
 * window (`KAFKA_CONNECT_WINDOW_SECONDS`).
 */
export function mskConnectionBurst(cfg: StageConfig, plan = concurrencyPlan(cfg)): number {
  const collectors = cfg.regions.reduce((n, r) => n + r.collectorsPerAz * AZ_COUNT, 0);
  const functions = plan ? mappedReserved(plan) : 0;
  return functions + collectors;
}

/**
 * Seconds a refused connection keeps being retried: the first attempt and 5 retries 500 ms apart
 * (packages/queue-kafka, `retries: 5, retryDelay: 500`), about 3 s. A broker that accepts `rate` new
 * IAM connections per second takes `rate × 3` of a burst before a client gives up.
 */
export const KAFKA_CONNECT_WINDOW_SECONDS = 3;

export class QuotaError extends Error {}

/** Refuses a stage that does not fit its account's stated quotas; the message names the quota and the request. */
export function checkQuotas(cfg: StageConfig, quotas: Quotas = quotasFor(cfg.stage)): void {
  const problems: string[] = [];
  for (const [region, needed] of Object.entries(elasticIpsNeeded(cfg))) {
    const have = quotas.elasticIpsPerRegion[region] ?? DEFAULT_ELASTIC_IPS;
    if (needed > have) {
      problems.push(
        `EC2 "EC2-VPC Elastic IPs" in ${region}: the stage allocates ${needed} (NAT and collectors), the quota is ${have}. ` +
          `Request it: aws service-quotas request-service-quota-increase --region ${region} --service-code ec2 --quota-code L-0263D0A3 --desired-value ${needed}; ` +
          `once granted, set STAGE_QUOTAS["${cfg.stage}"].elasticIpsPerRegion["${region}"] in stacks/config.ts.`,
      );
    }
  }
  const plan = concurrencyPlan(cfg);
  if (plan) {
    const reserved = reservedTotal(plan);
    if (quotas.lambdaConcurrency - reserved < LAMBDA_UNRESERVED_MINIMUM) {
      const needed = reserved + LAMBDA_UNRESERVED_MINIMUM;
      problems.push(
        `Lambda "Concurrent executions" in ${homeRegion(cfg).region}: the stage reserves ${reserved} and Lambda keeps ${LAMBDA_UNRESERVED_MINIMUM} unreserved, the quota is ${quotas.lambdaConcurrency}. ` +
          `Request it: aws service-quotas request-service-quota-increase --region ${homeRegion(cfg).region} --service-code lambda --quota-code L-B99A9384 --desired-value ${Math.max(1000, needed)}; ` +
          `once granted, set STAGE_QUOTAS["${cfg.stage}"].lambdaConcurrency in stacks/config.ts.`,
      );
    }
  }
  const rate = MSK_IAM_CONNECTIONS_PER_SECOND[cfg.msk.brokerType] ?? MSK_IAM_CONNECTIONS_PER_SECOND_DEFAULT;
  const burst = mskConnectionBurst(cfg, plan);
  if (burst > rate * KAFKA_CONNECT_WINDOW_SECONDS) {
    problems.push(
      `MSK "Maximum TCP connection rate per broker (IAM)" on ${cfg.msk.brokerType}: a cold start of the stage's mapped functions and collectors opens ~${burst} connections to each broker at once, ` +
        `a broker accepts ${rate}/s, ${rate * KAFKA_CONNECT_WINDOW_SECONDS} within the Kafka client's ${KAFKA_CONNECT_WINDOW_SECONDS} s of retries (not adjustable: clients past it fail). ` +
        `Use a larger broker type (kafka.m7g.large and up accept ${MSK_IAM_CONNECTIONS_PER_SECOND_DEFAULT}/s) or lower the stage's reserved concurrency (concurrencyPlan).`,
    );
  }
  if (problems.length > 0) throw new QuotaError(`stacks/config.ts, stage "${cfg.stage}" does not fit its AWS quotas (docs/deploy.md, "Quotas"):\n- ${problems.join("\n- ")}`);
}

/**
 * AWS WAF on the web router (CloudFront: the UI and the UI's own `/apiv2` and `/ui` calls), production
 * and staging: SST's rate-based rule, which blocks an IP address over `rateLimitPerIp` requests in 5
 * minutes. 2,000 (SST's default, ~6.7/s sustained) is far above what people in a browser make, even
 * several behind one office address. AWS's managed rule groups stay off: log searches legitimately
 * contain what they block (SQL, script tags, `${jndi:` when investigating Log4Shell). The API's own
 * domain is an HTTP API, which WAF cannot protect (API_THROTTLE).
 */
export const WEB_WAF = {
  rateLimitPerIp: 2_000,
  managedRules: { coreRuleSet: false, knownBadInputs: false, sqlInjection: false },
};
