/**
 * Numeric aggregates in the web UI, in a real headless Chromium against the real program: JSON events
 * with a number of milliseconds each (sent over HTTP /bulk), whose min, average, max and 95th percentile
 * the Fields page shows on the field's card (and not on a text field's), as computed here from the values
 * sent (percentiles nearest-rank: the smallest value that at least p % of the values are at or below);
 * a dashboard's single-value chart picks what it shows (a count of events, or the p95 of a field), says
 * beside the field input when the field is missing, draws "p95 of json.ms" and "no numeric values" for a
 * text field, and shows the same after a reload. axe-core's WCAG 2.1 A and AA checks run on the field
 * card with its aggregates, the chart form with its error, and the dashboard, light and dark. The
 * screenshot (`dashboard-stats.png`) goes where ui.test.ts puts its own: test/.artifacts/screenshots/, or
 * docs/screenshots/ with UPDATE_SCREENSHOTS=1.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, ROOT, startProgram, tenantTokens, waitFor as waitForProbe, type Program, type TenantTokens } from "../helpers/program";
import { axeViolations, eventually, launchChromium, PAGE_WAIT_MS, recordFailures, submitQuery } from "./chromium";

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, "docs/screenshots") : path.join(ROOT, "test/.artifacts/screenshots");

/** 40 request times: 36 from 12 to 273 ms (some twice, so the field is not folded as an id), and 4 slow ones. */
const MS = [...Array.from({ length: 36 }, (_, i) => 12 + ((i * 7) % 30) * 9), 1250, 1875, 2340, 4096];

