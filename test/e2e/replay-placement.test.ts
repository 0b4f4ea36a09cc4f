import { readdirSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { dayOf, hourKey, newEventId, parseQuery, type RawRecord } from "@unmeltable/core";
import { DirectoryStore, replay } from "@unmeltable/archive";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { TenantStore } from "@unmeltable/runtime";
import { cli, removeDir, tempDataDir } from "../helpers/program";

/**
 * `unmeltable replay` must put each event in the slice the index stage put it in: the index stores an id
 * once per slice file, so a replay into another slice (another length, or an old event's stated time)
 * adds it a second time.
 */
describe("unmeltable replay and the slices of the index stage", () => {
  it("puts replayed events where the index stage put them (hour slices, old stated times at their receive time): nothing added, no new slice", async () => {
    const dataDir = await tempDataDir();
    try {
      const store = new TenantStore(dataDir);
      store.add("acme", { slice: "hour", retentionDays: 7 });
      store.close();

      // An hour of archive: recent events, and a backfill stating a time in 2015.
      const receivedAt = Date.now() - 30 * 60_000;
      const records: RawRecord[] = [];
      for (let k = 0; k < 20; k++) {
        const at = receivedAt + k * 1000;
        const raw = k % 2 === 0 ? `recent line ${k}` : JSON.stringify({ timestamp: "2015-03-01T08:00:00Z", msg: `backfilled line ${k}` });
        records.push({ id: newEventId(at), tenant: "acme", receivedAt: at, transport: "http", remote: "10.0.0.1", collector: "test", tags: [], raw });
      }
      const archive = new DirectoryStore(path.join(dataDir, "archive"));
      const day = dayOf(receivedAt);
      await archive.put(hourKey(day, "acme", new Date(receivedAt).getUTCHours()), zlib.gzipSync(records.map((r) => JSON.stringify(r)).join("\n") + "\n"));

      // The first time, through the stage code with the index as the server configures it (stages-part.ts).
      const indexDir = path.join(dataDir, "index");
      const first = new EmbeddedIndex({ dir: indexDir, writer: "inline", slices: { acme: "hour" }, retentionDays: { acme: 7 } });
      const range = { from: receivedAt - 3_600_000, until: receivedAt + 3_600_000 };
      try {
        expect(await replay({ store: archive, index: first, tenant: "acme", ...range })).toMatchObject({ events: 20, indexed: 20 });
      } finally {
        await first.close();
      }
      const slicesBefore = readdirSync(path.join(indexDir, "acme")).filter((f) => f.endsWith(".db")).sort();
      expect(slicesBefore.every((f) => f.startsWith("hour-") && !f.startsWith("hour-2015"))).toBe(true);

      // Then the command.
      await cli(["replay", "--tenant", "acme", "--from", String(range.from), "--until", String(range.until), "--data-dir", dataDir]);
      expect(readdirSync(path.join(indexDir, "acme")).filter((f) => f.endsWith(".db")).sort()).toEqual(slicesBefore);
      const reader = new EmbeddedIndex({ dir: indexDir, writer: "inline" });
      try {
        expect(await reader.count({ tenant: "acme", query: parseQuery("*"), from: 0, until: Date.now() + 86_400_000 })).toBe(20);
        expect(await reader.count({ tenant: "acme", query: parseQuery("unmeltable.statedTimestamp:[* TO *]"), ...range })).toBe(10);
      } finally {
        await reader.close();
      }
    } finally {
      await removeDir(dataDir);
    }
  });
});
