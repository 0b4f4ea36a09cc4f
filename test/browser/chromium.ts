import { chromium, type Browser } from "playwright-core";
import { expect } from "vitest";

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
