import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleAlertsApi, ObjectAlertStore, SqliteAlertStore, startAlertScheduler, webhookSender, WebhookPolicy } from "../../packages/alerts/src/index";
import { DirectoryStore } from "@unmeltable/archive";
import {
  alertWindow,
  checkAlerts,
  conditionHolds,
  describeCondition,
  noLogger,
  searchLink,
  shouldNotify,
  validateAlertSpec,
  webhookPayload,
  type Alert,
  type AlertFiring,
  type AlertSpec,
  type AlertState,
  type AlertStore,
  type SearchQuery,
  type Tenant,
  type TenantDirectory,
  type Notifier,
  type WebhookPayload,
} from "../../packages/core/src/index";
import { parseHash } from "../../packages/web/src/route";

const MIN = 60_000;
const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);

const spec = (over: Partial<AlertSpec> = {}): AlertSpec => ({
  name: "checkout errors",
  query: "json.level:error AND tag:checkout",
  comparison: "above",
  threshold: 10,
  windowMinutes: 5,
  webhookUrl: "https://hooks.example.com/x",
  enabled: true,
  ...over,
});

const alert = (over: Partial<Alert> = {}): Alert => ({
  ...spec(),
  id: "a1",
  tenant: "acme",
  createdAt: T0 - MIN,
  updatedAt: T0 - MIN,
  state: { triggered: false },
  ...over,
});

describe("alert definitions", () => {
  it("accepts a complete definition and normalises it", () => {
    const r = validateAlertSpec({ name: "  errors ", query: "json.level:error", threshold: "3", windowMinutes: 15, webhookUrl: " https://h.example/x " });
    expect(r).toEqual({
      ok: true,
      spec: { name: "errors", query: "json.level:error", comparison: "above", threshold: 3, windowMinutes: 15, webhookUrl: "https://h.example/x", enabled: true, channel: "webhook", notifyResolved: true },
    });
  });

  it("names every problem, with the position of a query syntax error", () => {
    const r = validateAlertSpec({ name: "", query: "json.level:(error", comparison: "over", threshold: 1.5, windowMinutes: 0, webhookUrl: "ftp://x", enabled: "yes" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field).sort()).toEqual(["comparison", "enabled", "name", "query", "threshold", "webhookUrl", "windowMinutes"]);
    expect(r.errors.find((e) => e.field === "query")!.position).toBe(11);
    expect(validateAlertSpec("nope")).toMatchObject({ ok: false, errors: [{ field: "body" }] });
    expect(validateAlertSpec({ ...spec(), webhookUrl: "not a url" })).toMatchObject({ ok: false, errors: [{ field: "webhookUrl" }] });
  });

  it("refuses a count below 0, which can never happen", () => {
    expect(validateAlertSpec({ ...spec(), comparison: "below", threshold: 0 })).toMatchObject({ ok: false, errors: [{ field: "threshold" }] });
    expect(validateAlertSpec({ ...spec(), comparison: "below", threshold: 1 }).ok).toBe(true);
  });

  it("applies a partial update over the current definition", () => {
    const r = validateAlertSpec({ enabled: false, threshold: 0 }, spec());
    expect(r).toEqual({ ok: true, spec: { ...spec(), enabled: false, threshold: 0, channel: "webhook", notifyResolved: true } });
  });

  it("describes the condition in words", () => {
    expect(describeCondition(spec())).toBe("more than 10 events in 5 minutes");
    expect(describeCondition(spec({ comparison: "below", threshold: 1, windowMinutes: 1 }))).toBe("fewer than 1 event in 1 minute");
  });
});

