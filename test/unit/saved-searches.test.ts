import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleAlertsApi, handleSavedSearchesApi, ObjectAlertStore, ObjectRecordStore, SqliteAlertStore, SqliteRecordStore } from "../../packages/alerts/src/index";
import { DirectoryStore } from "@unmeltable/archive";
import { checkAlerts, validateSavedSearch, webhookPayload, type AlertStore, type RecordStore, type SavedSearchSpec, type SearchQuery, type Tenant, type TenantDirectory, type WebhookPayload } from "../../packages/core/src/index";

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const spec = (over: Partial<SavedSearchSpec> = {}): SavedSearchSpec => ({ name: "checkout errors", query: "json.level:error AND tag:checkout", from: "-1h", until: "now", ...over });

describe("saved search definitions", () => {
  it("defaults the range to the last hour and keeps relative times as typed", () => {
    expect(validateSavedSearch({ name: " errors ", query: "json.level:error" }, undefined, T0)).toEqual({
      ok: true,
      spec: { name: "errors", query: "json.level:error", from: "-1h", until: "now" },
    });
    expect(validateSavedSearch({ name: "all", from: 1710072000000, until: " now " }, undefined, T0)).toEqual({
      ok: true,
      spec: { name: "all", query: "", from: "1710072000000", until: "now" },
    });
    expect(validateSavedSearch({ name: "recent", from: " -15m " }, undefined, T0)).toMatchObject({ ok: true, spec: { from: "-15m", until: "now" } });
  });

  it("names every problem: a missing name, a query's syntax error with its position, a bad or reversed range", () => {
    const r = validateSavedSearch({ name: "", query: "json.level:(error", from: "yesterday" }, undefined, T0);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field).sort()).toEqual(["from", "name", "query"]);
    expect(r.errors.find((e) => e.field === "query")!.position).toBe(11);
    expect(validateSavedSearch({ name: "x", from: "2024-03-10T13:00:00Z", until: "2024-03-10T12:00:00Z" }, undefined, T0)).toMatchObject({ ok: false, errors: [{ field: "from", message: expect.stringMatching(/after until/) }] });
    expect(validateSavedSearch({ name: "x", until: { at: 1 } }, undefined, T0)).toMatchObject({ ok: false, errors: [{ field: "until" }] });
    expect(validateSavedSearch([], undefined, T0)).toMatchObject({ ok: false, errors: [{ field: "body" }] });
  });

  it("applies a partial update over the current definition", () => {
    expect(validateSavedSearch({ query: "tag:web" }, spec(), T0)).toEqual({ ok: true, spec: spec({ query: "tag:web" }) });
  });
});

const STORES: [string, (dir: string) => RecordStore<SavedSearchSpec> & { close?(): void }][] = [
  ["SqliteRecordStore", (d) => new SqliteRecordStore<SavedSearchSpec>(d, "searches")],
  ["ObjectRecordStore", (d) => new ObjectRecordStore<SavedSearchSpec>(new DirectoryStore(d), "searches")],
];

describe.each(STORES)("%s", (_name, makeStore) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-records-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps each tenant's saved searches across restarts, oldest first, and updates and deletes them", async () => {
    let store = makeStore(dir);
    const a = await store.create("acme", spec(), T0);
    const b = await store.create("acme", spec({ name: "web", query: "tag:web" }), T0 + 1);
    await store.create("other", spec({ name: "theirs" }), T0);
    store.close?.();

    store = makeStore(dir);
    expect((await store.list("acme")).map((s) => s.name)).toEqual(["checkout errors", "web"]);
    expect(await store.get("acme", a.id)).toEqual({ ...spec(), id: a.id, tenant: "acme", createdAt: T0, updatedAt: T0 });
    expect(await store.get("other", a.id)).toBeUndefined();
    const updated = await store.update("acme", b.id, spec({ name: "web", query: "tag:web AND 500", until: "now" }), T0);
    // An update's time never goes backwards, even when the clock does.
    expect(updated).toMatchObject({ query: "tag:web AND 500", createdAt: T0 + 1, updatedAt: T0 + 2 });
    expect(await store.update("other", b.id, spec(), T0 + 5)).toBeUndefined();
    expect(await store.delete("other", a.id)).toBe(false);
    expect(await store.delete("acme", a.id)).toBe(true);
    expect((await store.list("acme")).map((s) => s.id)).toEqual([b.id]);
    store.close?.();
  });
});

