import path from "node:path";
import { createIndexStage, createProcessStage, processedTopic, RAW_TOPIC, type Metrics, type Queue, type QueueProducer, type Tenant } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { StageRunner } from "@unmeltable/runner";
import { apiHandler, tailHandler } from "./api-http";
import type { Route } from "./http-server";
import type { LiveTenantDirectory } from "./tenant-store";

export interface StagesPart {
  index: EmbeddedIndex;
  routes: Route[];
  /** Updates the consumer-lag gauges (called before /metrics is served). */
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
  log: (line: string) => void;
  /** Staging: index only this fraction of events (by a hash of the id), with its own consumer groups. */
  sampleRate?: number;
  groupPrefix?: string;
}): Promise<StagesPart> {
  const { queue, producer, tenants, metrics } = options;
  const prefix = options.groupPrefix ?? "";
  const index = new EmbeddedIndex({ dir: path.join(options.dataDir, "index"), slices: Object.fromEntries(tenants.list().map((t) => [t.name, t.slice])) });
  const runners: StageRunner[] = [];
  const tiers = new Set<string>();
  const startIndexRunner = (tier: string) => {
    tiers.add(tier);
    const runner = new StageRunner({
      name: `index.${tier}`,
      queue,
      producer,
      group: `${prefix}index.${tier}`,
      topics: [processedTopic(tier)],
      stage: createIndexStage({ index, stageName: "index" }),
      // Big transactions index fastest (FTS5 flushes per transaction); the window bounds the latency.
      batchSize: 500,
      batchWindowMs: 100,
      maxBatchBytes: 16 * 1024 * 1024,
      metrics,
      log: options.log,
    });
    runner.start();
    runners.push(runner);
  };
  for (const tier of new Set(["default", ...tenants.list().map((t) => t.tier)])) startIndexRunner(tier);
  const onChange = (list: Tenant[]) => {
    for (const t of list) index.setSliceLength(t.name, t.slice);
    const added = [...new Set(list.map((t) => t.tier))].filter((tier) => !tiers.has(tier));
    if (added.length === 0) return;
    void queue.admin
      .ensureTopics(added.map((tier) => ({ name: processedTopic(tier), partitions: options.partitions })))
      .then(() => added.forEach(startIndexRunner))
      .catch((err: Error) => options.log(`could not set up tiers ${added.join(", ")}: ${err.message}`));
  };
  tenants.on("change", onChange);

  const processRunner = new StageRunner({
    name: "process",
    queue,
    producer,
    group: `${prefix}process`,
    topics: [RAW_TOPIC],
    stage: createProcessStage({ tierOf: (name) => tenants.byName(name)?.tier ?? "default", sampleRate: options.sampleRate }),
    batchSize: 100,
    batchWindowMs: 10,
    maxBatchBytes: 4 * 1024 * 1024,
    metrics,
    log: options.log,
  });
  processRunner.start();
  runners.push(processRunner);

  const lag = metrics.gauge("unmeltable_consumer_lag", "Records a stage's consumer group has not read yet, per partition", ["group", "topic", "partition"]);
  const refreshLag = async () => {
    const groups: [string, string][] = [[`${prefix}process`, RAW_TOPIC], ...[...tiers].map((t): [string, string] => [`${prefix}index.${t}`, processedTopic(t)])];
    for (const [group, topic] of groups) {
      try {
        const [ends, committed] = await Promise.all([queue.admin.offsets(topic), queue.admin.committed(group, topic)]);
        for (const { partition, start, end } of ends) lag.set(Math.max(0, end - (committed.get(partition) ?? start)), { group, topic, partition: String(partition) });
      } catch {
        // The queue is unreachable: the lag is unknown, keep the last value.
      }
    }
  };

  return {
    index,
    routes: [
      { methods: ["GET"], path: /^\/apiv2\/tail\/?(?:\?.*)?$/, handler: tailHandler({ indexed: index, tenants }) },
      { methods: ["GET", "HEAD"], path: /^\/apiv2\//, handler: apiHandler({ index, tenants }) },
    ],
    refreshLag,
    stop: async () => {
      tenants.off("change", onChange);
      await Promise.all(runners.map((r) => r.stop()));
      await index.close();
    },
  };
}
