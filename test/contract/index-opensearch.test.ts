import { describe, expect, it, vi } from "vitest";
import { OpenSearchIndex, type TenantLayout, type TextAnalysis } from "@unmeltable/index-opensearch";
import { liveMode, loadRecording, recordingFile, seededIds } from "../opensearch/live-mode";
import { RecordedServer } from "../opensearch/recorded-server";
import { indexContract } from "./index.contract";

/**
 * The index contract (and with it the query corpus) against a real OpenSearch cluster:
 *
 *   OPENSEARCH_URL=https://admin:password@localhost:9200 OPENSEARCH_INSECURE=1 npm run test:opensearch
 *
 * Skipped without OPENSEARCH_URL. Record and replay: see test/opensearch/README.md.
 */
// Record and replay need the same tenant names and event ids on both runs (live-mode.ts).
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  const { seededIds: ids } = await import("../opensearch/live-mode");
  const seeded = ids();
  return seeded ? { ...real, randomUUID: () => seeded.uuid() } : real;
});
vi.mock("@unmeltable/core", async (importOriginal) => {
  const real = await importOriginal<typeof import("@unmeltable/core")>();
  const { seededIds: ids } = await import("../opensearch/live-mode");
  const seeded = ids();
  return seeded ? { ...real, newEventId: (now: number = Date.now()) => seeded.eventId(now) } : real;
});

const mode = liveMode();
const env = process.env;

describe.skipIf(mode !== "missing-url")("index contract: OpenSearch", () => {
  it("needs OPENSEARCH_URL (e.g. https://admin:password@localhost:9200) or OPENSEARCH_REPLAY=1", () => {
    expect.fail("OPENSEARCH_LIVE=1 asks for a live cluster, but OPENSEARCH_URL is not set");
  });
});

describe.skipIf(mode === "skip" || mode === "missing-url")(`OpenSearch (${mode === "skip" ? "skipped: set OPENSEARCH_URL to run the contract against a cluster" : mode})`, () => {
  indexContract(`OpenSearch, ${mode}`, async () => {
    const insecure = env.OPENSEARCH_INSECURE === "1";
    let server: RecordedServer | undefined;
    let node = env.OPENSEARCH_URL ?? "";
    if (mode === "record") server = await RecordedServer.forward(node, insecure);
    if (mode === "replay") server = await RecordedServer.replay(loadRecording().exchanges);
    if (server) node = server.url;
    const index = new OpenSearchIndex({
      node,
      insecure,
      region: mode === "live" ? env.OPENSEARCH_REGION : undefined,
      // Names of their own, so that a shared cluster's templates and indices are left alone.
      prefix: "unmeltable-test",
      tier: "contract",
      replicas: 0,
      analysis: (env.OPENSEARCH_ANALYSIS as TextAnalysis | undefined) ?? "asciifolding",
      retryBaseMs: 50,
    });
    return contractFixture(index, async () => {
      await index.client.transport.request({ method: "DELETE", path: "/_index_template/unmeltable-test-contract" });
      await index.client.transport.request({ method: "DELETE", path: "/_component_template/unmeltable-test-contract.event" });
      await index.close();
      if (mode === "record") {
        server!.save(recordingFile(), { comment: `The index contract run against ${new URL(env.OPENSEARCH_URL!).host} (${env.OPENSEARCH_ANALYSIS ?? "asciifolding"}), recorded by test/contract/index-opensearch.test.ts: replay with OPENSEARCH_REPLAY=1.`, seed: seededIds()!.seed });
      }
      await server?.close();
      expect(server?.problems ?? []).toEqual([]);
    });
  });
});

/**
 * The pooled and dedicated layouts (packages/index-opensearch/README.md, "The layout") on the live
 * cluster: the whole contract with every tenant pooled (routed writes and reads in `_pool-` indices made
 * by the pooled template, `_routing.required`), then with every tenant on dedicated hour slices. The
 * contract's events are from January 2026: a long retention keeps them readable. Not recorded (the
 * recording pins the run above).
 */
const LAYOUTS: Record<string, TenantLayout> = {
  pooled: { retentionDays: 3650 },
  dedicated: { retentionDays: 3650, placements: [{ from: 0, layout: "dedicated", slice: "hour", shards: 2 }] },
};
for (const [name, layout] of Object.entries(LAYOUTS)) {
  describe.skipIf(mode !== "live")(`OpenSearch, ${name} layout (${mode === "live" ? "live" : "skipped: set OPENSEARCH_URL without OPENSEARCH_RECORD"})`, () => {
    indexContract(`OpenSearch live, ${name} layout`, async () => {
      const index = new OpenSearchIndex({
        node: env.OPENSEARCH_URL ?? "",
        insecure: env.OPENSEARCH_INSECURE === "1",
        region: env.OPENSEARCH_REGION,
        prefix: "unmeltable-test",
        tier: `layout-${name}`,
        replicas: 0,
        poolShards: 3,
        analysis: (env.OPENSEARCH_ANALYSIS as TextAnalysis | undefined) ?? "asciifolding",
        retryBaseMs: 50,
        layoutOf: () => layout,
      });
      return contractFixture(index, async () => {
        // The pooled indices are shared: deleted by name once the tenants are gone.
        await index.deleteIndices((await index.catIndices()).map((r) => r.index));
        for (const path of [`/_index_template/unmeltable-test-layout-${name}.pool`, `/_index_template/unmeltable-test-layout-${name}`, `/_component_template/unmeltable-test-layout-${name}.event`]) {
          await index.client.transport.request({ method: "DELETE", path });
        }
        await index.close();
      });
    });
  });
}

/**
 * The contract's fixture over an OpenSearch index: the index as the contract uses it, whose close does
 * nothing (the contract closes the index before cleanup, which still needs it); cleanup deletes the
 * tenants it wrote, then runs `then` (the templates, the index's close, the recording).
 */
function contractFixture(index: OpenSearchIndex, then: () => Promise<void>) {
  const tenants = new Set<string>();
  return {
    index: {
      search: index.search.bind(index),
      count: index.count.bind(index),
      facet: index.facet.bind(index),
      histogram: index.histogram.bind(index),
      fields: index.fields.bind(index),
      write: (tenant: string, docs: string[]) => {
        tenants.add(tenant);
        return index.write(tenant, docs);
      },
      close: async () => undefined,
    },
    refresh: () => index.refresh(),
    cleanup: async () => {
      for (const t of tenants) await index.deleteTenant(t);
      await then();
    },
  };
}
