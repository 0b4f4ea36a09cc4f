import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics as PowertoolsMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { cloudWatchName, type Counter, type Gauge, type Histogram, type LogFields, type Logger as LoggerPort, type Metrics, UsageSummer, type UsageSums } from "@unmeltable/core";

/**
 * Observability the Powertools way: JSON logs (with the invocation's context, and our fields: stage,
 * tenant, partition, offsets) and CloudWatch EMF metrics, behind the core's metrics port so that stage
 * code counts the same way here as on one machine (Prometheus).
 */
export const logger = new Logger({ serviceName: "unmeltable" });
/**
 * Every metric carries the function's name (`FunctionName`, as AWS/Lambda's own metrics do): the process
 * and index stages count the same names (EventsIn, DeadLetters, ...), and stages of one account share the
 * namespace, so without it their counts would add up. The stacks alarm on these exact dimensions
 * (stacks/monitoring.ts).
 */
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const METRICS_OPTIONS = {
  namespace: "unmeltable",
  serviceName: "unmeltable",
  ...(functionName ? { defaultDimensions: { FunctionName: functionName } } : {}),
};
export const powertoolsMetrics = new PowertoolsMetrics(METRICS_OPTIONS);

/**
 * Labels that are never CloudWatch dimensions: `stage` (each function runs one stage, and its
 * FunctionName dimension already says which) and `tenant` (a dimension per tenant would be a custom
 * metric per tenant; per-tenant numbers are EmfUsage's lines, with the tenant as a property).
 */
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

const NOT_DIMENSIONS = new Set(["stage", "tenant"]);

/** Values kept per histogram per dimension set per flush at most (EMF takes 100 per metric in a document). */
const MAX_VALUES = 100;

interface Cell {
  dimensions: Record<string, string>;
  counts: Map<string, number>;
  /** Histogram values (a uniform sample beyond MAX_VALUES) and how many were observed. */
  values: Map<string, { unit: Unit; sample: number[]; seen: number }>;
  gauges: Map<string, { unit: Unit; value: number }>;
}

/**
 * The metrics port as CloudWatch EMF, written once per invocation: counts are summed and histogram values
 * kept in memory, and `flush` (the MSK driver calls it at the end of each invocation) writes one EMF
 * document per dimension set — not one per increment. Names are CloudWatch's (core's STAGE_METRICS maps
 * the stage metrics: `unmeltable_stage_events_in_total` is `EventsIn`); histograms named `*_seconds` are
 * written in seconds, from which CloudWatch computes percentiles.
 */
export class EmfMetrics implements Metrics {
  private cells = new Map<string, Cell>();

  constructor(private readonly newMetrics: () => PowertoolsMetrics = () => new PowertoolsMetrics(METRICS_OPTIONS)) {}

  private cell(labels: Record<string, string> | undefined): Cell {
    const dimensions: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels ?? {})) if (!NOT_DIMENSIONS.has(k)) dimensions[k] = v;
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)));
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { dimensions, counts: new Map(), values: new Map(), gauges: new Map() }));
    return c;
  }

  counter(name: string): Counter {
    const metric = cloudWatchName(name);
    const add = (labels: Record<string, string> | undefined, value: number) => {
      const counts = this.cell(labels).counts;
      counts.set(metric, (counts.get(metric) ?? 0) + value);
    };
    return {
      inc: (labels, value = 1) => add(labels, value),
      labels: (labels) => ({ inc: (value = 1) => add(labels, value) }),
    };
  }

  gauge(name: string): Gauge {
    const metric = cloudWatchName(name);
    const unit = metric.endsWith("Ms") ? MetricUnit.Milliseconds : MetricUnit.Count;
    return { set: (value, labels) => void this.cell(labels).gauges.set(metric, { unit, value }) };
  }

  histogram(name: string): Histogram {
    const metric = cloudWatchName(name);
    const unit = name.endsWith("_seconds") || metric.endsWith("Seconds") ? MetricUnit.Seconds : MetricUnit.Count;
    const observe = (labels: Record<string, string> | undefined, value: number) => {
      const values = this.cell(labels).values;
      let v = values.get(metric);
      if (!v) values.set(metric, (v = { unit, sample: [], seen: 0 }));
      v.seen++;
      // Reservoir sampling: every value observed has the same chance to be among the written ones.
      if (v.sample.length < MAX_VALUES) v.sample.push(value);
      else {
        const j = Math.floor(Math.random() * v.seen);
        if (j < MAX_VALUES) v.sample[j] = value;
      }
    };
    return {
      observe: (value, labels) => observe(labels, value),
      labels: (labels) => ({ observe: (value) => observe(labels, value) }),
    };
  }

  /** Writes what the invocation counted: one EMF document per dimension set. */
  flush(): void {
    const cells = this.cells;
    this.cells = new Map();
    for (const c of cells.values()) {
      if (c.counts.size === 0 && c.values.size === 0 && c.gauges.size === 0) continue;
      const m = this.newMetrics();
      for (const [k, v] of Object.entries(c.dimensions)) m.addDimension(k, v);
      for (const [metric, n] of c.counts) m.addMetric(metric, MetricUnit.Count, n);
      for (const [metric, g] of c.gauges) m.addMetric(metric, g.unit, g.value);
      for (const [metric, v] of c.values) for (const x of v.sample) m.addMetric(metric, v.unit, x);
      m.publishStoredMetrics();
    }
  }
}