describe("alert rules", () => {
  it("compares strictly: above means more than, below means fewer than", () => {
    expect(conditionHolds(spec({ threshold: 10 }), 10)).toBe(false);
    expect(conditionHolds(spec({ threshold: 10 }), 11)).toBe(true);
    expect(conditionHolds(spec({ comparison: "below", threshold: 1 }), 0)).toBe(true);
    expect(conditionHolds(spec({ comparison: "below", threshold: 1 }), 1)).toBe(false);
  });

  it("counts over the window ending now", () => {
    expect(alertWindow({ windowMinutes: 5 }, T0)).toEqual({ from: T0 - 5 * MIN, until: T0 });
  });

  it("notifies at most once per window while the condition holds", () => {
    const a = alert({ windowMinutes: 5 });
    expect(shouldNotify(a, false, T0)).toBe(false);
    expect(shouldNotify(a, true, T0)).toBe(true);
    const fired = alert({ windowMinutes: 5, state: { triggered: true, lastFiredAt: T0 } });
    expect(shouldNotify(fired, true, T0 + 4 * MIN)).toBe(false);
    expect(shouldNotify(fired, true, T0 + 5 * MIN)).toBe(true);
  });

  it("links to the UI's search over the window, in a form the UI reads back", () => {
    const link = searchLink("http://logs.example.com:8080/", 'json.level:error AND "db timeout"', T0 - 5 * MIN, T0);
    expect(link.startsWith("http://logs.example.com:8080/#/search?")).toBe(true);
    const route = parseHash(link.slice(link.indexOf("#")));
    expect(route).toEqual({ page: "search", q: 'json.level:error AND "db timeout"', from: new Date(T0 - 5 * MIN).toISOString(), until: new Date(T0).toISOString() });
  });

  it("builds the webhook payload: alert, query, count, threshold, window, link", () => {
    const p = webhookPayload({
      alertId: "a1",
      alertName: "n",
      tenant: "acme",
      firedAt: T0,
      query: "q",
      count: 12,
      comparison: "above",
      threshold: 10,
      windowMinutes: 5,
      from: T0 - 5 * MIN,
      until: T0,
      link: "L",
    });
    expect(p).toEqual({
      state: "triggered",
      alert: { id: "a1", name: "n" },
      tenant: "acme",
      query: "q",
      count: 12,
      threshold: { comparison: "above", value: 10 },
      window: { minutes: 5, from: new Date(T0 - 5 * MIN).toISOString(), until: new Date(T0).toISOString() },
      link: "L",
      firedAt: new Date(T0).toISOString(),
    });
  });
});

/** An in-memory store: the checker's side of the port. */
function memoryStore(alerts: Alert[]) {
  const firings: AlertFiring[] = [];
  const store: Pick<AlertStore, "enabled" | "saveState" | "addFiring"> = {
    enabled: async () => alerts.filter((a) => a.enabled).map((a) => ({ ...a, state: { ...a.state } })),
    saveState: async (ref, state: AlertState) => {
      const a = alerts.find((x) => x.id === ref.id && x.tenant === ref.tenant && x.updatedAt === ref.updatedAt);
      if (a) a.state = state;
    },
    addFiring: async (f) => void firings.push(f),
  };
  return { store, firings, alerts };
}

