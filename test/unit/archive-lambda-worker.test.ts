/**
 * The planner's worker invocation (packages/archive, lambda-worker.ts) through the real Lambda client
 * against a model of Lambda's Invoke API as documented (docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):
 * POST /2015-03-31/functions/<name>/invocations with the payload as body; 200 with the function's answer,
 * and on a function error the header X-Amz-Function-Error (Unhandled) with {errorType, errorMessage}.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PieceRequest, PieceResult } from "@unmeltable/archive";
import { lambdaWorker } from "@unmeltable/archive/lambda-worker";

describe("the archive worker as a Lambda invocation", () => {
  let server: http.Server;
  let endpoint: string;
  const seen: { path: string; invocationType: string | undefined; body: PieceRequest }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const request = JSON.parse(body) as PieceRequest;
        seen.push({ path: req.url ?? "", invocationType: req.headers["x-amz-invocation-type"] as string | undefined, body: request });
        if (request.partition === 13) {
          // A worker that timed out: Lambda answers 200 with the error in the payload.
          res.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" });
          res.end(JSON.stringify({ errorType: "Sandbox.Timedout", errorMessage: "Task timed out after 300.00 seconds" }));
          return;
        }
        const result: PieceResult = { piece: `${request.partition}-${request.from}`, partition: request.partition, first: request.from, next: request.to, records: request.to - request.from, bytes: 1, events: 2, undecodable: 0, lastTimestamp: 3, days: ["2026-01-07"], parts: 0, puts: 1 };
        res.writeHead(200, { "content-type": "application/json", "x-amz-executed-version": "$LATEST" });
        res.end(JSON.stringify(result));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const config = () => ({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });

  it("invokes the worker synchronously with the piece and answers its result", async () => {
    const invoke = lambdaWorker("unmeltable-prod-ArchiveWorker", config());
    const result = await invoke({ partition: 2, from: 100, to: 250, maxBytes: 1024 });
    expect(result).toMatchObject({ piece: "2-100", next: 250, days: ["2026-01-07"] });
    expect(seen.at(-1)).toEqual({ path: "/2015-03-31/functions/unmeltable-prod-ArchiveWorker/invocations", invocationType: "RequestResponse", body: { partition: 2, from: 100, to: 250, maxBytes: 1024 } });
  });

  it("turns a worker's error (its timeout) into a rejection naming the piece", async () => {
    const invoke = lambdaWorker("unmeltable-prod-ArchiveWorker", config());
    await expect(invoke({ partition: 13, from: 7, to: 9 })).rejects.toThrow("archive worker unmeltable-prod-ArchiveWorker failed on partition 13 from 7: Sandbox.Timedout: Task timed out after 300.00 seconds");
  });
});
