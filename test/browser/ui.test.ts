import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, ROOT, run, startProgram, tenantTokens, waitFor as waitForProbe, type Program, type TenantTokens } from "../helpers/program";
import { axeViolations, eventually, launchChromium, PAGE_WAIT_MS, recordFailures, submitQuery } from "./chromium";

/**
 * The web UI in a real headless Chromium against the real program: sign in, send events through the
 * collector (HTTP /bulk and logger), search, the histogram, expand an event, filter by a field value,
 * the field browser, live tail, the source setup (copied and run), an alert firing to a webhook here.
 * Each page's screenshot goes to test/.artifacts/screenshots/ (git-ignored), or to docs/screenshots/ (shown
 * in the README) with UPDATE_SCREENSHOTS=1, which `npm run screenshots` sets: the README's pictures are
 * refreshed on purpose, and running the tests leaves the tree as it was.
 */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, "docs/screenshots") : path.join(ROOT, "test/.artifacts/screenshots");

interface Hook {
  alert: { id: string; name: string };
  tenant: string;
  query: string;
  count: number;
  threshold: { comparison: string; value: number };
  window: { minutes: number; from: string; until: string };
  link: string;
  firedAt: string;
}

interface PagerDutyEvent {
  routing_key: string;
  event_action: string;
  dedup_key: string;
  payload?: { summary: string; severity: string };
}