describe("checkAlerts", () => {
  const counts = new Map<string, number>();
  const seen: SearchQuery[] = [];
  const index = {
    count: async (q: SearchQuery) => {
      seen.push(q);
      const n = counts.get(q.tenant);
      if (n === undefined) throw new Error("index unavailable");
      return n;
    },
  };
  const sent: { url: string; payload: WebhookPayload }[] = [];
  const send = async (url: string, payload: WebhookPayload) => {
    sent.push({ url, payload });
    return url.includes("broken") ? { ok: false, error: "could not reach the webhook: ECONNREFUSED", attempts: 2 } : { ok: true, status: 200, attempts: 1 };
  };
  const linkFor = (q: string, from: number, until: number) => searchLink("http://ui", q, from, until);
  // The checker's notifier, as the webhook channel delivers: the alert's URL, the webhook payload.
  const notify: Notifier = (a, f) => send(a.webhookUrl, webhookPayload(f));

  it("fires when the count crosses the threshold, once per window, and records state and history", async () => {
    counts.set("acme", 12);
    sent.length = 0;
    const m = memoryStore([alert()]);
    const r1 = await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 });
    expect(r1).toEqual([{ alertId: "a1", tenant: "acme", count: 12, holds: true, fired: true, resolved: false }]);
    expect(seen.at(-1)).toMatchObject({ tenant: "acme", from: T0 - 5 * MIN, until: T0 });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe("https://hooks.example.com/x");
    expect(sent[0]!.payload).toMatchObject({ count: 12, query: alert().query, threshold: { value: 10, comparison: "above" }, window: { minutes: 5 } });
    expect(m.firings).toHaveLength(1);
    expect(m.firings[0]).toMatchObject({ alertId: "a1", count: 12, delivery: { ok: true, status: 200 }, link: sent[0]!.payload.link });
    expect(m.alerts[0]!.state).toEqual({ lastCheckedAt: T0, lastCount: 12, triggered: true, lastFiredAt: T0 });

    // A minute later: still above, but the same window's events are not reported twice.
    const r2 = await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 + MIN });
    expect(r2[0]).toMatchObject({ holds: true, fired: false });
    expect(sent).toHaveLength(1);
    // A window later, still above: reported again.
    const r3 = await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 + 5 * MIN });
    expect(r3[0]).toMatchObject({ fired: true });
    expect(m.firings).toHaveLength(2);
    // Back below: the state says so, nothing is sent.
    counts.set("acme", 3);
    const r4 = await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 + 6 * MIN });
    expect(r4[0]).toMatchObject({ holds: false, fired: false, count: 3 });
    expect(m.alerts[0]!.state.triggered).toBe(false);
  });

  it("fires a 'below' alert for a source that went quiet", async () => {
    counts.set("acme", 0);
    const m = memoryStore([alert({ comparison: "below", threshold: 1, windowMinutes: 15 })]);
    const [r] = await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 });
    expect(r).toMatchObject({ holds: true, fired: true, count: 0 });
  });

  it("records a failed webhook as a firing that was not delivered", async () => {
    counts.set("acme", 50);
    const m = memoryStore([alert({ webhookUrl: "http://broken.example/" })]);
    await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 });
    expect(m.firings[0]!.delivery).toEqual({ ok: false, error: "could not reach the webhook: ECONNREFUSED", attempts: 2 });
    expect(m.firings[0]).toMatchObject({ kind: "triggered", channel: "webhook" });
  });

  it("keeps checking the other alerts when one cannot be counted", async () => {
    counts.set("acme", 50);
    counts.delete("ghost");
    const m = memoryStore([alert({ id: "bad", tenant: "ghost" }), alert({ id: "good" }), alert({ id: "off", enabled: false })]);
    const results = await checkAlerts({ store: m.store, index, notify, linkFor, now: () => T0 });
    expect(results.map((r) => [r.alertId, r.fired, r.error])).toEqual([
      ["bad", false, "index unavailable"],
      ["good", true, undefined],
    ]);
    expect(m.alerts[0]!.state).toMatchObject({ lastCheckedAt: T0, lastError: "index unavailable" });
  });

  it("does not undo an edit made while it was checking", async () => {
    counts.set("acme", 50);
    const m = memoryStore([alert()]);
    const slowIndex = {
      count: async () => {
        // The user edits the alert meanwhile: a new updatedAt and a fresh state.
        m.alerts[0] = { ...m.alerts[0]!, threshold: 100, updatedAt: T0, state: { triggered: false } };
        return 50;
      },
    };
    await checkAlerts({ store: m.store, index: slowIndex, notify, linkFor, now: () => T0 });
    expect(m.alerts[0]!.state).toEqual({ triggered: false });
  });
});

// The same store tests for SQLite (one machine) and an object store (S3 on AWS; a directory here).
const STORES: [string, (dir: string) => SqliteAlertStore | ObjectAlertStore][] = [
  ["SqliteAlertStore", (d) => new SqliteAlertStore(d)],
  ["ObjectAlertStore", (d) => new ObjectAlertStore(new DirectoryStore(d))],
];

describe.each(STORES)("%s", (_name, makeStore) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-alerts-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps alerts per tenant across restarts, with their state and firings", async () => {
    const d = path.join(dir, "restart");
    let store = makeStore(d);
    const a = await store.create("acme", spec(), T0);
    await store.create("other", spec({ name: "theirs" }), T0);
    await store.saveState(a, { triggered: true, lastCheckedAt: T0 + 1, lastCount: 11, lastFiredAt: T0 + 1 });
    await store.addFiring({ ...firing(a, T0 + 1), delivery: { ok: false, status: 500, error: "the webhook answered 500", attempts: 2 } });
    store.close();

    store = makeStore(d);
    const list = await store.list("acme");
    expect(list).toHaveLength(1);
    expect(list[0]).toEqual({ ...spec(), id: a.id, tenant: "acme", createdAt: T0, updatedAt: T0, state: { triggered: true, lastCheckedAt: T0 + 1, lastCount: 11, lastFiredAt: T0 + 1 } });
    expect(await store.get("other", a.id)).toBeUndefined();
    expect((await store.enabled()).map((x) => x.tenant).sort()).toEqual(["acme", "other"]);
    const f = await store.firings("acme", { limit: 10 });
    expect(f).toHaveLength(1);
    expect(f[0]!.delivery).toEqual({ ok: false, status: 500, error: "the webhook answered 500", attempts: 2 });
    expect(await store.firings("other", { limit: 10 })).toEqual([]);
    store.close();
  });

  it("resets the state when the condition changes, not when only the name does", async () => {
    const store = makeStore(path.join(dir, "update"));
    const a = await store.create("acme", spec(), T0);
    await store.saveState(a, { triggered: true, lastCheckedAt: T0, lastCount: 20, lastFiredAt: T0 });
    const renamed = await store.update("acme", a.id, spec({ name: "renamed" }), T0 + 1);
    expect(renamed!.state).toMatchObject({ triggered: true, lastFiredAt: T0 });
    const changed = await store.update("acme", a.id, spec({ name: "renamed", threshold: 50 }), T0 + 2);
    expect(changed!.state).toEqual({ triggered: false });
    // A state computed from the old definition is dropped.
    await store.saveState(a, { triggered: true, lastFiredAt: T0 + 3 });
    expect((await store.get("acme", a.id))!.state).toEqual({ triggered: false });
    expect(await store.update("other", a.id, spec(), T0 + 4)).toBeUndefined();
    expect(await store.delete("other", a.id)).toBe(false);
    expect(await store.delete("acme", a.id)).toBe(true);
    expect(await store.list("acme")).toEqual([]);
    store.close();
  });

  it("keeps the newest firings of a tenant", async () => {
    const store = makeStore(path.join(dir, "prune"));
    const a = await store.create("acme", spec(), T0);
    for (let i = 0; i < 1005; i++) await store.addFiring({ ...firing(a, T0 + i), id: `f${i}` });
    const kept = await store.firings("acme", { limit: 2000 });
    expect(kept).toHaveLength(1000);
    expect(kept[0]!.id).toBe("f1004");
    expect(kept.at(-1)!.id).toBe("f5");
    store.close();
  });
});