/** Nearest-rank percentile: the smallest value with at least p % of the values at or below it. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

describe("numeric aggregates on the Fields page and a dashboard's single value, in Chromium, against the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const marker = `s${randomUUID().slice(0, 8)}`;
  const expected = {
    min: Math.min(...MS),
    avg: MS.reduce((a, b) => a + b, 0) / MS.length,
    max: Math.max(...MS),
    p95: percentile(MS, 95),
  };

  const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitForProbe(what, probe, PAGE_WAIT_MS);
  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
  const apiGet = async <T>(p: string) => (await (await fetch(program.url(p), { headers: { Authorization: `bearer ${def.apiToken}` } })).json()) as T;
  const watch = (p: Page) => {
    p.on("pageerror", (e) => pageErrors.push(e.message));
    p.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  };
  const signIn = async (p: Page) => {
    await p.goto(program.url("/"));
    await p.getByLabel("API token").fill(def.apiToken);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("navigation", { name: "Main" }).waitFor();
  };
  /** The Fields page over the marker's events, json.ms's card scrolled into view and its aggregates shown. */
  const openMsCard = async (p: Page) => {
    await p.goto(program.url(`/#/fields?q=${marker}`));
    await p.getByRole("heading", { name: "Fields", level: 1 }).waitFor();
    const card = p.locator('[data-field="json.ms"]');
    await card.scrollIntoViewIfNeeded();
    await card.getByTestId("field-stats").waitFor();
    return card;
  };
  const openBoard = async (p: Page) => {
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboards", exact: true }).click();
    await p.getByRole("link", { name: "Latency" }).click();
    await p.getByRole("heading", { name: "Latency", level: 1 }).waitFor();
  };
  /** What the dashboard's three charts show, once each has loaded. */
  const boardValues = async (p: Page) => {
    for (const title of ["Slow requests", "Requests", "Route p95"]) await p.locator(`[data-chart="${title}"] .chart-value`).waitFor();
    const chart = (title: string) => p.locator(`[data-chart="${title}"]`);
    return {
      p95: [await chart("Slow requests").locator(".chart-value").textContent(), await chart("Slow requests").locator(".chart-value").getAttribute("title"), await chart("Slow requests").locator(".chart-stat").textContent()],
      count: await chart("Requests").locator(".chart-value").textContent(),
      none: [await chart("Route p95").locator(".chart-value").textContent(), await chart("Route p95").locator(".chart-stat").textContent()],
    };
  };

  recordFailures(() => page);

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    program = await startProgram();
    def = await tenantTokens(program.dataDir);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light", locale: "en-US", timezoneId: "UTC" });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    page = await context.newPage();
    watch(page);
  });

  afterAll(async () => {
    await browser?.close();
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("shows a numeric field's min, average, max and p95 on its card, as computed from the values sent", async () => {
    // The figures this test expects, worked out by hand once: a slip in the computation above would show here.
    expect(expected).toEqual({ min: 12, avg: 14583 / 40, max: 4096, p95: 1875 });
    const lines = MS.map((ms, i) => JSON.stringify({ message: `req ${marker}`, ms, route: i % 2 ? "/cart" : "/pay" }));
    expect((await fetch(program.url(`/bulk/${def.ingestToken}/tag/stats`), { method: "POST", body: lines.join("\n") })).status).toBe(200);
    await waitFor("the events to be searchable", async () => (await apiGet<{ count: number }>(`/apiv2/events/count?q=${marker}&from=-1h&until=now`)).count === MS.length);

    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Fields", exact: true }).click();
    await page.getByRole("heading", { name: "Fields", level: 1 }).waitFor();
    const card = await openMsCard(page);
    // Its top values are still there, under the aggregates.
    await card.getByRole("list", { name: "Top values of json.ms" }).waitFor();
    const stat = async (k: string) => {
      const dd = card.locator(`[data-stat="${k}"] dd`);
      return { label: await card.locator(`[data-stat="${k}"] dt`).textContent(), value: Number(await dd.getAttribute("data-value")), text: await dd.textContent() };
    };
    // Thousands separated; the average to one decimal (364.575 ms).
    expect(await stat("min")).toEqual({ label: "min", value: expected.min, text: "12" });
    expect(await stat("avg")).toEqual({ label: "avg", value: expected.avg, text: expected.avg.toLocaleString("en-US", { maximumFractionDigits: 1 }) });
    expect((await stat("avg")).text).toBe("364.6");
    expect(await stat("max")).toEqual({ label: "max", value: expected.max, text: "4,096" });
    expect(await stat("p95")).toEqual({ label: "p95", value: expected.p95, text: "1,875" });
    // Computed from every matching event: no word about part of them.
    expect(await card.getByTestId("field-stats-note").textContent()).toBe(`Over ${MS.length} numeric values.`);

    // A text field's card shows its top values only.
    const route = page.locator('[data-field="json.route"]');
    await route.scrollIntoViewIfNeeded();
    await route.getByRole("list", { name: "Top values of json.route" }).waitFor();
    expect(await route.locator(".field-stats, [aria-busy]").count()).toBe(0);
    const message = page.locator('[data-field="json.message"]');
    await message.scrollIntoViewIfNeeded();
    await message.getByRole("list", { name: "Top values of json.message" }).waitFor();
    expect(await message.locator(".field-stats, [aria-busy]").count()).toBe(0);

    // Another search: the card is made again and asks again (the slow ones only: min 1,250).
    await submitQuery(page, `${marker} AND json.ms:>1000`);
    await eventually(() => card.locator('[data-stat="min"] dd').textContent()).toBe("1,250");
    expect(await card.locator('[data-stat="p95"] dd').textContent()).toBe(percentile([1250, 1875, 2340, 4096], 95).toLocaleString("en-US"));
    expect(await card.getByTestId("field-stats-note").textContent()).toBe("Over 4 numeric values.");
    expect(pageErrors).toEqual([]);
  });

  it("builds a dashboard whose single values are the p95 of json.ms and a count, kept across a reload", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboards", exact: true }).click();
    await page.getByText("No dashboards yet").waitFor();
    await page.getByLabel("New dashboard").fill("Latency");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "Latency", level: 1 }).waitFor();

    await page.getByRole("button", { name: "Add chart" }).click();
    const form = page.getByRole("form", { name: "Add chart" });
    await form.getByLabel("Title").fill("Slow requests");
    await form.getByLabel("Chart").selectOption("count");
    await form.getByLabel("Search query").fill(marker);
    // A count of events takes no field: the input shows once an aggregate is chosen.
    expect(await form.getByLabel("Shows").inputValue()).toBe("count");
    expect(await form.getByLabel("Numeric field").count()).toBe(0);
    await form.getByLabel("Shows").selectOption("p95");
    const field = form.getByLabel("Numeric field");
    await field.waitFor();
    // Sent without the field: the server's error is beside the field input, and nothing is added.
    await form.getByRole("button", { name: "Add", exact: true }).click();
    await form.locator("#chart-err-field").getByText("the p95 of which field? give a numeric field (e.g. json.ms)").waitFor();
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(await field.getAttribute("aria-describedby")).toBe("chart-err-field");
    expect(await page.locator(".chart-cell").count()).toBe(0);
    await field.fill("json.ms");
    await form.getByRole("button", { name: "Add", exact: true }).click();
    await form.waitFor({ state: "detached" });

    const add = async (title: string, stat: string, fieldName = "") => {
      await page.getByRole("button", { name: "Add chart" }).click();
      await form.getByLabel("Title").fill(title);
      await form.getByLabel("Chart").selectOption("count");
      await form.getByLabel("Search query").fill(marker);
      await form.getByLabel("Shows").selectOption(stat);
      if (fieldName) await form.getByLabel("Numeric field").fill(fieldName);
      await form.getByRole("button", { name: "Add", exact: true }).click();
      await form.waitFor({ state: "detached" });
    };
    await add("Requests", "count");
    // A text field has no numeric values: said so, not a zero.
    await add("Route p95", "p95", "json.route");

    const shown = { p95: ["1,875", String(expected.p95), "p95 of json.ms"], count: String(MS.length), none: ["no numeric values", "p95 of json.route"] };
    await eventually(() => boardValues(page)).toEqual(shown);
    await page.locator('[data-chart="Slow requests"]').scrollIntoViewIfNeeded();
    await shot("dashboard-stats");

    // As saved: the aggregate with its field, the count without either.
    const { dashboards } = await apiGet<{ dashboards: { name: string; charts: Record<string, unknown>[] }[] }>("/apiv2/dashboards");
    expect(dashboards.find((d) => d.name === "Latency")?.charts).toEqual([
      { title: "Slow requests", type: "count", query: marker, stat: "p95", field: "json.ms" },
      { title: "Requests", type: "count", query: marker },
      { title: "Route p95", type: "count", query: marker, stat: "p95", field: "json.route" },
    ]);

    // Kept: after a reload the same values come back.
    await page.reload();
    await page.getByRole("heading", { name: "Latency", level: 1 }).waitFor();
    await eventually(() => boardValues(page)).toEqual(shown);
    expect(await page.locator(".chart-cell").count()).toBe(3);
    expect(pageErrors).toEqual([]);
  });

  it("passes axe-core's WCAG 2.1 A and AA checks on the aggregates, the chart form with its error and the dashboard, light and dark", async () => {
    const found: Record<string, string[]> = {};
    const check = async (name: string, p: Page = page) => {
      const v = await axeViolations(p);
      if (v.length > 0) found[name] = v;
    };
    await openMsCard(page);
    await check("fields, a numeric field's aggregates");

    await openBoard(page);
    await eventually(() => boardValues(page)).toEqual({ p95: ["1,875", String(expected.p95), "p95 of json.ms"], count: String(MS.length), none: ["no numeric values", "p95 of json.route"] });
    await check("dashboard, single values");
    await page.getByRole("button", { name: "Add chart" }).click();
    const form = page.getByRole("form", { name: "Add chart" });
    await form.getByLabel("Chart").selectOption("count");
    await form.getByLabel("Shows").selectOption("avg");
    await form.getByRole("button", { name: "Add", exact: true }).click();
    await form.locator("#chart-err-field").waitFor();
    await form.locator("#chart-err-title").waitFor();
    await check("dashboard, adding a chart with errors");
    await form.getByRole("button", { name: "Cancel" }).click();
    await form.waitFor({ state: "detached" });

    const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark", locale: "en-US", timezoneId: "UTC" });
    dark.setDefaultTimeout(PAGE_WAIT_MS);
    const d = await dark.newPage();
    watch(d);
    await signIn(d);
    await openMsCard(d);
    await check("fields, a numeric field's aggregates, dark", d);
    await openBoard(d);
    await eventually(() => boardValues(d)).toEqual({ p95: ["1,875", String(expected.p95), "p95 of json.ms"], count: String(MS.length), none: ["no numeric values", "p95 of json.route"] });
    await check("dashboard, single values, dark", d);
    await dark.close();
    expect(found).toEqual({});
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
