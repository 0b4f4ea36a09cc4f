/**
 * The metrics port: counters and gauges with labels, so the domain can count what it does without
 * knowing whether Prometheus (one machine) or CloudWatch EMF (Lambda) reads them.
 */
export interface Counter {
  inc(labels?: Record<string, string>, value?: number): void;
  /** A counter bound to fixed label values, for hot paths (no per-call label hashing). */
  labels(labels: Record<string, string>): { inc(value?: number): void };
}

export interface Gauge {
  set(value: number, labels?: Record<string, string>): void;
}

export interface Metrics {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
}

/** Metrics that go nowhere, for tools and tests that do not look at them. */
export const noMetrics: Metrics = {
  counter: () => ({ inc: () => undefined, labels: () => ({ inc: () => undefined }) }),
  gauge: () => ({ set: () => undefined }),
};
