/**
 * The Usage page in a real headless Chromium against the real program: reached from the navigation,
 * it shows the last 30 UTC days; events sent to the collector (HTTP /bulk, one line too large) are
 * counted in today's row and bar once the page refreshes.
 */
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, removeDir, startProgram, tenantTokens, type Program, type TenantTokens } from "../helpers/program";
import { eventually, launchChromium, PAGE_WAIT_MS, recordFailures } from "./chromium";

describe("the Usage page, in Chromium, against the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  // Refresh and wait for the page's new answer. Each click cancels the load under way: a probe that
  // clicked again 200 ms after the last (as this test did) could cancel every answer slower than that.
  const refresh = async () => {
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === "/apiv2/usage");
    await page.getByRole("button", { name: "Refresh" }).click();
    await answered;
  };

  recordFailures(() => page);

  beforeAll(async () => {
    program = await startProgram({ args: ["--max-event-bytes", "2000"] });
    def = await tenantTokens(program.dataDir);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "en-US", timezoneId: "UTC" });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("is reached from the navigation and counts the events sent today", async () => {
    await page.goto(program.url("/"));
    await page.getByLabel("API token").fill(def.apiToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage" }).waitFor();
    expect(page.url()).toMatch(/#\/usage$/);
    // Nothing sent yet: 30 days of zeros, and no plan for this tenant.
    await page.getByText("Nothing counted yet").waitFor();
    expect(await page.getByTestId("usage-table").locator("tbody tr").count()).toBe(30);
    expect(await page.getByTestId("usage-plan").textContent()).toBe("no plan (unlimited)");

    const marker = randomUUID();
    const lines = Array.from({ length: 25 }, (_, i) => `${marker} usage ${i}`);
    const res = await fetch(program.url(`/bulk/${def.ingestToken}`), { method: "POST", body: `${lines.join("\n")}\n${"y".repeat(3000)}\n` });
    expect(res.status).toBe(200);
    const bytes = lines.reduce((s, l) => s + Buffer.byteLength(l), 0);

    const today = new Date().toISOString().slice(0, 10);
    const row = page.getByTestId("usage-table").locator(`tr[data-day="${today}"]`);
    await eventually(async () => {
      await refresh();
      return [await row.locator('[data-col="events"]').textContent(), await row.locator('[data-col="indexed"]').textContent(), await row.locator('[data-col="deadLettered"]').textContent()];
    }).toEqual(["25", "25", "1"]);
    expect(bytes).toBeGreaterThan(1000); // shown in kB (decimal), exactly in its title
    expect(await row.locator('[data-col="bytes"]').textContent()).toBe(`${(bytes / 1000).toFixed(2)} kB`);
    expect(await row.locator('[data-col="bytes"]').getAttribute("title")).toBe(`${bytes.toLocaleString("en-US")} bytes`);
    // Today's bar is the only one, and the tallest.
    const bar = page.getByTestId("usage-chart").locator(`rect[data-day="${today}"]`);
    expect(Number(await bar.getAttribute("data-value"))).toBe(bytes);
    expect(Number(await bar.getAttribute("height"))).toBeGreaterThan(90);
    expect(await page.getByTestId("usage-chart").locator("rect").count()).toBe(30);
    expect(await page.getByTestId("plan-line").count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it("draws the plan set with `tenants set` and marks a day over it", async () => {
    // 1,000 bytes a day: today's bytes (more than 1,000, above) are over the plan.
    await cli(["tenants", "set", "default", "--data-dir", program.dataDir, "--plan-gb-per-day", "0.000001", "--plan-events-per-second", "1000"]);
    await eventually(async () => {
      await refresh();
      return page.getByTestId("usage-plan").textContent();
    }).toBe("1.00 kB a day, 1,000 events/s");
    expect(await page.getByTestId("plan-line").count()).toBe(1);
    const percent = page.getByTestId("usage-percent");
    expect(Number((await percent.textContent())!.replace(/% of plan$/, ""))).toBeGreaterThan(100);
    expect(await percent.getAttribute("class")).toBe("over-plan");
    const today = new Date().toISOString().slice(0, 10);
    expect(await page.getByTestId("usage-chart").locator(`rect[data-day="${today}"]`).getAttribute("class")).toBe("bar bar-over");
    expect(pageErrors).toEqual([]);
  });
});
