import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IndexNames, ISSUE_WORKLOAD, layoutTable, layoutTableMarkdown, placementsOver, planPlacement, QUIET_WORKLOAD, readPlan, retentionClass } from "@unmeltable/index-opensearch";
import type { Placement } from "@unmeltable/core";

const DAY = 86_400_000;
const README = readFileSync(path.join(import.meta.dirname, "../../packages/index-opensearch/README.md"), "utf8");

function section(name: string): string {
  const m = new RegExp(`<!-- layout-table:${name} -->\\n([\\s\\S]*?)\\n<!-- /layout-table:${name} -->`).exec(README);
  if (!m) throw new Error(`README has no layout-table:${name}`);
  return m[1]!;
}

describe("the layout's arithmetic (README table)", () => {
  it("the README's tables are what layoutTable computes", () => {
    expect(section("issue")).toBe(layoutTableMarkdown(layoutTable(ISSUE_WORKLOAD)));
    expect(section("quiet")).toBe(layoutTableMarkdown(layoutTable(QUIET_WORKLOAD)));
  });

  it("reproduces the issue's count before placements and the pooled/dedicated one from the layout's rules", () => {
    const [def, bulk] = layoutTable(ISSUE_WORKLOAD);
    // Before: retention / slice + 2 indices per tenant, 1 primary + 1 replica (the issue: ~157,700 indices, ~315,400 shards).
    expect(def!.old.indices + bulk!.old.indices).toBe(Math.round(9000 * (30 / 7 + 2) + 900 * 32 + 90 * 722 + 10 * 722));
    expect(def!.old.shards + bulk!.old.shards).toBeGreaterThan(315_000);
    // Now: one pooled index a day (32 kept) of ⌈15,552 GB / 40 GB⌉ = 389 primaries for the 9,900 pooled
    // tenants; the 90 at 86.4 GB/day dedicated day slices of 3; the 10 at 8.64 TB/day hour slices of 9.
    expect(def!.new).toEqual({ indices: 32 + 90 * 32, shards: 32 * 389 * 2 + 90 * 32 * 3 * 2, pooledTenants: 9900, dedicatedTenants: 90 });
    expect(bulk!.new).toEqual({ indices: 10 * 722, shards: 10 * 722 * 9 * 2, pooledTenants: 0, dedicatedTenants: 10 });
  });
});

describe("placement rules", () => {
  const now = Date.UTC(2026, 5, 10, 10, 30);
  const midnight = Date.UTC(2026, 5, 11);

  it("promotes above 40 GB a day, demotes below 10 GB (hysteresis), resizes dedicated primaries, from the next midnight", () => {
    expect(planPlacement({ retentionDays: 30 }, 39e9, now)).toBeUndefined();
    expect(planPlacement({ retentionDays: 30 }, 86.4e9, now)).toEqual({ from: midnight, layout: "dedicated", slice: "day", shards: 3, retentionDays: 30 });
    expect(planPlacement({ retentionDays: 30 }, 8.64e12, now)).toEqual({ from: midnight, layout: "dedicated", slice: "hour", shards: 9, retentionDays: 30 });
    const dedicated = { retentionDays: 30, placements: [{ from: 0, layout: "dedicated", slice: "day", shards: 3 } as Placement] };
    expect(planPlacement(dedicated, 90e9, now)).toBeUndefined(); // its 3 primaries fit
    expect(planPlacement(dedicated, 20e9, now)).toEqual({ from: midnight, layout: "dedicated", slice: "day", shards: 1, retentionDays: 30 }); // above 10 GB: stays dedicated, 3 primaries are over twice too many
    expect(planPlacement(dedicated, 9e9, now)).toEqual({ from: midnight, layout: "pooled", slice: "day", retentionDays: 30 });
    expect(planPlacement(dedicated, 150e9, now)).toEqual({ from: midnight, layout: "dedicated", slice: "day", shards: 4, retentionDays: 30 });
    // A placement from the next boundary on already: nothing more.
    expect(planPlacement({ retentionDays: 30, placements: [{ from: midnight, layout: "dedicated", slice: "day", shards: 3 }] }, 1e6, now)).toBeUndefined();
  });

  it("gives each placement its part of a range, and retention classes from the ladder", () => {
    const layout = { retentionDays: 45, placements: [{ from: DAY * 10, layout: "dedicated", slice: "hour", shards: 2 } as Placement] };
    expect(placementsOver(layout, DAY * 9, DAY * 11).map((p) => [p.placement.layout, p.from, p.until])).toEqual([
      ["pooled", DAY * 9, DAY * 10 - 1],
      ["dedicated", DAY * 10, DAY * 11],
    ]);
    expect([1, 7, 8, 30, 31, 45, 400, 3650].map(retentionClass)).toEqual([7, 7, 14, 30, 60, 60, 730, 3650]);
  });

  it("keeps every read's request line short: names while they fit, the tier's patterns beyond", () => {
    const names = new IndexNames("logs", "default");
    const layout = { retentionDays: 365, placements: [{ from: Date.UTC(2026, 0, 1), layout: "dedicated", slice: "hour", shards: 2 } as Placement] };
    const month = readPlan(names, "acme", { retentionDays: 30 }, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 31))!;
    expect(month).toMatchObject({ pattern: false, routing: "acme" });
    expect(month.target.split(",")).toHaveLength(31);
    const mixed = readPlan(names, "acme", layout, Date.UTC(2025, 11, 1), Date.UTC(2026, 0, 31))!;
    expect(mixed).toEqual({ target: "logs-default._pool-*,logs-default.acme.*", pattern: true });
    expect(mixed.target.length).toBeLessThan(4000);
  });
});
