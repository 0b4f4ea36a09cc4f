import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleApi, type ApiResponse } from "@unmeltable/api";
import type { IndexPort, Tenant, TenantDirectory } from "@unmeltable/core";
import { OpenSearchIndex } from "@unmeltable/index-opensearch";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";
import { modelControls, startModelCluster } from "../opensearch/model-cluster";
import type { RecordedServer } from "../opensearch/recorded-server";

/**
 * The API's answers to the index's failures are the same whichever engine answers: the embedded index
 * (SQLite, one machine) and OpenSearch (the modelled cluster of test/opensearch, over HTTP) throw core's
 * coded errors, so a forged cursor is a 400 with the same code on both, never a 500.
 */
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const acme: Tenant = { name: "acme", apiToken: "api-acme", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
const tenants: TenantDirectory = {
  byApiToken: (t) => (t === acme.apiToken ? acme : undefined),
  byIngestToken: () => undefined,
  byName: (n) => (n === acme.name ? acme : undefined),
  list: () => [acme],
};

interface Engine {
  index: IndexPort;
  cluster?: RecordedServer;
  close(): Promise<void>;
}

const engines: Record<string, () => Promise<Engine>> = {
  sqlite: async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-api-errors-"));
    const index = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "day" });
    return { index, close: async () => (await index.close(), await rm(dir, { recursive: true, force: true })) };
  },
  opensearch: async () => {
    const cluster = await startModelCluster();
    const index = new OpenSearchIndex({ node: cluster.url, retryBaseMs: 1, replicas: 0 });
    return { index, cluster, close: async () => (await index.close(), await cluster.close()) };
  },
};

for (const [name, start] of Object.entries(engines)) {
  describe(`API error answers over ${name}`, () => {
    let engine: Engine;
    const get = (p: string): Promise<ApiResponse> => {
      const url = new URL(p, "http://localhost:8080");
      return handleApi({ method: "GET", path: url.pathname, query: url.searchParams, headers: { authorization: `bearer ${acme.apiToken}` }, origin: "http://localhost:8080" }, { index: engine.index, tenants, now: () => NOW });
    };
    const nextWith = (cursor: string) => Buffer.from(JSON.stringify({ q: "*", from: NOW - 3_600_000, until: NOW, order: "desc", size: 1, cursor })).toString("base64url");

    beforeAll(async () => {
      engine = await start();
      const events = [1, 2, 3].map((i) => makeEvent("acme", NOW - i * 60_000, { id: `e${i}` }));
      expect((await engine.index.write("acme", events.map((e) => JSON.stringify(e)))).map((r) => r.status)).toEqual(["created", "created", "created"]);
      await (engine.index as { refresh?: () => Promise<void> }).refresh?.();
    });

    afterAll(async () => {
      await engine?.close();
    });

    it("follows a next the API made, and answers one with a cursor the index did not make with a coded 400", async () => {
      const first = await get("/apiv2/events/iterate?q=*&from=-1h&until=now&size=1");
      expect(first.status).toBe(200);
      const next = new URL((first.body as { next: string }).next).searchParams.get("next")!;
      const second = await get(`/apiv2/events/iterate?next=${next}`);
      expect(second.status).toBe(200);
      expect((second.body as { events: { id: string }[] }).events.map((e) => e.id)).toEqual(["e2"]);
      for (const forged of ["bm9wZQ", "zzzzzzzzzzzzz", Buffer.from(JSON.stringify([NOW, ""])).toString("base64url"), "-1", "a b", "€"]) {
        const answer = await get(`/apiv2/events/iterate?next=${nextWith(forged)}`);
        expect(answer.status, forged).toBe(400);
        expect(answer.body, forged).toEqual({ response: "error", code: "UNM_INVALID_CURSOR", message: "invalid next: use the value the API returned" });
      }
    });

    it("answers a next or rsid that does not decode with the same code", async () => {
      for (const p of ["/apiv2/events/iterate?next=garbage", "/apiv2/events?rsid=garbage"]) {
        const answer = await get(p);
        expect(answer.status, p).toBe(400);
        expect((answer.body as { code: string }).code, p).toBe("UNM_INVALID_CURSOR");
      }
    });

    if (name === "opensearch") {
      it("answers a partial answer of the cluster 503 with Retry-After, and a timed-out search 504, each with its code", async () => {
        const controls = modelControls(engine.cluster!);
        controls.shardFailures = 1;
        const partial = await get("/apiv2/events/count?q=*&from=-1h");
        expect([partial.status, partial.headers["Retry-After"], (partial.body as { code: string }).code]).toEqual([503, "5", "UNM_INDEX_UNAVAILABLE"]);
        controls.timeouts = 1;
        const slow = await get("/apiv2/events/count?q=*&from=-1h");
        expect([slow.status, (slow.body as { code: string }).code]).toEqual([504, "UNM_QUERY_BUDGET"]);
        expect((await get("/apiv2/events/count?q=*&from=-1h")).body).toEqual({ count: 3 });
      });
    }
  });
}
