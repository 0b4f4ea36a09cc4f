import { describe, expect, it } from "vitest";
import type { QueueRecord } from "@unmeltable/core";
import { BacklogDiverter, TenantShares } from "@unmeltable/runner";

const record = (tenant: string | null, bytes: number, timestamp: number, offset = 0): QueueRecord => ({ topic: "raw", partition: 0, offset, key: tenant, value: Buffer.alloc(bytes), timestamp, headers: {} });

describe("TenantShares", () => {
  it("never finds a tenant alone over its share, however much it sends", () => {
    const s = new TenantShares();
    s.observe("a", 1e9, 1000);
    expect(s.over("a", 1000)).toBe(false);
  });

  it("finds the tenant sending nearly everything over its share, and the small one not", () => {
    const s = new TenantShares();
    for (let t = 0; t < 10_000; t += 100) {
      s.observe("a", 1_000_000, t);
      s.observe("b", 1_000, t);
    }
    expect(s.over("a", 10_000)).toBe(true);
    expect(s.over("b", 10_000)).toBe(false);
  });

  it("finds nobody over when tenants send alike", () => {
    const s = new TenantShares();
    for (const name of ["a", "b", "c"]) s.observe(name, 1000, 0);
    s.observe("a", 300, 0);
    expect(["a", "b", "c"].map((n) => s.over(n, 0))).toEqual([false, false, false]);
  });

  it("finds two bursting tenants over their share next to a small one", () => {
    const s = new TenantShares();
    s.observe("a", 1_000_000, 0);
    s.observe("b", 1_000_000, 0);
    s.observe("c", 100, 0);
    expect([s.over("a", 0), s.over("b", 0), s.over("c", 0)]).toEqual([true, true, false]);
  });

  it("forgets a tenant that stopped sending: the other is alone again", () => {
    const s = new TenantShares({ halfLifeMs: 1000, activeMs: 2000 });
    s.observe("a", 1_000_000, 0);
    s.observe("b", 100, 0);
    expect(s.over("a", 0)).toBe(true);
    s.observe("a", 1_000_000, 5000);
    expect(s.over("a", 5000)).toBe(false);
  });

  it("counts what a usage observer is told was ingested", () => {
    const s = new TenantShares();
    const o = s.usageObserver();
    o.ingested("a", 1000, 1_000_000);
    o.ingested("b", 1, 100);
    expect(s.over("a", Date.now())).toBe(true);
  });
});

describe("BacklogDiverter", () => {
  const now = 100_000;
  const burstAndSmall = () => {
    const shares = new TenantShares();
    shares.observe("a", 10_000_000, now);
    shares.observe("b", 1_000, now);
    return shares;
  };

  it("passes on the old records of a tenant over its share, and keeps the rest", () => {
    const changes: string[] = [];
    const d = new BacklogDiverter({ topic: "raw.backlog", shares: burstAndSmall(), onChange: (t, on) => changes.push(`${t} ${on}`) });
    const records = [record("a", 100, now - 10), record("a", 100, now - 5000), record("b", 100, now - 5000), record("a", 100, now - 5000), record(null, 10, now - 5000), record("_probe", 10, now - 5000)];
    const { keep, divert } = d.split(records, now);
    // The first "a" record is young (the stage keeps up with it): kept; the old ones are passed on.
    expect(keep).toEqual([0, 2, 4, 5]);
    expect(divert).toEqual([1, 3]);
    expect(changes).toEqual(["a true"]);
    expect(d.tenants()).toEqual(["a"]);
  });

  it("once passing a tenant's records on, passes on the young ones too while it stays over its share, then lets them back", () => {
    const changes: string[] = [];
    const shares = new TenantShares({ halfLifeMs: 1000, activeMs: 2000 });
    shares.observe("a", 10_000_000, now);
    shares.observe("b", 1_000, now);
    const d = new BacklogDiverter({ topic: "t", shares, holdMs: 1000, onChange: (t, on) => changes.push(`${t} ${on}`) });
    expect(d.split([record("a", 100, now - 5000)], now).divert).toEqual([0]);
    expect(d.split([record("a", 100, now + 500)], now + 500).divert).toEqual([0]);
    // Past the hold, still over its share: a young record is passed on too.
    shares.observe("b", 1_000, now + 1500);
    expect(d.split([record("a", 100, now + 1500)], now + 1500).divert).toEqual([0]);
    // It stopped sending (no longer active, the other is alone): its records go through the stage again.
    shares.observe("b", 1_000, now + 3000);
    expect(d.split([record("a", 100, now + 3000)], now + 3000).keep).toEqual([0]);
    expect(changes).toEqual(["a true", "a false"]);
  });

  it("passes on a tenant's young records past its turn's bytes in one batch", () => {
    const d = new BacklogDiverter({ topic: "t", shares: burstAndSmall(), turnBytes: 250 });
    const { keep, divert } = d.split([record("a", 100, now), record("b", 100, now), record("a", 100, now), record("a", 100, now), record("a", 100, now)], now);
    expect(keep).toEqual([0, 1, 2]);
    expect(divert).toEqual([3, 4]);
  });

  it("never passes on the records of a tenant within its share, however old", () => {
    const d = new BacklogDiverter({ topic: "t", shares: burstAndSmall() });
    expect(d.split([record("b", 100, now - 60_000)], now).divert).toEqual([]);
  });

  it("without shares given, counts the records it sees", () => {
    const d = new BacklogDiverter({ topic: "t" });
    const old = now - 5000;
    // Alone, the big tenant keeps the stage.
    expect(d.split([record("a", 1_000_000, old)], now).divert).toEqual([]);
    expect(d.split([record("b", 100, old), record("a", 1_000_000, old)], now).divert).toEqual([1]);
  });
});
