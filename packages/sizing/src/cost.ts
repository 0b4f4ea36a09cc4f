/**
 * The monthly bill of a sized deployment, line by line, each with its arithmetic (./prices.ts for the
 * prices and where they come from). Usage-driven lines follow the average rate; capacity follows the
 * sizes of ./size.ts.
 */
import { HOURS_PER_MONTH, PRICES, priceOf, type Price } from "./prices";
import { AZ_COUNT, INDEX_SECONDS_PER_INVOCATION, INVOCATION_DATA_BYTES, POLLER_BYTES_PER_SECOND, PROCESS_SECONDS_PER_INVOCATION, UNITS, type DeploymentSizing } from "./size";

const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

/** Function memory (stacks/config.ts: PROCESS.memoryMb, each tier's indexFunction, ARCHIVE.worker; test/stacks keeps them equal). */
export const FUNCTION_MEMORY_MB = { process: 1769, index: { default: 1024, bulk: 2048 } as Record<string, number>, indexOther: 1024, archiveWorker: 1769 };
/** Every invocation costs at least this long (start, Kafka client, the driver's commit) — estimate. */
export const MIN_INVOCATION_SECONDS = 0.1;
/** Archive workers read and gzip ~100,000 events/s each (bench/RESULTS.md, archive). */
export const ARCHIVE_EVENTS_PER_SECOND = 100_000;
/** gzip of log lines: the archive keeps ~1/8 of the raw bytes — estimate (logs compress 5–10×). */
export const ARCHIVE_COMPRESSION = 1 / 8;
/** S3 lifecycle (stacks/config.ts prod archive): Standard, then Standard-IA after 30 days, Glacier Flexible after 90. */
export const ARCHIVE_TIERS = { infrequentAccessAfterDays: 30, glacierAfterDays: 90 };
/** Multipart parts of the archive (stacks/config.ts ARCHIVE.worker.partBytes). */
export const ARCHIVE_PART_BYTES = 8 * 1024 * 1024;
/** Lambda's own log lines (START, END, REPORT) and ours per invocation — estimate. */
export const LOG_BYTES_PER_INVOCATION = 600;
/** Alarms of a production stage's monitoring (46, and 4 for each tier's deferred function; test/stacks/ops-prod.test.ts keeps it equal) and custom metrics per collector. */
export const ALARMS = 54;
export const METRICS_PER_COLLECTOR = 5;

export interface CostOptions {
  /** "managed": a NAT gateway per AZ; "ec2": fck-nat t4g.nano instances (stacks/config.ts `nat`). */
  nat: "managed" | "ec2";
  /** The stage has alarms and a dashboard (production and shared stages). */
  monitoring: boolean;
  /** The stage has a Route 53 zone and health checks on its collectors. */
  dns: boolean;
}

export interface CostLine {
  service: string;
  item: string;
  /** The quantity and the multiplication, e.g. "3 brokers × 730 h × $0.204". */
  arithmetic: string;
  price: Price;
  monthlyUsd: number;
}

export interface Estimate {
  lines: CostLine[];
  monthlyUsd: number;
  ingestGbPerMonth: number;
  /** null when nothing is ingested. */
  usdPerGb: number | null;
}

