/**
 * The logger and metrics ports on one machine: pino's lines (readable by default, JSON on request) with
 * levels, fields and child bindings; the search API's reads timed in a Prometheus histogram, on the real
 * embedded index.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidCursorError, parseQuery, timedReads } from "@unmeltable/core";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { createLogger, loggerOptionsFromEnv } from "@unmeltable/runtime";
import { PrometheusMetrics } from "../../packages/runtime/src/prometheus";
import { makeEvent } from "../contract/index.contract";

describe("the pino logger", () => {
  it("writes readable lines by default: time, level above info, the message, then the fields with the child's bindings", () => {
    const out: string[] = [];
    const logger = createLogger({ write: (l) => out.push(l) });
    logger.info("started");
    const stage = logger.child({ stage: "index.default" }).child({ partition: 3 });
    stage.warn("failed, retrying", { error: "index locked", attempt: 2 });
    stage.debug("not shown at the default level");
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z started\n$/);
    expect(out[1]).toMatch(/^\S+Z WARN failed, retrying stage=index\.default partition=3 error="index locked" attempt=2\n$/);
  });

  it("writes pino's JSON lines with UNMELTABLE_LOG_FORMAT=json, and the level it is given", () => {
    const out: string[] = [];
    const logger = createLogger({ ...loggerOptionsFromEnv({ UNMELTABLE_LOG_FORMAT: "json", UNMELTABLE_LOG_LEVEL: "debug" }), write: (l) => out.push(l) });
    logger.child({ tenant: "acme" }).debug("a detail", { n: 1 });
    logger.error("it broke");
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 20, tenant: "acme", n: 1, msg: "a detail" });
    expect(lines[1]).toMatchObject({ level: 50, msg: "it broke" });
    expect(typeof lines[0]!.time).toBe("string");
  });

  it("refuses a format or level it does not know, naming the variable", () => {
    expect(() => loggerOptionsFromEnv({ UNMELTABLE_LOG_FORMAT: "xml" })).toThrow(/UNMELTABLE_LOG_FORMAT must be "pretty" or "json"/);
    expect(() => loggerOptionsFromEnv({ UNMELTABLE_LOG_LEVEL: "loud" })).toThrow(/UNMELTABLE_LOG_LEVEL must be one of debug, info, warn, error/);
  });
});

describe("query time", () => {
  it("each read of the index is observed in unmeltable_query_seconds by kind and outcome", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-query-time-"));
    const index = new EmbeddedIndex({ dir, writer: "inline" });
    try {
      const at = Date.now() - 60_000;
      await index.write("acme", [JSON.stringify(makeEvent("acme", at))]);
      const metrics = new PrometheusMetrics();
      const timed = timedReads(index, metrics);
      const q = { tenant: "acme", query: parseQuery("*"), from: at - 3_600_000, until: at + 3_600_000 };
      expect((await timed.search(q, { order: "desc", size: 10 })).events).toHaveLength(1);
      expect(await timed.count(q)).toBe(1);
      await expect(timed.search(q, { order: "desc", size: 10, cursor: "not-a-cursor" })).rejects.toBeInstanceOf(InvalidCursorError);
      const text = await metrics.text();
      expect(text).toMatch(/unmeltable_query_seconds_count\{kind="search",outcome="ok"\} 1/);
      expect(text).toMatch(/unmeltable_query_seconds_count\{kind="count",outcome="ok"\} 1/);
      expect(text).toMatch(/unmeltable_query_seconds_count\{kind="search",outcome="error"\} 1/);
      expect(text).toMatch(/unmeltable_query_seconds_bucket\{le="\+Inf",kind="search",outcome="ok"\} 1/);
    } finally {
      await index.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
