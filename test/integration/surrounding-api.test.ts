import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleApi, type ApiResponse } from "@unmeltable/api";
import type { LogEvent, Tenant, TenantDirectory } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";

/**
 * GET /apiv2/events/surrounding (packages/api/src/surrounding.ts): the events just before and after one
 * event in its source, whatever search found it, across day slices. Over the embedded index as the server
 * runs it (writer and reader threads). The endpoint is three `IndexPort.search` reads (inclusive time
 * range, either order), which the index contract checks on both engines (OpenSearch from its recording).
 */
const MIDNIGHT = Date.UTC(2026, 0, 6);
const SECOND = 1000;

function tenant(name: string): Tenant {
  return { name, ingestToken: `in-${name}`, apiToken: `api-${name}`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
}
const acme = tenant("acme");
const other = tenant("other");
const tenants: TenantDirectory = {
  byApiToken: (t) => [acme, other].find((x) => x.apiToken === t),
  byIngestToken: (t) => [acme, other].find((x) => x.ingestToken === t),
  byName: (n) => [acme, other].find((x) => x.name === n),
  list: () => [acme, other],
};

interface Surrounding {
  at: number;
  within: number;
  before: { id: string; timestamp: number; logmsg: string }[];
  same: { id: string; timestamp: number; logmsg: string }[];
  after: { id: string; timestamp: number; logmsg: string }[];
}

describe("surrounding events", () => {
  let dir: string;
  let index: EmbeddedIndex;
  // web-01 logs every 10 s from 23:58:00 to 00:02:00 (two day slices); web-02 every 10 s, 5 s apart from it.
  const web1: LogEvent[] = [];
  const web2: LogEvent[] = [];
  let anchor: LogEvent;
  const sameMs: LogEvent[] = [];

  const get = async (p: string, t: Tenant = acme): Promise<ApiResponse> => {
    const url = new URL(p, "http://localhost:8080");
    return handleApi({ method: "GET", path: url.pathname, query: url.searchParams, headers: { authorization: `bearer ${t.apiToken}` }, origin: "http://localhost:8080" }, { index, tenants, now: () => MIDNIGHT + 3_600_000 });
  };
  const around = async (params: Record<string, string | number>) => {
    const r = await get(`/apiv2/events/surrounding?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`);
    expect(r.status).toBe(200);
    return r.body as Surrounding;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-surrounding-"));
    index = new EmbeddedIndex({ dir, writer: "thread", defaultSlice: "day" });
    for (let t = MIDNIGHT - 120 * SECOND, i = 0; t <= MIDNIGHT + 120 * SECOND; t += 10 * SECOND, i++) {
      web1.push(makeEvent("acme", t, { host: "web-01", logmsg: `web1 line ${i}` }));
      web2.push(makeEvent("acme", t + 5 * SECOND, { host: "web-02", logmsg: `web2 line ${i}` }));
    }
    // The event found by some search: web-01's at 00:00:00, with two more web-01 events in the same millisecond.
    anchor = web1.find((e) => e.timestamp === MIDNIGHT)!;
    sameMs.push(makeEvent("acme", MIDNIGHT, { host: "web-01", logmsg: "same ms a" }), makeEvent("acme", MIDNIGHT, { host: "web-01", logmsg: "same ms b" }));
    // Far away from it: outside the default day either side.
    const far = makeEvent("acme", MIDNIGHT - 2 * 86_400_000, { host: "web-01", logmsg: "two days before" });
    const others = [makeEvent("other", MIDNIGHT - SECOND, { host: "web-01", logmsg: "another tenant's" })];
    const results = [...(await index.write("acme", [...web1, ...web2, ...sameMs, far].map((e) => JSON.stringify(e)))), ...(await index.write("other", others.map((e) => JSON.stringify(e))))];
    expect(results.every((r) => r.status === "created")).toBe(true);
  });

  afterAll(async () => {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists the source's events just before (newest first) and just after (oldest first), across day slices, and the same millisecond apart", async () => {
    const s = await around({ at: anchor.timestamp, id: anchor.id, q: 'syslog.host:"web-01"', size: 5 });
    expect(s.before.map((e) => e.logmsg)).toEqual(["web1 line 11", "web1 line 10", "web1 line 9", "web1 line 8", "web1 line 7"]);
    expect(s.before.every((e) => e.timestamp < MIDNIGHT)).toBe(true);
    expect(s.after.map((e) => e.logmsg)).toEqual(["web1 line 13", "web1 line 14", "web1 line 15", "web1 line 16", "web1 line 17"]);
    expect(s.same.map((e) => e.logmsg).sort()).toEqual(["same ms a", "same ms b"]);
    expect(s.same.some((e) => e.id === anchor.id)).toBe(false);
  });

  it("takes every source when no q is given, and only the caller's tenant", async () => {
    const s = await around({ at: anchor.timestamp, id: anchor.id, size: 2 });
    expect(s.before.map((e) => e.logmsg)).toEqual(["web2 line 11", "web1 line 11"]);
    expect(s.after.map((e) => e.logmsg)).toEqual(["web2 line 12", "web1 line 13"]);
    expect(JSON.stringify(s)).not.toContain("another tenant's");
  });

  it("looks only within `within` of the event (a day by default), and bounds size", async () => {
    const all = await around({ at: anchor.timestamp, id: anchor.id, q: 'syslog.host:"web-01"', size: 100_000 });
    expect(all.before).toHaveLength(12);
    expect(all.before.map((e) => e.logmsg)).not.toContain("two days before");
    const wide = await around({ at: anchor.timestamp, id: anchor.id, q: 'syslog.host:"web-01"', size: 100, within: 3 * 86_400_000 });
    expect(wide.before.at(-1)?.logmsg).toBe("two days before");
    expect(wide.within).toBe(3 * 86_400_000);
    const near = await around({ at: anchor.timestamp, id: anchor.id, q: 'syslog.host:"web-01"', within: 25 * SECOND });
    expect(near.before.map((e) => e.logmsg)).toEqual(["web1 line 11", "web1 line 10"]);
    const capped = await around({ at: anchor.timestamp, q: "*", within: 1e15 });
    expect(capped.within).toBe(7 * 86_400_000);
  });

  it("answers 400 to a missing or absurd parameter, and 401 without a token", async () => {
    for (const p of ["", "at=soon", "at=-5", "at=1e30", `at=${MIDNIGHT}&size=0`, `at=${MIDNIGHT}&size=2.5`, `at=${MIDNIGHT}&within=-1`, `at=${MIDNIGHT}&q=${encodeURIComponent("a AND (")}`, `at=${MIDNIGHT}&id=${"x".repeat(200)}`]) {
      const r = await get(`/apiv2/events/surrounding?${p}`);
      expect(r.status, p).toBe(400);
      expect((r.body as { code?: string }).code, p).toMatch(/^UNM_/);
    }
    const url = new URL(`http://localhost/apiv2/events/surrounding?at=${MIDNIGHT}`);
    const anonymous = await handleApi({ method: "GET", path: url.pathname, query: url.searchParams, headers: {}, origin: "http://localhost" }, { index, tenants });
    expect(anonymous.status).toBe(401);
  });
});
