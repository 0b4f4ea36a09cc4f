import client from "prom-client";
import type { Counter, Gauge, Metrics } from "@unmeltable/core";

/** The metrics port on prom-client: one registry per process, served as Prometheus text on /metrics. */
export class PrometheusMetrics implements Metrics {
  readonly registry = new client.Registry();
  private readonly counters = new Map<string, client.Counter>();
  private readonly gauges = new Map<string, client.Gauge>();

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: "unmeltable_process_" });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    let c = this.counters.get(name);
    if (!c) {
      c = new client.Counter({ name, help, labelNames: [...labelNames], registers: [this.registry] });
      this.counters.set(name, c);
    }
    const counter = c;
    return {
      inc: (labels, value = 1) => (labels ? counter.inc(labels, value) : counter.inc(value)),
      labels: (labels) => counter.labels(labels),
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

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
