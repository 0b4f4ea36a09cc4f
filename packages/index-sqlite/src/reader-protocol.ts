/** Messages between the reader pool (reader-pool.ts) and its threads (reader-worker.ts). */
import type { SearchPage, SearchQuery } from "@unmeltable/core";

export type ReadRequest =
  | { op: "search"; q: SearchQuery; page: SearchPage }
  | { op: "count"; q: SearchQuery }
  | { op: "facet"; q: SearchQuery; field: string; size: number }
  | { op: "histogram"; q: SearchQuery; intervalMs: number }
  | { op: "fields"; q: SearchQuery }
  | { op: "stats"; q: SearchQuery; field: string };

export type ReaderMessage = ({ id: number; deadline?: number } & ReadRequest) | { id: number; op: "closeSlice"; tenant: string; sliceName: string };

export interface ReaderReply {
  id: number;
  result?: unknown;
  error?: { name: string; message: string; budget?: "time" | "memory" };
}
