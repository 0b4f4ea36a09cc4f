import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataDirWithSmallDisk, fillUp } from "../helpers/full-disk";
import { endProgram, readTopic, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

interface DeadLetterLine {
  reason: string;
  stage: string;
  bytes?: string;
}

/**
 * A tenant's index slice locked by another connection for longer than the index stage used to retry
 * (six attempts, then `retries_exhausted` in the dead letters): acknowledged events wait, and are all
 * indexed once the lock goes.
 */
function probes(program: () => Program, tokens: () => TenantTokens) {
  const metric = async (name: string, labels: string) => {
    const text = await (await fetch(program().url("/metrics"))).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && labels.split(",").every((p) => l.includes(p)));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  const count = async (q: string) =>
    ((await (await fetch(program().url(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=-1h`), { headers: { Authorization: `bearer ${tokens().apiToken}` } })).json()) as { count: number }).count;
  // Every event of a test carries the same time (the test's start), so all of them fall into the slice
  // the first one created, even when the test runs across midnight.
  const at = new Date().toISOString();
  const bulk = (lines: string[]) =>
    fetch(program().url(`/bulk/${tokens().ingestToken}/tag/blocked/`), { method: "POST", body: lines.map((message) => JSON.stringify({ message, timestamp: at })).join("\n") });
  const deadLetters = async () => (await readTopic<DeadLetterLine>(program().dataDir, "deadletter")).filter((d) => d.stage !== "collector");
  /** Until the index stage has retried more than six times (the old code gave up after six attempts and dead-lettered the batch). */
  const pastOldBudget = () =>
    waitFor(
      "the index stage to retry past the old budget (or to give up)",
      async () => (await metric("unmeltable_stage_retries_total", 'stage="index.default"')) > 6 || (await metric("unmeltable_dropped_events_total", 'reason="retries_exhausted"')) > 0,
      120_000,
    );
  /** After the cause is gone: every acknowledged event indexed, nothing in the dead letters, the stage unblocked. */
  const allIndexedAfter = async (marker: string, n: number) => {
    expect(await deadLetters()).toEqual([]);
    await waitFor("every acknowledged event indexed", async () => (await count(marker)) === n, 90_000);
    expect(await count(marker)).toBe(n);
    expect(await deadLetters()).toEqual([]);
    expect(await metric("unmeltable_dropped_events_total", 'reason="retries_exhausted"')).toBe(0);
    await waitFor("the stage no longer blocked", async () => (await metric("unmeltable_stage_blocked_since_seconds", 'stage="index.default"')) === 0);
  };
  return { metric, count, bulk, deadLetters, pastOldBudget, allIndexedAfter };
}

describe("an index slice locked for a while", () => {
  let program: Program;
  let tokens: TenantTokens;
  beforeAll(async () => {
    ({ program, tokens } = await startWithTokens());
  });
  afterAll(() => endProgram(program));
  const { metric, count, bulk, deadLetters, pastOldBudget, allIndexedAfter } = probes(
    () => program,
    () => tokens,
  );

  it("blocks and retries the index stage, never dead-letters, and indexes every acknowledged event after the lock", async () => {
    const run = randomUUID().slice(0, 8);
    expect((await bulk([`first${run}`])).status).toBe(200);
    await waitFor("the tenant's slice to exist", async () => (await count(`first${run}`)) === 1);

    const dir = path.join(program.dataDir, "index", "default");
    const locks = (await readdir(dir)).filter((f) => f.endsWith(".db")).map((f) => new Database(path.join(dir, f)));
    try {
      for (const db of locks) db.exec("BEGIN EXCLUSIVE");
      const lines = Array.from({ length: 400 }, (_, i) => `locked${run} n${i}`);
      expect((await bulk(lines)).status).toBe(200);
      // Hold the lock past the old retry budget.
      await pastOldBudget();
      expect(await deadLetters()).toEqual([]);
      expect(await metric("unmeltable_stage_blocked_since_seconds", 'stage="index.default"')).toBeGreaterThan(0);
      expect(await count(`locked${run}`)).toBe(0);
    } finally {
      for (const db of locks) {
        if (db.inTransaction) db.exec("ROLLBACK");
        db.close();
      }
    }

    await allIndexedAfter(`locked${run}`, 400);
  }, 240_000);
});

describe("a full disk under the index", () => {
  let program: Program;
  let tokens: TenantTokens;
  let dataDir: string;
  let unmount: () => Promise<void>;
  beforeAll(async () => {
    ({ dataDir, unmount } = await dataDirWithSmallDisk("index", 16 * 1024 * 1024));
    ({ program, tokens } = await startWithTokens({ dataDir }));
  });
  afterAll(() => endProgram(program, { dataDir, unmount }));
  const { metric, count, bulk, deadLetters, pastOldBudget, allIndexedAfter } = probes(
    () => program,
    () => tokens,
  );

  it("waits (SQLITE_FULL is retried, not dead-lettered) and indexes every acknowledged event once space returns", async () => {
    const run = randomUUID().slice(0, 8);
    expect((await bulk([`first${run}`])).status).toBe(200);
    await waitFor("the tenant's slice to exist", async () => (await count(`first${run}`)) === 1);
    const disk = await fillUp(path.join(dataDir, "index"));
    try {
      const lines = Array.from({ length: 400 }, (_, i) => `full${run} n${i} ${"x".repeat(300)}`);
      expect((await bulk(lines)).status).toBe(200);
      await pastOldBudget();
      expect(await deadLetters()).toEqual([]);
      expect(await metric("unmeltable_stage_blocked_since_seconds", 'stage="index.default"')).toBeGreaterThan(0);
    } finally {
      await disk.free();
    }
    await allIndexedAfter(`full${run}`, 400);
  }, 240_000);
});
