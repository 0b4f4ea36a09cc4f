/**
 * The functions' EMF metrics carry the dimensions the alarms read (stacks/monitoring.ts): the real
 * Powertools output of packages/lambda, in a Lambda-like environment (AWS_LAMBDA_FUNCTION_NAME set
 * before the module loads, as Lambda sets it before the handler's module is imported).
 */
import { describe, expect, it } from "vitest";
import { APP_NAMESPACE, APP_SERVICE } from "../../stacks/monitoring";
import { captureEmfLines } from "../helpers/emf-lines";

const FUNCTION = "unmeltable-prod-ProcessFunction-abc123";
const { lines, lambda: loaded } = captureEmfLines(FUNCTION);


const docs = () => lines.map((l) => JSON.parse(l) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>);
const find = (metric: string) => docs().find((d) => d._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === metric));

describe("EMF dimensions", () => {
  it("a labelled count (DeadLetters by reason) has exactly service, FunctionName and reason: the alarm's SCHEMA", () => {
    const emf = new (loaded().EmfMetrics)();
    // The stage metric by its one name (core's STAGE_METRICS), shown as CloudWatch's DeadLetters; the stage label is no dimension.
    emf.counter("unmeltable_dropped_events_total").inc({ reason: "unparsable", stage: "process" }, 3);
    emf.flush();
    const d = find("DeadLetters")!;
    expect(d).toBeDefined();
    const cw = d._aws.CloudWatchMetrics[0]!;
    expect(cw.Namespace).toBe(APP_NAMESPACE);
    expect([...cw.Dimensions[0]!].sort()).toEqual(["FunctionName", "reason", "service"]);
    expect(d).toMatchObject({ service: APP_SERVICE, FunctionName: FUNCTION, reason: "unparsable", DeadLetters: 3 });
  });

  it("an unlabelled count and a single metric (ArchiveMissingDays, the lifecycle's way) have service and FunctionName", () => {
    const emf = new (loaded().EmfMetrics)();
    emf.counter("EventsIn").inc(undefined, 5);
    emf.flush();
    const single = loaded().powertoolsMetrics.singleMetric();
    single.addMetric("ArchiveMissingDays", "Count", 2);
    for (const metric of ["EventsIn", "ArchiveMissingDays"]) {
      const d = find(metric)!;
      expect(d, metric).toBeDefined();
      expect([...d._aws.CloudWatchMetrics[0]!.Dimensions[0]!].sort(), metric).toEqual(["FunctionName", "service"]);
      expect(d).toMatchObject({ service: APP_SERVICE, FunctionName: FUNCTION });
    }
  });
});