function firing(a: Alert, at: number): AlertFiring {
  return {
    id: `f-${at}`,
    alertId: a.id,
    alertName: a.name,
    tenant: a.tenant,
    firedAt: at,
    query: a.query,
    count: 11,
    comparison: a.comparison,
    threshold: a.threshold,
    windowMinutes: a.windowMinutes,
    from: at - a.windowMinutes * MIN,
    until: at,
    link: "http://ui/#/search",
    delivery: { ok: true, status: 204, attempts: 1 },
  };
}

describe("the alerts API", () => {
  let dir: string;
  let store: SqliteAlertStore;
  const tenant = (name: string, apiToken: string): Tenant => ({ name, apiToken, ingestToken: `${name}-in`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 });
  const all = [tenant("acme", "tok-acme"), tenant("other", "tok-other")];
  const tenants: TenantDirectory = {
    byApiToken: (t) => all.find((x) => x.apiToken === t),
    byIngestToken: () => undefined,
    byName: (n) => all.find((x) => x.name === n),
    list: () => all,
  };
  const call = (method: string, p: string, body?: unknown, token = "tok-acme") => {
    const url = new URL(p, "http://x");
    return handleAlertsApi(
      { method, path: url.pathname, query: url.searchParams, headers: token ? { authorization: `Bearer ${token}` } : {}, body: body === undefined ? undefined : JSON.stringify(body) },
      { store, tenants, now: () => T0, maxAlertsPerTenant: 3 },
    );
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-alerts-api-"));
    store = new SqliteAlertStore(dir);
  });
  afterAll(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates, lists, updates and deletes a tenant's alerts", async () => {
    const created = await call("POST", "/apiv2/alerts", { name: "errors", query: "json.level:error", threshold: 0, windowMinutes: 5, webhookUrl: "http://1.1.1.1/x" });
    expect(created.status).toBe(201);
    const a = (created.body as { alert: { id: string; condition: string; enabled: boolean } }).alert;
    expect(a).toMatchObject({ condition: "more than 0 events in 5 minutes", enabled: true });
    expect(((await call("GET", "/apiv2/alerts")).body as { alerts: unknown[] }).alerts).toHaveLength(1);
    expect(((await call("GET", "/apiv2/alerts", undefined, "tok-other")).body as { alerts: unknown[] }).alerts).toHaveLength(0);
    expect((await call("GET", `/apiv2/alerts/${a.id}`, undefined, "tok-other")).status).toBe(404);

    const patched = await call("PATCH", `/apiv2/alerts/${a.id}/`, { enabled: false });
    expect(patched.status).toBe(200);
    expect((patched.body as { alert: { enabled: boolean; query: string } }).alert).toMatchObject({ enabled: false, query: "json.level:error" });
    expect((await call("GET", `/apiv2/alerts/${a.id}/firings`)).body).toEqual({ firings: [] });
    expect((await call("GET", "/apiv2/alerts/firings?limit=5")).body).toEqual({ firings: [] });
    expect((await call("DELETE", `/apiv2/alerts/${a.id}`, undefined, "tok-other")).status).toBe(404);
    expect((await call("DELETE", `/apiv2/alerts/${a.id}`)).status).toBe(200);
    expect((await call("GET", `/apiv2/alerts/${a.id}`)).status).toBe(404);
  });

  it("answers an invalid definition with the field errors and the query's error position", async () => {
    const r = await call("POST", "/apiv2/alerts", { name: "x", query: "a AND (b", threshold: 1, windowMinutes: 5, webhookUrl: "http://1.1.1.1" });
    expect(r.status).toBe(400);
    expect((r.body as { errors: unknown[] }).errors).toEqual([{ field: "query", message: expect.stringMatching(/query syntax error/), position: 6 }]);
    expect((await call("POST", "/apiv2/alerts", "{not json")).status).toBe(400);
    expect((await call("POST", "/apiv2/alerts")).status).toBe(400);
  });

  it("refuses missing or wrong tokens, unknown paths and methods, and too many alerts", async () => {
    expect((await call("GET", "/apiv2/alerts", undefined, "")).status).toBe(401);
    expect((await call("GET", "/apiv2/alerts", undefined, "nope")).status).toBe(401);
    expect((await call("GET", "/apiv2/alerts/x/y/z")).status).toBe(404);
    const put = await call("PUT", "/apiv2/alerts");
    expect(put.status).toBe(405);
    expect(put.headers.Allow).toBe("GET, POST");
    const ok = { name: "n", query: "*", threshold: 1, windowMinutes: 1, webhookUrl: "http://1.1.1.1" };
    for (let i = 0; i < 3; i++) expect((await call("POST", "/apiv2/alerts", ok, "tok-other")).status).toBe(201);
    expect((await call("POST", "/apiv2/alerts", ok, "tok-other")).status).toBe(409);
  });
});

