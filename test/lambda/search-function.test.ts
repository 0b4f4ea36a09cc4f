/**
 * The search function (functions/search.ts) on its own, with the real Powertools output: its index reads
 * are timed into the same query-time histogram as on one machine (core's QUERY_METRICS: QuerySeconds, by
 * kind and outcome), written as EMF once per invocation; and every failure is a coded answer, as the
 * local server's (test/integration/authentication.test.ts): 404, 405, a query syntax error, a bad time
 * range, and 500 `UNM_INTERNAL` for an unexpected exception (logged, never shown).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { QUERY_METRICS } from "@unmeltable/core";
import { captureEmfLines } from "../helpers/emf-lines";

const FUNCTION = "unmeltable-prod-SearchFunction-abc123";
const { lines, lambda: loaded } = captureEmfLines(FUNCTION);
const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/lambda");

type Doc = { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } } & Record<string, unknown>;
type Answer = { statusCode: number; headers?: Record<string, string>; body: string };

describe("the search function", () => {
  const tenant = { name: "acme", ingestToken: randomUUID(), apiToken: randomUUID(), tier: "default" };
  const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-search-fn-"));
  const base = JSON.parse(readFileSync(path.join(FIXTURES, "api-gateway-v2-event.json"), "utf8")) as APIGatewayProxyEventV2;
  const context = { functionName: FUNCTION, awsRequestId: "r1", getRemainingTimeInMillis: () => 60_000 };
  let handler: (event: APIGatewayProxyEventV2, context: unknown) => Promise<Answer>;
  const call = (rawPath: string, rawQueryString: string, method = "GET") =>
    handler({ ...base, rawPath, rawQueryString, requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method } }, headers: { ...base.headers, authorization: `bearer ${tenant.apiToken}` } }, context);

  beforeAll(async () => {
    writeFileSync(path.join(dir, "tenants.json"), JSON.stringify([tenant]));
    Object.assign(process.env, { UNMELTABLE_TENANTS: path.join(dir, "tenants.json"), UNMELTABLE_INDEX: "embedded", UNMELTABLE_INDEX_DIR: path.join(dir, "index"), POWERTOOLS_METRICS_NAMESPACE: "unmeltable-test" });
    loaded().resetEnvironment();
    handler = (await import("../../functions/search")).handler as never;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("times each read of the index into QuerySeconds (by kind and outcome), one EMF document per dimension set per invocation", async () => {
    const before = lines.length;
    const res = await call("/apiv2/events/count", "q=*&from=-1h");
    expect([res.statusCode, JSON.parse(res.body)]).toEqual([200, { count: 0 }]);
    const docs = lines.slice(before).map((l) => JSON.parse(l) as Doc);
    const name = QUERY_METRICS.querySeconds.cloudwatch;
    const timed = docs.filter((d) => name in d);
    expect(timed).toHaveLength(1);
    const doc = timed[0]!;
    expect(doc).toMatchObject({ FunctionName: FUNCTION, kind: "count", outcome: "ok" });
    expect(doc[name]).toBeGreaterThanOrEqual(0);
    expect(doc._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: name, Unit: "Seconds" });
    expect(doc._aws.CloudWatchMetrics[0]!.Dimensions[0]).toEqual(expect.arrayContaining(["FunctionName", "kind", "outcome"]));

    // A request that reads nothing writes no query time; the next read is in the next invocation's document.
    const refused = lines.length;
    expect((await call("/apiv2/events/count", "q=(a")).statusCode).toBe(400);
    expect(lines.slice(refused).filter((l) => l.includes(name))).toEqual([]);
  });

  it("answers every failure with its code: 404, 405, a query syntax error, a bad time range, 500 of a bug", async () => {
    const nowhere = await call("/apiv2/nowhere", "");
    expect([nowhere.statusCode, JSON.parse(nowhere.body)]).toEqual([404, { response: "error", message: "no such endpoint: /apiv2/nowhere", code: "UNM_NOT_FOUND" }]);
    const post = await call("/apiv2/events/count", "q=*", "POST");
    expect([post.statusCode, post.headers?.Allow, JSON.parse(post.body).code]).toEqual([405, "GET, HEAD", "UNM_METHOD_NOT_ALLOWED"]);
    const syntax = await call("/apiv2/events/count", "q=(a");
    expect([syntax.statusCode, JSON.parse(syntax.body)]).toEqual([400, { response: "error", code: "UNM_QUERY_SYNTAX", message: "query syntax error: unbalanced parenthesis: '(' at 0 is never closed: add a ')'", position: 0 }]);
    const range = await call("/apiv2/events/count", "q=*&from=-2x");
    expect([range.statusCode, JSON.parse(range.body)]).toEqual([400, { response: "error", code: "UNM_TIME_RANGE", message: expect.stringMatching(/^from: invalid time '-2x'/) }]);

    // A bug: the index throws a plain Error. The caller gets the coded 500, the log the error; the failed read is timed.
    const index = await loaded().indexPort();
    const broken = vi.spyOn(index, "fields").mockRejectedValueOnce(new Error("the index broke (a bug)"));
    const logged = vi.spyOn(loaded().appLogger, "error");
    const before = lines.length;
    try {
      const bug = await call("/apiv2/fields", "q=*");
      expect([bug.statusCode, JSON.parse(bug.body)]).toEqual([500, { response: "error", message: "internal error (the server logged it)", code: "UNM_INTERNAL" }]);
      expect(logged).toHaveBeenCalledWith("search request failed", expect.objectContaining({ path: "/apiv2/fields", error: "the index broke (a bug)" }));
    } finally {
      broken.mockRestore();
      logged.mockRestore();
    }
    expect(lines.slice(before).map((l) => JSON.parse(l) as Doc)).toContainEqual(expect.objectContaining({ kind: "fields", outcome: "error", FunctionName: FUNCTION }));
  });
});