const usd = (n: number) => (n >= 100 ? `$${Math.round(n).toLocaleString("en-US")}` : n >= 1 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`);
const num = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d });
const rate = (p: Price) => `$${p.usd}/${p.unit}`;

/** Invocations and compute of a mapped function per second, at the average rate. */
function mappedFunction(bytesPerSecond: number, secondsPerFullInvocation: number, activePartitions: number, windowSeconds: number) {
  if (bytesPerSecond <= 0) return { invocations: 0, seconds: 0 };
  // Full payloads when the volume fills them; otherwise one invocation per active partition per window.
  const invocations = Math.max(bytesPerSecond / INVOCATION_DATA_BYTES, activePartitions / windowSeconds);
  const bytesEach = bytesPerSecond / invocations;
  const seconds = invocations * (MIN_INVOCATION_SECONDS + (bytesEach / INVOCATION_DATA_BYTES) * secondsPerFullInvocation);
  return { invocations, seconds };
}

export function estimateCost(s: DeploymentSizing, o: CostOptions): Estimate {
  const lines: CostLine[] = [];
  const add = (service: string, item: string, arithmetic: string, price: Price, monthlyUsd: number) => lines.push({ service, item, arithmetic, price, monthlyUsd });
  const w = s.workload;
  const tenants = w.groups.reduce((n, g) => n + g.tenants, 0);

  // MSK
  const broker = priceOf(PRICES.msk.broker, s.msk.brokerType);
  add("MSK", `brokers (${s.msk.brokerType})`, `${s.msk.brokers} × ${HOURS_PER_MONTH} h × ${rate(broker)}`, broker, s.msk.brokers * HOURS_PER_MONTH * broker.usd);
  add("MSK", "broker storage", `${s.msk.brokers} × ${num(s.msk.volumeGb)} GB × ${rate(PRICES.msk.storage)}`, PRICES.msk.storage, s.msk.brokers * s.msk.volumeGb * PRICES.msk.storage.usd);

  // Lambda: the process mapping, one index mapping per tier, the archive worker.
  const window = s.raw.esm.batchingWindowSeconds;
  const proc = mappedFunction(s.rawBytesPerSecond.average, PROCESS_SECONDS_PER_INVOCATION, Math.min(s.raw.partitions, tenants), window);
  const fns = [{ name: "process", ...proc, memoryMb: FUNCTION_MEMORY_MB.process }];
  for (const t of s.tiers) {
    const tierTenants = w.groups.filter((g) => g.tier === t.name).reduce((n, g) => n + g.tenants, 0);
    const idx = mappedFunction(t.processedBytesPerSecond.average, INDEX_SECONDS_PER_INVOCATION, Math.min(t.partitions, tierTenants), window);
    fns.push({ name: `index ${t.name}`, ...idx, memoryMb: FUNCTION_MEMORY_MB.index[t.name] ?? FUNCTION_MEMORY_MB.indexOther });
  }
  const archiveSeconds = w.archiveDays > 0 ? w.eventsPerSecond / ARCHIVE_EVENTS_PER_SECOND : 0;
  fns.push({ name: "archive worker", invocations: w.archiveDays > 0 ? Math.max(1, s.raw.partitions) / 3600 : 0, seconds: archiveSeconds, memoryMb: FUNCTION_MEMORY_MB.archiveWorker });
  let invocations = 0;
  for (const f of fns) {
    const gbSeconds = f.seconds * (f.memoryMb / 1024) * SECONDS_PER_MONTH;
    invocations += f.invocations * SECONDS_PER_MONTH;
    add("Lambda", `${f.name}: compute`, `${num(f.seconds, 3)} s of compute per second × ${f.memoryMb} MB / 1024 × ${num(SECONDS_PER_MONTH)} s = ${num(gbSeconds)} GB-s × ${rate(PRICES.lambda.gbSecond)}`, PRICES.lambda.gbSecond, gbSeconds * PRICES.lambda.gbSecond.usd);
  }
  add("Lambda", "requests", `${num(invocations / 1e6, 2)} M invocations × ${rate(PRICES.lambda.requests)}`, PRICES.lambda.requests, (invocations / 1e6) * PRICES.lambda.requests.usd);
  // Every mapping in provisioned mode keeps its minimum pollers: the deferred ones (one a tier) too. Their
  // compute is left out: the deferred volume is what tenants send beyond their plans, not the workload.
  const mappings = [
    { name: "raw", esm: s.raw.esm, avg: s.rawBytesPerSecond.average },
    ...s.tiers.map((t) => ({ name: `processed.${t.name}`, esm: t.esm, avg: t.processedBytesPerSecond.average })),
    ...s.tiers.map((t) => ({ name: `deferred.${t.name}`, esm: t.deferred.esm, avg: 0 })),
  ];
  const pollers = mappings.reduce((n, m) => n + Math.max(m.esm.pollers.min, Math.ceil(m.avg / POLLER_BYTES_PER_SECOND)), 0);
  add("Lambda", "provisioned pollers (EPUs)", `${pollers} pollers (each mapping's max(min, average / 5 MB/s)) × ${HOURS_PER_MONTH} h × ${rate(PRICES.lambda.epuHour)}`, PRICES.lambda.epuHour, pollers * HOURS_PER_MONTH * PRICES.lambda.epuHour.usd);

  // OpenSearch
  for (const t of s.tiers) {
    const os = t.opensearch;
    const inst = priceOf(PRICES.opensearch.instance, os.instanceType);
    add("OpenSearch", `${t.name}: data nodes (${os.instanceType})`, `${os.instanceCount} × ${HOURS_PER_MONTH} h × ${rate(inst)}`, inst, os.instanceCount * HOURS_PER_MONTH * inst.usd);
    if (os.dedicatedMaster) {
      const m = priceOf(PRICES.opensearch.instance, os.dedicatedMaster.instanceType);
      add("OpenSearch", `${t.name}: cluster managers (${os.dedicatedMaster.instanceType})`, `${os.dedicatedMaster.count} × ${HOURS_PER_MONTH} h × ${rate(m)}`, m, os.dedicatedMaster.count * HOURS_PER_MONTH * m.usd);
    }
    add("OpenSearch", `${t.name}: EBS gp3`, `${os.instanceCount} × ${num(os.volumeGb)} GB × ${rate(PRICES.opensearch.gp3)}`, PRICES.opensearch.gp3, os.instanceCount * os.volumeGb * PRICES.opensearch.gp3.usd);
  }

  // Collectors: instances, their spool and root volumes, public addresses, health checks.
  const collectors = s.collectors.perAz * AZ_COUNT * s.collectors.regions;
  if (collectors > 0) {
    const inst = priceOf(PRICES.ec2.instance, s.collectors.instanceType);
    add("EC2", `collectors (${s.collectors.instanceType})`, `${collectors} × ${HOURS_PER_MONTH} h × ${rate(inst)}`, inst, collectors * HOURS_PER_MONTH * inst.usd);
    const gb = s.collectors.spoolVolumeGb + 8;
    add("EC2", "collector EBS gp3 (spool + 8 GB root)", `${collectors} × ${gb} GB × ${rate(PRICES.ec2.gp3)}`, PRICES.ec2.gp3, collectors * gb * PRICES.ec2.gp3.usd);
    add("EC2", "collector public IPv4 (Elastic IPs)", `${collectors} × ${HOURS_PER_MONTH} h × ${rate(PRICES.ec2.publicIpv4)}`, PRICES.ec2.publicIpv4, collectors * HOURS_PER_MONTH * PRICES.ec2.publicIpv4.usd);
    if (o.dns) add("Route 53", "health checks (one per collector) and the zone", `${collectors} × ${rate(PRICES.route53.healthCheck)} + ${rate(PRICES.route53.zone)}`, PRICES.route53.healthCheck, collectors * PRICES.route53.healthCheck.usd + PRICES.route53.zone.usd);
  }

  // NAT: the functions reach AWS APIs through it; S3 goes through the free gateway endpoint.
  if (o.nat === "managed") {
    add("VPC", "NAT gateways (one per AZ)", `${AZ_COUNT} × ${HOURS_PER_MONTH} h × ${rate(PRICES.network.natGatewayHour)}`, PRICES.network.natGatewayHour, AZ_COUNT * HOURS_PER_MONTH * PRICES.network.natGatewayHour.usd);
  } else {
    const nano = priceOf(PRICES.ec2.instance, "t4g.nano");
    add("VPC", "fck-nat instances (one per AZ)", `${AZ_COUNT} × ${HOURS_PER_MONTH} h × ${rate(nano)}`, nano, AZ_COUNT * HOURS_PER_MONTH * nano.usd);
  }
  add("VPC", "NAT public IPv4", `${AZ_COUNT} × ${HOURS_PER_MONTH} h × ${rate(PRICES.ec2.publicIpv4)}`, PRICES.ec2.publicIpv4, AZ_COUNT * HOURS_PER_MONTH * PRICES.ec2.publicIpv4.usd);

  // Data transfer. Replication between MSK brokers and between a domain's nodes is not charged
  // (aws.amazon.com/msk/pricing; OpenSearch Service pricing); clients talking to another AZ are.
  const rawGbMonth = (s.rawBytesPerSecond.average * SECONDS_PER_MONTH) / UNITS.GB;
  const docGbMonth = (s.tiers.reduce((n, t) => n + t.processedBytesPerSecond.average, 0) * SECONDS_PER_MONTH) / UNITS.GB;
  // 2 of 3 partition leaders are in another AZ than the writer: collectors → raw, process → processed,
  // and the index functions → a domain node in another AZ.
  const crossAzGb = (2 / 3) * (rawGbMonth + docGbMonth + docGbMonth);
  add("Data transfer", "cross-AZ (collectors → raw, process → processed, index → OpenSearch)", `2/3 × (${num(rawGbMonth)} + ${num(docGbMonth)} + ${num(docGbMonth)} GB) × ${rate(PRICES.network.crossAzGb)}`, PRICES.network.crossAzGb, crossAzGb * PRICES.network.crossAzGb.usd);
  if (s.collectors.regions > 1) {
    const share = (s.collectors.regions - 1) / s.collectors.regions;
    add("Data transfer", "inter-region (collectors outside the home region → MSK)", `${num(share, 2)} of ${num(rawGbMonth)} GB × ${rate(PRICES.network.interRegionGb)}`, PRICES.network.interRegionGb, share * rawGbMonth * PRICES.network.interRegionGb.usd);
  }

  // S3 archive: steady state after archiveDays, by storage class.
  if (w.archiveDays > 0) {
    const dailyGb = (s.rawBytesPerSecond.average * 86_400 * ARCHIVE_COMPRESSION) / UNITS.GB;
    const stdDays = Math.min(w.archiveDays, ARCHIVE_TIERS.infrequentAccessAfterDays);
    const iaDays = Math.max(0, Math.min(w.archiveDays, ARCHIVE_TIERS.glacierAfterDays) - ARCHIVE_TIERS.infrequentAccessAfterDays);
    const glacierDays = Math.max(0, w.archiveDays - ARCHIVE_TIERS.glacierAfterDays);
    add("S3", "archive, Standard", `${num(dailyGb, 1)} GB/day (raw / 8, gzip) × ${stdDays} days × ${rate(PRICES.s3.standard)}`, PRICES.s3.standard, dailyGb * stdDays * PRICES.s3.standard.usd);
    if (iaDays > 0) add("S3", "archive, Standard-IA", `${num(dailyGb, 1)} GB/day × ${iaDays} days × ${rate(PRICES.s3.standardIa)}`, PRICES.s3.standardIa, dailyGb * iaDays * PRICES.s3.standardIa.usd);
    if (glacierDays > 0) add("S3", "archive, Glacier Flexible Retrieval", `${num(dailyGb, 1)} GB/day × ${glacierDays} days × ${rate(PRICES.s3.glacierFlexible)}`, PRICES.s3.glacierFlexible, dailyGb * glacierDays * PRICES.s3.glacierFlexible.usd);
    // One object per tenant and hour (parts of 8 MiB for big ones, create + complete around them).
    const objects = tenants * 24 * DAYS_PER_MONTH;
    const puts = objects * 2 + (dailyGb * DAYS_PER_MONTH * UNITS.GB) / ARCHIVE_PART_BYTES;
    add("S3", "archive PUTs", `${num(puts)} requests (${num(tenants)} tenants × 24 h × ${num(DAYS_PER_MONTH, 1)} days × 2 + parts of 8 MiB) × ${rate(PRICES.s3.put)}`, PRICES.s3.put, (puts / 1000) * PRICES.s3.put.usd);
    const toIa = w.archiveDays > ARCHIVE_TIERS.infrequentAccessAfterDays ? objects : 0;
    const toGlacier = w.archiveDays > ARCHIVE_TIERS.glacierAfterDays ? objects : 0;
    if (toIa > 0) add("S3", "lifecycle transitions", `${num(toIa)} to IA × ${rate(PRICES.s3.transitionIa)} + ${num(toGlacier)} to Glacier × ${rate(PRICES.s3.transitionGlacier)}`, PRICES.s3.transitionIa, (toIa / 1000) * PRICES.s3.transitionIa.usd + (toGlacier / 1000) * PRICES.s3.transitionGlacier.usd);
  }

  // CloudWatch
  const logGb = (invocations * LOG_BYTES_PER_INVOCATION) / UNITS.GB;
  add("CloudWatch", "Lambda logs ingested", `${num(invocations / 1e6, 2)} M invocations × ${LOG_BYTES_PER_INVOCATION} B = ${num(logGb, 2)} GB × ${rate(PRICES.cloudwatch.logsIngestGb)}`, PRICES.cloudwatch.logsIngestGb, logGb * PRICES.cloudwatch.logsIngestGb.usd);
  if (o.monitoring) {
    add("CloudWatch", "alarms", `${ALARMS} × ${rate(PRICES.cloudwatch.alarm)}`, PRICES.cloudwatch.alarm, ALARMS * PRICES.cloudwatch.alarm.usd);
    add("CloudWatch", "dashboard", `1 × ${rate(PRICES.cloudwatch.dashboard)}`, PRICES.cloudwatch.dashboard, PRICES.cloudwatch.dashboard.usd);
    const metrics = METRICS_PER_COLLECTOR * (collectors + 1);
    add("CloudWatch", "collector metrics", `${METRICS_PER_COLLECTOR} × (${collectors} collectors + the stage) × ${rate(PRICES.cloudwatch.metric)}`, PRICES.cloudwatch.metric, metrics * PRICES.cloudwatch.metric.usd);
  }

  const monthlyUsd = lines.reduce((n, l) => n + l.monthlyUsd, 0);
  const ingestGbPerMonth = s.ingestGbPerDay * DAYS_PER_MONTH;
  return { lines, monthlyUsd, ingestGbPerMonth, usdPerGb: ingestGbPerMonth > 0 ? monthlyUsd / ingestGbPerMonth : null };
}

export const formatUsd = usd;
