import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLogger, type IndexPort, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { apiRoute } from "../../packages/runtime/src/api-http";
import { startHttpServers, type HttpServers } from "../../packages/runtime/src/http-server";
import { makeEvent } from "../contract/index.contract";

/**
 * Loggly's two-step search counts a result set once: /apiv2/search counts it, the rsid carries the total,
 * and every /apiv2/events page of it says the same `total_events` without counting again (on OpenSearch
 * each count is a `_count` over every shard). Over real HTTP, on two servers that share nothing but the
 * index (as Lambda instances do), with the real embedded index behind a wrapper that counts its counts.
 */
const MINUTE = 60_000;

function tenant(name: string): Tenant {
  return { name, ingestToken: `in-${name}`, apiToken: `api-${name}`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
}

const acme = tenant("acme");
const other = tenant("other");
const all = [acme, other];
const tenants: TenantDirectory = {
  byApiToken: (t) => all.find((x) => x.apiToken === t),
  byIngestToken: (t) => all.find((x) => x.ingestToken === t),
  byName: (n) => all.find((x) => x.name === n),
  list: () => all,
};

/** The real index, with the number of `count` calls it was asked for. */
function countingIndex(inner: IndexPort): IndexPort & { counts: number } {
  const port = {
    counts: 0,
    write: (t: string, docs: string[]) => inner.write(t, docs),
    search: (q: Parameters<IndexPort["search"]>[0], p: Parameters<IndexPort["search"]>[1]) => inner.search(q, p),
    count: (q: Parameters<IndexPort["count"]>[0]) => {
      port.counts++;
      return inner.count(q);
    },
    facet: (q: Parameters<IndexPort["facet"]>[0], field: string, size: number) => inner.facet(q, field, size),
    histogram: (q: Parameters<IndexPort["histogram"]>[0], interval: number) => inner.histogram(q, interval),
    fields: (q: Parameters<IndexPort["fields"]>[0]) => inner.fields(q),
    close: () => inner.close(),
  };
  return port;
}

describe("/apiv2/events counts once per result set", () => {
  let dir: string;
  let embedded: EmbeddedIndex;
  let index: IndexPort & { counts: number };
  const servers: HttpServers[] = [];
  const logged = new MemoryLogger();
  const EVENTS = 23;
  const PAGE = 5;

  const api = async (server: HttpServers, p: string, t: Tenant = acme): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}${p}`, { headers: { Authorization: `bearer ${t.apiToken}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const rsidOf = async (server: HttpServers, p: string, t: Tenant = acme) => {
    const r = await api(server, p, t);
    expect(r.status).toBe(200);
    return (r.body.rsid as { id: string }).id;
  };
  const write = async (name: string, n: number, ago: number) => {
    const now = Date.now();
    const events = Array.from({ length: n }, (_, i) => makeEvent(name, now - ago - i * 1000, { logmsg: `${name} event ${i}` }));
    expect((await embedded.write(name, events.map((e) => JSON.stringify(e)))).every((r) => r.status === "created")).toBe(true);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-rsid-count-"));
    embedded = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "day" });
    index = countingIndex(embedded);
    // Two servers over one index and nothing else shared: a result set made on one is paged on the other.
    for (let i = 0; i < 2; i++) servers.push(await startHttpServers({ host: "127.0.0.1", port: 0, routes: [apiRoute({ index, tenants })], logger: logged }));
    await write("acme", EVENTS, 10 * MINUTE);
    await write("other", 3, 10 * MINUTE);
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    await embedded.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("counts when /apiv2/search makes the result set, then pages it on either server without counting again", async () => {
    const before = index.counts;
    const rsid = await rsidOf(servers[0]!, `/apiv2/search?q=*&from=-1h&until=now&size=${PAGE}`);
    expect(index.counts).toBe(before + 1);
    const ids: string[] = [];
    const pages = Math.ceil(EVENTS / PAGE);
    for (let page = 0; page < pages; page++) {
      const r = await api(servers[page % 2]!, `/apiv2/events?rsid=${rsid}&page=${page}`);
      expect(r.status).toBe(200);
      expect(r.body.total_events).toBe(EVENTS);
      expect(r.body.page).toBe(page);
      ids.push(...(r.body.events as { id: string }[]).map((e) => e.id));
    }
    expect(ids).toHaveLength(EVENTS);
    expect(new Set(ids).size).toBe(EVENTS);
    // Pages read again are not counted either.
    expect((await api(servers[1]!, `/apiv2/events?rsid=${rsid}`)).body.total_events).toBe(EVENTS);
    expect(index.counts).toBe(before + 1);
    expect(logged.lines).toEqual([]);
  });

  it("keeps a result set's total while events arrive in its range; a new search counts again and sees them", async () => {
    const rsid = await rsidOf(servers[0]!, `/apiv2/search?q=*&from=-1h&until=now&size=${PAGE}`);
    const counted = index.counts;
    const known = (await api(servers[1]!, `/apiv2/events?rsid=${rsid}`)).body.total_events as number;
    await write("acme", 4, 20 * MINUTE);
    for (let page = 0; page < 3; page++) expect((await api(servers[page % 2]!, `/apiv2/events?rsid=${rsid}&page=${page}`)).body.total_events).toBe(known);
    expect(index.counts).toBe(counted);

    const fresh = await rsidOf(servers[1]!, `/apiv2/search?q=*&from=-1h&until=now&size=${PAGE}`);
    expect(index.counts).toBe(counted + 1);
    const now = (await api(servers[0]!, `/apiv2/events?rsid=${fresh}&page=1`)).body;
    expect(now.total_events).toBe(known + 4);
    expect(index.counts).toBe(counted + 1);
  });

  it("counts a different search on its own, and another tenant's token on an rsid counts its own events", async () => {
    const before = index.counts;
    const narrow = await rsidOf(servers[0]!, `/apiv2/search?q=${encodeURIComponent('"event 1"')}&from=-1h&size=${PAGE}`);
    expect(index.counts).toBe(before + 1);
    const page = (await api(servers[0]!, `/apiv2/events?rsid=${narrow}`)).body;
    expect(page.total_events).toBe((page.events as unknown[]).length);
    expect(index.counts).toBe(before + 1);

    // acme's result set read with other's token: other's events and other's total, never acme's count.
    const wide = await rsidOf(servers[0]!, `/apiv2/search?q=*&from=-1h&size=${PAGE}`);
    const counted = index.counts;
    const theirs = (await api(servers[1]!, `/apiv2/events?rsid=${wide}`, other)).body;
    expect(theirs.total_events).toBe(3);
    expect((theirs.events as { logmsg: string }[]).map((e) => e.logmsg.split(" ")[0])).toEqual(["other", "other", "other"]);
    expect(index.counts).toBe(counted + 1);
  });

  it("still counts each page of an rsid made before rsids carried a total, and refuses a tampered total", async () => {
    const token = (state: object) => Buffer.from(JSON.stringify(state)).toString("base64url");
    const now = Date.now();
    const legacy = token({ q: "*", from: now - 3_600_000, until: now, order: "desc", size: PAGE });
    const before = index.counts;
    const first = (await api(servers[0]!, `/apiv2/events?rsid=${legacy}`)).body;
    const second = (await api(servers[1]!, `/apiv2/events?rsid=${legacy}&page=1`)).body;
    expect(first.total_events).toBe(second.total_events);
    expect(first.total_events).toBeGreaterThanOrEqual(EVENTS);
    expect(index.counts).toBe(before + 2);

    const made = JSON.parse(Buffer.from(await rsidOf(servers[0]!, `/apiv2/search?q=*&from=-1h&size=${PAGE}`), "base64url").toString("utf8")) as Record<string, unknown>;
    for (const total of [-1, 1.5, "12", 1e300]) {
      const r = await api(servers[0]!, `/apiv2/events?rsid=${token({ ...made, total })}`);
      expect(r.status, String(total)).toBe(400);
      expect(r.body.message).toMatch(/invalid rsid/);
    }
    expect((await api(servers[0]!, `/apiv2/events?rsid=${token({ ...made, owner: undefined })}`)).status).toBe(400);
  });
});
