import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterEach, expect } from "vitest";

/**
 * What the browser tests share: Chromium (Debian's, driven by playwright-core) and how long a step waits.
 *
 * A step waits for a condition (text shown, rows counted, a request answered), never for a fixed time.
 * How long it may take before it counts as failed is one figure for every step, far above what a working
 * page needs: the suite runs on busy 2-core machines, where a step takes many times what it takes on a
 * quiet one (the program alone took 15-20 s to start at load average 16-18), and the 20 s these tests
 * allowed each step before failed at random there.
 */
export const PAGE_WAIT_MS = 60_000;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS, timeout: PAGE_WAIT_MS });
}

/**
 * `expect.poll` with the browser tests' patience: asks again every 100 ms until the matcher passes. A probe
 * that makes the page load something must wait for that load (see usage-ui.test.ts, `refresh`): the next
 * probe would otherwise cancel it, and on a busy machine it could cancel every one.
 */
export function eventually<T>(fn: () => T | Promise<T>) {
  return expect.poll(fn, { timeout: PAGE_WAIT_MS, interval: 100 });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core's WCAG 2.1 A and AA checks on what the page shows now, as readable lines (rule, impact, the
 * elements). axe is put into the page through the DevTools protocol, which the page's Content Security
 * Policy (no inline scripts) does not govern, so the page is checked as users get it.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(`${AXE_SOURCE}\n;0`);
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] })`)) as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[]; failureSummary: string }[] }[];
  };
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`).join(" | ")}`);
}

/**
 * When a test fails, what its page showed: a screenshot in test/.artifacts/failures/ and the page's URL and
 * visible text on stderr (CI keeps the log): a step that timed out says what it waited for, not what it saw.
 */
export function recordFailures(pageOf: () => Page | undefined): void {
  afterEach(async (ctx) => {
    const page = pageOf();
    if (ctx.task.result?.state !== "fail" || !page || page.isClosed()) return;
    const dir = path.resolve(import.meta.dirname, "../.artifacts/failures");
    mkdirSync(dir, { recursive: true });
    const name = ctx.task.name.replace(/[^\w-]+/g, "-").slice(0, 80);
    try {
      await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true, timeout: 10_000 });
      const text = (await page.locator("main").innerText({ timeout: 5_000 })).slice(0, 2_000);
      process.stderr.write(`\n[failed: ${ctx.task.name}] page ${page.url()}\n${text}\n`);
    } catch (err) {
      process.stderr.write(`\n[failed: ${ctx.task.name}] the page could not be recorded: ${(err as Error).message}\n`);
    }
  });
}

/**
 * A query typed into the page's query box and submitted with its button. Not with Enter: the box
 * completes from recent queries (a datalist), and on a busy machine Chromium's suggestion popup, opened
 * when the box took focus, can still hold the old query highlighted when Enter comes — Enter then picks
 * that suggestion instead of submitting what was typed (seen in CI: the page stayed on the last search).
 */
export async function submitQuery(page: Page, q: string): Promise<void> {
  const form = page.getByRole("search");
  await form.getByLabel("Search query").fill(q);
  await form.locator('button[type="submit"]').click();
  // Submitted: the URL holds the query (what the page searches, or tails, from now on).
  await eventually(() => new URLSearchParams(new URL(page.url()).hash.split("?")[1] ?? "").get("q") ?? "").toBe(q.trim());
}
