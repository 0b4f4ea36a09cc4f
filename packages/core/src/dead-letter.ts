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
