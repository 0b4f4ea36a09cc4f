/**
 * Monitoring (issue 14, part 2): an SNS topic ops subscribe to, CloudWatch alarms on what stops or
 * slows the pipeline, and a dashboard of its golden signals per stage. Production and shared stages only
 * (ALARMED_KINDS): a developer's stage pages nobody.
 *
 * Every alarm notifies the topic when it fires and when it clears (alarm and OK actions). The Route 53
 * health check alarms live in us-east-1, where Route 53 publishes its metrics, and notify a twin topic
 * there (an alarm's SNS action must be in its own region); both topics get the same subscriptions.
 *
 * Missing data is decided per alarm and the reason written beside it. The rule: a metric that AWS
 * publishes all the time (OpenSearch's cluster health, Route 53's checks) going silent is itself a
 * failure, so it breaches; a metric published only when something happens (errors, throttles, dead
 * letters) is "nothing happened" when missing; the lifecycle's hourly archive check breaches when it
 * stops reporting, because then nobody checks the archive.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALARM_THRESHOLDS, ALARMED_KINDS, concurrencyPlan, DEFERRED, domainName, opsEmails, pascal, tiersFor, type StageConfig, type TierConfig } from "./config";

/** The namespace the functions' EMF metrics go to (packages/lambda/src/powertools.ts), with `service` and `FunctionName`. */
export const APP_NAMESPACE = "unmeltable";
export const APP_SERVICE = "unmeltable";
/** The namespace the collectors' CloudWatch agent publishes their Prometheus metrics to (stacks/collector-user-data.ts). */
export const COLLECTOR_NAMESPACE = "unmeltable/collectors";
/** Route 53 publishes health check metrics in us-east-1 only (docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html). */
export const ROUTE53_METRICS_REGION = "us-east-1";

/** What a function is for, which decides its error alarm. */
export type FunctionRole = "mapped" | "api" | "scheduled" | "deploy";

export interface MonitoredFunction {
  /** Resource-name part, e.g. `Process`, `IndexDefaultWriter`. */
  id: string;
  fn: { name: pulumi.Output<string> };
  role: FunctionRole;
  /** For mapped functions: the tier it indexes (undefined: the process stage). */
  tier?: string;
  /** A tier's deferred function (over-plan events: its own lag threshold, stacks/config.ts DEFERRED). */
  deferred?: boolean;
}

export interface MonitoringInput {
  app: string;
  cfg: StageConfig;
  functions: MonitoredFunction[];
  /** The lifecycle function, which reports ArchiveMissingDays. */
  lifecycle: { name: pulumi.Output<string> };
  /** The archive planner, which reports ArchiveBehindSeconds and ArchiveRecordsLost after each run. */
  archive: { name: pulumi.Output<string> };
  collectors: { name: string; healthCheck?: { id: pulumi.Output<string> } }[];
  env?: Record<string, string | undefined>;
}

/**
 * Errors alarm per function role: the threshold (sum per 5 minutes) and how many 5-minute periods in a
 * row. A function error is a crash or a timeout (handled failures are not errors: the MSK driver reports
 * unfinished partitions as batch item failures, the API answers 4xx/5xx itself).
 * - scheduled and deploy-time jobs: one failed run is a run missing (an archive hour, a lifecycle hour,
 *   a minute of alert checks), so one error pages;
 * - mapped stages and the API: a few crashes are retried (mappings) or seen by one client (API); five in
 *   5 minutes is a pattern.
 */
export const ERROR_ALARMS: Record<FunctionRole, { threshold: number; periods: number }> = {
  scheduled: { threshold: 1, periods: 1 },
  deploy: { threshold: 1, periods: 1 },
  mapped: { threshold: 5, periods: 1 },
  api: { threshold: 5, periods: 1 },
};

export interface Monitoring {
  topic: aws.sns.Topic;
  /** The twin topic in us-east-1, for the Route 53 health check alarms (only when there are health checks). */
  usEast1Topic?: aws.sns.Topic;
  alarms: aws.cloudwatch.MetricAlarm[];
  dashboard: aws.cloudwatch.Dashboard;
}

