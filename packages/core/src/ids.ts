import { v7 } from "uuid";

/**
 * The event id: a UUIDv7 (RFC 9562), assigned once by the collector that accepted the event and never
 * changed afterwards. Its leading 48 bits are the accept time in ms, so ids sort by arrival; uuid's v7
 * keeps a per-process monotonic counter in the remaining bits, so two events accepted in the same
 * millisecond by one collector still differ and stay ordered. 74 random bits make collisions between
 * collectors negligible. Every later stage (retries, replays, reindexing) reuses this id, which is what
 * makes the index write idempotent.
 */
export function newEventId(): string {
  return v7();
}

/** The accept time (epoch ms) encoded in a UUIDv7 event id, or undefined when it is not one. */
export function eventIdTime(id: string): number | undefined {
  if (id.length !== 36 || id[14] !== "7") return undefined;
  const hex = id.slice(0, 8) + id.slice(9, 13);
  const ms = Number.parseInt(hex, 16);
  return Number.isFinite(ms) ? ms : undefined;
}
