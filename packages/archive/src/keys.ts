import { dayPrefix } from "@unmeltable/core";

/**
 * Keys of the fanned-out archive (see core/archive/layout.ts for the whole layout). A piece is one run of
 * the worker over one raw-topic partition from one offset; its id is `<partition>-<first>`. The id does
 * not name the piece's last offset on purpose: a piece redone after a crash starts at the same offset
 * (the checkpoint did not move) and reads at least as far, so it overwrites every object the crashed
 * attempt may have completed with the same bytes, and no stale copy is left beside it.
 */
export function pieceId(partition: number, first: number): string {
  return `${partition}-${first}`;
}

export function pieceObjectKey(day: string, tenant: string, hour: number, piece: string, segment: number): string {
  return `${dayPrefix(day)}${tenant}/${String(hour).padStart(2, "0")}/${piece}.${segment}.ndjson.gz`;
}

export function piecesPrefix(day: string): string {
  // A tenant name starts with a letter or digit (core/ports/tenants.ts): no tenant is called `_pieces`.
  return `${dayPrefix(day)}_pieces/`;
}

export function pieceManifestKey(day: string, piece: string): string {
  return `${piecesPrefix(day)}${piece}.json`;
}

export function checkpointKey(partition: number): string {
  return `archive-state/checkpoints/${partition}.json`;
}

export const LEASE_KEY = "archive-state/lease.json";
