/**
 * The metrics port: counters, gauges and histograms with labels, so the domain can count and time what it
 * does without knowing whether Prometheus (one machine) or CloudWatch EMF (Lambda) reads them.
 */
export interface Counter {
  inc(labels?: Record<string, string>, value?: number): void;
  /** A counter bound to fixed label values, for hot paths (no per-call label hashing). */
  labels(labels: Record<string, string>): { inc(value?: number): void };
}

export interface Gauge {
  set(value: number, labels?: Record<string, string>): void;
}

/**
 * A distribution of values (latencies): Prometheus buckets on one machine, EMF values on Lambda (from
 * which CloudWatch computes percentiles). Names end in their unit (`_seconds`), and values are given in it.
 */
export interface Histogram {
  observe(value: number, labels?: Record<string, string>): void;
  labels(labels: Record<string, string>): { observe(value: number): void };
}

export interface Metrics {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  /** `buckets`: upper bounds for the Prometheus adapter (default LATENCY_BUCKETS_S); other adapters ignore them. */
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): Histogram;
  /** Drivers call it at the end of an invocation (Lambda): an adapter that buffers (EMF) writes out what it holds. */
  flush?(): void;
}

/** Upper bounds (seconds) for latency histograms: from a millisecond (a small batch) to an hour (a long backlog). */
export const LATENCY_BUCKETS_S: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];

/** Metrics that go nowhere, for tools and tests that do not look at them. */
export const noMetrics: Metrics = {
  counter: () => ({ inc: () => undefined, labels: () => ({ inc: () => undefined }) }),
  gauge: () => ({ set: () => undefined }),
  histogram: () => ({ observe: () => undefined, labels: () => ({ observe: () => undefined }) }),
};