/**
 * The logger port on Powertools Logger: JSON lines with the invocation's context (injectLambdaContext on
 * `logger`) and our fields. A child merges its bindings into each line's fields, on the one root logger
 * (so every child has the context the middleware injected into it).
 */
export class PowertoolsLogger implements LoggerPort {
  constructor(
    private readonly root: Logger = logger,
    private readonly bindings: LogFields = {},
  ) {}
  private fields(fields: LogFields | undefined): LogFields {
    return { ...this.bindings, ...fields };
  }
  debug(message: string, fields?: LogFields): void {
    this.root.debug(message, this.fields(fields));
  }
  info(message: string, fields?: LogFields): void {
    this.root.info(message, this.fields(fields));
  }
  warn(message: string, fields?: LogFields): void {
    this.root.warn(message, this.fields(fields));
  }
  error(message: string, fields?: LogFields): void {
    this.root.error(message, this.fields(fields));
  }
  child(bindings: LogFields): LoggerPort {
    return new PowertoolsLogger(this.root, { ...this.bindings, ...bindings });
  }
}

/** The functions' logger (the port). */
export const appLogger: LoggerPort = new PowertoolsLogger();

interface TenantSums extends UsageSums {
  lags: number[];
}

/** Lags kept per tenant per invocation for its p99 at most (a sample beyond, every k-th): bounded memory. */
const MAX_LAGS = 10_000;

/**
 * Per-tenant usage on AWS as EMF: one log line per tenant per invocation, with the tenant as a property
 * of the line and NOT a dimension — CloudWatch makes a metric per distinct dimension set (thousands of
 * tenants would be thousands of custom metrics, each billed), while a property is only a field that Logs
 * Insights can group by (`stats sum(TenantBytesIn) by tenant`). The metrics of these lines (TenantEventsIn,
 * TenantBytesIn, TenantIndexed, TenantIndexedBytes, TenantDeadLetters, TenantDeadLetterBytes,
 * TenantLagMaxMs, TenantLagP99Ms) therefore aggregate over tenants in CloudWatch, with the function's usual
 * dimensions (service, FunctionName); docs/deploy.md has the per-tenant and top-N Logs Insights queries.
 *
 * Sums are kept in memory during the invocation and written by `flush` (the MSK driver calls it at the
 * end of each invocation): one line per tenant active in it, whatever the number of batches.
 */
export class EmfUsage extends UsageSummer<TenantSums> {
  private sums = new Map<string, TenantSums>();

  constructor(private readonly newMetrics: () => PowertoolsMetrics = () => new PowertoolsMetrics(METRICS_OPTIONS)) {
    super();
  }

  protected sumsOf(tenant: string): TenantSums {
    let t = this.sums.get(tenant);
    if (!t) this.sums.set(tenant, (t = { events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0, lags: [] }));
    return t;
  }

  protected override lags(t: TenantSums, lagsMs: readonly number[]): void {
    for (const lag of lagsMs) {
      if (t.lags.length < MAX_LAGS) t.lags.push(lag);
      else t.lags[Math.floor(Math.random() * MAX_LAGS)] = lag;
    }
  }

  flush(): void {
    const sums = this.sums;
    this.sums = new Map();
    for (const [tenant, t] of sums) {
      const m = this.newMetrics();
      m.addMetadata("tenant", tenant);
      if (t.events > 0 || t.bytes > 0) {
        m.addMetric("TenantEventsIn", MetricUnit.Count, t.events);
        m.addMetric("TenantBytesIn", MetricUnit.Bytes, t.bytes);
      }
      if (t.indexed > 0) {
        m.addMetric("TenantIndexed", MetricUnit.Count, t.indexed);
        m.addMetric("TenantIndexedBytes", MetricUnit.Bytes, t.indexedBytes);
      }
      if (t.deadLettered > 0) {
        m.addMetric("TenantDeadLetters", MetricUnit.Count, t.deadLettered);
        m.addMetric("TenantDeadLetterBytes", MetricUnit.Bytes, t.deadLetteredBytes);
      }
      if (t.lags.length > 0) {
        const sorted = t.lags.sort((a, b) => a - b);
        m.addMetric("TenantLagMaxMs", MetricUnit.Milliseconds, sorted[sorted.length - 1]!);
        m.addMetric("TenantLagP99Ms", MetricUnit.Milliseconds, sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!);
      }
      m.publishStoredMetrics();
    }
  }
}