describe("webhookSender and the scheduler", () => {
  let server: http.Server;
  let base: string;
  const hits: { path: string; body: unknown; type?: string }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        hits.push({ path: req.url!, body: JSON.parse(text || "null"), type: req.headers["content-type"] });
        res.statusCode = req.url === "/ok" ? 204 : req.url === "/gone" ? 404 : 500;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const payload = webhookPayload({ alertId: "a", alertName: "n", tenant: "t", firedAt: T0, query: "q", count: 1, comparison: "above", threshold: 0, windowMinutes: 1, from: T0 - MIN, until: T0, link: "L" });

  // The receiver is on this machine: the operator's allow-list lets webhooks reach it (and tell why they failed).
  const local = new WebhookPolicy({ allow: ["127.0.0.1"] });

  it("POSTs JSON, retries a server error with backoff, records each attempt, and never retries a client error", async () => {
    const webhook = webhookSender({ retryDelayMs: 10, policy: local, logger: noLogger });
    const send = (url: string, body: object) => webhook(url, body, { tenant: "t", alertId: "a" });
    expect(await send(`${base}/ok`, payload)).toEqual({ ok: true, status: 204, attempts: 1, tries: [{ at: expect.any(Number), ok: true, status: 204 }] });
    expect(hits.at(-1)).toEqual({ path: "/ok", body: payload, type: "application/json" });
    const failed = await send(`${base}/fail`, payload);
    expect(failed).toMatchObject({ ok: false, status: 500, error: "the webhook answered 500", attempts: 3 });
    expect(failed.tries!.map((t) => t.status)).toEqual([500, 500, 500]);
    // Waits grow: 10 ms, then 40 ms.
    expect(failed.tries![2]!.at - failed.tries![1]!.at).toBeGreaterThanOrEqual(40);
    expect(await send(`${base}/gone`, payload)).toMatchObject({ ok: false, status: 404, error: "the webhook answered 404", attempts: 1 });
    const refused = await send("http://127.0.0.1:1/", payload);
    expect(refused).toMatchObject({ ok: false, attempts: 3 });
    expect(refused.error).toMatch(/could not reach the webhook/);
  });

  it("runs rounds on demand without overlapping them", async () => {
    let rounds = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const scheduler = startAlertScheduler({
      store: {
        enabled: async () => {
          rounds++;
          await gate;
          return [];
        },
        saveState: async () => undefined,
        addFiring: async () => undefined,
      },
      index: { count: async () => 0 },
      notify: async () => ({ ok: true, attempts: 1 }),
      linkFor: () => "",
      intervalMs: 3_600_000,
    });
    const a = scheduler.runOnce();
    const b = scheduler.runOnce();
    release();
    await Promise.all([a, b]);
    expect(rounds).toBe(1);
    await scheduler.runOnce();
    expect(rounds).toBe(2);
    await scheduler.stop();
  });
});
