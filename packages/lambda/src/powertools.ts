import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics as PowertoolsMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Counter, Gauge, IndexedUsage, Metrics, UsageObserver } from "@unmeltable/core";

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

export class EmfMetrics implements Metrics {
  constructor(private readonly m: PowertoolsMetrics = powertoolsMetrics) {}

  counter(name: string): Counter {
    const add = (labels: Record<string, string> | undefined, value: number) => {
      if (!labels || Object.keys(labels).length === 0) {
        this.m.addMetric(name, MetricUnit.Count, value);
        return;
      }
      // A labelled count is its own EMF document, with the labels as dimensions.
      const single = this.m.singleMetric();
      for (const [k, v] of Object.entries(labels)) single.addDimension(k, v);
      single.addMetric(name, MetricUnit.Count, value);
    };
    return {
      inc: (labels, value = 1) => add(labels, value),
      labels: (labels) => ({ inc: (value = 1) => add(labels, value) }),
    };
  }

  gauge(name: string): Gauge {
    return { set: (value) => this.m.addMetric(name, name.endsWith("Ms") ? MetricUnit.Milliseconds : MetricUnit.Count, value) };
  }
}

export function log(message: string, fields: Record<string, unknown> = {}): void {
  logger.info(message, fields);
}

interface TenantSums {
  events: number;
  bytes: number;
  indexed: number;
  indexedBytes: number;
  deadLettered: number;
  deadLetteredBytes: number;
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
export class EmfUsage implements UsageObserver {
  private sums = new Map<string, TenantSums>();

  constructor(private readonly newMetrics: () => PowertoolsMetrics = () => new PowertoolsMetrics(METRICS_OPTIONS)) {}

  private of(tenant: string): TenantSums {
    let t = this.sums.get(tenant);
    if (!t) this.sums.set(tenant, (t = { events: 0, bytes: 0, indexed: 0, indexedBytes: 0, deadLettered: 0, deadLetteredBytes: 0, lags: [] }));
    return t;
  }

  ingested(tenant: string, events: number, bytes: number): void {
    const t = this.of(tenant);
    t.events += events;
    t.bytes += bytes;
  }

  indexed(u: IndexedUsage): void {
    const t = this.of(u.tenant);
    t.indexed += u.events;
    t.indexedBytes += u.bytes;
    for (const lag of u.lagsMs) {
      if (t.lags.length < MAX_LAGS) t.lags.push(lag);
      else t.lags[Math.floor(Math.random() * MAX_LAGS)] = lag;
    }
  }

  deadLettered(tenant: string, events: number, bytes: number): void {
    const t = this.of(tenant);
    t.deadLettered += events;
    t.deadLetteredBytes += bytes;
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
