/// <reference path="./.sst/platform/config.d.ts" />
/**
 * The AWS deployment: `sst deploy --stage prod`, `sst dev --stage <you>`. This file only wires the
 * stacks in `stacks/` (one concern per file); the tunables are the tables in `stacks/config.ts`.
 * See docs/deploy.md. No top-level imports: SST refuses them; stacks are imported inside run().
 */
export default $config({
  app(input) {
    return {
      name: "unmeltable",
      home: "aws",
      removal: input?.stage === "prod" ? "retain" : "remove",
      protect: input?.stage === "prod",
      // The home region of every stage in stacks/config.ts (a test keeps them equal).
      providers: { aws: { region: "eu-west-1", version: "7.20.0" } },
    };
  },
  async run() {
    const { pascal, resolveStage, tiersFor } = await import("./stacks/config");
    const cfg = resolveStage($app.stage);
    if ($dev && cfg.kind !== "personal") {
      // `sst dev` replaces every function with a stub that needs your laptop: never on a shared stage.
      throw new Error(`sst dev is for personal stages; "${$app.stage}" is ${cfg.kind}. Use sst deploy, or sst dev --stage <your name>.`);
    }
    const app = $app.name;

    const { createNetwork } = await import("./stacks/network");
    const { createConfigStore } = await import("./stacks/storage");
    const { createArchiveBucket, createArchiveJobs } = await import("./stacks/archive");
    const { createQueue, createTopicSetup } = await import("./stacks/queue");
    const { createIndexDomains, createIndexAccess } = await import("./stacks/index");
    const { createStageFunctions, createMappings } = await import("./stacks/pipeline");
    const { createAlerts } = await import("./stacks/alerts");
    const { createApi } = await import("./stacks/api");
    const { createWeb } = await import("./stacks/web");
    const { createCollectors } = await import("./stacks/collectors");
    const { createMonitoring } = await import("./stacks/monitoring");

    const net = createNetwork(cfg);
    const config = createConfigStore(cfg);
    const archive = createArchiveBucket(cfg);
    const queue = createQueue(app, cfg, net);
    const index = createIndexDomains(app, cfg, net);

    const ctx = {
      cfg,
      vpc: net.vpc,
      clusterArn: queue.clusterArn,
      bootstrapBrokers: queue.bootstrapBrokers,
      tenantsUrl: config.tenantsUrl,
      tenantsObjectArn: config.tenantsObjectArn,
      openSearchEndpoints: index.endpoints,
      archiveBucket: archive.name,
      openSearchClientSecurityGroup: net.openSearchClientSecurityGroup.id,
      dev: $dev,
    };
    const topics = createTopicSetup(ctx, queue);
    const stages = createStageFunctions(app, ctx, queue, index, config);
    const jobs = createArchiveJobs(app, ctx, archive, index);
    const api = createApi(ctx, index, config);
    const web = createWeb(cfg, api.api.url);
    const alerts = createAlerts(ctx, config, index, web.url);
    const access = createIndexAccess(ctx, index, {
      writers: [...Object.values(stages.index), ...Object.values(stages.deferred)].map((f) => f.nodes.role.arn),
      lifecycle: [jobs.lifecycleFn.nodes.role.arn],
      readers: [api.fn, alerts.fn].map((f) => f.nodes.role.arn),
    });
    const mappings = createMappings(app, cfg, queue, stages, { topics: [topics.invocation], indexAccess: [access.invocation] });
    const collectors = createCollectors({ app, cfg, net, clusterArn: queue.clusterArn, tenantsUrl: config.tenantsUrl, tenantsObjectArn: config.tenantsObjectArn });
    const monitoring = createMonitoring({
      app,
      cfg,
      functions: [
        { id: "Process", fn: stages.process, role: "mapped" },
        ...Object.entries(stages.index).map(([tier, fn]) => ({ id: `Index${pascal(tier)}Writer`, fn, role: "mapped" as const, tier })),
        ...Object.entries(stages.deferred).map(([tier, fn]) => ({ id: `Index${pascal(tier)}Deferred`, fn, role: "mapped" as const, tier, deferred: true })),
        { id: "Search", fn: api.fn, role: "api" },
        { id: "Alerts", fn: alerts.fn, role: "scheduled" },
        { id: "Archive", fn: jobs.archiveFn, role: "scheduled" },
        { id: "ArchiveWorker", fn: jobs.workerFn, role: "scheduled" },
        { id: "Lifecycle", fn: jobs.lifecycleFn, role: "scheduled" },
        { id: "Topics", fn: topics.fn, role: "deploy" },
        { id: "IndexAccess", fn: access.fn, role: "deploy" },
      ],
      lifecycle: jobs.lifecycleFn,
      archive: jobs.archiveFn,
      collectors: collectors.collectors,
    });

    return {
      api: api.api.url,
      web: web.url,
      tenants: config.tenantsUrl,
      kafka: queue.clusterArn,
      opensearch: index.endpoints,
      tiers: tiersFor(cfg).map((t) => t.name).join(","),
      mappingsEnabled: String(cfg.esmEnabled),
      mappings: String(Object.keys(mappings.index).length + Object.keys(mappings.deferred).length + 1),
      collectors: cfg.domain ? cfg.domain.collectors : "(no DNS on this stage)",
      alarms: monitoring ? String(monitoring.alarms.length) : "0",
      collectorIps: $util.all(collectors.collectors.map((c) => c.eip.publicIp)).apply((ips) => ips.join(",")),
    };
  },
});
