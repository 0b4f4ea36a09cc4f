import type { DropReason } from "./drop-reasons";
import type { RawRecord } from "./raw-record";

/**
 * A dead letter: what could not go on, why, and the data itself, so that nothing leaves the pipeline
 * without landing either in the index or in the dead-letter topic.
 */
export interface DeadLetter {
  /** Where it was dropped: "collector", "process", "index". */
  stage: string;
  reason: DropReason;
  /** Human-readable detail (the error message). */
  error: string;
  at: number;
  tenant?: string;
  /** The raw record, when the event got as far as having one. */
  record?: RawRecord;
  /** Otherwise the bytes as received (base64), e.g. an unparseable frame or an unknown token's message. */
  bytes?: string;
  /** The size of the refused input when `bytes` holds only its first part (dead letters keep a bounded prefix). */
  bytesLength?: number;
  /** Where the input came from, e.g. "tcp 10.0.0.1:51234" or "raw-3@1200". */
  source?: string;
}

export function encodeDeadLetter(dl: DeadLetter): Buffer {
  return Buffer.from(JSON.stringify(dl));
}

export function decodeDeadLetter(value: Buffer): DeadLetter {
  return JSON.parse(value.toString("utf8")) as DeadLetter;
}

/**
 * What Lambda writes to a Kafka on-failure destination when it gives up on a batch of an event-source
 * mapping (docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html): the failure's
 * metadata and the invocation's records, keyed by each record's original key.
 */
interface LambdaFailureRecord {
  requestContext?: { condition?: string; functionArn?: string; approximateInvokeCount?: number };
  responseContext?: { functionError?: string; statusCode?: number };
  timestamp?: string;
  KafkaBatchInfo?: unknown;
  payload?: { records?: Record<string, { topic: string; partition: number; offset: number; timestamp?: number; key?: string; value?: string }[]> };
}

/**
 * The dead letters in one record of the dead-letter topic, whoever wrote it: the app's own letter (one),
 * or Lambda's on-failure record (one letter per Kafka record it carries, as `retries_exhausted` of the
 * stage that reads that topic: redrive sends it back to where it was read from).
 */
export function decodeDeadLetters(value: Buffer): DeadLetter[] {
  const parsed = JSON.parse(value.toString("utf8")) as DeadLetter & LambdaFailureRecord;
  if (typeof parsed.stage === "string" && typeof parsed.reason === "string") return [parsed];
  if (!parsed.payload?.records || !parsed.requestContext) throw new Error("not a dead letter: neither the app's nor Lambda's on-failure record");
  const at = Date.parse(parsed.timestamp ?? "") || Date.now();
  const why = [parsed.requestContext.condition, parsed.responseContext?.functionError].filter(Boolean).join(", ");
  const out: DeadLetter[] = [];
  for (const records of Object.values(parsed.payload.records)) {
    for (const r of records) {
      out.push({
        stage: r.topic === "raw" ? "process" : "index",
        reason: "retries_exhausted",
        error: `Lambda gave up on the record (${why || "unknown condition"}) after ${parsed.requestContext.approximateInvokeCount ?? "?"} invocations of ${parsed.requestContext.functionArn ?? "the function"}`,
        at,
        tenant: r.key ? Buffer.from(r.key, "base64").toString("utf8") : undefined,
        bytes: r.value ?? "",
        source: `${r.topic}-${r.partition}@${r.offset}`,
      });
    }
  }
  return out;
}
