import path from "node:path";
import { createIndexStage, createProcessStage, deferredTopic, PlanMeter, processedTopic, RAW_TOPIC, runLifecycle, timedReads, type Logger, type Metrics, type Queue, type QueueProducer, type Tenant, type UsageObserver, type UsageSource, type DerivedRuleSource } from "@unmeltable/core";
import { DirectoryStore, inProcessWorker, previousDay, runArchive } from "@unmeltable/archive";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { IdleGate, ParseThread, StageRunner, type TenantShares } from "@unmeltable/runner";
import { apiRoute } from "./api-http";
import type { HttpRoute } from "./http-server";
import { LiveTail } from "./live-tail";
import type { LiveTenantDirectory, TenantStore } from "./tenant-store";

export interface StagesPart {
  index: EmbeddedIndex;
  routes: HttpRoute[];
  /** Live tail's streams never end on their own: the HTTP server ends them when it drains. */
  tail: LiveTail;
  /** Updates the consumer-lag and open-slice gauges (called before /metrics is served). */
  refreshLag(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The processing stages over the queue — process (raw → processed topic of the tenant's tier) and one
 * index stage per tier — with the embedded index and the search API on top of it.
 */
export async function startStages(options: {
  dataDir: string;
  queue: Queue;
  producer: QueueProducer;
  tenants: LiveTenantDirectory;
  partitions: number;
  metrics: Metrics;
  /** The stages' runners log through children of it bound to their stage. */
  logger: Logger;
  /** Staging: index only this fraction of events (by a hash of the id), with its own consumer groups. */
  sampleRate?: number;
  groupPrefix?: string;
  /** For the lifecycle job's slice-length changes. */
  store: TenantStore;
  /** Run the archive of the raw topic every hour at :15 UTC into <data-dir>/archive. */
  archive: boolean;
  /** Size a slice should reach (the lifecycle job fits slice lengths to it); default 1 GiB. */
  sliceTargetBytes?: number;
  /** Slice files the index keeps open (default from the open-files limit). */
  indexOpenSlices?: number;
  /** Per-tenant usage: told what the index stages store and the stages' dead letters; read by GET /apiv2/usage. */
  usage?: UsageObserver & UsageSource;
  /** No collector runs in this process: the process stage's raw events count as the tenants' ingest. */
  usageIngestFromStage?: boolean;
  /**
   * The tenants' shares of the ingest, fed by this process's collectors (or, with none, the process
   * stage's usage): who sends more than its share, for the fairness between tenants (issue 16).
   */
  ingestShares?: TenantShares;
  /** The tenants' derived-field rules, applied by the process stages. */
  derived?: DerivedRuleSource;
}): Promise<StagesPart> {
  const { queue, producer, tenants, metrics } = options;
  const logger = options.logger;
  const prefix = options.groupPrefix ?? "";
  const index = new EmbeddedIndex({
    dir: path.join(options.dataDir, "index"),
    slices: Object.fromEntries(tenants.list().map((t) => [t.name, t.slice])),
    // Events stating a time past their tenant's retention go in at their receive time (no old slice).
    retentionDays: Object.fromEntries(tenants.list().map((t) => [t.name, t.retentionDays])),
    openSlices: options.indexOpenSlices,
  });
  const runners: StageRunner[] = [];
  const tiers = new Set<string>();
  // The regular path the deferred consumers yield to: the process stage and every tier's index stage.
  const gate = new IdleGate({
    queue,
    watch: () => [[`${prefix}process`, RAW_TOPIC], ...[...tiers].map((t): [string, string] => [`${prefix}index.${t}`, `${prefix}${processedTopic(t)}`])],
    // Past the index stage's 100 ms batching window and its write: the regular path keeps up.
    keepingUpMs: 300,
  });
  const startIndexRunner = (tier: string) => {
    tiers.add(tier);
    // Over-plan events of the tier (docs/plans.md): indexed only while the regular path is idle, one
    // small batch at a time, into the same index (idempotent by event id, as everywhere).
    const deferred = new StageRunner({
      name: `index-deferred.${tier}`,
      queue,
      producer,
      group: `${prefix}index-deferred.${tier}`,
      topics: [`${prefix}${deferredTopic(tier)}`],
      stage: gate.wrap(createIndexStage({ index, stageName: "index" })),
      // A regular batch that comes meanwhile waits for at most this one (~1,500 events, tens of ms of
      // the writer's time); much smaller and a million-event backlog passed here by the fairness
      // diversion takes many times longer than on the regular path (FTS5 pays per transaction).
      batchSize: 16,
      batchWindowMs: 0,
      maxBatchBytes: 1024 * 1024,
      metrics,
      // What it stores is the tenant's usage like any indexed event (its indexed count, its lag).
      usage: options.usage,
      logger,
    });
    deferred.start();
    runners.push(deferred);
    const runner = new StageRunner({
      name: `index.${tier}`,
      queue,
      producer,
      group: `${prefix}index.${tier}`,
      topics: [`${prefix}${processedTopic(tier)}`],
      stage: createIndexStage({ index, stageName: "index" }),
      // Fairness between tenants without plans (issue 16): a tenant over its share whose records the
      // index is behind on goes to the deferred path above, so that the others' are not indexed after
      // its backlog (packages/runner/src/backlog-diverter.ts).
      divert: { topic: `${prefix}${deferredTopic(tier)}`, shares: options.ingestShares },
      // Big transactions index fastest (FTS5 flushes per transaction); the window bounds the latency.
      batchSize: 500,
      batchWindowMs: 100,
      maxBatchBytes: 16 * 1024 * 1024,
      metrics,
      usage: options.usage,
      logger,
    });
    runner.start();
    runners.push(runner);
  };
  const initialTiers = [...new Set(["default", ...tenants.list().map((t) => t.tier)])];
  // A staging pipeline (a group prefix) writes processed topics of its own, never production's.
  const tierTopics = (tier: string) => [
    { name: `${prefix}${processedTopic(tier)}`, partitions: options.partitions },
    { name: `${prefix}${deferredTopic(tier)}`, partitions: options.partitions },
  ];
  await queue.admin.ensureTopics(initialTiers.flatMap(tierTopics));
  for (const tier of initialTiers) startIndexRunner(tier);
  const onChange = (list: Tenant[]) => {
    for (const t of list) {
      index.setSliceLength(t.name, t.slice);
      index.setRetentionDays(t.name, t.retentionDays);
    }
    const added = [...new Set(list.map((t) => t.tier))].filter((tier) => !tiers.has(tier));
    if (added.length === 0) return;
    void queue.admin
      .ensureTopics(added.flatMap(tierTopics))
      .then(() => added.forEach(startIndexRunner))
      .catch((err: Error) => logger.error(`could not set up tiers ${added.join(", ")}: ${err.message}`, { tiers: added, error: err.message }));
  };
  tenants.on("change", onChange);

  // Tenants' plans, metered on the events' receive time (packages/core/src/plan-meter.ts).
  const overPlan = metrics.gauge("unmeltable_tenant_over_plan", "1 while a tenant is over its plan (its excess events are indexed on the lower-priority path), else 0", ["tenant"]);
  const plans = new PlanMeter({
    planOf: (name) => tenants.byName(name)?.plan,
    onChange: (c) => {
      overPlan.set(c.over ? 1 : 0, { tenant: c.tenant });
      const plan = `${+(c.plan.bytesPerDay / 1e9).toPrecision(6)} GB/day, ${c.plan.eventsPerSecond} events/s`;
      // Bound to the tenant: a log shipper (UNMELTABLE_LOG_FORMAT=json) finds a tenant's plan changes by its field.
      logger.child({ tenant: c.tenant }).info(
        c.over
          ? `tenant ${c.tenant} is over its plan (${c.reason === "daily" ? "daily volume" : "sustained rate"}; plan ${plan}; ${Math.round(c.dayBytes / 1e6)} MB today): its excess events are accepted and indexed when the pipeline has spare capacity (docs/plans.md)`
          : `tenant ${c.tenant} is back within its plan${Number.isFinite(c.plan.eventsPerSecond) ? ` (${plan})` : " (plan removed)"}: its deferred events are indexed as the pipeline has spare capacity`,
      );
    },
  });
  const planTicks = setInterval(() => plans.tick(), 5_000);
  planTicks.unref();

  // The raw backlog of a tenant over its share while the process stage is behind (issue 16): raw
  // records passed on unparsed by the process runner below, so that the other tenants' records in the
  // same raw partition are not parsed after its whole backlog. Processed here, through the gate, one
  // small batch at a time and only into the deferred topic (a plan of nothing: every event is over it),
  // so the backlog is parsed and indexed as the regular path leaves room.
  const backlogTopic = `${prefix}${RAW_TOPIC}.backlog`;
  await queue.admin.ensureTopics([{ name: backlogTopic, partitions: options.partitions }]);
  // Every event of the backlog goes to the deferred path; the tenants' plans still meter them (these
  // events never reached the process stage's meter), so unmeltable_deferred_events_total counts the
  // ones over plan, as it would have.
  const backlogOverPlan = new Map<string, number>();
  class BacklogPlans extends PlanMeter {
    override admit(tenant: string, bytes: number, receivedAt: number): boolean {
      if (!plans.admit(tenant, bytes, receivedAt)) backlogOverPlan.set(tenant, (backlogOverPlan.get(tenant) ?? 0) + 1);
      return false;
    }
  }
  // The process stages parse on a thread of their own, off the collector's main thread (issue 16).
  const parseThread = new ParseThread({ logger });
  const backlogStage = createProcessStage({
    parse: parseThread.parse,
    tierOf: (name) => tenants.byName(name)?.tier ?? "default",
    spreadOf: (name) => tenants.byName(name)?.partitionSpread ?? 1,
    sampleRate: options.sampleRate,
    topicPrefix: prefix,
    derived: options.derived,
    plans: new BacklogPlans({ planOf: () => undefined }),
  });
  const backlogRunner = new StageRunner({
    name: "process-backlog",
    queue,
    producer,
    group: `${prefix}process-backlog`,
    topics: [backlogTopic],
    // Only the events over plan in unmeltable_deferred_events_total (plans' excess): the process runner
    // counted the records in unmeltable_stage_diverted_records_total when it passed them on.
    stage: gate.wrap(async (records) => {
      backlogOverPlan.clear();
      const result = await backlogStage(records);
      return { ...result, deferred: backlogOverPlan.size > 0 ? Object.fromEntries(backlogOverPlan) : undefined };
    }),
    batchSize: 4,
    batchWindowMs: 0,
    maxBatchBytes: 1024 * 1024,
    metrics,
    usage: options.usage,
    usageIngestFromStage: options.usageIngestFromStage,
    logger,
  });
  backlogRunner.start();
  runners.push(backlogRunner);

  const processRunner = new StageRunner({
    name: "process",
    queue,
    producer,
    group: `${prefix}process`,
    topics: [RAW_TOPIC],
    stage: createProcessStage({
      parse: parseThread.parse,
      tierOf: (name) => tenants.byName(name)?.tier ?? "default",
      spreadOf: (name) => tenants.byName(name)?.partitionSpread ?? 1,
      sampleRate: options.sampleRate,
      topicPrefix: prefix,
      derived: options.derived,
      plans,
    }),
    divert: { topic: backlogTopic, shares: options.ingestShares },
    batchSize: 100,
    batchWindowMs: 10,
    maxBatchBytes: 4 * 1024 * 1024,
    metrics,
    usage: options.usage,
    usageIngestFromStage: options.usageIngestFromStage,
    logger,
  });
  processRunner.start();
  runners.push(processRunner);

  const lag = metrics.gauge("unmeltable_consumer_lag", "Records a stage's consumer group has not read yet, per partition", ["group", "topic", "partition"]);
  const openSlices = metrics.gauge("unmeltable_index_open_slices", "Index slice files (SQLite connections) open now, writer and readers together");
  const openSlicesLimit = metrics.gauge("unmeltable_index_open_slices_limit", "Index slice files kept open at most (--index-open-slices)");
  const evictions = metrics.counter("unmeltable_index_slice_evictions_total", "Index slice connections closed to stay within --index-open-slices (a steady rise: raise it, or the open-files limit)").labels({});
  let evictionsSeen = 0;
  const refreshLag = async () => {
    const stats = index.openSliceStats();
    openSlices.set(stats.open);
    openSlicesLimit.set(stats.limit);
    if (stats.evictions > evictionsSeen) evictions.inc(stats.evictions - evictionsSeen);
    evictionsSeen = stats.evictions;
    const groups: [string, string][] = [
      [`${prefix}process`, RAW_TOPIC],
      [`${prefix}process-backlog`, backlogTopic],
      ...[...tiers].flatMap((t): [string, string][] => [
        [`${prefix}index.${t}`, `${prefix}${processedTopic(t)}`],
        [`${prefix}index-deferred.${t}`, `${prefix}${deferredTopic(t)}`],
      ]),
    ];
    for (const [group, topic] of groups) {
      try {
        const [ends, committed] = await Promise.all([queue.admin.offsets(topic), queue.admin.committed(group, topic)]);
        for (const { partition, start, end } of ends) lag.set(Math.max(0, end - (committed.get(partition) ?? start)), { group, topic, partition: String(partition) });
      } catch {
        // The queue is unreachable: the lag is unknown, keep the last value.
      }
    }
  };

  // The scheduled jobs of one machine (on AWS: EventBridge-scheduled Lambdas).
  const timers: NodeJS.Timeout[] = [];
  const lifecycle = async () => {
    try {
      const report = await runLifecycle({
        admin: index,
        tenants: tenants.list(),
        setSliceLength: (tenant, length) => void options.store.update(tenant, { slice: length }),
        targetBytes: options.sliceTargetBytes ?? 1024 ** 3,
      });
      for (const d of report.dropped) logger.info(`lifecycle: dropped ${d.tenant}/${d.slice} (past retention)`, { tenant: d.tenant, slice: d.slice });
      for (const r of report.resliced) logger.info(`lifecycle: ${r.tenant} now gets ${r.to} slices (${Math.round(r.bytesPerDay / 1e6)} MB/day)`, { tenant: r.tenant, slice: r.to });
      for (const f of report.failed) logger.warn(`lifecycle: failed for ${f.tenant} (the others were done): ${f.error}`, { tenant: f.tenant, error: f.error });
    } catch (err) {
      logger.warn(`lifecycle failed: ${(err as Error).message}`, { error: (err as Error).message });
    }
  };
  timers.push(setTimeout(() => void lifecycle(), 60_000), setInterval(() => void lifecycle(), 3_600_000));
  if (options.archive) {
    // The archive every hour at :15 (as on AWS), planner and worker in this process: from the checkpoints
    // in <data-dir>/archive to the end of the raw topic, and the manifests of the days written to.
    const store = new DirectoryStore(path.join(options.dataDir, "archive"));
    const runArchiveNow = () => {
      runArchive({ queue, store, invoke: inProcessWorker(queue, store, { logger }), concurrency: 2, logger }).then(
        (r) => {
          if (r.pieces.length > 0) logger.info(`archive: ${r.events} events in ${r.pieces.length} pieces, through ${new Date(r.through).toISOString()}`, { events: r.events, pieces: r.pieces.length });
          for (const f of r.failed) logger.warn(`archive: partition ${f.partition} from offset ${f.from} failed, the next run redoes it: ${f.error}`, { partition: f.partition, offset: f.from, error: f.error });
        },
        (err: Error) => logger.error(`archive run failed: ${err.message} (run: unmeltable archive --day ${previousDay()})`, { error: err.message }),
      );
    };
    const now = Date.now();
    const first = Math.floor(now / 3_600_000) * 3_600_000 + 15 * 60_000;
    const t = setTimeout(
      () => {
        runArchiveNow();
        const every = setInterval(runArchiveNow, 3_600_000);
        every.unref();
        timers.push(every);
      },
      (first > now ? first : first + 3_600_000) - now,
    );
    timers.push(t);
  }
  for (const t of timers) t.unref();

  const tail = new LiveTail({ indexed: index, tenants, metrics });
  return {
    index,
    // The search API's reads timed (unmeltable_query_seconds).
    routes: [...tail.routes(), apiRoute({ index: timedReads(index, metrics), tenants, usage: options.usage })],
    tail,
    refreshLag,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      tenants.off("change", onChange);
      clearInterval(planTicks);
      gate.close();
      await Promise.all(runners.map((r) => r.stop()));
      await parseThread.close();
      await index.close();
    },
  };
}
