import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics as PowertoolsMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Counter, Gauge, Metrics } from "@unmeltable/core";

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
export const powertoolsMetrics = new PowertoolsMetrics({
  namespace: "unmeltable",
  serviceName: "unmeltable",
  ...(functionName ? { defaultDimensions: { FunctionName: functionName } } : {}),
});

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
