/**
 * Operating production (issue 14, parts 2 and 4) from the real sst.config.ts under Pulumi mocks: the
 * alarms and their topic, the dashboard, who reaches OpenSearch, reserved concurrency and the API's
 * throttles. Expected values are derived from the recorded resource graph and stacks/config.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUBLISHED_COLLECTOR_METRICS } from "../../stacks/collector-user-data";
import { ALARM_THRESHOLDS, API_THROTTLE, DEFERRED, WEB_WAF, LAMBDA_UNRESERVED_MINIMUM, processFor, quotasFor, SEARCH_RESERVED, tiersFor, resolveStage } from "../../stacks/config";
import { ALARMS } from "@unmeltable/sizing";
import { ERROR_ALARMS, freeStorageThresholdMiB } from "../../stacks/monitoring";
import { ACCOUNT, byType, component, componentsOf, resource, runApp, T, value, type Untyped } from "./harness";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "aws:sns/topic:Topic";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const topicArn = (name: string) => `arn:mock:${TOPIC}:${name}`;
const limits = ALARM_THRESHOLDS.production;
const cfg = resolveStage("prod", {});

let outputs: Record<string, unknown>;

beforeAll(async () => {
  process.env.UNMELTABLE_OPS_EMAIL = "ops@example.com, oncall@example.com";
  const run = await runApp({ stage: "prod" });
  outputs = (await value(run.outputs as Record<string, unknown>)) as Record<string, unknown>;
});
afterAll(() => {
  delete process.env.UNMELTABLE_OPS_EMAIL;
});

const alarms = () => byType(ALARM);
const alarmsOf = (metric: string) => alarms().filter((a) => a.inputs.metricName === metric);
/** The function name (as the fake `sst.aws.Function` gives it) behind a mapping's `functionName` ARN. */
const mappedName = (esm: Untyped) => `${String(esm.inputs.functionName).split(":function:")[1]}-fake`;