describe("the web UI, in Chromium, against the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let hookServer: http.Server;
  let hookUrl: string;
  const hooks: Hook[] = [];
  const pagerDuty: PagerDutyEvent[] = [];
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const marker = `m${randomUUID().slice(0, 8)}`;
  const savedInterval = process.env.UNMELTABLE_ALERT_INTERVAL_MS;

  const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitForProbe(what, probe, PAGE_WAIT_MS);
  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
  const apiCount = async (q: string, from = "-1h", until = "now") => {
    const res = await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=${from}&until=${until}`), { headers: { Authorization: `bearer ${def.apiToken}` } });
    return ((await res.json()) as { count: number }).count;
  };
  const search = async (q: string) => {
    await submitQuery(page, q);
  };
  const watch = (p: Page) => {
    p.on("pageerror", (e) => pageErrors.push(e.message));
    p.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  };

  recordFailures(() => page);

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    hookServer = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (req.method === "POST" && req.url?.startsWith("/v2/enqueue")) {
          pagerDuty.push(JSON.parse(body) as PagerDutyEvent);
          res.writeHead(202, { "Content-Type": "application/json" });
          return res.end('{"status":"success","message":"Event processed"}');
        }
        if (req.method === "POST") hooks.push(JSON.parse(body) as Hook);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks/unmeltable`;

    // Alerts are checked every half second instead of every minute; the webhook receiver here is on
    // loopback, which webhooks reach only when the operator allows it.
    process.env.UNMELTABLE_ALERT_INTERVAL_MS = "500";
    // PagerDuty's Events API is this receiver too (`--pagerduty-url`), as an operator could point it at a relay.
    program = await startProgram({ args: ["--webhook-allow", "127.0.0.1", "--pagerduty-url", hookUrl.replace("/hooks/unmeltable", "/v2/enqueue")] });
    def = await tenantTokens(program.dataDir);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light", locale: "en-US", timezoneId: "UTC" });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: program.url("") });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    page = await context.newPage();
    watch(page);
  });

  afterAll(async () => {
    if (savedInterval === undefined) delete process.env.UNMELTABLE_ALERT_INTERVAL_MS;
    else process.env.UNMELTABLE_ALERT_INTERVAL_MS = savedInterval;
    await browser?.close();
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
    await new Promise<void>((r) => (hookServer ? hookServer.close(() => r()) : r()));
  });

  it("serves the UI: index.html revalidated, hashed assets cached for good, client paths fall back, API paths stay JSON", async () => {
    const index = await fetch(program.url("/"));
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(program.url(script), { headers: { "Accept-Encoding": "gzip" } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-encoding")).toBe("gzip");
    const etag = asset.headers.get("etag")!;
    expect((await fetch(program.url(script), { headers: { "If-None-Match": etag } })).status).toBe(304);
    const deep = await fetch(program.url("/search/anything"));
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    expect((await fetch(program.url("/assets/missing-abc123.js"))).status).toBe(404);
    const api = await fetch(program.url("/apiv2/nowhere"), { headers: { Authorization: `bearer ${def.apiToken}` } });
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toBe("application/json");
    expect((await fetch(program.url("/ui/config"))).status).toBe(401);
    const config = await fetch(program.url("/ui/config"), { headers: { Authorization: `bearer ${def.apiToken}` } });
    expect(await config.json()).toMatchObject({ tenant: "default", ingestToken: def.ingestToken, syslog: { port: program.syslogPort }, http: { port: program.httpPort } });
  });

  it("signs in with the API token, kept in the tab's session only", async () => {
    await page.goto(program.url("/"));
    await eventually(() => page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
    await shot("sign-in");
    await page.getByLabel("API token").fill(def.ingestToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That looks like an ingest token").waitFor();
    await page.getByLabel("API token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("This token was not accepted").waitFor();
    await page.getByLabel("API token").fill(def.apiToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    expect(await page.evaluate('[sessionStorage.getItem("unmeltable.apiToken"), localStorage.length]')).toEqual([def.apiToken, 0]);
    // A tenant without events sees a designed empty state.
    await page.getByText("No events in the last hour").waitFor();
    await shot("search-empty");
  });

  it("gives copy-ready source setup that works, and turns green when the first event arrives", async () => {
    await page.getByRole("link", { name: "Send logs" }).click();
    const status = page.getByTestId("first-event");
    await status.getByText("Waiting for your first event").waitFor();
    expect(await status.getAttribute("data-state")).toBe("waiting");
    await page.getByTestId("ingest-token").getByText(def.ingestToken).waitFor();
    await shot("setup-waiting");

    const copied = async (name: string) => {
      await page.getByRole("button", { name: `Copy ${name}` }).click();
      await page.getByText(`${name} copied to the clipboard`).waitFor({ state: "attached" });
      return page.evaluate<string>("navigator.clipboard.readText()");
    };
    const rsyslog = await copied("rsyslog");
    expect(rsyslog).toContain(`[${def.ingestToken}@41058 tag=\\"rsyslog\\"]`);
    expect(rsyslog).toContain(`target="127.0.0.1" port="${program.syslogPort}"`);
    const syslogNg = await copied("syslog-ng");
    expect(syslogNg).toContain(`loggly(host("127.0.0.1") port(${program.syslogPort}) token("${def.ingestToken}")`);
    expect(await copied("curl: many events (/bulk)")).toContain(program.url(`/bulk/${def.ingestToken}/tag/bulk/`));

    // The copied logger line, run as a user would (with a marker to find it again).
    const logger = await copied("logger");
    expect(logger).toContain(`--sd-id ${def.ingestToken}@41058`);
    await run("sh", ["-c", logger.replace('"hello from logger"', `"hello from logger ${marker}"`)]);
    await waitFor("the setup page to turn green", async () => (await status.getAttribute("data-state")) === "received");
    await status.getByText("Events are arriving").waitFor();
    await status.getByText(`hello from logger ${marker}`).waitFor();
    await shot("setup");
  });

  it("searches: histogram and events newest first; expands one; a field value narrows the query", async () => {
    const now = new Date().toISOString();
    const bulk = [
      { timestamp: now, level: "error", message: `${marker} db timeout`, status: 503, req: { path: "/api/orders" } },
      { level: "info", message: `${marker} ok`, status: 200, req: { path: "/api/users" } },
      { level: "info", message: `${marker} ok again`, status: 201, req: { path: "/api/users" } },
    ]
      .map((o) => JSON.stringify(o))
      .join("\n");
    const res = await fetch(program.url(`/bulk/${def.ingestToken}/tag/web`), { method: "POST", body: bulk });
    expect(res.status).toBe(200);
    await waitFor("the 4 events to be searchable", async () => (await apiCount(marker)) === 4);
    // An hour of background traffic from a few services, so that the pictures have something to show.
    const background = backgroundEvents(Date.now());
    expect((await fetch(program.url(`/bulk/${def.ingestToken}/tag/demo,prod`), { method: "POST", body: background.join("\n") })).status).toBe(200);
    await waitFor("the background events", async () => (await apiCount("json.service:*")) === background.length);

    await page.getByRole("link", { name: "Search", exact: true }).click();
    await search("");
    await page.getByText(`${(background.length + 4).toLocaleString("en-US")} events · Last hour`).waitFor();
    await shot("search");
    await search(marker);
    const rows = page.locator("ol.events > li.event");
    await eventually(() => rows.count()).toBe(4);
    await page.getByText("4 events · Last hour").waitFor();
    // The histogram's bars add up to the events found.
    const bars = await page.locator("[data-testid=histogram] rect.bar").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-count"))));
    expect(bars.length).toBeGreaterThan(10);
    expect(bars.reduce((a, b) => a + b, 0)).toBe(4);
    // Newest first.
    const times = await rows.locator("time").evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute("datetime")!)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(page.url()).toContain(`#/search?q=${marker}`);

    const row = rows.filter({ hasText: "db timeout" });
    await row.getByRole("button", { expanded: false }).click();
    await row.getByRole("table").waitFor();
    for (const field of ["json.level", "json.status", "json.req.path", "http.clientHost"]) await row.getByRole("rowheader", { name: field, exact: true }).waitFor();
    await row.getByRole("button", { name: "Filter by tag web" }).waitFor();
    // The row leads with the JSON event's message, the query's words marked, and says its level.
    expect(await row.locator(".event-msg").textContent()).toBe(`error ${marker} db timeout`);
    expect(await row.locator(".event-msg mark").allTextContents()).toEqual([marker]);
    expect(await row.getAttribute("data-level")).toBe("error");
    await row.getByText(`"message": "${marker} db timeout"`).first().waitFor();
    await shot("search-event");

    await row.getByRole("button", { name: "Filter by json.level error" }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(`${marker} json.level:error`);
    await eventually(() => rows.count()).toBe(1);
    await page.getByText("1 event · Last hour").waitFor();
    expect(decodeURIComponent(page.url())).toContain(`q=${marker}+json.level:error`);
  });

  it("shows a query error where it is", async () => {
    await search("json.level:(error");
    const alert = page.locator(".query-error");
    await alert.getByText("query syntax error").waitFor();
    expect(await alert.locator(".query-caret").textContent()).toBe(`json.level:(error\n${" ".repeat(11)}^`);
    expect(await page.getByLabel("Search query").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Search query").evaluate((el) => (el as unknown as { selectionStart: number }).selectionStart)).toBe(11);
    await page.getByText("Fix the query to see results").waitFor();
    await shot("search-error");
  });

  it("zooms into a span by dragging across the histogram; the URL holds it, so the search can be bookmarked", async () => {
    await search(marker);
    await page.getByRole("button", { name: "10 min", exact: true }).click();
    // The last hour's answer has the same 4 events: wait for the 10 minutes' (its count, said with its range).
    await page.getByText("4 events · Last 10 minutes").waitFor();
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(4);
    const plot = page.getByTestId("histogram");
    // The plot is drawn once the histogram's answer is in (it may come after the events): wait for it laid out.
    const box = await waitFor("the histogram laid out", async () => {
      const b = await plot.boundingBox();
      return b !== null && b.width > 0 ? b : undefined;
    });
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2, { steps: 5 });
    await page.mouse.move(box.x + box.width + 20, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await eventually(() => decodeURIComponent(page.url())).toMatch(/from=\d{4}-\d\d-\d\dT[\d:.]+Z&until=\d{4}-\d\d-\d\dT[\d:.]+Z/);
    const zoomed = page.url();
    const hash = new URLSearchParams(zoomed.slice(zoomed.indexOf("?") + 1));
    const span = Date.parse(hash.get("until")!) - Date.parse(hash.get("from")!);
    expect(span).toBeGreaterThan(0);
    expect(span).toBeLessThan(6 * 60_000);
    // The span is the last few minutes; on a slow machine the first events may be older than that, so the
    // page must show what the API counts in the span (at least the 3 sent over /bulk moments before).
    const inSpan = await apiCount(marker, hash.get("from")!, hash.get("until")!);
    expect(inSpan).toBeGreaterThanOrEqual(3);
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(inSpan);
    await page.getByRole("button", { name: "Zoom out" }).waitFor();

    // Opened in another tab (a bookmark): sign in, and the same search is there.
    const other = await context.newPage();
    watch(other);
    await other.goto(zoomed);
    await other.getByLabel("API token").fill(def.apiToken);
    await other.getByRole("button", { name: "Sign in" }).click();
    await eventually(() => other.getByLabel("Search query").inputValue()).toBe(marker);
    await eventually(() => other.locator("ol.events > li.event").count()).toBe(inSpan);
    expect(other.url()).toBe(zoomed);
    await other.close();
  });

  it("browses the fields present, each with its top values", async () => {
    await page.goto(program.url("/#/fields"));
    await page.locator('[data-field="json.service"]').getByRole("button", { name: /Search json\.service: checkout/ }).waitFor();
    await page.locator('[data-field="json.level"]').getByRole("button", { name: /Search json\.level: error/ }).waitFor();
    // Every card in view has counted its values.
    await eventually(() => page.locator('.field-card [aria-busy="true"]').evaluateAll((els, height) => els.filter((el) => el.getBoundingClientRect().top < height).length, page.viewportSize()!.height)).toBe(0);
    await shot("fields");
    await page.goto(program.url(`/#/fields?q=${marker}`));
    const level = page.locator('[data-field="json.level"]');
    await level.getByRole("button", { name: /^Search json\.level: info 2\b/ }).waitFor();
    await level.getByRole("button", { name: /^Search json\.level: error 1\b/ }).waitFor();
    await page.locator('[data-field="tag"]').getByRole("button", { name: /^Search tag: web 3\b/ }).waitFor();
    await page.locator('[data-field="syslog.appName"]').waitFor();
    await level.getByRole("button", { name: /json\.level: info/ }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(`${marker} json.level:info`);
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(2);
  });

  it("folds away a field whose every value is its own event's (an id), and opens it on demand", async () => {
    const tag = `ids${randomUUID().slice(0, 6)}`;
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ message: `request ${i}`, requestId: randomUUID(), route: i % 2 ? "/a" : "/b" }));
    expect((await fetch(program.url(`/bulk/${def.ingestToken}/tag/${tag}`), { method: "POST", body: lines.join("\n") })).status).toBe(200);
    await waitFor("the requests", async () => (await apiCount(`tag:${tag}`)) === 25);
    await page.goto(program.url(`/#/fields?q=${encodeURIComponent(`tag:${tag}`)}`));
    const ids = page.locator('[data-field="json.requestId"]');
    await ids.scrollIntoViewIfNeeded();
    await ids.getByTestId("unique-field").getByText("25 distinct values, each in about one event (an id or a time): folded.").waitFor();
    // A field with repeated values is not folded.
    await page.locator('[data-field="json.route"]').getByRole("list", { name: "Top values of json.route" }).waitFor();
    await ids.getByRole("button", { name: "Show values of json.requestId" }).click();
    await ids.getByRole("list", { name: "Top values of json.requestId" }).waitFor();
  });

  it("tails new events in as they are indexed, pauses and resumes", async () => {
    await page.getByRole("link", { name: "Live tail" }).click();
    // The tail page must be in place before the query is typed: typed into the search page's box while
    // the route changes, it is lost with that box (seen in CI on a busy machine).
    const status = page.getByTestId("tail-status");
    await status.waitFor();
    await search(`tailme AND ${marker}`);
    await status.getByText("Live").waitFor();
    await page.getByText("Waiting for new events").waitFor();
    const send = async (text: string) => expect((await fetch(program.url(`/inputs/${def.ingestToken}/tag/tail`), { method: "POST", body: text })).status).toBe(200);
    await send(`tailme ${marker} first`);
    await send(`not for the tail ${marker}`);
    const rows = page.locator("ol.events > li.event");
    await rows.filter({ hasText: `tailme ${marker} first` }).waitFor();
    await shot("tail");

    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await status.getByText("Paused").waitFor();
    await send(`tailme ${marker} while paused`);
    await page.getByText("1 new event waiting — resume to show").waitFor();
    expect(await rows.filter({ hasText: "while paused" }).count()).toBe(0);
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await rows.filter({ hasText: `tailme ${marker} while paused` }).waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain("while paused");

    // Everything that waits while paused is counted, not only what one read brought.
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await status.getByText("Paused").waitFor();
    const three = [1, 2, 3].map((i) => `tailme ${marker} batch ${i}`).join("\n");
    expect((await fetch(program.url(`/bulk/${def.ingestToken}/tag/tail`), { method: "POST", body: three })).status).toBe(200);
    await page.getByText("3 new events waiting — resume to show").waitFor();
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await eventually(() => rows.count()).toBe(5);
    await eventually(() => page.getByTestId("tail-rate").textContent()).toMatch(/^\d+(\.\d)? events\/s$/);

    // In event time, newest first: an event dated ten minutes back goes below the others.
    const late = JSON.stringify({ timestamp: new Date(Date.now() - 600_000).toISOString(), message: `tailme ${marker} late` });
    await send(late);
    await rows.filter({ hasText: `tailme ${marker} late` }).waitFor();
    expect(await rows.last().textContent()).toContain(`tailme ${marker} late`);
    const times = await rows.locator("time").evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute("datetime")!)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("creates an alert that fires to a webhook, and shows the firing in its history", async () => {
    await page.getByRole("link", { name: "Alerts" }).click();
    await page.getByText("No alerts yet").waitFor();
    await page.getByRole("button", { name: "New alert" }).click();
    // A bad definition is explained next to its fields.
    await page.getByLabel("Name", { exact: true }).fill("Order errors");
    await page.getByLabel("Search query").fill(`${marker} AND json.level:(error`);
    await page.getByLabel("Webhook URL").fill("ftp://nope");
    await page.getByRole("button", { name: "Create alert" }).click();
    await page.locator("#err-query").getByText("query syntax error").waitFor();
    await page.locator("#err-webhookUrl").getByText("the webhook URL must start with http:// or https://").waitFor();
    expect(await page.getByLabel("Webhook URL").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Search query").fill(`${marker} AND json.level:error`);
    await page.getByLabel("When the count is").selectOption("above");
    await page.getByLabel("Threshold (events)").fill("0");
    await page.getByLabel("Over the last (minutes)").fill("5");
    await page.getByLabel("Webhook URL").fill(hookUrl);
    await page.getByRole("button", { name: "Create alert" }).click();
    const item = page.locator('[data-alert="Order errors"]');
    await item.getByText("more than 0 events in 5 minutes").waitFor();

    const hook = await waitFor("the webhook", async () => hooks[0]);
    expect(hook).toMatchObject({
      alert: { name: "Order errors" },
      tenant: "default",
      query: `${marker} AND json.level:error`,
      count: 1,
      threshold: { comparison: "above", value: 0 },
      window: { minutes: 5 },
    });
    expect(Date.parse(hook.window.until) - Date.parse(hook.window.from)).toBe(5 * 60_000);
    expect(hook.link).toContain(program.url("/#/search?q="));
    const firing = page.locator(`tr[data-firing="Order errors"]`);
    await firing.getByText("delivered · 200").waitFor();
    await item.getByText("Triggered").waitFor();
    await shot("alerts");
    // Once per window: still one webhook call after several more checks.
    await waitFor("a few more checks", async () => {
      const res = await fetch(program.url("/apiv2/alerts"), { headers: { Authorization: `bearer ${def.apiToken}` } });
      const body = (await res.json()) as { alerts: { state: { lastCheckedAt?: number; lastFiredAt?: number } }[] };
      const s = body.alerts[0]!.state;
      return s.lastCheckedAt !== undefined && s.lastFiredAt !== undefined && s.lastCheckedAt - s.lastFiredAt >= 1500;
    });
    expect(hooks).toHaveLength(1);

    // The firing's link opens the search over the window.
    await firing.getByRole("link", { name: /Open search: Order errors/ }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(`${marker} AND json.level:error`);
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(1);
  });

  it("saves a search, opens it from the list, and builds an alert on it that fires with the saved search's query", async () => {
    const q = `${marker} AND json.level:error`;
    await page.goto(program.url(`/#/search?q=${encodeURIComponent(q)}`));
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(1);
    await page.getByRole("button", { name: "Save search" }).click();
    const form = page.getByRole("form", { name: "Save search" });
    // The name is required; the error is beside it.
    await form.getByRole("button", { name: "Save" }).click();
    await form.locator("#saved-err-name").getByText("a name is required").waitFor();
    await form.getByLabel("Name").fill("Marker errors");
    expect(await form.getByLabel("Search query").inputValue()).toBe(q);
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("Saved as “Marker errors”").waitFor();

    // The list: open it, change its range (a bad time is explained where it is), and see it on the search page.
    await page.getByRole("link", { name: "Saved searches" }).first().click();
    const item = page.locator('[data-saved="Marker errors"]');
    await item.getByText("Last hour").waitFor();
    await item.getByRole("button", { name: "Edit Marker errors" }).click();
    const edit = page.getByRole("form", { name: "Edit Marker errors" });
    await edit.getByLabel("From").fill("yesterday");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.locator("#saved-err-from").getByText("invalid time 'yesterday'").waitFor();
    await edit.getByLabel("From").fill("-4h");
    await edit.getByRole("button", { name: "Save" }).click();
    await item.getByText("Last 4 hours").waitFor();
    await shot("saved-searches");
    await item.getByRole("link", { name: "Open Marker errors" }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(q);
    await eventually(() => page.evaluate("location.hash")).toContain("from=-4h");
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(1);

    // An alert built on it counts the saved search's query.
    await page.getByRole("link", { name: "Saved searches" }).first().click();
    await item.getByRole("button", { name: "New alert on Marker errors" }).click();
    const alertForm = page.locator("form.alert-form");
    await alertForm.getByTestId("saved-query").getByText(q).waitFor();
    expect(await alertForm.getByLabel("Counts").inputValue()).not.toBe("");
    await alertForm.getByLabel("Name", { exact: true }).fill("Marker errors alert");
    await alertForm.getByLabel("Threshold (events)").fill("0");
    await alertForm.getByLabel("Over the last (minutes)").fill("60");
    await alertForm.getByLabel("Webhook URL").fill(hookUrl);
    await alertForm.getByRole("button", { name: "Create alert" }).click();
    const alertItem = page.locator('[data-alert="Marker errors alert"]');
    await alertItem.getByText("Saved search “Marker errors”").waitFor();
    const hook = await waitFor("the saved search alert's webhook", async () => hooks.find((h) => h.alert.name === "Marker errors alert"));
    expect(hook).toMatchObject({ query: q, count: 1, threshold: { comparison: "above", value: 0 } });

    // While an alert is built on it, the saved search stays, and says why.
    await page.getByRole("link", { name: "Saved searches" }).first().click();
    await item.getByText("Alerts built on it: Marker errors alert.").waitFor();
    await item.getByRole("button", { name: "Delete Marker errors" }).click();
    await item.getByRole("button", { name: "Yes, delete" }).click();
    await item.getByRole("alert").getByText(/alerts are built on "Marker errors"/).waitFor();
    expect(await item.count()).toBe(1);
  });

  it("sends an alert to PagerDuty, chosen in the form, whose settings are checked per channel", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts", exact: true }).click();
    await page.getByRole("button", { name: "New alert" }).click();
    const form = page.locator("form.alert-form");
    await form.getByLabel("Name", { exact: true }).fill("Marker paging");
    await form.getByLabel("Search query").fill(`${marker} AND json.level:error`);
    await form.getByLabel("Threshold (events)").fill("0");
    // An hour: on a busy machine the event may be minutes old by now.
    await form.getByLabel("Over the last (minutes)").fill("60");
    // Slack's URL must be https: said beside the field.
    await form.getByLabel("Notify by").selectOption("slack");
    await form.getByLabel("Slack incoming webhook URL").fill("http://hooks.slack.com/services/T0/B0/x");
    await form.getByRole("button", { name: "Create alert" }).click();
    await form.locator("#err-webhookUrl").getByText("a Slack incoming webhook URL starts with https://").waitFor();
    await form.getByLabel("Notify by").selectOption("pagerduty");
    await form.getByLabel("PagerDuty routing key").fill("R0123456789abcdef0123456789abcdef");
    await form.getByRole("button", { name: "Create alert" }).click();
    const item = page.locator('[data-alert="Marker paging"]');
    await item.getByText("PagerDuty, also when resolved.").waitFor();
    const event = await waitFor("the PagerDuty event", async () => pagerDuty.find((e) => e.event_action === "trigger"));
    expect(event).toMatchObject({ routing_key: "R0123456789abcdef0123456789abcdef", dedup_key: expect.stringMatching(/^unmeltable\/default\//), payload: { severity: "error", summary: expect.stringMatching(/^Marker paging: 1 event in the last 60 minutes/) } });
    await page.locator('tr[data-firing="Marker paging"]').getByText("delivered · 202").waitFor();
  });

  it("builds a dashboard of charts: a count, a pie, a table and a timeline split by a field, kept across reloads", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboards", exact: true }).click();
    await page.getByText("No dashboards yet").waitFor();
    await page.getByLabel("New dashboard").fill("Marker board");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "Marker board" }).waitFor();
    const add = async (title: string, type: string, query: string, field = "") => {
      await page.getByRole("button", { name: "Add chart" }).click();
      const form = page.getByRole("form", { name: "Add chart" });
      await form.getByLabel("Title").fill(title);
      await form.getByLabel("Chart").selectOption(type);
      await form.getByLabel("Search query").fill(query);
      if (field) await form.getByLabel(/Field|Split by field/).fill(field);
      await form.getByRole("button", { name: "Add", exact: true }).click();
      await page.locator(`[data-chart="${title}"]`).waitFor();
    };
    const total = await apiCount(marker);
    const errors = await apiCount(`${marker} AND json.level:error`);
    await add("Marker events", "count", marker);
    await add("Levels", "pie", marker, "json.level");
    await add("Level table", "table", marker, "json.level");
    await add("Over time", "timeline", marker, "json.level");
    await page.locator('[data-chart="Marker events"] .chart-value').getByText(total.toLocaleString("en-US"), { exact: true }).waitFor();
    await page.locator('[data-chart="Levels"] .chart-legend').getByText(`error · ${errors}`).waitFor();
    const row = page.locator('[data-chart="Level table"] tr', { hasText: "error" });
    await row.getByText(String(errors), { exact: true }).waitFor();
    const timeline = page.locator('[data-chart="Over time"]');
    await timeline.locator(".chart-legend").getByText("error", { exact: true }).waitFor();
    expect(await timeline.getByRole("img").getAttribute("aria-label")).toMatch(/^\d+ events over time, by .*\berror\b/);
    await shot("dashboard");

    // Kept: after a reload the same four charts come back, and one can be removed.
    await page.reload();
    await page.locator('[data-chart="Over time"]').waitFor();
    expect(await page.locator(".chart-cell").count()).toBe(4);
    await page.getByRole("button", { name: "Remove Level table" }).click();
    await eventually(() => page.locator(".chart-cell").count()).toBe(3);
  });

  it("exports the results as CSV or NDJSON, saved as a file", async () => {
    const q = `${marker} AND json.level:error`;
    await page.goto(program.url(`/#/search?q=${encodeURIComponent(q)}`));
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(1);
    const expected = await apiCount(q);
    for (const format of ["CSV", "NDJSON"] as const) {
      const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: `Export ${format}` }).click()]);
      expect(file.suggestedFilename()).toMatch(new RegExp(`^default-events-[\\dT-]+\\.${format.toLowerCase()}$`));
      const text = readFileSync((await file.path())!, "utf8");
      if (format === "CSV") {
        const lines = text.trimEnd().split("\r\n");
        expect(lines[0]).toBe("timestamp,id,tags,logtypes,logmsg");
        expect(lines).toHaveLength(expected + 1);
      } else {
        const events = text.trimEnd().split("\n").map((l) => JSON.parse(l) as { event: { json: { level: string } } });
        expect(events).toHaveLength(expected);
        expect(events.every((e) => e.event.json.level === "error")).toBe(true);
      }
      await page.getByTestId("export-status").getByText(`: ${expected} event${expected === 1 ? "" : "s"}.`).waitFor();
    }
  });

  it("shows an event's surrounding events from its source, whatever the search that found it", async () => {
    // Seven steps of one job 2 s apart under a tag of their own, and another source's line in between.
    const job = `job${randomUUID().slice(0, 6)}`;
    const t0 = Date.now() - 60_000;
    const steps = Array.from({ length: 7 }, (_, i) => JSON.stringify({ timestamp: new Date(t0 + i * 2000).toISOString(), message: `${job} step ${i}` }));
    expect((await fetch(program.url(`/bulk/${def.ingestToken}/tag/${job}`), { method: "POST", body: steps.join("\n") })).status).toBe(200);
    const noise = JSON.stringify({ timestamp: new Date(t0 + 3000).toISOString(), message: `${job} from elsewhere` });
    expect((await fetch(program.url(`/bulk/${def.ingestToken}/tag/elsewhere`), { method: "POST", body: noise })).status).toBe(200);
    await waitFor("the job's events", async () => (await apiCount(job)) === 8);

    await page.goto(program.url(`/#/search?q=${encodeURIComponent(`"${job} step 3"`)}`));
    const rows = page.locator("ol.events > li.event");
    await eventually(() => rows.count()).toBe(1);
    await rows.first().getByRole("button", { expanded: false }).click();
    await rows.first().getByRole("group", { name: "Show the events around this one from" }).getByRole("button", { name: `tag ${job}` }).click();
    const list = page.getByRole("list", { name: `Events around this one from tag ${job}, oldest first` });
    // In time order, the found event marked, the other source's line left out (a JSON event's line is its JSON).
    const stepOf = (text: string) => new RegExp(`${job} (step \\d|from elsewhere)`).exec(text)?.[1];
    await eventually(async () => (await list.locator("li .event-msg").allTextContents()).map(stepOf)).toEqual(steps.map((_, i) => `step ${i}`));
    expect(stepOf((await list.locator('li[aria-current="true"] .event-msg').textContent()) ?? "")).toBe("step 3");
    await shot("search-surrounding");
  });

  it("acts on an event: pretty-printed JSON, copy it, open it alone by its link, exclude a value", async () => {
    await page.goto(program.url(`/#/search?q=${marker}`));
    const rows = page.locator("ol.events > li.event");
    await eventually(() => rows.count()).toBe(11);
    const row = rows.filter({ hasText: "db timeout" });
    const id = (await row.getAttribute("data-event-id"))!;
    await row.getByRole("button", { expanded: false }).click();
    const raw = row.getByLabel("Raw event text");
    await eventually(() => raw.textContent()).toContain('\n  "level": "error",');
    await row.getByRole("button", { name: "show as sent" }).click();
    await eventually(() => raw.textContent()).toContain('{"timestamp":');

    await row.getByRole("button", { name: "Copy event" }).click();
    await row.getByText("Event copied to the clipboard").waitFor();
    const copied = JSON.parse(await page.evaluate<string>("navigator.clipboard.readText()")) as { id: string; event: { json: { level: string } } };
    expect(copied.id).toBe(id);
    expect(copied.event.json.level).toBe("error");

    await row.getByRole("link", { name: "Open this event alone" }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(`id:${id}`);
    await eventually(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-event-id")).toBe(id);
    await page.getByText("1 event").first().waitFor();

    await page.goBack();
    await eventually(() => rows.count()).toBe(11);
    const again = rows.filter({ hasText: "db timeout" });
    await again.getByRole("button", { expanded: false }).click();
    await again.getByRole("button", { name: "not (exclude json.level error)" }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(`${marker} NOT json.level:error`);
    await eventually(() => rows.count()).toBe(10);
    expect(await rows.filter({ hasText: "db timeout" }).count()).toBe(0);
  });

  it("helps with the query: a known field for a bare name that matches nothing, recent queries to complete", async () => {
    await page.goto(program.url(`/#/search?q=${encodeURIComponent(`${marker} level:error`)}`));
    await page.getByText("No events match this search").waitFor();
    const hint = page.getByTestId("field-suggestion");
    await hint.getByRole("button", { name: `${marker} json.level:error` }).click();
    await eventually(() => page.getByLabel("Search query").inputValue()).toBe(`${marker} json.level:error`);
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(1);

    // What was searched here comes back as a completion, with the field names.
    await search(`${marker} ok`);
    await page.getByLabel("Search query").focus();
    const options = () => page.locator("#query-suggestions option").evaluateAll((els) => els.map((e) => e.getAttribute("value")));
    await eventually(options).toContain(`${marker} ok`);
    expect(await options()).toContain("json.level:");
  });

  it("picks a time range from the presets or typed back from now, named as shown", async () => {
    await page.goto(program.url(`/#/search?q=${marker}`));
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(11);
    const range = page.getByRole("group", { name: "Time range" });
    // Each preset's accessible name is its visible label (WCAG 2.5.3); its long form is the tooltip.
    expect(await range.getByRole("button").allTextContents()).toEqual(["10 min", "15 min", "30 min", "1 h", "4 h", "12 h", "24 h", "7 d", "Custom"]);
    await range.getByRole("button", { name: "4 h", exact: true }).click();
    await page.getByText("11 events · Last 4 hours").waitFor();
    expect(await range.getByRole("button", { name: "4 h", exact: true }).getAttribute("aria-pressed")).toBe("true");
    expect(decodeURIComponent(page.url())).toContain("from=-4h&until=now");

    await range.getByRole("button", { name: "Custom" }).click();
    const relative = page.getByRole("form", { name: "Relative time range" });
    await relative.getByLabel("Last").fill("ninety minutes");
    await relative.getByRole("button", { name: "Apply" }).click();
    await relative.getByRole("alert").getByText("Type a span back from now").waitFor();
    await relative.getByLabel("Last").fill("90m");
    await relative.getByRole("button", { name: "Apply" }).click();
    await page.getByText("11 events · Last 90 minutes").waitFor();
    expect(decodeURIComponent(page.url())).toContain("from=-90m&until=now");
    expect(await range.getByRole("button", { name: "Custom" }).getAttribute("aria-pressed")).toBe("true");
    await shot("search-range");
  });

  it("shows times in the browser's time zone or in UTC, as chosen, 24 h", async () => {
    const ny = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light", locale: "en-US", timezoneId: "America/New_York" });
    const p = await ny.newPage();
    watch(p);
    await p.goto(program.url(`/#/search?q=${marker}`));
    await p.getByLabel("API token").fill(def.apiToken);
    await p.getByRole("button", { name: "Sign in" }).click();
    const first = p.locator("ol.events > li.event time").first();
    await first.waitFor();
    const at = Date.parse((await first.getAttribute("datetime"))!);
    // December: New York is UTC−5.
    const shown = (offsetMs: number) => new Date(at + offsetMs).toISOString().replace("T", " ").slice(0, 23);
    const toggle = p.getByTestId("time-zone");
    expect(await toggle.textContent()).toBe("Times: America/New_York");
    expect(await first.textContent()).toBe(shown(-5 * 3_600_000));
    await toggle.click();
    await eventually(() => toggle.textContent()).toBe("Times: UTC");
    await eventually(() => p.locator("ol.events > li.event time").first().textContent()).toBe(shown(0));
    // The choice is kept in this browser.
    await p.reload();
    await eventually(() => p.locator("ol.events > li.event time").first().textContent()).toBe(shown(0));
    expect(await p.getByTestId("time-zone").textContent()).toBe("Times: UTC");
    await ny.close();
  });

  it("passes axe-core's WCAG 2.1 A and AA checks on every page, light and dark", async () => {
    const found: Record<string, string[]> = {};
    const check = async (name: string, p: Page = page) => {
      const v = await axeViolations(p);
      if (v.length > 0) found[name] = v;
    };
    await page.goto(program.url(`/#/search?q=${marker}`));
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(11);
    await page.locator("ol.events > li.event").first().locator("button").first().click();
    await check("search, an event expanded");
    await page.getByRole("button", { name: "Save search" }).click();
    await page.getByRole("form", { name: "Save search" }).getByRole("button", { name: "Save" }).click();
    await page.locator("#saved-err-name").waitFor();
    await check("search, saving with an error");
    for (const [link, ready] of [
      ["Fields", () => page.locator(".page-fields h1").waitFor()],
      ["Live tail", () => page.locator(".page-tail h1").waitFor()],
      ["Saved searches", () => page.locator('[data-saved="Marker errors"]').waitFor()],
      ["Dashboards", () => page.locator('[data-dashboard="Marker board"]').waitFor()],
      ["Alerts", () => page.locator('[data-alert="Order errors"]').waitFor()],
      ["Usage", () => page.locator(".page-usage h1").waitFor()],
      ["Send logs", () => page.locator(".page-setup h1").waitFor()],
    ] as const) {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
      await ready();
      await check(link);
    }
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts", exact: true }).click();
    await page.getByRole("button", { name: "New alert" }).click();
    await page.getByRole("button", { name: "Create alert" }).click();
    await page.locator("#err-name").waitFor();
    await check("alerts, a new alert with errors");

    const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark", timezoneId: "UTC" });
    const d = await dark.newPage();
    await d.goto(program.url("/"));
    await d.getByLabel("API token").waitFor();
    await check("sign-in, dark", d);
    await d.getByLabel("API token").fill(def.apiToken);
    await d.getByRole("button", { name: "Sign in" }).click();
    await d.goto(program.url(`/#/search?q=${marker}`));
    await eventually(() => d.locator("ol.events > li.event").count()).toBe(11);
    await check("search, dark", d);
    await dark.close();
    expect(found).toEqual({});
  });

  it("is readable on a phone", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: "light", timezoneId: "UTC" });
    const p = await phone.newPage();
    watch(p);
    await p.goto(program.url(`/#/search?q=${marker}`));
    await p.getByLabel("API token").fill(def.apiToken);
    await p.getByRole("button", { name: "Sign in" }).click();
    await eventually(() => p.locator("ol.events > li.event").count()).toBe(11);
    expect(await p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await shot("search-phone", p);
    await phone.close();
  });

  it("says so when the server cannot be reached", async () => {
    await page.goto(program.url(`/#/search?q=${marker}`));
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(11);
    await program.stop();
    await search(`${marker} ok`);
    await page.getByRole("heading", { name: "Can't reach the server" }).waitFor();
    await page.getByText("The server cannot be reached. Showing what was loaded").waitFor();
    await shot("api-down");

    // Back on the same ports: the page notices by itself and shows the results again.
    program = await startProgram({ dataDir: program.dataDir, syslogPort: program.syslogPort, httpPort: program.httpPort });
    await page.getByText("The server cannot be reached").first().waitFor({ state: "detached" });
    await eventually(() => page.locator("ol.events > li.event").count()).toBe(2);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});

/** About an hour of JSON events from a few services, denser in a burst of errors 20 minutes ago. */
function backgroundEvents(now: number): string[] {
  const services = ["checkout", "search", "auth", "payments"];
  const paths = ["/api/cart", "/api/search", "/api/login", "/api/pay", "/api/orders"];
  const lines: string[] = [];
  for (let minute = 55; minute >= 1; minute--) {
    const burst = minute >= 18 && minute <= 22;
    const n = 2 + Math.round(3 * Math.sin(minute / 7) ** 2) + (burst ? 9 : 0);
    for (let i = 0; i < n; i++) {
      const k = minute * 31 + i * 7;
      const error = burst ? i % 2 === 0 : k % 23 === 0;
      const status = error ? 503 : k % 5 === 0 ? 201 : 200;
      lines.push(
        JSON.stringify({
          timestamp: new Date(now - minute * 60_000 + (i * 60_000) / n).toISOString(),
          level: error ? "error" : k % 4 === 0 ? "debug" : "info",
          service: services[k % services.length],
          message: error ? "upstream timeout talking to the database" : `handled ${paths[k % paths.length]} in ${5 + (k % 90)} ms`,
          status,
          req: { path: paths[k % paths.length], ms: 5 + (k % 90) },
        }),
      );
    }
  }
  return lines;
}
