import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLogger, noLogger, noMetrics, type IndexPort, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { startAlerts, type AlertsPart } from "../../packages/runtime/src/alerts-part";
import { apiRoute } from "../../packages/runtime/src/api-http";
import { startHttpServers, type HttpServers } from "../../packages/runtime/src/http-server";
import { LiveTail } from "../../packages/runtime/src/live-tail";
import { webUiRoutes } from "../../packages/runtime/src/web-ui";
import { credentialCases, expectJudged } from "../helpers/credentials";

/**
 * Every authenticated surface of the one-machine server, over real HTTP: the retrieval API, the alerts
 * API, the web UI's config, live tail's ticket and stream. One table of Authorization headers
 * (test/helpers/credentials.ts, also run against the search function in test/lambda/handlers.test.ts)
 * is accepted and refused alike on each — the route table authenticates before any handler.
 */
const acme: Tenant = { name: "acme", ingestToken: "in-acme", apiToken: "api-acme-7f3b", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
const tenants: TenantDirectory = {
  byApiToken: (t) => (t === acme.apiToken ? acme : undefined),
  byIngestToken: (t) => (t === acme.ingestToken ? acme : undefined),
  byName: (n) => (n === acme.name ? acme : undefined),
  list: () => [acme],
};

describe("authentication: the same credentials judged alike on every surface of the server", () => {
  let dir: string;
  let index: EmbeddedIndex;
  let alerts: AlertsPart;
  let servers: HttpServers;
  const logged = new MemoryLogger();
  const url = (p: string) => `http://127.0.0.1:${servers.httpPort}${p}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-auth-"));
    await writeFile(path.join(dir, "index.html"), "<!doctype html><title>ui</title>");
    index = new EmbeddedIndex({ dir: path.join(dir, "index"), writer: "inline", defaultSlice: "day" });
    alerts = startAlerts({ dataDir: dir, index, tenants, httpAddress: () => ({ host: "127.0.0.1", port: servers?.httpPort }), logger: noLogger, intervalMs: 0 });
    const tail = new LiveTail({ indexed: { onIndexed: () => () => undefined }, tenants, metrics: noMetrics });
    servers = await startHttpServers({
      host: "127.0.0.1",
      port: 0,
      logger: logged,
      routes: [
        ...alerts.routes,
        ...tail.routes(),
        apiRoute({ index: brokenFields(index), tenants }),
        ...webUiRoutes({ tenants, dir, info: () => ({ host: "127.0.0.1", httpPort: servers?.httpPort, alerts: true }) }),
      ],
      drainTimeoutMs: 1000,
    });
  });

  afterAll(async () => {
    await servers?.close();
    await alerts?.stop();
    await index?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const surfaces: { name: string; method: string; path: string }[] = [
    { name: "retrieval API", method: "GET", path: "/apiv2/events/count?q=*&from=-1h" },
    { name: "retrieval API (customer)", method: "GET", path: "/apiv2/customer" },
    { name: "alerts API", method: "GET", path: "/apiv2/alerts" },
    { name: "saved searches API", method: "GET", path: "/apiv2/savedsearches" },
    { name: "web UI config", method: "GET", path: "/ui/config" },
    { name: "live tail ticket", method: "POST", path: "/apiv2/tail/ticket" },
    { name: "live tail stream", method: "GET", path: "/apiv2/tail?q=*" },
  ];

  for (const surface of surfaces) {
    it(`${surface.name}: ${surface.method} ${surface.path}`, async () => {
      for (const c of credentialCases(acme.apiToken!)) {
        const ctl = new AbortController();
        const res = await fetch(url(surface.path), { method: surface.method, headers: c.authorization === undefined ? {} : { Authorization: c.authorization }, signal: ctl.signal });
        // A stream that is accepted stays open: its status is the verdict; it is then closed.
        const body: unknown = res.headers.get("content-type") === "application/json" ? await res.json() : undefined;
        ctl.abort();
        expectJudged(c, surface.name, res.status, Object.fromEntries(res.headers), body);
      }
    });
  }

  it("answers who the caller is from the credentials alone, and a wrong method 405 before asking for any", async () => {
    const basic = `Basic ${Buffer.from(`u:${acme.apiToken}`).toString("base64")}`;
    expect(await (await fetch(url("/ui/config"), { headers: { Authorization: basic } })).json()).toMatchObject({ tenant: "acme", ingestToken: "in-acme" });
    expect(await (await fetch(url("/apiv2/customer"), { headers: { Authorization: basic } })).json()).toEqual({ tokens: ["in-acme"], subdomain: "acme", subscription: { tier: "default" } });
    const post = await fetch(url("/apiv2/search"), { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("refuses a stranger before reading the body it sends", async () => {
    const res = await fetch(url("/apiv2/alerts"), { method: "POST", headers: { "Content-Type": "application/json" }, body: "x".repeat(200 * 1024) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "UNM_UNAUTHORIZED" });
  });

  it("answers every failure with its code: 404, 405 of the alerts API, 400 of a bad parameter, a query syntax error or a bad time range, 500 of a bug", async () => {
    const auth = { Authorization: `bearer ${acme.apiToken}` };
    const missing = await fetch(url("/apiv2/alerts/nope"), { headers: auth });
    expect([missing.status, await missing.json()]).toEqual([404, { response: "error", message: "no alert nope", code: "UNM_NOT_FOUND" }]);
    const wrong = await fetch(url("/apiv2/alerts/firings"), { method: "DELETE", headers: auth });
    expect([wrong.status, wrong.headers.get("allow"), await wrong.json()]).toEqual([405, "GET", { response: "error", message: "DELETE is not allowed here; use GET", code: "UNM_METHOD_NOT_ALLOWED" }]);
    const bad = await fetch(url("/apiv2/events/iterate?size=-1"), { headers: auth });
    expect([bad.status, await bad.json()]).toEqual([400, { response: "error", message: "size must be an integer >= 1", code: "UNM_BAD_REQUEST" }]);
    const syntax = await fetch(url("/apiv2/tail?q=a%20AND"), { headers: auth });
    expect(syntax.status).toBe(400);
    expect(await syntax.json()).toMatchObject({ response: "error", code: "UNM_QUERY_SYNTAX", message: expect.stringMatching(/^query syntax error: /), position: expect.any(Number) });
    const searchSyntax = await fetch(url("/apiv2/events/count?q=(a"), { headers: auth });
    expect([searchSyntax.status, await searchSyntax.json()]).toEqual([400, { response: "error", code: "UNM_QUERY_SYNTAX", message: "query syntax error: unbalanced parenthesis: '(' at 0 is never closed: add a ')'", position: 0 }]);
    const range = await fetch(url("/apiv2/events/count?q=*&from=-2x"), { headers: auth });
    expect([range.status, await range.json()]).toEqual([400, { response: "error", code: "UNM_TIME_RANGE", message: expect.stringMatching(/^from: invalid time '-2x'/) }]);
    const order = await fetch(url("/apiv2/events/count?q=*&from=-1h&until=-2h"), { headers: auth });
    expect([order.status, ((await order.json()) as { code: string }).code]).toEqual([400, "UNM_TIME_RANGE"]);
    // The server's own answers: no such endpoint, a method the route does not take, an exception in a handler.
    const nowhere = await fetch(url("/inputs"), { headers: auth });
    expect([nowhere.status, await nowhere.json()]).toEqual([404, { response: "error", message: "no such endpoint: GET /inputs", code: "UNM_NOT_FOUND" }]);
    const notApi = await fetch(url("/apiv2/events"), { method: "POST", headers: auth });
    expect([notApi.status, notApi.headers.get("allow"), ((await notApi.json()) as { code: string }).code]).toEqual([405, "GET, HEAD", "UNM_METHOD_NOT_ALLOWED"]);
    const bug = await fetch(url("/apiv2/fields?q=*"), { headers: auth });
    expect([bug.status, await bug.json()]).toEqual([500, { response: "error", message: "internal error (the server logged it)", code: "UNM_INTERNAL" }]);
    expect(logged.lines).toContainEqual({ level: "error", message: "HTTP request failed", fields: expect.objectContaining({ method: "GET", path: "/apiv2/fields", error: "the index broke (a bug)" }) });
  });
});

/** The index, except that listing fields throws a plain Error: an unexpected exception, as a bug would. */
function brokenFields(index: IndexPort): IndexPort {
  return new Proxy(index, {
    get(target, key) {
      if (key === "fields") return () => Promise.reject(new Error("the index broke (a bug)"));
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
