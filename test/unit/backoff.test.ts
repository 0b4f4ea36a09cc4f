import { describe, expect, it } from "vitest";
import { Backoff, doublingDelay } from "../../packages/core/src/index";

describe("backoff", () => {
  it("doubles from the first delay up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => doublingDelay(n, 100, 5_000))).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
    expect(doublingDelay(0, 100, 5_000)).toBe(100);
    expect(doublingDelay(10_000, 100, 30_000)).toBe(30_000);
  });

  it("keeps the count of failures in a row until reset", () => {
    const b = new Backoff(1000, 30_000);
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });
});