describe("prod: the alarms' topic", () => {
  it("one SNS topic in the home region and its twin in us-east-1, each with the ops addresses subscribed", () => {
    const topics = byType(TOPIC);
    expect(topics.map((t) => [t.name, t.inputs.name, t.inputs.region])).toEqual([
      ["OpsAlarms", "unmeltable-prod-alarms", undefined],
      ["OpsAlarmsUsEast1", "unmeltable-prod-alarms", "us-east-1"],
    ]);
    const subs = byType(SUBSCRIPTION).map((s) => [s.inputs.topic, s.inputs.protocol, s.inputs.endpoint, s.inputs.region]);
    expect(subs).toEqual(
      expect.arrayContaining([
        [topicArn("OpsAlarms"), "email", "ops@example.com", undefined],
        [topicArn("OpsAlarms"), "email", "oncall@example.com", undefined],
        [topicArn("OpsAlarmsUsEast1"), "email", "ops@example.com", "us-east-1"],
        [topicArn("OpsAlarmsUsEast1"), "email", "oncall@example.com", "us-east-1"],
      ]),
    );
    expect(subs).toHaveLength(4);
  });

  it("every alarm notifies the topic of its region when it fires and when it clears, and decides missing data", () => {
    expect(alarms().length).toBe(Number(outputs.alarms));
    // The cost model prices this many (packages/sizing ALARMS).
    expect(alarms().length).toBe(ALARMS);
    for (const a of alarms()) {
      const topic = a.inputs.region === "us-east-1" ? topicArn("OpsAlarmsUsEast1") : topicArn("OpsAlarms");
      expect(a.inputs.alarmActions, a.name).toEqual([topic]);
      expect(a.inputs.okActions, a.name).toEqual([topic]);
      expect(["missing", "notBreaching", "breaching"], a.name).toContain(a.inputs.treatMissingData);
      expect(a.inputs.name, a.name).toBe(`unmeltable-prod-${a.name}`);
    }
    const names = alarms().map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("prod: the pipeline's alarms", () => {
  it("one OffsetLag alarm per MSK mapping, on its function, over the lag threshold for the configured minutes", () => {
    const esms = byType(T.esm);
    // raw, and each tier's processed and deferred topics.
    expect(esms.length).toBe(1 + 2 * tiersFor(cfg).length);
    const lag = alarmsOf("OffsetLag");
    expect(lag.map((a) => a.inputs.dimensions.FunctionName).sort()).toEqual(esms.map(mappedName).sort());
    for (const a of lag) {
      // A deferred path's backlog grows by design while a tenant is over plan: its own, longer threshold.
      const deferred = a.name.endsWith("DeferredOffsetLag");
      const l = deferred ? DEFERRED.alarm : limits;
      expect(a.inputs, a.name).toMatchObject({
        namespace: "AWS/Lambda",
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: l.lagMinutes,
        datapointsToAlarm: l.lagMinutes,
        threshold: l.offsetLagRecords,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "missing",
      });
      expect(Object.keys(a.inputs.dimensions)).toEqual(["FunctionName"]);
      // A mapping that stops polling stops reporting: INSUFFICIENT_DATA notifies too.
      expect(a.inputs.insufficientDataActions).toEqual([topicArn("OpsAlarms")]);
    }
    // Each tier's deferred mapping has its own: an hour over 5,000 records (up to ~640 MiB of events).
    for (const t of tiersFor(cfg)) {
      const a = resource(ALARM, `Index${t.name[0].toUpperCase()}${t.name.slice(1)}DeferredOffsetLag`).inputs;
      expect(a).toMatchObject({ dimensions: { FunctionName: `Index${t.name[0].toUpperCase()}${t.name.slice(1)}Deferred-fake` }, threshold: 5_000, evaluationPeriods: 60 });
      expect(a.alarmDescription).toMatch(/over-plan events .* expire after 72 h/);
    }
  });

  it("one dead-letter alarm per mapped stage: every reason of that function's DeadLetters, summed by a Metrics Insights query", () => {
    const dl = alarms().filter((a) => a.name.endsWith("DeadLetters"));
    expect(dl).toHaveLength(byType(T.esm).length);
    for (const esm of byType(T.esm)) {
      const name = mappedName(esm);
      const a = dl.find((x) => x.inputs.metricQueries[0].expression.includes(`'${name}'`))!;
      expect(a, name).toBeDefined();
      expect(a.inputs.metricQueries).toEqual([
        {
          id: "deadletters",
          expression: `SELECT SUM(DeadLetters) FROM SCHEMA("unmeltable", FunctionName, reason, service) WHERE FunctionName = '${name}'`,
          period: 300,
          returnData: true,
          label: "DeadLetters",
        },
      ]);
      expect(a.inputs).toMatchObject({ threshold: limits.deadLettersPer5Minutes, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching", evaluationPeriods: 1 });
      expect(a.inputs.metricName).toBeUndefined();
    }
  });

  it("archive days missing: the lifecycle function's metric, two hourly checks in a row, silence breaching", () => {
    expect(alarmsOf("ArchiveMissingDays")).toEqual([
      expect.objectContaining({
        inputs: expect.objectContaining({
          namespace: "unmeltable",
          dimensions: { service: "unmeltable", FunctionName: "Lifecycle-fake" },
          statistic: "Maximum",
          period: 3600,
          evaluationPeriods: 2,
          datapointsToAlarm: 2,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          treatMissingData: "breaching",
        }),
      }),
    ]);
  });

  it("the archive planner: behind the raw topic or silent for 3 hours; any raw record lost", () => {
    expect(alarmsOf("ArchiveBehindSeconds").map((a) => a.inputs)).toEqual([
      expect.objectContaining({
        namespace: "unmeltable",
        dimensions: { service: "unmeltable", FunctionName: "Archive-fake" },
        statistic: "Maximum",
        period: 3600,
        evaluationPeriods: 3,
        threshold: 10_800,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "breaching",
      }),
    ]);
    expect(alarmsOf("ArchiveRecordsLost").map((a) => a.inputs)).toEqual([
      expect.objectContaining({ dimensions: { service: "unmeltable", FunctionName: "Archive-fake" }, statistic: "Sum", threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching" }),
    ]);
  });

  it("errors and throttles for every function of the stage", () => {
    const fnNames = componentsOf(T.function).map((c) => `${c.name}-fake`).sort();
    // process, an index writer and a deferred function per tier, search, alerts, archive planner and worker, lifecycle, topic setup, role mapping.
    expect(fnNames).toHaveLength(8 + 2 * tiersFor(cfg).length);
    for (const metric of ["Errors", "Throttles"]) {
      const list = alarmsOf(metric);
      expect(list.map((a) => a.inputs.dimensions.FunctionName).sort(), metric).toEqual(fnNames);
      for (const a of list) expect(a.inputs, a.name).toMatchObject({ namespace: "AWS/Lambda", statistic: "Sum", period: 300, treatMissingData: "notBreaching", comparisonOperator: "GreaterThanOrEqualToThreshold" });
    }
    // One failed run of a job pages; the mapped stages and the API page on a pattern.
    expect(resource(ALARM, "LifecycleErrors").inputs.threshold).toBe(ERROR_ALARMS.scheduled.threshold);
    expect(resource(ALARM, "ArchiveErrors").inputs.threshold).toBe(1);
    expect(resource(ALARM, "ProcessErrors").inputs.threshold).toBe(ERROR_ALARMS.mapped.threshold);
    expect(resource(ALARM, "SearchErrors").inputs.threshold).toBe(ERROR_ALARMS.api.threshold);
    for (const a of alarmsOf("Throttles")) expect(a.inputs).toMatchObject({ evaluationPeriods: 2, datapointsToAlarm: 2, threshold: 1 });
  });
});

describe("prod: OpenSearch alarms, one set per domain", () => {
  it("red, yellow, free storage, writes blocked and JVM pressure on AWS/ES with the domain's name and the account", () => {
    const domains = byType(T.domain);
    expect(domains).toHaveLength(tiersFor(cfg).length);
    for (const d of domains) {
      const tier = tiersFor(cfg).find((t) => d.inputs.domainName.endsWith(`-${t.name}`))!;
      const mine = alarms().filter((a) => a.inputs.namespace === "AWS/ES" && a.inputs.dimensions.DomainName === d.inputs.domainName);
      const by = (m: string) => mine.find((a) => a.inputs.metricName === m)?.inputs;
      expect(mine.map((a) => a.inputs.metricName).sort()).toEqual(["ClusterIndexWritesBlocked", "ClusterStatus.red", "ClusterStatus.yellow", "FreeStorageSpace", "JVMMemoryPressure"]);
      for (const a of mine) expect(a.inputs.dimensions).toEqual({ DomainName: d.inputs.domainName, ClientId: ACCOUNT });
      // AWS's recommended alarms (docs.aws.amazon.com/opensearch-service/latest/developerguide/cloudwatch-alarms.html).
      expect(by("ClusterStatus.red")).toMatchObject({ statistic: "Maximum", period: 60, evaluationPeriods: 1, threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "breaching" });
      expect(by("ClusterStatus.yellow")).toMatchObject({ statistic: "Maximum", period: 60, evaluationPeriods: 5, threshold: 1 });
      expect(by("FreeStorageSpace")).toMatchObject({ statistic: "Minimum", period: 60, comparisonOperator: "LessThanOrEqualToThreshold", threshold: d.inputs.ebsOptions.volumeSize * 1024 * 0.25 });
      expect(by("FreeStorageSpace")!.threshold).toBe(freeStorageThresholdMiB(tier));
      expect(by("ClusterIndexWritesBlocked")).toMatchObject({ statistic: "Maximum", period: 300, evaluationPeriods: 1, threshold: 1 });
      expect(by("JVMMemoryPressure")).toMatchObject({ statistic: "Maximum", period: 60, evaluationPeriods: 3, threshold: 95 });
    }
  });
});

describe("prod: collector alarms", () => {
  it("one health check alarm per collector, in us-east-1 where Route 53 publishes, on its health check", () => {
    const checks = byType(T.healthCheck);
    expect(checks).toHaveLength(6);
    const hc = alarmsOf("HealthCheckStatus");
    expect(hc.map((a) => a.inputs.dimensions.HealthCheckId).sort()).toEqual(checks.map((c) => `${c.name}-id`).sort());
    for (const a of hc) {
      expect(a.inputs).toMatchObject({ region: "us-east-1", namespace: "AWS/Route53", statistic: "Minimum", threshold: 1, comparisonOperator: "LessThanThreshold", evaluationPeriods: 2, treatMissingData: "breaching" });
    }
  });

  it("spool bytes: the fullest collector's spool over a quarter of its volume", () => {
    expect(alarmsOf("unmeltable_spool_bytes").map((a) => a.inputs)).toEqual([
      expect.objectContaining({
        namespace: "unmeltable/collectors",
        dimensions: { stage: "prod" },
        statistic: "Maximum",
        threshold: cfg.collector.spoolVolumeGb * 1024 ** 3 * limits.spoolFraction,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
      }),
    ]);
  });
});

describe("prod: the dashboard", () => {
  it("a row per stage with its traffic, lag, errors and saturation", async () => {
    const d = resource(DASHBOARD, "OpsDashboard").inputs;
    expect(d.dashboardName).toBe("unmeltable-prod");
    const body = JSON.parse(d.dashboardBody) as { widgets: { type: string; properties: Untyped }[] };
    const headers = body.widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown);
    expect(headers).toEqual(["## Collect", "## Process", ...tiersFor(cfg).map((t) => `## Index: ${t.name}`), ...tiersFor(cfg).map((t) => `## Deferred: ${t.name}`), "## Search"]);
    const text = JSON.stringify(body);
    for (const esm of byType(T.esm)) {
      const name = mappedName(esm);
      for (const m of ["EventsIn", "EventsOut"]) expect(text).toContain(JSON.stringify(["unmeltable", m, "service", "unmeltable", "FunctionName", name]).slice(1, -1));
      expect(text).toContain(JSON.stringify(["AWS/Lambda", "OffsetLag", "FunctionName", name]).slice(1, -1));
      expect(text).toContain(JSON.stringify(["AWS/Lambda", "ConcurrentExecutions", "FunctionName", name]).slice(1, -1));
    }
    for (const d of byType(T.domain)) expect(text).toContain(JSON.stringify(["AWS/ES", "FreeStorageSpace", "DomainName", d.inputs.domainName, "ClientId", ACCOUNT]).slice(1, -1));
    // Saturation against the reservations.
    const reserved = body.widgets.filter((w) => w.properties?.annotations?.horizontal?.[0]?.label === "reserved").map((w) => w.properties.annotations.horizontal[0].value);
    expect(reserved).toEqual([processFor(cfg).rawPartitions, ...tiersFor(cfg).map((t) => t.partitions), ...tiersFor(cfg).map(() => DEFERRED.reservedConcurrency), SEARCH_RESERVED.production]);
  });
});

describe("prod: exposure", () => {
  it("OpenSearch admits its client group only, no address range; the collectors' groups are not it", () => {
    const ingress = resource(T.sg, "OpenSearchSecurityGroup").inputs.ingress;
    expect(ingress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 443, toPort: 443, securityGroups: ["OpenSearchClientSecurityGroup-id"] })]);
    expect(ingress[0].cidrBlocks).toBeUndefined();
    for (const sg of byType(T.sg).filter((s) => s.name.includes("Collector"))) expect(sg.name).not.toBe("OpenSearchClientSecurityGroup");
    for (const i of byType(T.instance)) expect(i.inputs.vpcSecurityGroupIds).not.toContain("OpenSearchClientSecurityGroup-id");
  });

  it("exactly the functions allowed into OpenSearch carry that group: the ones with es:ESHttp* and the role-mapping step", async () => {
    const clients: string[] = [];
    for (const c of componentsOf(T.function)) {
      const groups = c.args.vpc?.securityGroups ? ((await value(c.args.vpc.securityGroups)) as string[]) : [];
      if (groups.includes("OpenSearchClientSecurityGroup-id")) clients.push(c.name);
    }
    const withEs = componentsOf(T.function)
      .filter((c) => (c.args.permissions ?? []).some((p: Untyped) => p.actions.some((a: string) => a.startsWith("es:ESHttp"))))
      .map((c) => c.name);
    expect(clients.sort()).toEqual([...withEs, "IndexAccess"].sort());
    expect(clients).toEqual(expect.arrayContaining(["Search", "Alerts", "Lifecycle", ...tiersFor(cfg).flatMap((t) => [`Index${t.name[0].toUpperCase()}${t.name.slice(1)}Writer`, `Index${t.name[0].toUpperCase()}${t.name.slice(1)}Deferred`])]));
    expect(clients).not.toContain("Process");
    expect(clients).not.toContain("Archive");
  });
});

describe("prod: concurrency and throttling", () => {
  it("search keeps its reservation; the mapped stages are capped at their topics' partitions; nothing else reserves", () => {
    const reserved = Object.fromEntries(componentsOf(T.function).filter((c) => c.args.concurrency).map((c) => [c.name, c.args.concurrency.reserved]));
    expect(reserved).toEqual({
      Search: SEARCH_RESERVED.production,
      Process: processFor(cfg).rawPartitions,
      ...Object.fromEntries(tiersFor(cfg).map((t) => [`Index${t.name[0].toUpperCase()}${t.name.slice(1)}Writer`, t.partitions])),
      // Each tier's deferred function: one execution, its one partition (a ceiling whatever the partitions).
      ...Object.fromEntries(tiersFor(cfg).map((t) => [`Index${t.name[0].toUpperCase()}${t.name.slice(1)}Deferred`, DEFERRED.reservedConcurrency])),
    });
    // Lambda keeps 100 unreserved in the account.
    const total = Object.values(reserved).reduce((a, b) => a + b, 0);
    expect(quotasFor("prod").lambdaConcurrency - total).toBeGreaterThanOrEqual(LAMBDA_UNRESERVED_MINIMUM);
  });

  it("the API's stage throttles every route by default and the expensive reads on routes of their own", async () => {
    const api = component(T.apiGateway, "Api").args;
    const stage: Record<string, Untyped> = { apiId: "x", name: "$default" };
    const opts: Record<string, Untyped> = {};
    api.transform.stage(stage, opts, "ApiStage");
    // The stage waits for the routes its settings name (API Gateway refuses unknown route keys).
    const after = await opts.dependsOn;
    expect(after).toHaveLength(1 + Object.keys(API_THROTTLE.routes).length);
    expect(stage.defaultRouteSettings).toEqual({ throttlingRateLimit: API_THROTTLE.default.rate, throttlingBurstLimit: API_THROTTLE.default.burst });
    expect(stage.routeSettings).toEqual(Object.entries(API_THROTTLE.routes).map(([routeKey, t]) => ({ routeKey, throttlingRateLimit: t.rate, throttlingBurstLimit: t.burst })));
    for (const r of stage.routeSettings) expect(r.throttlingRateLimit).toBeLessThanOrEqual(API_THROTTLE.default.rate);
    // Every throttled route exists (a route setting for a missing route would be refused), all to the search function.
    const routes = componentsOf(`${T.apiGateway}.route`).filter((r) => r.name === "Api");
    expect(routes.map((r) => r.args[0]).sort()).toEqual(["$default", ...Object.keys(API_THROTTLE.routes)].sort());
    const arns = new Set(await Promise.all(routes.map((r) => value(r.args[1]))));
    expect([...arns]).toEqual([`arn:aws:lambda:eu-west-1:${ACCOUNT}:function:Search`]);
  });
});

describe("prod: the collectors' metrics reach CloudWatch", () => {
  it("every collector runs the CloudWatch agent, scraping its /metrics into the namespace and dimension the spool alarm reads", () => {
    const template = resource(T.launchTemplate, "EuWest1CollectorTemplate").inputs;
    const script = Buffer.from(template.userData, "base64").toString();
    expect(script).toContain("dnf install -y amazon-cloudwatch-agent");
    expect(script).toContain('- targets: ["127.0.0.1:8080"]');
    expect(script).toContain('stage: "prod"');
    const json = script.split("unmeltable.json <<'EOF'\n")[1].split("\nEOF\n")[0];
    const agent = JSON.parse(json);
    const prom = agent.logs.metrics_collected.prometheus;
    expect(agent.agent.region).toBe("eu-west-1");
    expect(prom.log_group_name).toBe("/unmeltable/prod/collector-metrics");
    const decl = prom.emf_processor.metric_declaration[0];
    const spool = resource(ALARM, "CollectorSpool").inputs;
    expect(prom.emf_processor.metric_namespace).toBe(spool.namespace);
    expect(decl.dimensions).toContainEqual(Object.keys(spool.dimensions));
    expect(decl.metric_selectors).toContain(`^${spool.metricName}$`);
    // The same in the other region's collectors: they publish to the home region, beside the alarm.
    const east = Buffer.from(resource(T.launchTemplate, "UsEast1CollectorTemplate").inputs.userData, "base64").toString();
    expect(east).toContain('"region": "eu-west-1"');
    expect(resource("aws:cloudwatch/logGroup:LogGroup", "CollectorMetricsLogs").inputs).toMatchObject({ name: "/unmeltable/prod/collector-metrics", retentionInDays: 1 });
    expect(resource(T.role, "CollectorRole").inputs.managedPolicyArns).toContain("arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy");
  });

  it("the script with the agent is valid bash, and the published metrics are ones the collector serves", () => {
    const script = Buffer.from(resource(T.launchTemplate, "EuWest1CollectorTemplate").inputs.userData, "base64").toString();
    const dir = mkdtempSync(path.join(tmpdir(), "userdata-"));
    try {
      writeFileSync(path.join(dir, "u.sh"), script);
      execFileSync("bash", ["-n", path.join(dir, "u.sh")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const sources = ["packages/collector/src/spool.ts", "packages/runtime/src/collector-part.ts"].map((f) => readFileSync(path.join(__dirname, "../..", f), "utf8")).join("\n");
    for (const name of PUBLISHED_COLLECTOR_METRICS) expect(sources, name).toContain(`"${name}"`);
  });
});

describe("prod: WAF where the API type allows it", () => {
  it("the web router (CloudFront) has a per-IP rate rule and no managed rule groups; the HTTP API has none (not supported)", () => {
    expect(component(T.router, "WebRouter").args.waf).toEqual({ rateLimitPerIp: WEB_WAF.rateLimitPerIp, managedRules: { coreRuleSet: false, knownBadInputs: false, sqlInjection: false } });
    expect(component(T.apiGateway, "Api").args.waf).toBeUndefined();
  });
});