describe("the saved searches API, and alerts built on saved searches", () => {
  let dir: string;
  let searches: SqliteRecordStore<SavedSearchSpec>;
  let alerts: SqliteAlertStore;
  const tenant = (name: string, apiToken: string): Tenant => ({ name, apiToken, ingestToken: `${name}-in`, tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 });
  const all = [tenant("acme", "tok-acme"), tenant("other", "tok-other")];
  const tenants: TenantDirectory = {
    byApiToken: (t) => all.find((x) => x.apiToken === t),
    byIngestToken: () => undefined,
    byName: (n) => all.find((x) => x.name === n),
    list: () => all,
  };
  const request = (method: string, p: string, body?: unknown, token = "tok-acme") => {
    const url = new URL(p, "http://x");
    return { method, path: url.pathname, query: url.searchParams, headers: token ? { authorization: `Bearer ${token}` } : {}, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) };
  };
  const saved = (method: string, p: string, body?: unknown, token?: string) => handleSavedSearchesApi(request(method, p, body, token), { searches, alerts, tenants, now: () => T0, maxPerTenant: 4 });
  const alertsApi = (method: string, p: string, body?: unknown, token?: string) => handleAlertsApi(request(method, p, body, token), { store: alerts, searches, tenants, now: () => T0 });
  type View = { id: string; name: string; query: string; from: string; until: string; alerts: { id: string; name: string }[] };
  const bodyOf = <T>(r: { body: unknown }) => r.body as T;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-saved-api-"));
    searches = new SqliteRecordStore<SavedSearchSpec>(dir, "searches");
    alerts = new SqliteAlertStore(dir);
  });
  afterAll(async () => {
    searches.close();
    alerts.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates, lists, opens, renames and deletes a tenant's saved searches, unseen by other tenants", async () => {
    const created = await saved("POST", "/apiv2/savedsearches", { name: "Checkout errors", query: "tag:checkout AND json.level:error", from: "-15m" });
    expect(created.status).toBe(201);
    const s = bodyOf<{ savedsearch: View }>(created).savedsearch;
    expect(s).toMatchObject({ name: "Checkout errors", query: "tag:checkout AND json.level:error", from: "-15m", until: "now", alerts: [] });
    expect(bodyOf<{ savedsearches: View[] }>(await saved("GET", "/apiv2/savedsearches")).savedsearches.map((x) => x.id)).toEqual([s.id]);
    expect(bodyOf<{ savedsearches: View[] }>(await saved("GET", "/apiv2/savedsearches", undefined, "tok-other")).savedsearches).toEqual([]);
    expect((await saved("GET", `/apiv2/savedsearches/${s.id}`, undefined, "tok-other")).status).toBe(404);

    // Names are unique within a tenant, whatever their case; another tenant may use the same one.
    const dup = await saved("POST", "/apiv2/savedsearches", { name: "checkout ERRORS " });
    expect(dup.status).toBe(409);
    expect(bodyOf<{ errors: unknown[] }>(dup).errors).toEqual([{ field: "name", message: expect.stringMatching(/exists already/) }]);
    expect((await saved("POST", "/apiv2/savedsearches", { name: "Checkout errors" }, "tok-other")).status).toBe(201);

    const renamed = await saved("PATCH", `/apiv2/savedsearches/${s.id}/`, { name: "Checkout failures" });
    expect(bodyOf<{ savedsearch: View }>(renamed).savedsearch).toMatchObject({ name: "Checkout failures", query: "tag:checkout AND json.level:error", from: "-15m" });
    expect(bodyOf<{ savedsearch: View }>(await saved("GET", `/apiv2/savedsearches/${s.id}`)).savedsearch.name).toBe("Checkout failures");
    expect((await saved("DELETE", `/apiv2/savedsearches/${s.id}`, undefined, "tok-other")).status).toBe(404);
    expect((await saved("DELETE", `/apiv2/savedsearches/${s.id}`)).status).toBe(200);
    expect((await saved("GET", `/apiv2/savedsearches/${s.id}`)).status).toBe(404);
  });

  it("answers bad requests clearly and never with a 500", async () => {
    const bad = await saved("POST", "/apiv2/savedsearches", { name: "x", query: "a AND (b" });
    expect(bad.status).toBe(400);
    expect(bodyOf<{ errors: unknown[] }>(bad).errors).toEqual([{ field: "query", message: expect.stringMatching(/query syntax error/), position: 6 }]);
    expect((await saved("POST", "/apiv2/savedsearches", "{not json")).status).toBe(400);
    expect((await saved("POST", "/apiv2/savedsearches")).status).toBe(400);
    expect((await saved("GET", "/apiv2/savedsearches", undefined, "")).status).toBe(401);
    expect((await saved("GET", "/apiv2/savedsearches", undefined, "nope")).status).toBe(401);
    expect((await saved("GET", "/apiv2/savedsearches/..%2F..%2Fetc")).status).toBe(404);
    expect((await saved("GET", "/apiv2/savedsearches/%E0%A4%A")).status).toBe(400);
    expect((await saved("GET", `/apiv2/savedsearches/${"a".repeat(500)}`)).status).toBe(404);
    expect((await saved("GET", "/apiv2/savedsearches/a/b")).status).toBe(404);
    const put = await saved("PUT", "/apiv2/savedsearches");
    expect(put.status).toBe(405);
    expect(put.headers.Allow).toBe("GET, POST");
  });

  it("limits how many saved searches a tenant keeps", async () => {
    const fresh = (await saved("GET", "/apiv2/savedsearches", undefined, "tok-other")).body as { savedsearches: View[] };
    for (let i = fresh.savedsearches.length; i < 4; i++) expect((await saved("POST", "/apiv2/savedsearches", { name: `s${i}` }, "tok-other")).status).toBe(201);
    const over = await saved("POST", "/apiv2/savedsearches", { name: "one too many" }, "tok-other");
    expect(over.status).toBe(409);
    expect(bodyOf<{ message: string }>(over).message).toMatch(/at most 4 saved searches/);
  });

  it("builds an alert on a saved search: the alert counts the search's current query, and the search cannot be deleted under it", async () => {
    const s = bodyOf<{ savedsearch: View }>(await saved("POST", "/apiv2/savedsearches", { name: "Payments down", query: "tag:payments AND 503" })).savedsearch;
    // The body's query is the saved search's, whatever the body says.
    const created = await alertsApi("POST", "/apiv2/alerts", { name: "payments", savedSearchId: s.id, threshold: 0, windowMinutes: 5, webhookUrl: "http://1.1.1.1/x" });
    expect(created.status).toBe(201);
    const a = bodyOf<{ alert: { id: string; query: string; savedSearchId: string; savedSearch: { id: string; name: string } } }>(created).alert;
    expect(a).toMatchObject({ query: "tag:payments AND 503", savedSearchId: s.id, savedSearch: { id: s.id, name: "Payments down" } });
    expect(bodyOf<{ savedsearch: View }>(await saved("GET", `/apiv2/savedsearches/${s.id}`)).savedsearch.alerts).toEqual([{ id: a.id, name: "payments" }]);

    // Another tenant's saved search, or none, cannot be used.
    const theirs = bodyOf<{ savedsearch: View }>(await saved("POST", "/apiv2/savedsearches", { name: "theirs-payments" }, "tok-other"));
    const foreign = await alertsApi("POST", "/apiv2/alerts", { name: "x", savedSearchId: theirs.savedsearch?.id ?? "00000000-0000-0000-0000-000000000000", threshold: 0, windowMinutes: 5, webhookUrl: "http://1.1.1.1/x" });
    expect(foreign.status).toBe(400);
    expect(bodyOf<{ errors: { field: string }[] }>(foreign).errors[0]!.field).toBe("savedSearchId");
    expect((await alertsApi("POST", "/apiv2/alerts", { name: "x", savedSearchId: "../x", threshold: 0, windowMinutes: 5, webhookUrl: "http://1.1.1.1/x" })).status).toBe(400);

    // Changing the query of an alert built on a saved search is refused until it is detached.
    const change = await alertsApi("PATCH", `/apiv2/alerts/${a.id}`, { query: "tag:other" });
    expect(change.status).toBe(400);
    expect(bodyOf<{ message: string }>(change).message).toMatch(/counts the saved search "Payments down"/);

    // Editing the saved search changes what the alert counts.
    await saved("PATCH", `/apiv2/savedsearches/${s.id}`, { query: "tag:payments AND (503 OR 504)" });
    expect(bodyOf<{ alert: { query: string } }>(await alertsApi("GET", `/apiv2/alerts/${a.id}`)).alert.query).toBe("tag:payments AND (503 OR 504)");
    const counted: string[] = [];
    const sent: WebhookPayload[] = [];
    const check = () =>
      checkAlerts({
        store: alerts,
        searches,
        index: { count: async (q: SearchQuery) => (counted.push(JSON.stringify(q.query)), 3) },
        notify: async (_alert, firing) => (sent.push(webhookPayload(firing)), { ok: true, status: 200, attempts: 1 }),
        linkFor: () => "L",
        now: () => T0 + 60_000,
      });
    const [result] = await check();
    expect(result).toMatchObject({ alertId: a.id, count: 3, fired: true });
    expect(sent[0]!.query).toBe("tag:payments AND (503 OR 504)");
    expect(counted[0]).toContain("504");

    // In use: not deleted, and the answer names the alert.
    const refused = await saved("DELETE", `/apiv2/savedsearches/${s.id}`);
    expect(refused.status).toBe(409);
    expect(bodyOf<{ message: string }>(refused).message).toMatch(/"payments"/);

    // Detached, the alert keeps the query it had and the search can go.
    const detached = await alertsApi("PATCH", `/apiv2/alerts/${a.id}`, { savedSearchId: null });
    expect(bodyOf<{ alert: { query: string; savedSearchId: null } }>(detached).alert).toMatchObject({ query: "tag:payments AND (503 OR 504)", savedSearchId: null });
    expect((await saved("DELETE", `/apiv2/savedsearches/${s.id}`)).status).toBe(200);
  });

  it("reports an alert whose saved search disappeared as an error of that alert, and checks the others", async () => {
    const s = await searches.create("acme", spec({ name: "gone soon", query: "tag:gone" }), T0);
    const orphan = await alerts.create("acme", { name: "orphan", query: "tag:gone", comparison: "above", threshold: 0, windowMinutes: 5, webhookUrl: "http://1.1.1.1/x", enabled: true, savedSearchId: s.id }, T0);
    await searches.delete("acme", s.id); // as a store outside the API could (another process, an operator)
    const results = await checkAlerts({
      store: alerts,
      searches,
      index: { count: async () => 0 },
      notify: async () => ({ ok: true, status: 200, attempts: 1 }),
      linkFor: () => "L",
      now: () => T0 + 120_000,
    });
    expect(results.find((r) => r.alertId === orphan.id)!.error).toMatch(/saved search .* was deleted/);
    expect(results.filter((r) => r.alertId !== orphan.id).every((r) => r.error === undefined)).toBe(true);
    expect((await alerts.get("acme", orphan.id))!.state.lastError).toMatch(/was deleted/);
    const shown = bodyOf<{ alert: { savedSearch: null; query: string } }>(await alertsApi("GET", `/apiv2/alerts/${orphan.id}`)).alert;
    expect(shown).toMatchObject({ savedSearch: null, query: "tag:gone" });
  });
});

