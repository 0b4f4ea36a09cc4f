import { describe, expect, vi } from "vitest";
import { OpenSearchIndex, type TenantLayout } from "@unmeltable/index-opensearch";
import { indexContract, type IndexHarness } from "../contract/index.contract";
import { SeededIds } from "./live-mode";
import { modelControls, startModelCluster } from "./model-cluster";
import { RecordedServer, type Exchange } from "./recorded-server";

/**
 * The index contract end to end over HTTP without a cluster: the adapter against the modelled cluster
 * (model-cluster.ts) through the recording proxy, then the same suite replayed from that recording —
 * which also checks that record and replay (README.md) reproduce a run request for request.
 */
const seeded = vi.hoisted(() => ({ ids: undefined as { uuid(): string; eventId(now: number): string } | undefined }));
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  return { ...real, randomUUID: () => (seeded.ids ? seeded.ids.uuid() : real.randomUUID()) };
});
vi.mock("@unmeltable/core", async (importOriginal) => {
  const real = await importOriginal<typeof import("@unmeltable/core")>();
  return { ...real, newEventId: (now: number = Date.now()) => (seeded.ids ? seeded.ids.eventId(now) : real.newEventId(now)) };
});

let recording: Exchange[] = [];

function harness(server: RecordedServer, after: () => Promise<void>): IndexHarness {
  const index = new OpenSearchIndex({ node: server.url, sliceOf: () => "hour", retryBaseMs: 1 });
  return {
    index,
    refresh: () => index.refresh(),
    cleanup: async () => {
      await after();
      await server.close();
      expect(server.problems).toEqual([]);
    },
  };
}

describe("OpenSearch adapter on the modelled cluster", () => {
  indexContract("OpenSearch (modelled cluster, recorded)", async () => {
    seeded.ids = new SeededIds("model-contract");
    const cluster = await startModelCluster();
    // As a real cluster: writes are searchable only after a refresh, which the contract asks for.
    modelControls(cluster).refreshVisibility = true;
    const proxy = await RecordedServer.forward(cluster.url);
    return harness(proxy, async () => {
      recording = proxy.exchanges;
      await cluster.close();
      expect(cluster.problems).toEqual([]);
    });
  });

  indexContract("OpenSearch (replay of that recording)", async () => {
    seeded.ids = new SeededIds("model-contract");
    expect(recording.length).toBeGreaterThan(100);
    return harness(await RecordedServer.replay(recording), async () => undefined);
  });
});

/**
 * The contract through the pooled and dedicated layouts (README.md, "The layout") on the modelled
 * cluster, whose templates, routing and shards follow OpenSearch's (model-cluster.ts): every tenant
 * pooled (3 primaries, routing partitions), then every tenant on dedicated hour slices of 2 primaries.
 * The contract's events are from January 2026: a long retention keeps them readable.
 */
const LAYOUTS: Record<string, TenantLayout> = {
  pooled: { retentionDays: 3650 },
  dedicated: { retentionDays: 3650, placements: [{ from: 0, layout: "dedicated", slice: "hour", shards: 2 }] },
};
describe("OpenSearch adapter layouts on the modelled cluster", () => {
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    indexContract(`OpenSearch (modelled cluster, ${name} layout)`, async () => {
      seeded.ids = undefined;
      const cluster = await startModelCluster();
      const index = new OpenSearchIndex({ node: cluster.url, retryBaseMs: 1, replicas: 0, poolShards: 3, layoutOf: () => layout });
      // The contract closes its index before the cleanup, which still reads the indices made.
      const port: OpenSearchIndex = Object.assign(Object.create(index) as OpenSearchIndex, { close: async () => undefined });
      return {
        index: port,
        refresh: () => index.refresh(),
        cleanup: async () => {
          const created = (await index.catIndices()).map((r) => r.index);
          await index.close();
          expect(created.length).toBeGreaterThan(0);
          expect(created.every((n) => (name === "pooled" ? n.includes("._pool-r3650.") : !n.includes("._pool-")))).toBe(true);
          await cluster.close();
          expect(cluster.problems).toEqual([]);
        },
      };
    });
  }
});