export function createMonitoring(i: MonitoringInput): Monitoring | undefined {
  const { cfg, app } = i;
  if (!ALARMED_KINDS.includes(cfg.kind)) return undefined;
  const kind = cfg.kind as "production" | "shared";
  const limits = ALARM_THRESHOLDS[kind];
  const emails = opsEmails(i.env);
  const prefix = `${app}-${cfg.stage}`;
  const account = aws.getCallerIdentityOutput({}).accountId;

  const topic = new aws.sns.Topic("OpsAlarms", { name: `${prefix}-alarms` });
  const healthChecks = i.collectors.filter((c) => c.healthCheck);
  const usEast1Topic = healthChecks.length > 0 ? new aws.sns.Topic("OpsAlarmsUsEast1", { region: ROUTE53_METRICS_REGION, name: `${prefix}-alarms` }) : undefined;
  emails.forEach((email, n) => {
    new aws.sns.TopicSubscription(`OpsAlarmsEmail${n}`, { topic: topic.arn, protocol: "email", endpoint: email });
    if (usEast1Topic) new aws.sns.TopicSubscription(`OpsAlarmsUsEast1Email${n}`, { region: ROUTE53_METRICS_REGION, topic: usEast1Topic.arn, protocol: "email", endpoint: email });
  });

  const alarms: aws.cloudwatch.MetricAlarm[] = [];
  const alarm = (id: string, args: aws.cloudwatch.MetricAlarmArgs, target: aws.sns.Topic = topic) => {
    const a = new aws.cloudwatch.MetricAlarm(id, {
      name: `${prefix}-${id}`,
      ...args,
      alarmActions: [target.arn],
      okActions: [target.arn],
      ...(args.insufficientDataActions ? { insufficientDataActions: [target.arn] } : {}),
    });
    alarms.push(a);
    return a;
  };

  // ---- the pipeline's stages: lag and dead letters per mapping ------------------------------------
  for (const f of i.functions.filter((x) => x.role === "mapped")) {
    // OffsetLag: AWS/Lambda, per function (each mapped function has exactly one mapping, so this is per
    // mapping: that is why a tier's deferred path is a function of its own), records not yet processed by
    // the mapping's consumer group
    // (docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html, event source mapping metrics).
    // Missing: kept as missing and notified as INSUFFICIENT_DATA: a mapping that stops polling (disabled,
    // "PROBLEM: Connection error") stops reporting its lag, and that is as bad as lag. A deferred path's
    // backlog grows by design while a tenant is over plan: it pages on its own, longer threshold.
    const lag = f.deferred ? DEFERRED.alarm : limits;
    alarm(`${f.id}OffsetLag`, {
      alarmDescription: f.deferred
        ? `${f.id}: over-plan events over ${lag.offsetLagRecords} records behind for ${lag.lagMinutes} minutes: not drained as fast as they arrive, and they expire after 72 h (docs/plans.md)`
        : `${f.id}: the MSK mapping is over ${lag.offsetLagRecords} records behind for ${lag.lagMinutes} minutes (docs/deploy.md, "Alarms")`,
      namespace: "AWS/Lambda",
      metricName: "OffsetLag",
      dimensions: { FunctionName: f.fn.name },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: lag.lagMinutes,
      datapointsToAlarm: lag.lagMinutes,
      threshold: lag.offsetLagRecords,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "missing",
      insufficientDataActions: [topic.arn],
    });
    // DeadLetters: the MSK driver's EMF count (packages/lambda/src/msk-driver.ts), one document per
    // reason, so its dimensions are service, FunctionName and reason: a Metrics Insights query sums every
    // reason of this function. Missing: no dead letters were written.
    alarm(`${f.id}DeadLetters`, {
      alarmDescription: `${f.id}: over ${limits.deadLettersPer5Minutes} events dead-lettered in 5 minutes (unmeltable deadletters)`,
      metricQueries: [
        {
          id: "deadletters",
          expression: pulumi.interpolate`SELECT SUM(DeadLetters) FROM SCHEMA("${APP_NAMESPACE}", FunctionName, reason, service) WHERE FunctionName = '${f.fn.name}'`,
          period: 300,
          returnData: true,
          label: "DeadLetters",
        },
      ],
      evaluationPeriods: 1,
      threshold: limits.deadLettersPer5Minutes,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  // ---- OpenSearch: AWS's recommended alarms, per domain --------------------------------------------
  // docs.aws.amazon.com/opensearch-service/latest/developerguide/cloudwatch-alarms.html. Namespace AWS/ES,
  // dimensions DomainName and ClientId (the account).
  for (const tier of tiersFor(cfg)) {
    const id = `Index${pascal(tier.name)}`;
    const dimensions = { DomainName: domainName(app, cfg.stage, tier.name), ClientId: account };
    const es = { namespace: "AWS/ES", dimensions };
    // Red: a primary shard is unassigned, its index takes no writes. AWS: max >= 1 for 1 minute, once.
    // Missing breaches: the domain reports its status every minute; silence means it cannot.
    alarm(`${id}ClusterRed`, { ...es, metricName: "ClusterStatus.red", statistic: "Maximum", period: 60, evaluationPeriods: 1, threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "breaching", alarmDescription: `${tier.name} domain is red: a primary shard is unassigned` });
    // Yellow: a replica is unassigned. AWS: max >= 1 for 1 minute, 5 times in a row. Not on a one-node
    // domain: it cannot place a replica at all, so yellow there says nothing new. Missing: red covers it.
    if (tier.opensearch.instanceCount > 1) {
      alarm(`${id}ClusterYellow`, { ...es, metricName: "ClusterStatus.yellow", statistic: "Maximum", period: 60, evaluationPeriods: 5, datapointsToAlarm: 5, threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching", alarmDescription: `${tier.name} domain is yellow: a replica is unassigned` });
    }
    // Free storage (MiB, the smallest node's): AWS recommends 25% of each node's storage rather than its
    // 20 GiB example. At 15% free OpenSearch stops allocating shards to the node, at 5% it blocks writes.
    // Missing: red covers a silent domain.
    alarm(`${id}FreeStorage`, { ...es, metricName: "FreeStorageSpace", statistic: "Minimum", period: 60, evaluationPeriods: 1, threshold: freeStorageThresholdMiB(tier), comparisonOperator: "LessThanOrEqualToThreshold", treatMissingData: "notBreaching", alarmDescription: `${tier.name} domain: a node has 25% or less of its storage free` });
    // Writes blocked (disk full, memory pressure): the index stage backs off and lag grows. AWS: >= 1 for 5 minutes, once.
    alarm(`${id}WritesBlocked`, { ...es, metricName: "ClusterIndexWritesBlocked", statistic: "Maximum", period: 300, evaluationPeriods: 1, threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching", alarmDescription: `${tier.name} domain is blocking writes` });
    // JVM memory pressure: AWS: max >= 95% for 1 minute, 3 times in a row (out-of-memory and circuit breakers ahead).
    alarm(`${id}JvmPressure`, { ...es, metricName: "JVMMemoryPressure", statistic: "Maximum", period: 60, evaluationPeriods: 3, datapointsToAlarm: 3, threshold: 95, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching", alarmDescription: `${tier.name} domain: JVM memory pressure at 95% or more` });
  }

  // ---- collectors ----------------------------------------------------------------------------------
  // Health checks: Route 53's HealthCheckStatus (1 healthy, 0 not), AWS/Route53 in us-east-1 only, so
  // these alarms are created there and notify the twin topic. The check itself already waits for 3
  // failures 30 s apart; two failing minutes in a row then page. Missing breaches: Route 53 reports every
  // check all the time.
  for (const c of healthChecks) {
    alarm(
      `${c.name}Unhealthy`,
      {
        region: ROUTE53_METRICS_REGION,
        alarmDescription: `collector ${c.name} fails its Route 53 health check (out of DNS rotation)`,
        namespace: "AWS/Route53",
        metricName: "HealthCheckStatus",
        dimensions: { HealthCheckId: c.healthCheck!.id },
        statistic: "Minimum",
        period: 60,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
      },
      usEast1Topic!,
    );
  }
  // Spool bytes: the collectors' own gauge (unmeltable_spool_bytes, packages/collector/src/spool.ts),
  // scraped by the CloudWatch agent and published in the home region with the stage as dimension; the
  // maximum is the fullest collector's. A spool that fills means MSK has not taken writes for a while.
  // Missing: no collector reports (none running, or the agent down): the health checks cover it.
  if (i.collectors.length > 0) {
    alarm("CollectorSpool", {
      alarmDescription: `a collector's spool holds over ${Math.round(limits.spoolFraction * 100)}% of its ${cfg.collector.spoolVolumeGb} GB volume: MSK is not taking its writes`,
      namespace: COLLECTOR_NAMESPACE,
      metricName: "unmeltable_spool_bytes",
      dimensions: { stage: cfg.stage },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: spoolThresholdBytes(cfg, limits.spoolFraction),
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  // ---- the archive ---------------------------------------------------------------------------------
  // ArchiveMissingDays: the lifecycle job's hourly count of days of the last week without a complete
  // archive (functions/lifecycle.ts). Two runs in a row: the day the archive is still finishing is not a
  // page. Missing breaches: the check runs every hour, and its silence means nobody checks the archive.
  alarm("ArchiveMissingDays", {
    alarmDescription: "archive days missing for two hourly checks (docs/deploy.md, archive runbook)",
    namespace: APP_NAMESPACE,
    metricName: "ArchiveMissingDays",
    dimensions: { service: APP_SERVICE, FunctionName: i.lifecycle.name },
    statistic: "Maximum",
    period: 3600,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "breaching",
  });

  // The archive planner's own report after each hourly run (functions/archive.ts). Behind: how far the
  // archive is behind the raw topic's end; over 3 hours is 3 runs that did not catch up, and the raw
  // topic keeps 72 h. Missing breaches over 3 hours: the planner reports every run, so 3 silent hours
  // are 3 runs that did not finish (a run skipped for a held lease reports nothing, but the next does).
  alarm("ArchiveBehind", {
    alarmDescription: "the archive is over 3 hours behind the raw topic, or its planner has not reported for 3 hours (archive runbook)",
    namespace: APP_NAMESPACE,
    metricName: "ArchiveBehindSeconds",
    dimensions: { service: APP_SERVICE, FunctionName: i.archive.name },
    statistic: "Maximum",
    period: 3600,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    threshold: 3 * 3600,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "breaching",
  });
  // Lost: raw records that expired from the topic before the archive read them: gone from the archive
  // for good, one is a page. Reported only when some were lost: missing is none.
  alarm("ArchiveRecordsLost", {
    alarmDescription: "raw records expired before they were archived (archive runbook)",
    namespace: APP_NAMESPACE,
    metricName: "ArchiveRecordsLost",
    dimensions: { service: APP_SERVICE, FunctionName: i.archive.name },
    statistic: "Sum",
    period: 3600,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
  });

  // ---- every function: errors and throttles -------------------------------------------------------
  for (const f of i.functions) {
    const e = ERROR_ALARMS[f.role];
    // Missing: Lambda reports Errors only for invocations; none is no error.
    alarm(`${f.id}Errors`, {
      alarmDescription: `${f.id}: ${e.threshold} or more function errors (crashes, timeouts) in 5 minutes`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: f.fn.name },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: e.periods,
      threshold: e.threshold,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
    // Throttles: at its reserved concurrency (search, the mapped stages) or the account's pool. A burst at
    // the cap is expected; throttling through two 5-minute periods is not. Missing: nothing throttled.
    alarm(`${f.id}Throttles`, {
      alarmDescription: `${f.id}: throttled for 10 minutes (reserved concurrency or the account's pool exhausted)`,
      namespace: "AWS/Lambda",
      metricName: "Throttles",
      dimensions: { FunctionName: f.fn.name },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
  }

  const dashboard = new aws.cloudwatch.Dashboard("OpsDashboard", {
    dashboardName: prefix,
    dashboardBody: dashboardBody(i, account),
  });
  return { topic, usEast1Topic, alarms, dashboard };
}

/** FreeStorageSpace threshold in MiB: 25% of one data node's EBS volume (AWS's recommendation). */
export function freeStorageThresholdMiB(tier: TierConfig): number {
  return Math.round(tier.opensearch.volumeGb * 1024 * 0.25);
}

export function spoolThresholdBytes(cfg: StageConfig, fraction: number): number {
  return Math.round(cfg.collector.spoolVolumeGb * 1024 ** 3 * fraction);
}

type Widget = Record<string, unknown>;

/**
 * The golden signals per stage, one row each: collect (traffic into `raw`, spool, health), process and
 * every tier's index (traffic in and out, lag, errors and dead letters, saturation: concurrency against
 * its reservation, duration against its timeout, and the domain's storage, JVM and write rejections), and
 * search (invocations, errors, p99 duration, concurrency against its reservation).
 */
export function dashboardBody(i: MonitoringInput, account: pulumi.Input<string>): pulumi.Output<string> {
  const { cfg, app } = i;
  const region = cfg.regions.find((r) => r.home)!.region;
  const plan = concurrencyPlan(cfg);
  const widgets: Widget[] = [];
  let y = 0;
  const row = (title: string, cells: Widget[]) => {
    widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown: `## ${title}` } });
    y += 1;
    cells.forEach((c, n) => widgets.push({ type: "metric", x: (n % 4) * 6, y: y + Math.floor(n / 4) * 6, width: 6, height: 6, properties: { region, ...c } }));
    y += Math.ceil(cells.length / 4) * 6;
  };
  const lambda = (metric: string, name: pulumi.Input<string>, stat: string) => ["AWS/Lambda", metric, "FunctionName", name, { stat }];
  const app_ = (metric: string, name: pulumi.Input<string>) => [APP_NAMESPACE, metric, "service", APP_SERVICE, "FunctionName", name, { stat: "Sum" }];
  const reservedLine = (n: number | undefined) => (n === undefined ? {} : { annotations: { horizontal: [{ label: "reserved", value: n }] } });

  row("Collect", [
    {
      title: "Into raw (bytes/s, all brokers)",
      metrics: [[{ expression: `SUM(SEARCH('{AWS/Kafka,"Cluster Name","Broker ID",Topic} MetricName="BytesInPerSec" "Cluster Name"="${app}-${cfg.stage}" Topic="raw"', 'Average', 60))`, label: "raw", id: "raw" }]],
    },
    { title: "Spool (bytes, fullest collector)", metrics: [[COLLECTOR_NAMESPACE, "unmeltable_spool_bytes", "stage", cfg.stage, { stat: "Maximum" }]] },
    ...i.collectors
      .filter((c) => c.healthCheck)
      .slice(0, 1)
      .map(() => ({
        title: "Collectors healthy (Route 53)",
        region: ROUTE53_METRICS_REGION,
        metrics: i.collectors.filter((c) => c.healthCheck).map((c) => ["AWS/Route53", "HealthCheckStatus", "HealthCheckId", c.healthCheck!.id, { stat: "Minimum", label: c.name }]),
      })),
  ]);

  for (const f of i.functions.filter((x) => x.role === "mapped")) {
    const tier = f.tier ? tiersFor(cfg).find((t) => t.name === f.tier)! : undefined;
    const reserved = tier ? (f.deferred ? plan?.deferred[tier.name] : plan?.index[tier.name]) : plan?.process;
    const cells: Widget[] = [
      { title: "Events in / out (per minute)", metrics: [app_("EventsIn", f.fn.name), app_("EventsOut", f.fn.name)], period: 60 },
      { title: "Lag (records)", metrics: [lambda("OffsetLag", f.fn.name, "Maximum")], period: 60 },
      {
        title: "Errors and dead letters",
        metrics: [
          lambda("Errors", f.fn.name, "Sum"),
          [{ expression: pulumi.interpolate`SELECT SUM(DeadLetters) FROM SCHEMA("${APP_NAMESPACE}", FunctionName, reason, service) WHERE FunctionName = '${f.fn.name}'`, label: "DeadLetters", id: "dl" }],
        ],
        period: 300,
      },
      { title: "Concurrency (of its reservation)", metrics: [lambda("ConcurrentExecutions", f.fn.name, "Maximum"), lambda("Throttles", f.fn.name, "Sum")], period: 60, ...reservedLine(reserved) },
      { title: "Duration p99 (ms)", metrics: [lambda("Duration", f.fn.name, "p99")], period: 300 },
    ];
    // The domain's cells are on its index row; a deferred row shows the deferred function only.
    if (tier && !f.deferred) {
      const dims = ["DomainName", domainName(app, cfg.stage, tier.name), "ClientId", account];
      cells.push(
        { title: "OpenSearch indexing rate and rejections", metrics: [["AWS/ES", "IndexingRate", ...dims, { stat: "Average" }], ["AWS/ES", "ThreadpoolWriteRejected", ...dims, { stat: "Sum" }]], period: 60 },
        { title: "OpenSearch CPU and JVM (%)", metrics: [["AWS/ES", "CPUUtilization", ...dims, { stat: "Maximum" }], ["AWS/ES", "JVMMemoryPressure", ...dims, { stat: "Maximum" }]], period: 60 },
        { title: "OpenSearch free storage (MiB, smallest node)", metrics: [["AWS/ES", "FreeStorageSpace", ...dims, { stat: "Minimum" }]], period: 300, annotations: { horizontal: [{ label: "alarm", value: freeStorageThresholdMiB(tier) }] } },
      );
    }
    row(tier ? `${f.deferred ? "Deferred" : "Index"}: ${tier.name}` : "Process", cells);
  }

  for (const f of i.functions.filter((x) => x.role === "api")) {
    row("Search", [
      { title: "Requests (invocations)", metrics: [lambda("Invocations", f.fn.name, "Sum")], period: 60 },
      { title: "Errors", metrics: [lambda("Errors", f.fn.name, "Sum"), lambda("Throttles", f.fn.name, "Sum")], period: 60 },
      { title: "Duration p99 (ms)", metrics: [lambda("Duration", f.fn.name, "p99")], period: 60 },
      { title: "Concurrency (of its reservation)", metrics: [lambda("ConcurrentExecutions", f.fn.name, "Maximum")], period: 60, ...reservedLine(plan?.search) },
    ]);
  }
  return pulumi.jsonStringify({ widgets });
}