describe("ObjectAlertStore with a saved search", () => {
  it("keeps savedSearchId, and drops it when the alert is detached", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-alerts-obj-"));
    try {
      const store: AlertStore = new ObjectAlertStore(new DirectoryStore(dir));
      const base = { name: "n", query: "q", comparison: "above" as const, threshold: 1, windowMinutes: 5, webhookUrl: "http://1.1.1.1/x", enabled: true };
      const a = await store.create("acme", { ...base, savedSearchId: "s-1" }, T0);
      expect((await store.get("acme", a.id))!.savedSearchId).toBe("s-1");
      await store.update("acme", a.id, base, T0 + 1);
      expect((await store.get("acme", a.id))!.savedSearchId).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("ObjectRecordStore, over objects that are not all readable", () => {
  it("lists a tenant's records without one that is not JSON (a torn write), and still fails when the store fails", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-records-torn-"));
    try {
      const objects = new DirectoryStore(dir);
      const store = new ObjectRecordStore<SavedSearchSpec>(objects, "searches");
      const kept = await store.create("acme", spec(), T0);
      await objects.put("acme/searches/00000000-0000-4000-8000-000000000000.json", Buffer.from('{"name": "torn'));
      expect((await store.list("acme")).map((r) => r.id)).toEqual([kept.id]);
      const broken = new ObjectRecordStore<SavedSearchSpec>({ ...objects, location: "x", list: objects.list.bind(objects), put: objects.put.bind(objects), delete: objects.delete.bind(objects), get: () => Promise.reject(new Error("S3 is down")) }, "searches");
      await expect(broken.list("acme")).rejects.toThrow("S3 is down");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
