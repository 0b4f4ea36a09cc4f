import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleApi, type ApiResponse } from "@unmeltable/api";
import type { Tenant, TenantDirectory } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";

/**
 * The retrieval API (packages/api) over the embedded index as the server runs it (writer thread, reader
 * threads): answers bounded whatever the parameters, forged tokens refused with 400, Loggly's shapes.
 */
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const MINUTE = 60_000;
const ROUND_STEPS = [1000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000, 2_592_000_000, 7_776_000_000, 31_536_000_000];

function tenant(name: string): Tenant {
  return { name, ingestToken: `in-${name}`, apiToken: `api-${name}`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
}

const acme = tenant("acme");
const other = tenant("other");
const big = tenant("big");
const all = [acme, other, big];
const tenants: TenantDirectory = {
  byApiToken: (t) => all.find((x) => x.apiToken === t),
  byIngestToken: (t) => all.find((x) => x.ingestToken === t),
  byName: (n) => all.find((x) => x.name === n),
  list: () => all,
};

describe("retrieval API: bounded answers, honest errors, Loggly's shapes", () => {
  let dir: string;
  let index: EmbeddedIndex;
  const levels = ["ERROR", "ERROR", "ERROR", "error", "error", "Error", "info", "info", "warn"];

  const get = (p: string, t: Tenant = acme, idx: EmbeddedIndex = index): Promise<ApiResponse> => {
    const url = new URL(p, "http://localhost:8080");
    return handleApi({ method: "GET", path: url.pathname, query: url.searchParams, headers: { authorization: `bearer ${t.apiToken}` }, origin: "http://localhost:8080" }, { index: idx, tenants, now: () => NOW });
  };
  const body = (r: ApiResponse) => r.body as Record<string, unknown>;
  const token = (state: object) => Buffer.from(JSON.stringify(state)).toString("base64url");

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-api-"));
    index = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "day" });
    const events = levels.map((level, i) => makeEvent("acme", NOW - (i + 1) * MINUTE, { json: { level, n: i } }));
    // One event with more distinct field names than a fields answer lists.
    const wide = Object.fromEntries(Array.from({ length: 10_050 }, (_, i) => [`k${i}`, i]));
    events.push(makeEvent("acme", NOW - 30 * MINUTE, { json: wide, logmsg: "wide event" }));
    expect((await index.write("acme", events.map((e) => JSON.stringify(e)))).every((r) => r.status === "created")).toBe(true);
  });

  afterAll(async () => {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("caps histogram buckets whatever the range or interval, on a coarser round step, and clamps absurd times", async () => {
    const all = await get("/apiv2/events/histogram?from=0&until=8640000000000000");
    expect(all.status).toBe(200);
    const b = body(all) as { interval: number; from: number; until: number; buckets: { time: number; count: number }[] };
    expect(b.buckets.length).toBeLessThanOrEqual(10_000);
    expect(ROUND_STEPS).toContain(b.interval);
    // The until of year 275760 is clamped to the span an index holds (year 2255), and the answer says so.
    expect(b.until).toBe(9_000_000_000_000);
    expect(b.from).toBe(0);
    expect(b.buckets.reduce((n, x) => n + x.count, 0)).toBe(levels.length + 1);

    const fine = await get("/apiv2/events/histogram?from=-30d&interval=1s");
    expect(fine.status).toBe(200);
    const f = body(fine) as { interval: number; interval_requested: number; buckets: unknown[] };
    expect(f.buckets.length).toBeLessThanOrEqual(10_000);
    expect(f.interval_requested).toBe(1000);
    expect(ROUND_STEPS).toContain(f.interval);

    const search = body(await get("/apiv2/search?q=*&from=0&until=8640000000000000")) as { rsid: { date_to: number } };
    expect(search.rsid.date_to).toBe(9_000_000_000_000);
  });

  it("refuses a page past the first 10,000 events of a result set, and clamps size and facet_size", async () => {
    const { rsid } = body(await get("/apiv2/search?q=*&from=-1h&size=999999")) as { rsid: { id: string } };
    const far = await get(`/apiv2/events?rsid=${rsid.id}&page=1000000000`);
    expect(far.status).toBe(400);
    expect(String(body(far).message)).toMatch(/iterate/);
    const first = await get(`/apiv2/events?rsid=${rsid.id}&page=0`);
    expect(first.status).toBe(200);
    expect((body(first).events as unknown[]).length).toBe(levels.length + 1);
    const facet = await get("/apiv2/fields/json.level/?from=-1h&facet_size=1000000000");
    expect(facet.status).toBe(200);
    expect((body(facet)["json.level"] as unknown[]).length).toBeLessThanOrEqual(2000);
  });

  it("stops a page at 8 MiB of events: /events says truncated, /iterate continues after it with every event", async () => {
    const events = Array.from({ length: 30 }, (_, i) => makeEvent("big", NOW - (i + 1) * 1000, { logmsg: `big ${i} ${"y".repeat(600_000)}` }));
    await index.write("big", events.map((e) => JSON.stringify(e)));
    const { rsid } = body(await get("/apiv2/search?q=*&from=-1h&size=50", big)) as { rsid: { id: string } };
    const page = body(await get(`/apiv2/events?rsid=${rsid.id}`, big));
    const shown = (page.events as unknown[]).length;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(30);
    expect(page.total_events).toBe(30);
    expect(page.truncated).toBe(true);
    const seen: string[] = [];
    let p: string | undefined = "/apiv2/events/iterate?q=*&from=-1h&size=1000";
    while (p) {
      const b = body(await get(p, big)) as { events: { id: string }[]; next?: string };
      expect(b.events.length).toBeLessThan(30);
      seen.push(...b.events.map((e) => e.id));
      p = b.next ? new URL(b.next).pathname + new URL(b.next).search : undefined;
    }
    expect(seen).toEqual(events.map((e) => e.id));
  });

  it("answers 400 to a query too long or with too many clauses, and runs long NOT chains (FTS5's parser once overflowed)", async () => {
    const huge = await get(`/apiv2/events/count?q=${encodeURIComponent(Array.from({ length: 100_000 }, (_, i) => `w${i}`).join(" OR "))}`);
    expect(huge.status).toBe(400);
    const many = await get(`/apiv2/events/count?q=${encodeURIComponent(Array.from({ length: 1100 }, (_, i) => `w${i}`).join(" OR "))}`);
    expect(many.status).toBe(400);
    expect(String(body(many).message)).toMatch(/clauses/);
    const deep = await get(`/apiv2/events/count?q=${encodeURIComponent(`${"(".repeat(4000)}a${")".repeat(4000)}`)}`);
    expect(deep.status).toBe(400);
    const nots = await get(`/apiv2/events/count?from=-1h&q=${encodeURIComponent(`hello ${Array.from({ length: 300 }, (_, i) => `-w${i}`).join(" ")}`)}`);
    expect(nots.status).toBe(200);
    expect(body(nots).count).toBe(levels.length);
  });

  it("answers 400 to forged or tampered rsids, next tokens and cursors, and to malformed escapes in the path", async () => {
    const spec = { q: "*", from: NOW - 3_600_000, until: NOW, order: "desc", size: 2 };
    const forged = [
      `/apiv2/events/iterate?next=${token({ ...spec, cursor: "zzzzzzzzzzzzzzzzzzzz" })}`,
      `/apiv2/events/iterate?next=${token({ ...spec, cursor: "!!" })}`,
      `/apiv2/events/iterate?next=${token({ ...spec, cursor: 12345 })}`,
      `/apiv2/events/iterate?next=${token({ ...spec, cursor: { a: 1 } })}`,
      `/apiv2/events/iterate?next=${token({ ...spec, size: 10_000_000, cursor: "1" })}`,
      "/apiv2/events/iterate?next=bm9wZQ",
      "/apiv2/events/iterate?next=%%%",
      `/apiv2/events?rsid=${token({ ...spec, q: 5 })}`,
      "/apiv2/events?rsid=garbage!",
      "/apiv2/fields/%E0%A4%A/",
    ];
    for (const p of forged) {
      const r = await get(p);
      expect(r.status, p).toBe(400);
      expect(body(r).response, p).toBe("error");
    }
  });

  it("leaves `next` out of the iterator's last page, even when it is exactly full", async () => {
    const seen: string[] = [];
    let p: string | undefined = "/apiv2/events/iterate?q=json.level:*&from=-1h&size=3";
    let pages = 0;
    while (p) {
      const r = await get(p);
      expect(r.status).toBe(200);
      const b = body(r) as { events: { id: string }[]; next?: string };
      seen.push(...b.events.map((e) => e.id));
      pages++;
      if (seen.length < levels.length) expect(b.next).toMatch(/^http:\/\/localhost:8080\/apiv2\/events\/iterate\?next=/);
      else {
        expect(Object.keys(b)).toEqual(["events"]);
        expect(JSON.stringify(b)).not.toContain("next");
      }
      p = b.next ? new URL(b.next).pathname + new URL(b.next).search : undefined;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(levels.length);
  });

  it("counts facet terms as field queries find them, and reports the real number of distinct values", async () => {
    const facet = body(await get("/apiv2/fields/json.level/?from=-1h&facet_size=1"));
    expect(facet["json.level"]).toEqual([{ term: "ERROR", count: 6 }]);
    expect(facet.unique_field_count).toBe(3);
    expect(facet).not.toHaveProperty("unique_field_count_exact");
    const clicked = body(await get(`/apiv2/events/count?from=-1h&q=${encodeURIComponent('json.level:"ERROR"')}`));
    expect(clicked.count).toBe(6);
    const filtered = body(await get("/apiv2/fields/json.level/?q=json.level:*&from=-1h&facet_size=5"));
    expect(filtered["json.level"]).toEqual([
      { term: "ERROR", count: 6 },
      { term: "info", count: 2 },
      { term: "warn", count: 1 },
    ]);
  });

  it("lists at most 10,000 field names and says when there are more", async () => {
    const r = body(await get("/apiv2/fields/?from=-1h"));
    expect((r.fields as string[]).length).toBe(10_000);
    expect(r.truncated).toBe(true);
    const few = body(await get("/apiv2/fields/?from=-1h&q=json.level:warn"));
    expect(few.fields).toEqual(expect.arrayContaining(["json.level", "json.n", "syslog.host"]));
    expect(few).not.toHaveProperty("truncated");
  });

  it("answers 504 to a read over its time budget, and 503 when one account has too many reads waiting, without refusing another account", async () => {
    const slow = new EmbeddedIndex({ dir, writer: "thread", queryTimeoutMs: 1 });
    try {
      // A glob is checked against every event: far more than a millisecond of work.
      const r = await get("/apiv2/events/count?from=-30d&q=*zz*y*", acme, slow);
      expect(r.status).toBe(504);
      expect(String(body(r).message)).toMatch(/narrow the time range/);
    } finally {
      await slow.close();
    }
    const burst = await Promise.all([...Array.from({ length: 40 }, () => get("/apiv2/events/count?from=-30d&q=*zz*y*")), get("/apiv2/events/count?from=-1h", other)]);
    const statuses = burst.slice(0, 40).map((r) => r.status);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    for (const r of burst.filter((x) => x.status === 503)) expect(r.headers["Retry-After"]).toBe("1");
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(burst[40]!.status).toBe(200);
    expect(body(burst[40]!).count).toBe(0);
  });
});
