import { InvokeCommand, LambdaClient, type LambdaClientConfig } from "@aws-sdk/client-lambda";
import type { PieceRequest, PieceResult } from "./piece";

/**
 * The worker as a Lambda function (functions/archive-worker.ts), invoked synchronously by the planner:
 * the answer is the piece's result, or the worker's error (a crash, its timeout) as a rejection — the
 * planner then leaves the partition's checkpoint where it was and the next run redoes the piece.
 */
export function lambdaWorker(functionName: string, config: LambdaClientConfig = {}): (request: PieceRequest) => Promise<PieceResult> {
  // A piece may take the worker's whole timeout (up to 15 min): no client-side timeout shorter than that.
  const lambda = new LambdaClient({ maxAttempts: 1, ...config });
  return async (request) => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(request)) }));
    const text = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "";
    if (out.FunctionError) {
      let message = text;
      try {
        const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
        message = `${e.errorType ?? "Error"}: ${e.errorMessage ?? text}`;
      } catch {
        // not JSON: the raw answer is the message
      }
      throw new Error(`archive worker ${functionName} failed on partition ${request.partition} from ${request.from}: ${message}`);
    }
    return JSON.parse(text) as PieceResult;
  };
}
