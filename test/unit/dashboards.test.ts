import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerDashboardsApi, SqliteRecordStore } from "../../packages/alerts/src/index";
import { validateDashboard, type DashboardSpec, type Tenant } from "../../packages/core/src/index";

const T0 = Date.UTC(2026, 11, 6, 12);
const charts = [
  { title: "Errors over time", type: "timeline", query: "json.level:error", field: "json.service", size: 3 },
  { title: "Errors", type: "count", query: "json.level:error" },
  { title: "By level", type: "pie", query: "", field: "json.level" },
];

describe("dashboard definitions", () => {
  it("takes a name, one range, a refresh and typed charts, with defaults", () => {
    expect(validateDashboard({ name: " Checkout ", charts }, undefined, T0)).toEqual({
      ok: true,
      spec: {
        name: "Checkout",
        from: "-24h",
        until: "now",
        refreshSeconds: 0,
        charts: [
          { title: "Errors over time", type: "timeline", query: "json.level:error", field: "json.service", size: 3 },
          { title: "Errors", type: "count", query: "json.level:error" },
          { title: "By level", type: "pie", query: "", field: "json.level", size: 5 },
        ],
      },
    });
  });

  it("takes a single value of a numeric field's aggregate (stat), and names what is wrong with one", () => {
    const ok = validateDashboard({ name: "x", charts: [{ title: "p95", type: "count", query: "", stat: "p95", field: "json.ms", size: 3 }] }, undefined, T0);
    expect(ok).toMatchObject({ ok: true, spec: { charts: [{ title: "p95", type: "count", query: "", stat: "p95", field: "json.ms" }] } });
    expect(ok.ok && ok.spec.charts[0]).not.toHaveProperty("size");
    const fields = (chart: Record<string, unknown>) => {
      const r = validateDashboard({ name: "x", charts: [{ title: "t", query: "", ...chart }] }, undefined, T0);
      return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
    };
    expect(fields({ type: "count", stat: "avg" })).toEqual(["charts[0].field: the avg of which field? give a numeric field (e.g. json.ms)"]);
    expect(fields({ type: "count", stat: "median", field: "json.ms" })).toEqual([expect.stringMatching(/^charts\[0\]\.stat: stat is one of count, min/)]);
    expect(fields({ type: "bar", stat: "avg", field: "json.ms" })).toEqual(["charts[0].stat: only a single-value (count) chart takes a stat"]);
    expect(fields({ type: "count", stat: "count" })).toEqual([]);
  });

  it("names each chart's problem by its place", () => {
    const r = validateDashboard(
      {
        name: "x",
        refreshSeconds: 5,
        charts: [{ title: "", type: "bar", query: "a AND (" }, { title: "c", type: "count", field: "json.level" }, { title: "t", type: "table", field: "a b", size: 99 }, "nope"],
      },
      undefined,
      T0,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toEqual(["refreshSeconds", "charts[0].title", "charts[0].query", "charts[0].field", "charts[1].field", "charts[2].field", "charts[2].size", "charts[3]"]);
    expect(validateDashboard({ name: "x", charts: Array(25).fill(charts[1]) }, undefined, T0)).toMatchObject({ ok: false, errors: [{ field: "charts", message: "a dashboard has at most 24 charts" }] });
    expect(validateDashboard({ name: "x", from: "soon" }, undefined, T0)).toMatchObject({ ok: false, errors: [{ field: "from" }] });
  });
});

describe("the dashboards API", () => {
  let dir: string;
  let store: SqliteRecordStore<DashboardSpec>;
  const acme: Tenant = { name: "acme", apiToken: "a", ingestToken: "i", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
  const other: Tenant = { ...acme, name: "other" };
  const call = (method: string, p: string, body?: unknown, t: Tenant = acme) =>
    answerDashboardsApi({ method, path: p, query: new URLSearchParams(), headers: {}, body: body === undefined ? undefined : JSON.stringify(body) }, t, { dashboards: store, now: () => T0, maxPerTenant: 2 });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-dashboards-"));
    store = new SqliteRecordStore<DashboardSpec>(dir, "dashboards");
  });
  afterAll(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps a tenant's dashboards: create, list, change one chart list for another, delete; others see none", async () => {
    const created = await call("POST", "/apiv2/dashboards", { name: "Checkout", refreshSeconds: 30, charts });
    expect(created.status).toBe(201);
    const d = (created.body as { dashboard: { id: string; charts: unknown[]; refreshSeconds: number } }).dashboard;
    expect(d).toMatchObject({ refreshSeconds: 30, charts: expect.arrayContaining([expect.objectContaining({ type: "pie", field: "json.level" })]) });
    expect(((await call("GET", "/apiv2/dashboards", undefined, other)).body as { dashboards: unknown[] }).dashboards).toEqual([]);
    expect((await call("GET", `/apiv2/dashboards/${d.id}`, undefined, other)).status).toBe(404);
    const changed = await call("PATCH", `/apiv2/dashboards/${d.id}`, { charts: [charts[1]] });
    expect((changed.body as { dashboard: { name: string; charts: unknown[] } }).dashboard).toMatchObject({ name: "Checkout", charts: [{ type: "count" }] });
    expect((await call("POST", "/apiv2/dashboards", { name: "checkout" })).status).toBe(409);
    const bad = await call("POST", "/apiv2/dashboards", { name: "x", charts: [{ title: "t", type: "gauge" }] });
    expect(bad.status).toBe(400);
    expect((bad.body as { errors: { field: string }[] }).errors[0]!.field).toBe("charts[0].type");
    expect((await call("POST", "/apiv2/dashboards", { name: "second" })).status).toBe(201);
    expect((await call("POST", "/apiv2/dashboards", { name: "third" })).status).toBe(409);
    expect((await call("DELETE", `/apiv2/dashboards/${d.id}`)).status).toBe(200);
    expect((await call("GET", `/apiv2/dashboards/${d.id}`)).status).toBe(404);
  });
});
