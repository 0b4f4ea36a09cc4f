import client from "prom-client";
import { LATENCY_BUCKETS_S, type Counter, type Gauge, type Histogram, type Metrics } from "@unmeltable/core";

/** The metrics port on prom-client: one registry per process, served as Prometheus text on /metrics. */
export class PrometheusMetrics implements Metrics {
  readonly registry = new client.Registry();
  private readonly counters = new Map<string, client.Counter>();
  private readonly gauges = new Map<string, client.Gauge>();
  private readonly histograms = new Map<string, client.Histogram>();
  private readonly bound = new Map<string, Map<string, { labels: Record<string, string>; value: number }>>();

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: "unmeltable_process_" });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    let c = this.counters.get(name);
    if (!c) {
      const bound = new Map<string, { labels: Record<string, string>; value: number }>();
      this.bound.set(name, bound);
      c = new client.Counter({
        name,
        help,
        labelNames: [...labelNames],
        registers: [this.registry],
        // Bound counters count in plain numbers (hot paths run per event); they are folded in on scrape.
        collect() {
          for (const b of bound.values()) {
            if (b.value === 0) continue;
            if (Object.keys(b.labels).length > 0) this.inc(b.labels, b.value);
            else this.inc(b.value);
            b.value = 0;
          }
        },
      });
      this.counters.set(name, c);
    }
    const counter = c;
    const bound = this.bound.get(name)!;
    return {
      inc: (labels, value = 1) => (labels ? counter.inc(labels, value) : counter.inc(value)),
      labels: (labels) => {
        const key = JSON.stringify(labels);
        let b = bound.get(key);
        if (!b) bound.set(key, (b = { labels, value: 0 }));
        const cell = b;
        return { inc: (value = 1) => void (cell.value += value) };
      },
    };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    let g = this.gauges.get(name);
    if (!g) {
      g = new client.Gauge({ name, help, labelNames: [...labelNames], registers: [this.registry] });
      this.gauges.set(name, g);
    }
    const gauge = g;
    return { set: (value, labels) => (labels ? gauge.set(labels, value) : gauge.set(value)) };
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = LATENCY_BUCKETS_S): Histogram {
    let h = this.histograms.get(name);
    if (!h) {
      h = new client.Histogram({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [this.registry] });
      this.histograms.set(name, h);
    }
    const histogram = h;
    return {
      observe: (value, labels) => (labels ? histogram.observe(labels, value) : histogram.observe(value)),
      // prom-client's bound child: the label values are hashed once, not per observation.
      labels: (labels) => histogram.labels(labels),
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
