import type { Readable } from "node:stream";

/**
 * The object store port: S3 on AWS, a directory on one machine. Used by the daily archive of raw events.
 * Keys are '/'-separated paths.
 */
export interface ObjectStore {
  /** Stores an object; a stream body needs its length (S3 wants it up front). */
  put(key: string, body: Buffer | { stream: Readable; length: number }, contentType?: string): Promise<void>;
  /** The object's bytes as a stream; rejects with ObjectNotFoundError when there is none. */
  get(key: string): Promise<Readable>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object (no error when there is none). */
  delete(key: string): Promise<void>;
  /** A short name for messages ("s3://bucket", "/data/archive"). */
  readonly location: string;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no object ${key}`);
    this.name = "ObjectNotFoundError";
  }
}
